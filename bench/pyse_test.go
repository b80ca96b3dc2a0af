package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/internal/extract"
	"gotrap/kernels"
)

// fakePython writes an executable that stands in for the interpreter: it
// ignores the driver script, says ready, and answers each job line with
// answer (shell-quoted JSON), logging a line to stderr. The real PySE runs
// in TestExtractPySEReal.
func fakePython(t *testing.T, answer string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "python")
	script := "#!/bin/sh\necho '{\"ready\": true, \"python\": \"fake\"}'\n" +
		"while read -r line; do echo 'pyse says hello' >&2; echo '" + answer + "'; done\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// fakeRoot makes a directory that looks like PySE's source tree.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "pyse")
	if err := os.MkdirAll(filepath.Join(root, "sourcefinder"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sourcefinder", "image.py"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestExtractPySEHarness: the harness reads the driver's answers (medians
// of its wall and CPU times), times gotrap on the same image through the
// Write function it was given, and reports PySE's time over gotrap's; a
// job PySE fails stops it with PySE's message and the end of its stderr;
// a directory without PySE is refused by name.
func TestExtractPySEHarness(t *testing.T) {
	var written []string
	write := func(dir string, r *extract.Result) error {
		written = append(written, r.Path)
		return os.WriteFile(filepath.Join(dir, "out.csv"), []byte("x"), 0o644)
	}
	cfg := PySEConfig{Sizes: []int{256}, Modes: []kernels.MeasureMode{kernels.ModeGaussian, kernels.ModeMoments},
		Repeats: 3, Seed: 1, Write: write}

	t.Run("ok", func(t *testing.T) {
		written = nil
		c := cfg
		c.Root, c.Dir = fakeRoot(t), t.TempDir()
		// Medians: 2 s wall and 1 s CPU whatever the order.
		c.Python = fakePython(t, `{"wall": [3.0, 1.0, 2.0], "cpu": [1.0, 0.5, 4.0], "sources": 7}`)
		var out bytes.Buffer
		res, err := ExtractPySE(&out, c)
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		if len(res) != 2 {
			t.Fatalf("%d results, want 2 (one per mode)", len(res))
		}
		for _, r := range res {
			if r.PySEWall != 2*time.Second || r.PySECPU != time.Second || r.PySESources != 7 {
				t.Errorf("%v: PySE wall %v cpu %v sources %d, want the medians 2s, 1s and 7", r.Mode, r.PySEWall, r.PySECPU, r.PySESources)
			}
			// The synthetic 256x256 field has a 3x3 grid of sources
			// (MakeField's spacing), all found in both modes.
			if r.GotrapSources != 9 || r.GotrapWall <= 0 {
				t.Errorf("%v: gotrap %d sources in %v, want 9 in a positive time", r.Mode, r.GotrapSources, r.GotrapWall)
			}
			if want := 2 / r.GotrapWall.Seconds(); r.Ratio != want {
				t.Errorf("%v: ratio %g, want PySE's wall over gotrap's, %g", r.Mode, r.Ratio, want)
			}
		}
		// One untimed and three timed runs per mode, each writing.
		if len(written) != 8 {
			t.Errorf("Write called %d times, want 8", len(written))
		}
		if !strings.Contains(out.String(), "256    gaussian") || !strings.Contains(out.String(), "256    moments") {
			t.Errorf("table lacks a row:\n%s", out.String())
		}
	})
	t.Run("pyse fails", func(t *testing.T) {
		c := cfg
		c.Root, c.Dir = fakeRoot(t), t.TempDir()
		c.Python = fakePython(t, `{"error": "KeyError: BMAJ"}`)
		_, err := ExtractPySE(&bytes.Buffer{}, c)
		if err == nil || !strings.Contains(err.Error(), "KeyError: BMAJ") || !strings.Contains(err.Error(), "pyse says hello") {
			t.Errorf("err = %v, want PySE's error and its stderr", err)
		}
	})
	t.Run("no pyse", func(t *testing.T) {
		c := cfg
		c.Root, c.Dir = t.TempDir(), t.TempDir()
		_, err := ExtractPySE(&bytes.Buffer{}, c)
		if err == nil || !strings.Contains(err.Error(), c.Root) || !strings.Contains(err.Error(), "setup_pyse.sh") {
			t.Errorf("err = %v, want the directory named and setup_pyse.sh", err)
		}
	})
}

// TestExtractPySEReal runs the real PySE (GOTRAP_PYSE=DIR, a tree set up
// by ../shared/tools/setup_pyse.sh; about a minute, most of it numba's
// compilation) on a 256x256 field in both modes: both sides find the
// same 9 sources.
func TestExtractPySEReal(t *testing.T) {
	root := os.Getenv("GOTRAP_PYSE")
	if root == "" {
		t.Skip("GOTRAP_PYSE is not set: set it to a PySE tree made by ../shared/tools/setup_pyse.sh to run PySE")
	}
	var out bytes.Buffer
	res, err := ExtractPySE(&out, PySEConfig{Root: root, Sizes: []int{256},
		Modes: []kernels.MeasureMode{kernels.ModeGaussian, kernels.ModeMoments}, Repeats: 1, Seed: 1, Dir: t.TempDir(),
		Write: func(string, *extract.Result) error { return nil }})
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.PySESources != 9 || r.GotrapSources != 9 || r.PySEWall <= 0 {
			t.Errorf("%v: PySE %d sources in %v, gotrap %d: want 9 each", r.Mode, r.PySESources, r.PySEWall, r.GotrapSources)
		}
	}
}
