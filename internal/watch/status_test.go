package watch

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	ck := &clock{t: t0}
	tr := NewTracker("inotify", ck.now)
	// 30 images over 10 s (3 per second), two timesteps committed.
	for i := range 30 {
		tr.Landed(string(rune('A'+i)), ck.t)
		if i%3 == 2 {
			ck.advance(time.Second)
		}
	}
	tr.Late("A")
	tr.Committed(41, []string{"B", "C", "D"}) // a restarted watch: 40 timesteps before
	var rest []string
	for i := 4; i < 30; i++ {
		rest = append(rest, string(rune('A'+i)))
	}
	s := tr.Status()
	// Rate: 30 images in the 10 s since Started.
	if s.ImagesIn != 30 || s.Late != 1 || s.Committed != 41 || s.Pending != 26 || s.Rate != 3 {
		t.Errorf("status %+v: want 30 in, 1 late, 41 committed, 26 pending, 3 images/s", s)
	}
	// The oldest pending image (E) landed at t0+1s; now is t0+10s.
	if s.LagS != 9 {
		t.Errorf("lag %v s, want 9", s.LagS)
	}
	tr.Committed(42, rest)
	ck.advance(70 * time.Second)
	s = tr.Status()
	if s.LagS != 0 || s.Pending != 0 || s.Rate != 0 || s.Committed != 42 || s.LastCommit == nil || !s.LastCommit.Equal(t0.Add(10*time.Second)) {
		t.Errorf("status %+v: want no lag, no pending, rate 0 a minute later, 42 commits, the last at t0+10s", s)
	}
}

func TestStatusFileAndLine(t *testing.T) {
	run := t.TempDir()
	ck := &clock{t: t0}
	tr := NewTracker("poll", ck.now)
	tr.Landed("a.fits", t0)
	ck.advance(1500 * time.Millisecond)
	s := tr.Status()
	if err := WriteStatus(run, s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadStatus(run)
	if err != nil {
		t.Fatal(err)
	}
	if back.ImagesIn != 1 || back.Mode != "poll" || back.LagS != 1.5 || !back.Updated.Equal(s.Updated) {
		t.Errorf("read back %+v, wrote %+v", back, s)
	}
	ents, _ := os.ReadDir(run)
	if len(ents) != 1 {
		t.Errorf("run directory holds %d files, want status.json alone", len(ents))
	}
	line := s.Line()
	for _, want := range []string{"1 images in", "0 timesteps committed", "lag 1.5 s", "last commit none"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
	t.Run("terminal", func(t *testing.T) {
		var b bytes.Buffer
		if err := (Printer{W: &b, Terminal: true}).Print(s); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); !strings.HasPrefix(got, "\r") || strings.Contains(got, "\n") || len(got) < 79 {
			t.Errorf("terminal line %q: want \\r, no newline, padded to 78 columns", got)
		}
	})
	t.Run("log", func(t *testing.T) {
		var b bytes.Buffer
		if err := (Printer{W: &b}).Print(s); err != nil {
			t.Fatal(err)
		}
		want := "2024-05-01T12:00:01.500Z " + line + "\n"
		if b.String() != want {
			t.Errorf("log line %q, want %q", b.String(), want)
		}
	})
}
