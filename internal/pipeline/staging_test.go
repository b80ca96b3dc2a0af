package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// TestStageRowsSameBytes: a staged Parquet file written unsynced
// (stageRows) has the bytes catalog.WriteFile writes, for no row, one,
// and several.
func TestStageRowsSameBytes(t *testing.T) {
	dir := t.TempDir()
	st := &staging{run: dir}
	copts := []catalog.Option{catalog.WithConfigHash("abc")}
	for _, n := range []int{0, 1, 7, 300} {
		rows := make([]catalog.Measurement, n)
		for k := range rows {
			rows[k].ID = catalog.MeasurementID(3, k)
			rows[k].Image = 3
			rows[k].RA, rows[k].Decl = 150+float64(k)*1e-3, 53-float64(k)*1e-3
			rows[k].FInt = float64(k) * 0.5
		}
		a, b := filepath.Join(dir, "a.parquet"), filepath.Join(dir, "b.parquet")
		if err := catalog.WriteFile(a, rows, copts...); err != nil {
			t.Fatal(err)
		}
		if err := stageRows(st, 5, b, rows, copts); err != nil {
			t.Fatal(err)
		}
		ba, _ := os.ReadFile(a)
		bb, _ := os.ReadFile(b)
		if len(ba) == 0 || !bytes.Equal(ba, bb) {
			t.Errorf("%d rows: %d bytes staged, %d by catalog.WriteFile, not the same", n, len(bb), len(ba))
		}
	}
	if got := st.unsynced.Load(); got != 4 {
		t.Errorf("%d files counted unsynced, want 4", got)
	}
}

// TestResumeUncommitted: the staged files of a timestep that work/commit.json
// does not count are not trusted (a crash of the system may have left
// them short: they were not synced one by one). The state a crash leaves
// after the writes of the timesteps from the second on and before their
// sync: commit.json counts one timestep, and a staged file of a later
// one is empty. The resume extracts every image of the later timesteps
// again and gives the catalogue of an uninterrupted run.
func TestResumeUncommitted(t *testing.T) {
	data := tiny(t)
	ref := faultRef(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	opt := Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2,
		AfterStage: func(s string) error {
			if s == StageTimesteps {
				return errStop
			}
			return nil
		}}
	if _, err := Run(context.Background(), opt); !errors.Is(err, errStop) {
		t.Fatalf("first run: %v", err)
	}
	c, err := rundir.ReadCommit(run)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	plan, err := NewPlan(context.Background(), inputs, readOptionsOf(cfg), time.Second, assocConfig(cfg), 2)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timesteps != len(plan.Timesteps) || len(plan.Timesteps) < 3 {
		t.Fatalf("commit.json counts %d timesteps of %d; the test needs 3 or more, all committed", c.Timesteps, len(plan.Timesteps))
	}
	if err := writeCommit(run, plan, 0); err != nil {
		t.Fatal(err)
	}
	uncommitted := 0
	for _, ts := range plan.Timesteps[1:] {
		uncommitted += len(ts)
	}
	victim := plan.Image(plan.Timesteps[2][0]).ID
	for _, suffix := range []string{"blind.parquet", "image.parquet"} {
		if err := os.Truncate(rundir.StagedPath(run, StepExtract, victim, suffix), 0); err != nil {
			t.Fatal(err)
		}
	}
	opt.Resume, opt.AfterStage = true, nil
	s, err := Run(context.Background(), opt)
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if s.ExtractedNow != uncommitted || s.Reused != plan.Len()-uncommitted {
		t.Errorf("resume: %d images extracted, %d reused; want %d, %d (the uncommitted timesteps redone)",
			s.ExtractedNow, s.Reused, uncommitted, plan.Len()-uncommitted)
	}
	equalCatalogues(t, ref, run)
}

// TestCommitAfterSync: a timestep is recorded in work/commit.json only
// after the sync of its staged files has returned: when the sync of the
// third timestep fails, the run fails with that error and commit.json
// counts two.
func TestCommitAfterSync(t *testing.T) {
	data := tiny(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	errSync := errors.New("the test's failing sync")
	var calls atomic.Int32
	syncFS = func(dir string) error {
		if calls.Add(1) == 3 {
			return errSync
		}
		return rundir.SyncFS(dir)
	}
	defer func() { syncFS = rundir.SyncFS }()
	run := filepath.Join(t.TempDir(), "run")
	_, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 1})
	if !errors.Is(err, errSync) {
		t.Fatalf("run: %v, want the sync's error", err)
	}
	c, err := rundir.ReadCommit(run)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timesteps != 2 {
		t.Errorf("commit.json counts %d timesteps after the third sync failed, want 2", c.Timesteps)
	}
}
