package respond

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// The events of a run are RUN/events.parquet, written whole (writeAll)
// by a batch run, gotrap respond and gotrap listen, and, while a run is
// live, parts beside it (RUN/events/rank=0000/part-SSSSS.parquet, SSSSS
// the first timestep a part holds): each commit adds the events of its
// timesteps as a part (Stream.write), so that a commit's work does not
// grow with the run, and the parts are merged in levels as the
// catalogue's tables are. The next whole write folds the parts into
// events.parquet and removes them.

// eventsFanIn is how many event parts of one level a live run merges
// into one of the next (catalog.MergeLevels). A variable for the tests.
var eventsFanIn = 8

// eventsBatch is how many events a merge of parts holds at a time, and
// the parts' row groups: a writer holds a row group (about 1 MB of
// events), where the default (65,536 rows) would make a live run's
// merges hold more the longer it runs.
const eventsBatch = 4096

// eventPartPath is the path of the events part seq.
func eventPartPath(run string, seq int) string {
	return rundir.PartPath(run, rundir.EventsTable, 0, "", seq)
}

// eventFiles returns the files of run's events: RUN/events.parquet when
// there is one, then the parts in number order.
func eventFiles(run string) ([]string, error) {
	var files []string
	base := rundir.EventsPath(run)
	if _, err := os.Stat(base); err == nil {
		files = append(files, base)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("respond: %w", err)
	}
	parts, err := eventParts(run)
	if err != nil {
		return nil, err
	}
	for _, seq := range parts {
		files = append(files, eventPartPath(run, seq))
	}
	return files, nil
}

// eventParts returns the numbers of run's events parts, in order.
func eventParts(run string) ([]int, error) {
	paths, err := filepath.Glob(rundir.PartGlob(run, rundir.EventsTable, ""))
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	var seqs []int
	for _, p := range paths {
		if seq, ok := rundir.PartSeq(p); ok {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)
	return seqs, nil
}

// writeAll writes evs as RUN/events.parquet (writeBase), then removes
// the parts, whose events evs holds.
func writeAll(run string, evs []Event) error {
	parts, err := eventParts(run)
	if err != nil {
		return err
	}
	if err := writeBase(run, evs); err != nil {
		return err
	}
	for _, seq := range parts {
		if err := os.Remove(eventPartPath(run, seq)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("respond: %w", err)
		}
	}
	if len(parts) > 0 {
		// The parts' folders, when empty.
		dir := filepath.Dir(eventPartPath(run, 0))
		os.Remove(dir)
		os.Remove(filepath.Dir(dir))
	}
	return nil
}

// writeBase writes evs as RUN/events.parquet, atomically (temporary
// name, rename).
func writeBase(run string, evs []Event) error {
	w, err := catalog.Create[Event](rundir.EventsPath(run))
	if err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	if err := w.Write(evs...); err != nil {
		w.Abort()
		return fmt.Errorf("respond: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	return nil
}

// readEventsFile reads the events of one file; none when it does not
// exist.
func readEventsFile(p string) ([]Event, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	defer f.Close()
	evs, err := catalog.Read[Event](f)
	if err != nil {
		return nil, fmt.Errorf("respond: %s: %w", p, err)
	}
	return evs, nil
}

// write stores evs, the events of the timesteps in r that s computed.
// When r continues what s wrote last, they become a part (none when
// there are none; compact merges the parts); otherwise, and after any
// error, the events are written whole (WriteEvents), which also
// restarts the parts.
func (s *Stream) write(run string, evs []Event, r Range) (err error) {
	defer func() {
		if err != nil {
			s.written, s.parts = -1, nil
		}
	}()
	if s.written < 0 || r.From != s.written || r.To < r.From {
		if _, err := WriteEvents(run, evs, r); err != nil {
			return err
		}
		s.parts = nil
		s.written = s.next
		return nil
	}
	if len(evs) > 0 {
		seq := int(r.From)
		if err := catalog.WriteFile(eventPartPath(run, seq), evs, catalog.WithRowGroupRows(eventsBatch)); err != nil {
			return fmt.Errorf("respond: %w", err)
		}
		s.parts = append(s.parts, catalog.Part{Seq: seq})
	}
	s.written = r.To + 1
	return nil
}

// compact merges the events parts in levels (after the rules read the
// newest part).
func (s *Stream) compact(run string) (err error) {
	s.parts, err = catalog.MergeLevels(s.parts, eventsFanIn, func(seqs []int) error {
		srcs := make([]string, len(seqs))
		for i, q := range seqs {
			srcs[i] = eventPartPath(run, q)
		}
		if err := catalog.MergeFiles[Event](srcs, eventsBatch, nil, catalog.WithRowGroupRows(eventsBatch)); err != nil {
			return fmt.Errorf("respond: %w", err)
		}
		return nil
	})
	if err != nil {
		s.written, s.parts = -1, nil
	}
	return err
}
