package pipeline

import (
	"fmt"
	"os"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// partFanIn is how many measurement parts of one level a live run merges
// into one part of the next level (compactParts). A live run publishes a
// part per rank and stage at every commit; merging keeps the files a
// query opens to at most partFanIn per level, about partFanIn x
// log_partFanIn(commits) (48 after 100,000 commits), and rewrites each
// row once per level. A variable for the tests, which merge sooner.
var partFanIn = 8

// A livePart is one of a rank's measurement parts in a live run: its
// number (rundir.PartPath's seq, shared by the stages) and its level,
// the merges it went through; levelReplay marks the part into which a
// restarted run replayed its history, never merged.
type livePart struct{ seq, level int }

const levelReplay = -1

// measurementStages are the stages of the measurement parts
// (measurementSink's writers, in order).
var measurementStages = [...]string{"blind", "forced", "monitor"}

// compactParts merges rank's newest partFanIn parts of table (each of
// stages: the part files of one number) into one, of the next level, for
// as long as they share a level, and returns the parts left. The merged
// part takes the number of the oldest it merges (rows in part order), so
// numbers keep increasing with the timesteps. It runs inside the publish
// (live.publish): readers see the parts before or after it.
func compactParts[T any](run, table string, stages []string, rank int, parts []livePart, copts []catalog.Option) ([]livePart, error) {
	return mergeLevels(parts, func(seqs []int) error {
		for _, stage := range stages {
			if err := rewriteParts[T](run, table, rank, stage, seqs, nil, copts); err != nil {
				return err
			}
		}
		return nil
	})
}

// mergeLevels merges the newest partFanIn of parts with merge (into the
// oldest's number, one level up) for as long as they share a level
// other than levelReplay, and returns the parts left: the level scheme
// of compactParts and compactPacks.
func mergeLevels(parts []livePart, merge func(seqs []int) error) ([]livePart, error) {
	for len(parts) >= partFanIn {
		tail := parts[len(parts)-partFanIn:]
		lv := tail[0].level
		same := lv != levelReplay
		for _, p := range tail {
			same = same && p.level == lv
		}
		if !same {
			break
		}
		seqs := make([]int, len(tail))
		for i, p := range tail {
			seqs[i] = p.seq
		}
		if err := merge(seqs); err != nil {
			return parts, err
		}
		parts = append(parts[:len(parts)-partFanIn], livePart{seq: seqs[0], level: lv + 1})
	}
	return parts, nil
}

// rewriteParts writes the rows of rank's stage parts seqs of table, in
// order and without those drop reports (nil: none), into the part
// seqs[0] (a new file renamed over it), then removes the others. Memory
// holds one row group.
func rewriteParts[T any](run, table string, rank int, stage string, seqs []int, drop func(*T) bool, copts []catalog.Option) error {
	dst := rundir.PartPath(run, table, rank, stage, seqs[0])
	w, err := catalog.Create[T](dst, copts...)
	if err != nil {
		return err
	}
	keep := make([]T, 0, measurementRowGroup)
	for _, seq := range seqs {
		p := rundir.PartPath(run, table, rank, stage, seq)
		f, err := os.Open(p)
		if err != nil {
			w.Abort()
			return fmt.Errorf("pipeline: rewriting parts: %w", err)
		}
		err = catalog.ReadEach(f, measurementRowGroup, func(b []T) error {
			if drop == nil {
				return w.Write(b...)
			}
			keep = keep[:0]
			for i := range b {
				if !drop(&b[i]) {
					keep = append(keep, b[i])
				}
			}
			return w.Write(keep...)
		})
		f.Close()
		if err != nil {
			w.Abort()
			return fmt.Errorf("pipeline: rewriting parts: %s: %w", p, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	for _, seq := range seqs[1:] {
		if err := os.Remove(rundir.PartPath(run, table, rank, stage, seq)); err != nil {
			return fmt.Errorf("pipeline: rewriting parts: %w", err)
		}
	}
	return nil
}
