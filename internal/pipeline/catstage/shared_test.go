package catstage

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/sim"
)

// tinyDefault is the tiny preset (seed 1) and its run with the default
// configuration, made once per test binary in a folder TestMain removes;
// the tests read them and never write into them.
var tinyDefault struct {
	sync.Once
	root, data, run string
}

// tinyRun returns the shared tiny data set and its run.
func tinyRun(t *testing.T) (data, run string) {
	t.Helper()
	f := &tinyDefault
	f.Do(func() {
		root, err := os.MkdirTemp("", "gotrap-catstage-")
		if err != nil {
			t.Fatal(err)
		}
		f.root = root
		data := filepath.Join(root, "tiny")
		pipetest.SimulateInto(t, data, sim.PresetTiny, 1)
		f.run = runInto(t, data, filepath.Join(root, "run"), config.Default())
		f.data = data
	})
	if f.data == "" {
		t.Fatal("the shared tiny run was not made")
	}
	return f.data, f.run
}

// TestMain removes the shared data set and run.
func TestMain(m *testing.M) {
	code := m.Run()
	if tinyDefault.root != "" {
		os.RemoveAll(tinyDefault.root)
	}
	os.Exit(code)
}
