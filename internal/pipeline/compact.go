package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// partFanIn is how many measurement parts of one level a live run merges
// into one part of the next level (partMerger). A live run publishes a
// part per rank and stage at every commit; merging keeps the files a
// query opens to about partFanIn x log_partFanIn(commits) (48 after
// 100,000 commits), and rewrites each row once per level. A variable
// for the tests, which merge sooner.
var partFanIn = 8

// measurementStages are the stages of the measurement parts
// (measurementSink's writers, in order).
var measurementStages = [...]string{"blind", "forced", "monitor"}

// A partMerger keeps one rank's parts of one table of a live run merged
// in levels (catalog.NextMerge: partFanIn consecutive parts of a level
// into one of the next) in the background of the commits. A merge of
// level L rewrites the rows of partFanIn^(L+1) commits: at level 3 of an
// aartfaac watch that took 12.5 s, and on the commit's path it held the
// commits back that long (session 11's soaks). So a merge writes the
// merged part aside, under a temporary name (rundir.IsTemp: a restart
// removes it), and the first publish after it is done puts it in place
// and removes the parts it merged (swap), inside the publish lock:
// readers see the parts or the merged part, never both. The parts
// published meanwhile wait for the next merge. One merge at a time.
type partMerger struct {
	run, table string
	// stages are the part files of one number (measurementStages, or
	// "" for one file).
	stages []string
	rank   int
	// parts are the rank's closed parts, oldest first; only the
	// publishing goroutine touches them.
	parts []catalog.Part
	// write merges the files srcs into dst (catalog.MergeInto of the
	// table's rows).
	write func(dst string, srcs []string) error
	// at is the index in parts of the merge in flight and seqs its
	// parts' numbers; done receives its result; nil when none.
	at   int
	seqs []int
	done chan error
}

// testHookMergeStarted, when set, is called by a merge in the background
// before it writes anything (tests hold merges back with it).
var testHookMergeStarted func(table string, seqs []int)

// newPartMerger returns the merger of rank's parts of table with stages,
// whose rows are T, written with copts.
func newPartMerger[T any](run, table string, stages []string, rank int, copts []catalog.Option) *partMerger {
	return &partMerger{run: run, table: table, stages: stages, rank: rank,
		write: func(dst string, srcs []string) error {
			return catalog.MergeInto[T](dst, srcs, measurementRowGroup, nil, copts...)
		}}
}

// add records part p, just closed, and steps (inside the publish lock).
func (m *partMerger) add(p catalog.Part) error {
	m.parts = append(m.parts, p)
	return m.step()
}

// step puts the merge in flight in place if it is done, without waiting
// for it, and starts the next merge when none is in flight. Call it
// inside the publish lock.
func (m *partMerger) step() error {
	if m.done != nil {
		select {
		case err := <-m.done:
			if err := m.land(err); err != nil {
				return err
			}
		default:
			return nil
		}
	}
	at, ok := catalog.NextMerge(m.parts, partFanIn)
	if !ok {
		return nil
	}
	m.at, m.seqs = at, catalog.Seqs(m.parts[at:at+partFanIn])
	done := make(chan error, 1)
	m.done = done
	go func(seqs []int) { done <- m.merge(seqs) }(m.seqs)
	return nil
}

// settle waits for the merge in flight, if any, and puts it in place
// (inside the publish lock): the parts are then the publisher's alone.
func (m *partMerger) settle() error {
	if m.done == nil {
		return nil
	}
	return m.land(<-m.done)
}

// stop waits for the merge in flight, if any, and removes what it wrote
// aside: the parts stay as they are (the run's end, or an error).
func (m *partMerger) stop() error {
	if m.done == nil {
		return nil
	}
	err := <-m.done
	m.done = nil
	m.discard()
	return err
}

// merge writes each stage's parts seqs into its file aside (the
// background).
func (m *partMerger) merge(seqs []int) error {
	if testHookMergeStarted != nil {
		testHookMergeStarted(m.table, seqs)
	}
	for _, stage := range m.stages {
		srcs := make([]string, len(seqs))
		for i, seq := range seqs {
			srcs[i] = rundir.PartPath(m.run, m.table, m.rank, stage, seq)
		}
		if err := m.write(asidePath(srcs[0]), srcs); err != nil {
			return fmt.Errorf("pipeline: merging parts: %w", err)
		}
	}
	return nil
}

// land takes the result err of the merge in flight: on success it
// renames each stage's merged file over the oldest part and removes the
// others, and the parts list has the merged part in their place.
func (m *partMerger) land(err error) error {
	m.done = nil
	if err != nil {
		m.discard()
		return err
	}
	for _, stage := range m.stages {
		dst := rundir.PartPath(m.run, m.table, m.rank, stage, m.seqs[0])
		if err := os.Rename(asidePath(dst), dst); err != nil {
			m.discard()
			return fmt.Errorf("pipeline: merging parts: %w", err)
		}
		for _, seq := range m.seqs[1:] {
			if err := os.Remove(rundir.PartPath(m.run, m.table, m.rank, stage, seq)); err != nil {
				return fmt.Errorf("pipeline: merging parts: %w", err)
			}
		}
	}
	if err := rundir.SyncDir(filepath.Dir(rundir.PartPath(m.run, m.table, m.rank, "", 0))); err != nil {
		return fmt.Errorf("pipeline: merging parts: %w", err)
	}
	m.parts = catalog.Merged(m.parts, m.at, len(m.seqs))
	m.seqs = nil
	return nil
}

// discard removes the files the merge in flight wrote aside.
func (m *partMerger) discard() {
	for _, stage := range m.stages {
		os.Remove(asidePath(rundir.PartPath(m.run, m.table, m.rank, stage, m.seqs[0])))
	}
	m.seqs = nil
}

// asidePath is where a merge writes the part path before it is put in
// place: ".BASE.0.tmp" beside it, a temporary name (rundir.IsTemp) that
// no reader's glob matches and a restart removes.
func asidePath(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".0.tmp")
}

// rewriteParts writes the rows of rank's stage parts seqs of table, in
// order and without those drop reports (nil: none), into the part
// seqs[0] (a new file renamed over it), then removes the others. Memory
// holds one row group.
func rewriteParts[T any](run, table string, rank int, stage string, seqs []int, drop func(*T) bool, copts []catalog.Option) error {
	srcs := make([]string, len(seqs))
	for i, seq := range seqs {
		srcs[i] = rundir.PartPath(run, table, rank, stage, seq)
	}
	if err := catalog.MergeFiles(srcs, measurementRowGroup, drop, copts...); err != nil {
		return fmt.Errorf("pipeline: rewriting parts: %w", err)
	}
	return nil
}
