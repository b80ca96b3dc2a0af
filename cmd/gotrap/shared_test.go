package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// The fixtures that the tests of this binary share are made once, with
// the gotrap commands themselves, in one temporary folder that TestMain
// removes (with the front and MPI builds). Tests read them and never
// write into them: a test that changes a run works on a copy (copyTree).

var shared struct {
	sync.Once
	dir string
	err error
}

// sharedPath returns the path name in the folder of the shared fixtures
// (not created).
func sharedPath(t *testing.T, name string) string {
	t.Helper()
	shared.Do(func() { shared.dir, shared.err = os.MkdirTemp("", "gotrap-cmd-") })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return filepath.Join(shared.dir, name)
}

// TestMain removes the shared fixtures and the builds of frontGotrap and
// mpiGotrap once the tests have run.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if frontBin != "" {
		os.RemoveAll(filepath.Dir(frontBin))
	}
	if mpiBinDir != "" {
		os.RemoveAll(mpiBinDir)
	}
	os.Exit(code)
}

// tinyFixture is the tiny preset, seed 1, as "gotrap simulate --preset
// tiny --seed 1" writes it, its run with the default configuration
// ("gotrap run --quiet --out RUN DATA/images"), and a copy of that run
// with "gotrap report --voevent" made in it, with the command's output.
var tinyFixture struct {
	once       sync.Once
	data, run  string
	reportOnce sync.Once
	reported   string // the run with its report
	reportOut  string // the report command's standard output
}

// tinyRun returns the shared tiny data set (seed 1) and its run.
func tinyRun(t *testing.T) (data, run string) {
	t.Helper()
	f := &tinyFixture
	f.once.Do(func() {
		d, r := sharedPath(t, "tiny"), sharedPath(t, "tiny-run")
		if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "1", "--quiet", d); code != 0 {
			t.Fatalf("simulate: %s", stderr)
		}
		if code, _, stderr := runCmd(t, "run", "--quiet", "--out", r, filepath.Join(d, "images")); code != 0 {
			t.Fatalf("run: %s", stderr)
		}
		f.data, f.run = d, r
	})
	if f.run == "" {
		t.Fatal("the shared tiny run was not made")
	}
	return f.data, f.run
}

// tinyReport returns a run of the shared tiny data set with its report
// (RUN/report) and the output of "gotrap report --voevent".
func tinyReport(t *testing.T) (run, out string) {
	t.Helper()
	f := &tinyFixture
	f.reportOnce.Do(func() {
		_, src := tinyRun(t)
		r := sharedPath(t, "tiny-report")
		if err := os.CopyFS(r, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := runCmd(t, "report", "--voevent", r)
		if code != 0 {
			t.Fatalf("report of the tiny run: exit %d: %s", code, stderr)
		}
		f.reported, f.reportOut = r, stdout
	})
	if f.reported == "" {
		t.Fatal("the shared tiny report was not made")
	}
	return f.reported, f.reportOut
}

// copyTree copies the folder src to a new folder in the test's temporary
// directory and returns it.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}
