package respond

import (
	"gotrap/internal/rundir"
	"os"
	"strings"
	"testing"
	"time"
)

// TestLogTornLineAndUnknown: a line cut short by a crash is skipped, the
// next record starts on a line of its own, and a start without an outcome
// is resolved as unknown once.
func TestLogTornLineAndUnknown(t *testing.T) {
	run := t.TempDir()
	now := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	l, unknown, err := OpenLog(run, now)
	if err != nil || len(unknown) != 0 {
		t.Fatalf("new log: %v %v", unknown, err)
	}
	done := Record{Rule: "r", Event: "e1", Action: "webhook", Target: "http://x", State: StateStart}
	for _, st := range []string{StateStart, StateOK} {
		done.State = st
		if err := l.Append(done); err != nil {
			t.Fatal(err)
		}
	}
	open := Record{Rule: "r", Event: "e2", Action: "webhook", Target: "http://x", State: StateStart}
	if err := l.Append(open); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// A crash in the middle of the next line.
	f, err := os.OpenFile(rundir.ResponsesLogPath(run), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"time":"2026-12-07T06:00:01Z","rule":"r","event":"e3","act`)
	f.Close()

	l, unknown, err = OpenLog(run, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(unknown) != 1 || unknown[0].Event != "e2" || unknown[0].State != StateUnknown {
		t.Errorf("unknown after the crash: %+v", unknown)
	}
	if r, _ := l.Last(done.Key()); r.State != StateOK {
		t.Errorf("e1: last state %q", r.State)
	}
	if l.Attempts(open.Key()) != 1 {
		t.Errorf("e2: %d attempts", l.Attempts(open.Key()))
	}
	l.Close()
	b, _ := os.ReadFile(rundir.ResponsesLogPath(run))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "{") || !strings.Contains(last, `"state":"unknown"`) {
		t.Errorf("the unknown record does not start a line of its own: %q", last)
	}
	recs, err := ReadLog(run)
	if err != nil || len(recs) != 4 {
		t.Errorf("read back %d records (%v), want 4 (the torn line skipped)", len(recs), err)
	}
	// Opening again resolves nothing more.
	l, unknown, err = OpenLog(run, now)
	if err != nil || len(unknown) != 0 {
		t.Errorf("second open: %v %v", unknown, err)
	}
	l.Close()
	if _, err := os.Stat(rundir.ResponsesDir(run)); err != nil {
		t.Error(err)
	}
}
