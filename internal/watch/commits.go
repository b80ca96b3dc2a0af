package watch

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// CommitsFile is the log, in the run directory, to which "gotrap watch"
// appends one JSON line per committed timestep (gotrap bench live reads
// it; docs/live.md).
const CommitsFile = "logs/commits.jsonl"

// A Commit is one line of RUN/logs/commits.jsonl.
type Commit struct {
	Timestep int       `json:"timestep"` // 0-based index in the run
	Images   int       `json:"images"`
	Start    time.Time `json:"start"` // the timestep's start time
	// Committed and VOEvents are unix nanoseconds: when the commit was
	// done, and when its VOEvent files were written (0: none).
	Committed int64 `json:"committed"`
	VOEvents  int64 `json:"voevents"`
}

// AppendCommit appends c as one line to RUN/logs/commits.jsonl (the
// folder is created), in a single write, and syncs it.
func AppendCommit(run string, c Commit) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("watch: commit: %w", err)
	}
	p := filepath.Join(run, CommitsFile)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("watch: %s: %w", p, err)
	}
	return nil
}

// ReadCommits parses commits.jsonl. A last line without a newline is
// being written and is left out; any other line that is not a commit is
// an error naming its line.
func ReadCommits(r io.Reader) ([]Commit, error) {
	br := bufio.NewReader(r)
	var out []Commit
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil // b, if any, is an unfinished line
		}
		if err != nil {
			return out, fmt.Errorf("watch: commits: %w", err)
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		var c Commit
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return out, fmt.Errorf("watch: commits line %d: %w", line, err)
		}
		if c.Committed <= 0 || c.Start.IsZero() || c.Timestep < 0 || c.Images < 0 || c.VOEvents < 0 {
			return out, fmt.Errorf("watch: commits line %d: want timestep >= 0, images >= 0, a start time, committed > 0 and voevents >= 0", line)
		}
		out = append(out, c)
	}
}

// ReadCommitsFile reads RUN/logs/commits.jsonl; a run without one has no
// commits.
func ReadCommitsFile(run string) ([]Commit, error) {
	f, err := os.Open(filepath.Join(run, CommitsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	defer f.Close()
	c, err := ReadCommits(f)
	if err != nil {
		return c, fmt.Errorf("%w (%s)", err, f.Name())
	}
	return c, nil
}
