package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunAppend: "gotrap run --append" grows a run with the images of
// later timesteps to the catalogue of one run over all of them (the
// varmetric table and the named queries included), refuses earlier images
// by name and another configuration by its keys, and skips images the
// run has. The events of the grown run are those of the one run.
func TestRunAppend(t *testing.T) {
	d := t.TempDir()
	data := filepath.Join(d, "sim")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--set", "timesteps=4", "--seed", "2", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	// The simulator names images tTTTT_...: timesteps 0-1 and 2-3.
	early, late := filepath.Join(d, "early"), filepath.Join(d, "late")
	files, err := filepath.Glob(filepath.Join(data, "images", "*.fits"))
	if err != nil || len(files) != 8 {
		t.Fatalf("%d images (%v)", len(files), err)
	}
	for _, dir := range []string{early, late} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		dst := late
		if b := filepath.Base(f); strings.HasPrefix(b, "t0000") || strings.HasPrefix(b, "t0001") {
			dst = early
		}
		if err := os.Link(f, filepath.Join(dst, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	one, grown := filepath.Join(d, "one"), filepath.Join(d, "grown")
	if code, _, stderr := runCmd(t, "run", "--out", one, "--quiet", "--monitor", "150.2,53.3", early, late); code != 0 {
		t.Fatalf("one run: %s", stderr)
	}
	if code, _, stderr := runCmd(t, "run", "--out", grown, "--quiet", "--monitor", "150.2,53.3", early); code != 0 {
		t.Fatalf("first part: %s", stderr)
	}
	// The run's own images: skipped (nothing extracted, nothing changes).
	code, _, stderr := runCmd(t, "run", "--out", grown, "--append", "--quiet", early)
	if code != 0 {
		t.Fatalf("appending the run's own images: exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCmd(t, "run", "--out", grown, "--append", late)
	if code != 0 {
		t.Fatalf("append: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "images        8 in 4 timesteps") {
		t.Errorf("append summary:\n%s", stdout)
	}
	for _, q := range []string{"transients", "variables"} {
		_, a, _ := runCmd(t, "query", one, q, "--format", "csv")
		_, b, _ := runCmd(t, "query", grown, q, "--format", "csv")
		if a != b || a == "" {
			t.Errorf("query %s: one run\n%s\ngrown run\n%s", q, a, b)
		}
	}
	sum := func(run string) string {
		_, out, stderr := runCmd(t, "query", run, "--format", "csv", "--sql",
			`SELECT (SELECT count(*) FROM measurements) || ' ' || (SELECT count(*) FROM associations) || ' ' ||
			        (SELECT count(*) FROM runcat) || ' ' || (SELECT sum(eta_int) FROM varmetric) || ' ' ||
			        (SELECT sum(f_int) FROM measurements) || ' ' || (SELECT count(*) FROM limits) AS s`)
		if out == "" {
			t.Fatalf("query %s: %s", run, stderr)
		}
		return out
	}
	if a, b := sum(one), sum(grown); a != b {
		t.Errorf("catalogue: one run %s, grown %s", a, b)
	}
	// The events (gotrap run writes them after its catalogue): the same
	// for the grown run as for one run, every column.
	events := func(run string) string {
		_, out, stderr := runCmd(t, "query", run, "--format", "csv", "--sql", "SELECT * FROM events ORDER BY id")
		if strings.Count(out, "\n") < 2 {
			t.Fatalf("events of %s: %q %s", run, out, stderr)
		}
		return out
	}
	if a, b := events(one), events(grown); a != b {
		t.Errorf("events: one run\n%s\ngrown run\n%s", a, b)
	}
	// An image of an earlier timestep, under a new name: refused.
	odd := filepath.Join(d, "odd")
	if err := os.MkdirAll(odd, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(early, filepath.Base(files[0])), filepath.Join(odd, "again.fits")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "run", "--out", grown, "--append", "--quiet", odd)
	if code != 1 || !strings.Contains(stderr, "again.fits") || !strings.Contains(stderr, "new --out") {
		t.Errorf("appending an earlier image: exit %d, %s", code, stderr)
	}
	// Another configuration: refused with the differing keys.
	job := filepath.Join(d, "other.toml")
	b, err := os.ReadFile(filepath.Join(grown, "gotrap.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(job, []byte(strings.Replace(string(b), "detection_threshold = 8.0", "detection_threshold = 9.0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCmd(t, "run", "--out", grown, "--append", "-c", job, "--quiet", late)
	if code == 0 || !strings.Contains(stderr, "extraction.detection_threshold") {
		t.Errorf("append with another configuration: exit %d, %s", code, stderr)
	}
	if code, _, stderr := runCmd(t, "run", "--out", grown, "--append", "--resume", late); code != 2 {
		t.Errorf("--append --resume: exit %d, %s", code, stderr)
	}
}
