package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunRejectsBadSettings is the red team's case 8: settings that make
// no sense were accepted (a detection threshold of 0 or less, analysis
// above detection, box_in_beampix = 0 failing only after work files were
// written). Each fails at once naming the key and the reason, and nothing
// is written: the run directory is not even made. A tile side so small
// that the sky tiles would take gigabytes fails in the plan stage, before
// any tile exists, and quickly.
func TestRunRejectsBadSettings(t *testing.T) {
	images, _ := smallStack(t)
	for _, c := range []struct {
		name, toml, msg string
	}{
		{"detection 0", "[extraction]\ndetection_threshold = 0\n", "detection_threshold = 0: must be positive"},
		{"detection negative", "[extraction]\ndetection_threshold = -5\n", "detection_threshold = -5: must be positive"},
		{"analysis above detection", "[extraction]\ndetection_threshold = 5\nanalysis_threshold = 6\n", "analysis_threshold = 6: is above detection_threshold = 5"},
		{"analysis 0 without fdr", "[extraction]\nanalysis_threshold = 0\n", "analysis_threshold = 0: must be positive"},
		{"box_in_beampix 0", "[extraction]\nbox_in_beampix = 0\n", "box_in_beampix = 0: must be positive"},
		{"deblend_mincont 2", "[extraction]\ndeblend_mincont = 2\n", "deblend_mincont = 2: must be in [0, 1]"},
		{"margin below -detection", "[transient_search]\nnew_source_sigma_margin = -9\n", "must be positive"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			cfg := filepath.Join(d, "bad.toml")
			os.WriteFile(cfg, []byte(c.toml), 0o644)
			run := filepath.Join(d, "run")
			code, _, stderr := runCmd(t, "run", "-c", cfg, "--out", run, "--quiet", images)
			if code != 1 || !strings.Contains(stderr, c.msg) {
				t.Errorf("exit %d %q, want 1 with %q", code, stderr, c.msg)
			}
			if _, err := os.Stat(run); !os.IsNotExist(err) {
				t.Errorf("the run directory was made: %v", err)
			}
		})
	}
	t.Run("tile_deg 0.0001 on 2 ranks", func(t *testing.T) {
		d := t.TempDir()
		cfg := filepath.Join(d, "tiles.toml")
		os.WriteFile(cfg, []byte("[pipeline]\ntile_deg = 0.0001\n"), 0o644)
		run := filepath.Join(d, "run")
		t0 := time.Now()
		code, _, stderr := runCmd(t, "run", "-c", cfg, "--ranks", "2", "--out", run, "--quiet", images)
		if code != 1 || !strings.Contains(stderr, "tile_deg = 0.0001") || !strings.Contains(stderr, "use tile_deg >=") {
			t.Errorf("exit %d %q", code, stderr)
		}
		// Headers only: the refusal comes before any tile is made
		// (was: gigabytes in decomp.HaloTiles). 20 s is a loaded machine.
		if dt := time.Since(t0); dt > 20*time.Second {
			t.Errorf("took %v", dt)
		}
		if _, err := os.Stat(filepath.Join(run, "manifest.json")); !os.IsNotExist(err) {
			t.Errorf("a manifest was written: %v", err)
		}
		// What the failed plan left does not block a plain rerun.
		os.WriteFile(cfg, []byte("[pipeline]\ntile_deg = 1\n"), 0o644)
		if code, _, stderr := runCmd(t, "run", "-c", cfg, "--ranks", "2", "--out", run, "--quiet", images); code != 0 {
			t.Errorf("rerun: exit %d %s", code, stderr)
		}
	})
}
