package pipeline

import (
	"fmt"

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

// measurementStages are the stages of the measurement parts
// (measurementSink's writers, in order).
var measurementStages = [...]string{"blind", "forced", "monitor"}

// compactParts merges rank's newest partFanIn parts of table (each of
// stages: the part files of one number) into one, of the next level, for
// as long as they share a level, and returns the parts left. The merged
// part takes the number of the oldest it merges (rows in part order), so
// numbers keep increasing with the timesteps. It runs inside the publish
// (live.publish): readers see the parts before or after it.
func compactParts[T any](run, table string, stages []string, rank int, parts []catalog.Part, copts []catalog.Option) ([]catalog.Part, error) {
	return catalog.MergeLevels(parts, partFanIn, func(seqs []int) error {
		for _, stage := range stages {
			if err := rewriteParts[T](run, table, rank, stage, seqs, nil, copts); err != nil {
				return err
			}
		}
		return nil
	})
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
