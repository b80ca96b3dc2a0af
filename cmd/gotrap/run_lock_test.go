package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// childCmd returns "gotrap ARGS..." as a subprocess (this test binary as
// TestRunFaultsChild), its stderr collected in the builder.
func childCmd(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(args)
	cmd := exec.Command(exe, "-test.run=^TestRunFaultsChild$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(b))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	return cmd, &stderr
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// smallStack simulates the tiny preset with 3 timesteps (6 images) and
// runs it once: the images folder and the reference run.
func smallStack(t *testing.T) (images, ref string) {
	t.Helper()
	d := t.TempDir()
	data := filepath.Join(d, "sim")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--set", "timesteps=3", "--seed", "1", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	images, ref = filepath.Join(data, "images"), filepath.Join(d, "ref")
	if code, _, stderr := runCmd(t, "run", "--out", ref, "--quiet", images); code != 0 {
		t.Fatalf("reference run: %s", stderr)
	}
	return images, ref
}

// catalogueCSV is the run's catalogue as CSV text (the tables a resumed
// run must reproduce; image urls differ between run folders only in
// nothing, but are left out as TestRunSIGTERM does).
func catalogueCSV(t *testing.T, run string) string {
	t.Helper()
	q := `SELECT (SELECT count(*) FROM images WHERE rejected) || ' ' ||
	        (SELECT count(*) FROM measurements) || ' ' || (SELECT count(*) FROM associations) || ' ' ||
	        (SELECT count(*) FROM runcat) || ' ' || (SELECT count(*) FROM newsources) || ' ' ||
	        (SELECT round(sum(f_int), 9) FROM measurements) || ' ' ||
	        (SELECT round(sum(wm_ra * 7 + wm_decl), 9) FROM runcat) || ' ' ||
	        (SELECT round(sum(eta_int), 9) FROM varmetric) AS summary`
	code, out, stderr := runCmd(t, "query", run, "--sql", q, "--format", "csv")
	if code != 0 {
		t.Fatalf("query %s: %s", run, stderr)
	}
	return out
}

// TestTwoWritersLocked is the red team's case 1: two processes on one
// --out, a fresh run and a --resume started together or up to 0.15 s
// apart, 20 times. One of them holds the run's lock and finishes; the
// other fails at once naming the holder's pid and host; and the run is
// never left in a state that cannot be resumed to the reference
// catalogue.
func TestTwoWritersLocked(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	images, ref := smallStack(t)
	want := catalogueCSV(t, ref)
	host, _ := os.Hostname()
	wins := map[string]int{}
	for i := range 20 {
		run := filepath.Join(t.TempDir(), "run")
		a, ea := childCmd(t, "run", "--out", run, "--quiet", "--workers", "1", images)
		b, eb := childCmd(t, "run", "--out", run, "--resume", "--quiet", "--workers", "1", images)
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(i%4) * 50 * time.Millisecond)
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		errA, errB := a.Wait(), b.Wait()
		ca, cb := exitCode(errA), exitCode(errB)
		switch {
		case ca == 0 && cb == 0:
			// Possible only when one finished before the other began.
			wins["both"]++
		case ca == 0:
			wins["fresh"]++
		case cb == 0:
			wins["resume"]++
		default:
			t.Fatalf("trial %d: both failed: %d %s / %d %s", i, ca, ea, cb, eb)
		}
		for _, c := range []struct {
			code int
			msg  string
		}{{ca, ea.String()}, {cb, eb.String()}} {
			if c.code == 0 {
				continue
			}
			if c.code != 1 || !strings.Contains(c.msg, "in use") || !strings.Contains(c.msg, "pid ") || !strings.Contains(c.msg, "host "+host) {
				t.Errorf("trial %d: the second writer: exit %d, %q; want 1 naming the holder's pid and host", i, c.code, c.msg)
			}
		}
		if code, _, stderr := runCmd(t, "run", "--out", run, "--resume", "--quiet", images); code != 0 {
			t.Fatalf("trial %d: resume: %s", i, stderr)
		}
		if got := catalogueCSV(t, run); got != want {
			t.Fatalf("trial %d: catalogue %q, want %q", i, got, want)
		}
	}
	t.Logf("winners over 20 trials: %v", wins)
}

// TestResumeKeepsUserFiles is the red team's case 6: "--resume" into a
// folder without a manifest deleted the user's measurements/mydata.csv
// and measurements/sub/x.parquet. It is refused, and nothing changes.
func TestResumeKeepsUserFiles(t *testing.T) {
	images, _ := smallStack(t)
	dir := t.TempDir()
	files := map[string]string{
		"measurements/mydata.csv":    "a,b\n1,2\n",
		"measurements/sub/x.parquet": "not parquet",
		"notes.txt":                  "mine",
	}
	for p, s := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(s), 0o644)
	}
	code, _, stderr := runCmd(t, "run", "--out", dir, "--resume", "--quiet", images)
	if code != 1 || !strings.Contains(stderr, "not a gotrap run") {
		t.Errorf("resume into a user's folder: exit %d %s", code, stderr)
	}
	for p, s := range files {
		if b, err := os.ReadFile(filepath.Join(dir, p)); err != nil || string(b) != s {
			t.Errorf("%s: %q %v", p, b, err)
		}
	}
	for _, p := range []string{"logs", "work", "manifest.json", "gotrap.toml"} {
		if _, err := os.Stat(filepath.Join(dir, p)); !os.IsNotExist(err) {
			t.Errorf("%s was written: %v", p, err)
		}
	}
	// A user's file inside a real run's measurements folder survives a
	// resume that redoes the association.
	run := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runCmd(t, "run", "--out", run, "--quiet", images); code != 0 {
		t.Fatal(stderr)
	}
	mine := filepath.Join(run, "measurements", "mydata.csv")
	os.WriteFile(mine, []byte("x"), 0o644)
	m, err := os.ReadFile(filepath.Join(run, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Forget the tables: the resume replays the timesteps and rewrites
	// the parts.
	m2 := []byte(strings.Replace(string(m), `"name": "tables",
      "done": true`, `"name": "tables",
      "done": false`, 1))
	if string(m2) == string(m) {
		t.Fatalf("no tables stage marked done in the manifest:\n%s", m)
	}
	m = m2
	os.WriteFile(filepath.Join(run, "manifest.json"), m, 0o644)
	if code, _, stderr := runCmd(t, "run", "--out", run, "--resume", "--quiet", images); code != 0 {
		t.Fatal(stderr)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the resume removed %s: %v", mine, err)
	}
}

// TestHostileFileName is the red team's case 4: an input whose name is
// not UTF-8 was stored as an invalid string, and "query RUN images" and
// "report" then failed. The name is stored escaped (\xNN), the manifest
// keeps its bytes, and query, report (with cut-outs read from the file)
// and --resume work.
func TestHostileFileName(t *testing.T) {
	images, _ := smallStack(t)
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.CopyFS(dir, os.DirFS(images)); err != nil {
		t.Fatal(err)
	}
	hostile := filepath.Join(dir, "t0001_beam0_band0 caf\xe9 \\ 'q\".fits")
	if err := os.Rename(filepath.Join(dir, "t0001_beam0_band0.fits"), hostile); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runCmd(t, "run", "--out", run, "--quiet", dir); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	code, out, stderr := runCmd(t, "query", run, "images", "--format", "csv")
	if code != 0 || !strings.Contains(out, `caf\xe9 \\ 'q""`) {
		t.Fatalf("query images: exit %d %s\n%s", code, stderr, out)
	}
	m, err := os.ReadFile(filepath.Join(run, "manifest.json"))
	if err != nil || !strings.Contains(string(m), `"path_raw"`) {
		t.Errorf("manifest without path_raw: %v", err)
	}
	code, out, stderr = runCmd(t, "report", run)
	if code != 0 || strings.Contains(out, " 0 cut-outs") {
		t.Fatalf("report: exit %d %s\n%s", code, stderr, out)
	}
	if code, _, stderr := runCmd(t, "run", "--out", run, "--resume", "--quiet", dir); code != 0 {
		t.Fatalf("resume: %s", stderr)
	}
}
