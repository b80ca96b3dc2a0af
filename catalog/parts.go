package catalog

import (
	"fmt"
	"os"
	"slices"
)

// A Part is one file of a table that grows by a file at a time (a live
// run's parts, merged in levels): its number Seq (the seq of
// rundir.PartPath) and its Level, the merges it went through.
// LevelReplay marks a part that is never merged (a restarted run's
// replayed history).
type Part struct{ Seq, Level int }

// LevelReplay is the level of a part MergeLevels leaves alone.
const LevelReplay = -1

// MergeLevels merges fanIn consecutive parts of one level with merge
// (into the oldest's number, one level up; NextMerge) for as long as
// there are such, and returns the parts left. Each row is so rewritten
// once per level, and a table of n parts keeps at most fanIn-1 per
// level, about fanIn x log_fanIn(n) files.
func MergeLevels(parts []Part, fanIn int, merge func(seqs []int) error) ([]Part, error) {
	for {
		at, ok := NextMerge(parts, fanIn)
		if !ok {
			return parts, nil
		}
		seqs := Seqs(parts[at : at+fanIn])
		if err := merge(seqs); err != nil {
			return parts, err
		}
		parts = Merged(parts, at, fanIn)
	}
}

// NextMerge returns the index of the oldest fanIn consecutive parts
// that share a level other than LevelReplay, and false when there are
// none. Merged into one (Merged), they keep the rows in part order.
func NextMerge(parts []Part, fanIn int) (int, bool) {
	run := 0 // parts of one level ending at i
	for i, p := range parts {
		if p.Level == LevelReplay {
			run = 0
			continue
		}
		if i > 0 && run > 0 && parts[i-1].Level == p.Level {
			run++
		} else {
			run = 1
		}
		if run == fanIn {
			return i + 1 - fanIn, true
		}
	}
	return 0, false
}

// Seqs returns the numbers of parts.
func Seqs(parts []Part) []int {
	seqs := make([]int, len(parts))
	for i, p := range parts {
		seqs[i] = p.Seq
	}
	return seqs
}

// Merged returns parts with the n from at replaced by one part of the
// next level, numbered as the oldest of them.
func Merged(parts []Part, at, n int) []Part {
	p := Part{Seq: parts[at].Seq, Level: parts[at].Level + 1}
	return slices.Replace(parts, at, at+n, p)
}

// MergeFiles writes the rows of the files srcs, in order and without
// those drop reports (nil: none), into srcs[0] (a new file renamed over
// it, as Create does), then removes the other files. Memory holds one
// batch of batch rows. A reader between the rename and the removals sees
// the rows of srcs[1:] twice; the tables merged so are rewritten whole
// when their writer starts again.
func MergeFiles[T any](srcs []string, batch int, drop func(*T) bool, opts ...Option) error {
	if err := MergeInto(srcs[0], srcs, batch, drop, opts...); err != nil {
		return err
	}
	for _, p := range srcs[1:] {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("catalog: merging parts: %w", err)
		}
	}
	return nil
}

// MergeInto writes the rows of the files srcs, in order and without
// those drop reports (nil: none), into the file dst (a new file renamed
// into place, as Create does; dst may be srcs[0]). Memory holds one
// batch of batch rows. The sources stay.
func MergeInto[T any](dst string, srcs []string, batch int, drop func(*T) bool, opts ...Option) error {
	w, err := Create[T](dst, opts...)
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
	return w.Close()
}
