package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/rundir"
)

// TestReportOutKeepsUserFiles is the red team's case 2: "report --out
// DIR" deleted DIR with a user's thesis.tex, and "report --out RUN RUN"
// replaced the run with the report. A folder with anyone else's files is
// refused and left as it was; an empty or gotrap-made one is (re)written;
// a report folder a user added a file to is refused too.
func TestReportOutKeepsUserFiles(t *testing.T) {
	dir := handRun(t)
	mine := t.TempDir()
	thesis := filepath.Join(mine, "thesis.tex")
	os.WriteFile(thesis, []byte(`\documentclass{article}`), 0o644)
	runFiles := func() []string {
		var out []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && d.Name() != rundir.LockFile {
				out = append(out, p)
			}
			return nil
		})
		return out
	}
	before := runFiles()

	for _, c := range []struct{ name, out string }{
		{"a user's folder", mine},
		{"the run itself", dir},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs, code := runGotrap(t, "report", "--cutouts", "0", "--out", c.out, dir)
			if code != 1 || !strings.Contains(errs, "gotrap did not") {
				t.Errorf("exit %d: %s", code, errs)
			}
		})
	}
	if b, err := os.ReadFile(thesis); err != nil || string(b) != `\documentclass{article}` {
		t.Fatalf("thesis.tex: %q %v", b, err)
	}
	if after := runFiles(); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("the run's files changed:\n%v\n%v", before, after)
	}

	// An empty folder, then the same gotrap-made one again.
	empty := filepath.Join(t.TempDir(), "rep")
	os.Mkdir(empty, 0o755)
	for i := range 2 {
		if _, errs, code := runGotrap(t, "report", "--cutouts", "0", "--out", empty, dir); code != 0 {
			t.Fatalf("report %d into %s: exit %d %s", i, empty, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, "index.html")); err != nil {
		t.Fatal(err)
	}
	// A file the user put in the report folder blocks its replacement.
	notes := filepath.Join(empty, "notes.txt")
	os.WriteFile(notes, []byte("mine"), 0o644)
	if _, errs, code := runGotrap(t, "report", "--cutouts", "0", "--out", empty, dir); code != 1 || !strings.Contains(errs, "notes.txt") {
		t.Errorf("report over a folder with a user's file: exit %d %s", code, errs)
	}
	if _, err := os.Stat(notes); err != nil {
		t.Errorf("notes.txt: %v", err)
	}
	// No temporary folder is left beside it.
	ents, _ := os.ReadDir(filepath.Dir(empty))
	if len(ents) != 1 {
		t.Errorf("beside the report: %v", ents)
	}
}
