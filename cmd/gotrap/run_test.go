package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gotrap/internal/pipeline"
)

// TestInitRunQuery is the demo path end to end, in process: simulate the
// tiny preset, write a job with "gotrap init", run it with a monitor
// position, and query the catalogue's transients and variables.
func TestInitRunQuery(t *testing.T) {
	d := t.TempDir()
	data, job, out := filepath.Join(d, "tiny"), filepath.Join(d, "job"), filepath.Join(d, "run")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "1", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	if code, _, stderr := runCmd(t, "init", job, filepath.Join(data, "images")); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	code, stdout, stderr := runCmd(t, "run", "--out", out, "-c", filepath.Join(job, "gotrap.toml"),
		"--monitor", "150.2,53.3", "@"+filepath.Join(job, "images.txt"))
	if code != 0 {
		t.Fatalf("run: %d %s", code, stderr)
	}
	// Progress on stderr (not a terminal): every stage starts and ends on
	// a line stamped with the UTC time.
	stamped := regexp.MustCompile(`(?m)^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z stage (\w+): (start|done in )`)
	seen := map[string]int{}
	for _, m := range stamped.FindAllStringSubmatch(stderr, -1) {
		seen[m[1]]++
	}
	for _, st := range []string{pipeline.StagePlan, pipeline.StageTimesteps, pipeline.StageTables, pipeline.StageLimits, pipeline.StageVarMetric} {
		if seen[st] != 2 {
			t.Errorf("stage %s: %d stamped start/done lines on stderr, want 2:\n%s", st, seen[st], stderr)
		}
	}
	for _, want := range []string{"images        16 in 8 timesteps", "rejected      3", "new sources   4", "stage varmetric"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("run summary lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"manifest.json", "gotrap.toml", "logs/rank-0000.log", "logs/summary.txt", "varmetric.parquet"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	code, stdout, stderr = runCmd(t, "query", out, "transients", "--format", "csv")
	if code != 0 {
		t.Fatalf("query transients: %s", stderr)
	}
	// tiny seed 1 has 4 transients, all found as new sources.
	if n := strings.Count(strings.TrimSpace(stdout), "\n"); n != 4 {
		t.Errorf("transients: %d rows, want 4:\n%s", n, stdout)
	}
	if code, _, stderr = runCmd(t, "query", out, "variables", "--format", "csv"); code != 0 {
		t.Fatalf("query variables: %s", stderr)
	}
	// A second run into the same directory needs --resume; with it,
	// nothing is redone.
	if code, _, _ = runCmd(t, "run", "--out", out, "--quiet", filepath.Join(data, "images")); code == 0 {
		t.Error("a second run into a finished run directory succeeded without --resume")
	}
	code, _, stderr = runCmd(t, "run", "--out", out, "--resume", "-c", filepath.Join(out, "gotrap.toml"), "--quiet",
		"@"+filepath.Join(job, "images.txt"))
	if code != 0 {
		t.Errorf("resume of a finished run (with the run's gotrap.toml): %s", stderr)
	}
	// --resume needs only --out: the inputs come from the manifest and
	// the configuration from RUN/gotrap.toml.
	if code, _, stderr = runCmd(t, "run", "--out", out, "--resume", "--quiet"); code != 0 {
		t.Errorf("gotrap run --resume --out RUN: exit %d: %s", code, stderr)
	}
	// A configuration other than the run's is refused (the job's
	// gotrap.toml lacks the --monitor position of the run).
	if code, _, stderr = runCmd(t, "run", "--out", out, "--resume", "-c", filepath.Join(job, "gotrap.toml"), "--quiet"); code == 0 {
		t.Error("resume with a different configuration succeeded")
	} else if !strings.Contains(stderr, "differing keys: monitor.positions") {
		t.Errorf("resume with a different configuration: the refusal does not name monitor.positions: %s", stderr)
	}
	// Missing inputs fail fast, listing them.
	code, _, stderr = runCmd(t, "run", "--out", filepath.Join(d, "run2"), filepath.Join(d, "nope.fits"), filepath.Join(data, "images"))
	if code == 0 || !strings.Contains(stderr, "nope.fits") {
		t.Errorf("missing input: code %d, stderr %q", code, stderr)
	}
}
