package respond

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"gotrap/internal/rundir"
)

// Delivery states of the log.
const (
	// StateStart is written (and synced) before an attempt.
	StateStart = "start"
	// StateOK and StateFailed are written after it.
	StateOK     = "ok"
	StateFailed = "failed"
	// StateUnknown is written when a start is found without its outcome
	// (the process died during the attempt): the delivery may or may not
	// have happened, and it is not repeated automatically.
	StateUnknown = "unknown"
	// StateSuppressed, StateDuplicate and StateQuiet record matches that
	// are not delivered: over the rule's rate limit, inside its
	// de-duplication window, or under quiet mode.
	StateSuppressed = "suppressed"
	StateDuplicate  = "duplicate"
	StateQuiet      = "quiet"
)

// A Record is one line of the delivery log.
type Record struct {
	Time     time.Time `json:"time"`
	Rule     string    `json:"rule"`
	Event    string    `json:"event"`
	Timestep int64     `json:"timestep"`
	Action   string    `json:"action"`
	Target   string    `json:"target"`
	State    string    `json:"state"`
	Attempt  int       `json:"attempt,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Key identifies a delivery: one rule, event, action and target.
func (r Record) Key() string {
	return r.Rule + "\x00" + r.Event + "\x00" + r.Action + "\x00" + r.Target
}

// Log is the append-only delivery log of a run. Each record is one JSON
// line, appended and synced (fsync) before the next step, so a record
// survives a crash right after it is written. A line cut short by a
// crash is ignored when the log is read, and the next record starts on a
// new line.
type Log struct {
	path string
	f    *os.File
	// last is the latest state per delivery key; attempts counts the
	// starts.
	last     map[string]Record
	attempts map[string]int
}

// ReadLog reads the records of the run's delivery log (none when it does
// not exist), skipping a line cut short by a crash.
func ReadLog(run string) ([]Record, error) {
	b, err := os.ReadFile(rundir.ResponsesLogPath(run))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("respond: delivery log: %w", err)
	}
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			// Only the last line can be cut short by a crash; the
			// next writer starts a new line after it.
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// OpenLog opens the run's delivery log for appending (creating
// RUN/responses/) and resolves the attempts that started but never
// finished: each gets a StateUnknown record now, with now's time, and
// is returned.
func OpenLog(run string, now time.Time) (*Log, []Record, error) {
	recs, err := ReadLog(run)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(rundir.ResponsesDir(run), 0o755); err != nil {
		return nil, nil, fmt.Errorf("respond: %w", err)
	}
	p := rundir.ResponsesLogPath(run)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("respond: delivery log: %w", err)
	}
	if err := rundir.SyncDir(filepath.Dir(p)); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("respond: delivery log: %w", err)
	}
	l := &Log{path: p, f: f, last: map[string]Record{}, attempts: map[string]int{}}
	// A torn last line: start the next record on a line of its own.
	if b, err := os.ReadFile(p); err == nil && len(b) > 0 && b[len(b)-1] != '\n' {
		if _, err := f.Write([]byte("\n")); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("respond: delivery log: %w", err)
		}
	}
	var keys []string
	for _, r := range recs {
		k := r.Key()
		if _, ok := l.last[k]; !ok {
			keys = append(keys, k)
		}
		l.last[k] = r
		if r.State == StateStart {
			l.attempts[k]++
		}
	}
	var unknown []Record
	for _, k := range keys {
		if r := l.last[k]; r.State == StateStart {
			r.State = StateUnknown
			r.Time = now.UTC()
			r.Error = "the attempt started but its outcome was never recorded (process killed?): not repeated; gotrap respond --send --resend-unknown resends it"
			if err := l.Append(r); err != nil {
				l.Close()
				return nil, nil, err
			}
			unknown = append(unknown, r)
		}
	}
	return l, unknown, nil
}

// Append writes r as one line and syncs the file.
func (l *Log) Append(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("respond: delivery log: %w", err)
	}
	if _, err := l.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("respond: delivery log %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("respond: delivery log %s: %w", l.path, err)
	}
	k := r.Key()
	l.last[k] = r
	if r.State == StateStart {
		l.attempts[k]++
	}
	return nil
}

// Last returns the latest record of delivery key k.
func (l *Log) Last(k string) (Record, bool) {
	r, ok := l.last[k]
	return r, ok
}

// Attempts returns how many attempts of key k started.
func (l *Log) Attempts(k string) int { return l.attempts[k] }

// forget drops the latest states and attempt counts of the keys not in
// keep: a log kept open across calls (Stream) holds only what its next
// call may meet again.
func (l *Log) forget(keep map[string]bool) {
	for k := range l.last {
		if !keep[k] {
			delete(l.last, k)
			delete(l.attempts, k)
		}
	}
}

// Close closes the file.
func (l *Log) Close() error { return l.f.Close() }
