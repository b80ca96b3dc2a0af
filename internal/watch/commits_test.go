package watch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// c0 is the start of the sample commits (2024-03-01T21:00:00Z).
var c0 = time.Date(2024, 3, 1, 21, 0, 0, 0, time.UTC)

func TestReadCommits(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "commits.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := ReadCommits(f)
	if err != nil {
		t.Fatal(err)
	}
	// Three complete lines (a blank one skipped); the fourth is being
	// written (no newline) and is left out.
	if len(cs) != 3 {
		t.Fatalf("%d commits, want 3: %+v", len(cs), cs)
	}
	c := cs[1]
	if c.Timestep != 1 || c.Images != 8 || !c.Start.Equal(c0.Add(time.Second)) || c.Committed != 1709326801400000000 || c.VOEvents != 1709326801600000000 {
		t.Errorf("line 2 read as %+v", c)
	}
	if !cs[2].Start.Equal(c0.Add(2 * time.Second)) {
		t.Errorf("fractional RFC 3339 start read as %v", cs[2].Start)
	}
	for _, bad := range []struct{ name, text, want string }{
		{"not json", "{\"timestep\": 0, \"images\": 8, \"start\": \"2024-03-01T21:00:00Z\", \"committed\": 1, \"voevents\": 0}\nnope\n", "line 2"},
		{"unknown field", "{\"timestep\": 0, \"start\": \"2024-03-01T21:00:00Z\", \"committed\": 1, \"extra\": 1}\n", "line 1"},
		{"no commit time", "{\"timestep\": 0, \"images\": 8, \"start\": \"2024-03-01T21:00:00Z\", \"voevents\": 0}\n", "committed > 0"},
		{"no start", "{\"timestep\": 0, \"images\": 8, \"committed\": 5}\n", "start time"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := ReadCommits(strings.NewReader(bad.text))
			if err == nil || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("error %v, want one naming %q", err, bad.want)
			}
		})
	}
}

func TestAppendCommit(t *testing.T) {
	run := t.TempDir()
	if cs, err := ReadCommitsFile(run); err != nil || cs != nil {
		t.Fatalf("run without commits.jsonl: %v, %v", cs, err)
	}
	want := []Commit{
		{Timestep: 0, Images: 8, Start: c0, Committed: 1709326800500000000},
		{Timestep: 1, Images: 8, Start: c0.Add(time.Second), Committed: 1709326801400000000, VOEvents: 1709326801600000000},
	}
	for _, c := range want {
		if err := AppendCommit(run, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadCommitsFile(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d commits, wrote %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || g.Committed != w.Committed || g.VOEvents != w.VOEvents || g.Images != w.Images || g.Timestep != w.Timestep {
			t.Errorf("commit %d read back as %+v, wrote %+v", i, g, w)
		}
	}
}
