package catalog

import (
	"fmt"
	"os"
)

// A Part is one file of a table that grows by a file at a time (a live
// run's parts, merged in levels): its number Seq (the seq of
// rundir.PartPath) and its Level, the merges it went through.
// LevelReplay marks a part that is never merged (a restarted run's
// replayed history).
type Part struct{ Seq, Level int }

// LevelReplay is the level of a part MergeLevels leaves alone.
const LevelReplay = -1

// MergeLevels merges the newest fanIn of parts with merge (into the
// oldest's number, one level up) for as long as they share a level
// other than LevelReplay, and returns the parts left. Each row is so
// rewritten once per level, and a table of n parts keeps at most fanIn
// per level, about fanIn x log_fanIn(n) files.
func MergeLevels(parts []Part, fanIn int, merge func(seqs []int) error) ([]Part, error) {
	for len(parts) >= fanIn {
		tail := parts[len(parts)-fanIn:]
		lv := tail[0].Level
		same := lv != LevelReplay
		for _, p := range tail {
			same = same && p.Level == lv
		}
		if !same {
			break
		}
		seqs := make([]int, len(tail))
		for i, p := range tail {
			seqs[i] = p.Seq
		}
		if err := merge(seqs); err != nil {
			return parts, err
		}
		parts = append(parts[:len(parts)-fanIn], Part{Seq: seqs[0], Level: lv + 1})
	}
	return parts, nil
}

// MergeFiles writes the rows of the files srcs, in order and without
// those drop reports (nil: none), into srcs[0] (a new file renamed over
// it, as Create does), then removes the other files. Memory holds one
// batch of batch rows. A reader between the rename and the removals sees
// the rows of srcs[1:] twice; the tables merged so are rewritten whole
// when their writer starts again.
func MergeFiles[T any](srcs []string, batch int, drop func(*T) bool, opts ...Option) error {
	w, err := Create[T](srcs[0], opts...)
	if err != nil {
		return err
	}
	keep := make([]T, 0, batch)
	for _, p := range srcs {
		f, err := os.Open(p)
		if err != nil {
			w.Abort()
			return fmt.Errorf("catalog: merging parts: %w", err)
		}
		err = ReadEach(f, batch, func(b []T) error {
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
			return fmt.Errorf("catalog: merging parts: %s: %w", p, err)
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	for _, p := range srcs[1:] {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("catalog: merging parts: %w", err)
		}
	}
	return nil
}
