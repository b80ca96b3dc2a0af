package watch

import (
	"testing"
	"time"
)

// clock is a fake clock for the Closer and the Tracker.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func img(name string, startS float64) Image {
	return Image{Path: name, Start: t0.Add(time.Duration(startS * float64(time.Second)))}
}

func paths(ts Timestep) []string {
	var out []string
	for _, im := range ts.Images {
		out = append(out, im.Path)
	}
	return out
}

func TestCloserLaterCountTimeout(t *testing.T) {
	t.Run("later", func(t *testing.T) {
		ck := &clock{t: t0}
		c := &Closer{Tolerance: 500 * time.Millisecond, Now: ck.now}
		for _, im := range []Image{img("a", 0), img("b", 0.2), img("c", 0.4)} {
			if closed, late := c.Add(im); len(closed) != 0 || late != nil {
				t.Fatalf("Add(%s) = %v, %v: want nothing closed", im.Path, closed, late)
			}
		}
		ck.advance(time.Second)
		closed, late := c.Add(img("d", 1))
		if late != nil || len(closed) != 1 {
			t.Fatalf("Add(d) = %v, %v: want the first timestep closed", closed, late)
		}
		ts := closed[0]
		if ts.Seq != 0 || ts.Reason != ClosedLater || !ts.Start.Equal(t0) || len(ts.Images) != 3 || !ts.Closed.Equal(t0.Add(time.Second)) {
			t.Errorf("closed %+v: want seq 0, reason later, start t0, 3 images, closed at t0+1s", ts)
		}
		if start, n, ok := c.Open(); !ok || n != 1 || !start.Equal(t0.Add(time.Second)) {
			t.Errorf("open = %v, %d, %v: want the timestep of d", start, n, ok)
		}
	})
	t.Run("tolerance is from the earliest start", func(t *testing.T) {
		// The plan groups by the earliest start of a timestep: with a
		// tolerance of 1 s, starts 0.6 and 0.0 arriving in that order
		// are one timestep, and 1.3 (1.3 s after 0.0) opens the next.
		c := &Closer{Tolerance: time.Second, Now: (&clock{t: t0}).now}
		c.Add(img("a", 0.6))
		c.Add(img("b", 0))
		closed, _ := c.Add(img("c", 1.3))
		if len(closed) != 1 || len(closed[0].Images) != 2 || !closed[0].Start.Equal(t0) {
			t.Fatalf("closed %+v: want a and b, starting at t0", closed)
		}
	})
	t.Run("configured count", func(t *testing.T) {
		c := &Closer{Expected: 2, Now: (&clock{t: t0}).now}
		if closed, _ := c.Add(img("a", 0)); len(closed) != 0 {
			t.Fatalf("closed after 1 of 2 images: %v", closed)
		}
		closed, _ := c.Add(img("b", 0))
		if len(closed) != 1 || closed[0].Reason != ClosedCount || len(closed[0].Images) != 2 {
			t.Fatalf("closed %+v: want a and b closed by count", closed)
		}
		if _, _, ok := c.Open(); ok {
			t.Error("a timestep is still open after closing by count")
		}
	})
	t.Run("learned count", func(t *testing.T) {
		c := &Closer{Now: (&clock{t: t0}).now}
		var reasons []string
		for step := range 4 {
			for band := range 3 {
				closed, late := c.Add(img(string(rune('a'+band)), float64(step)*10))
				if late != nil {
					t.Fatalf("late %v", late)
				}
				for _, ts := range closed {
					reasons = append(reasons, ts.Reason)
				}
			}
		}
		// Timesteps 0 and 1 close when the next one starts; after them
		// the count 3 is learned, so 2 and 3 close on their third image.
		want := []string{ClosedLater, ClosedLater, ClosedCount, ClosedCount}
		if len(reasons) != len(want) {
			t.Fatalf("reasons %v, want %v", reasons, want)
		}
		for i := range want {
			if reasons[i] != want[i] {
				t.Errorf("timestep %d closed by %s, want %s", i, reasons[i], want[i])
			}
		}
		if c.ExpectedCount() != 3 {
			t.Errorf("learned %d images per timestep, want 3", c.ExpectedCount())
		}
	})
	t.Run("no learning when counts differ", func(t *testing.T) {
		c := &Closer{Now: (&clock{t: t0}).now}
		c.Add(img("a", 0))
		c.Add(img("b", 0))
		c.Add(img("c", 10)) // closes timestep 0 (2 images)
		c.Add(img("d", 20)) // closes timestep 1 (1 image)
		if n := c.ExpectedCount(); n != 0 {
			t.Errorf("learned %d from counts 2 and 1: want none", n)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		ck := &clock{t: t0}
		c := &Closer{Timeout: 5 * time.Second, Now: ck.now}
		if _, ok := c.Deadline(); ok {
			t.Error("a deadline with no open timestep")
		}
		c.Add(img("a", 0))
		ck.advance(3 * time.Second)
		c.Add(img("b", 0))
		d, ok := c.Deadline()
		if !ok || !d.Equal(t0.Add(8*time.Second)) {
			t.Fatalf("deadline %v, %v: want 5 s after the last image (t0+8s)", d, ok)
		}
		ck.advance(4999 * time.Millisecond)
		if closed := c.Tick(); len(closed) != 0 {
			t.Fatalf("closed before the timeout: %v", closed)
		}
		ck.advance(time.Millisecond)
		closed := c.Tick()
		if len(closed) != 1 || closed[0].Reason != ClosedTimeout || len(closed[0].Images) != 2 {
			t.Fatalf("Tick at the deadline = %+v: want a and b closed by timeout", closed)
		}
	})
	t.Run("flush", func(t *testing.T) {
		c := &Closer{}
		if c.Flush() != nil {
			t.Error("Flush with nothing open closed something")
		}
		c.Add(img("a", 0))
		if closed := c.Flush(); len(closed) != 1 || closed[0].Reason != ClosedFlush {
			t.Errorf("Flush = %+v", closed)
		}
	})
}

func TestCloserLate(t *testing.T) {
	ck := &clock{t: t0}
	c := &Closer{Tolerance: 100 * time.Millisecond, Expected: 2, Now: ck.now}
	c.Add(img("a0", 0))
	c.Add(img("b0", 0)) // closes timestep 0 by count
	c.Add(img("a1", 10))
	c.Add(img("a2", 20)) // closes timestep 1 (1 image) by a later one
	t.Run("of a closed timestep", func(t *testing.T) {
		for _, c0 := range []struct {
			im   Image
			want time.Time
		}{
			{img("c0", 0.05), t0},
			{img("b1", 10), t0.Add(10 * time.Second)},
		} {
			closed, late := c.Add(c0.im)
			if len(closed) != 0 || late == nil || late.Path != c0.im.Path || !late.Timestep.Equal(c0.want) {
				t.Errorf("Add(%s) = %v, %+v: want late, of the timestep at %v", c0.im.Path, closed, late, c0.want)
			}
		}
	})
	t.Run("log line", func(t *testing.T) {
		_, late := c.Add(img("c0", 0.05))
		if got, want := late.String(), "late image c0 (timestep 2024-05-01T12:00:00Z, already closed)"; got != want {
			t.Errorf("line %q, want %q", got, want)
		}
		_, late = c.Add(img("y", 15))
		if got, want := late.String(), "late image y (start 2024-05-01T12:00:15Z, older than the open timestep)"; got != want {
			t.Errorf("line %q, want %q", got, want)
		}
	})
	t.Run("older than the open one", func(t *testing.T) {
		// 15 s lies between closed timestep 1 (10 s) and the open one
		// (20 s): no timestep of its own, late with no match.
		closed, late := c.Add(img("x", 15))
		if len(closed) != 0 || late == nil || !late.Timestep.IsZero() {
			t.Errorf("Add(x) = %v, %+v: want late with no timestep", closed, late)
		}
		if _, n, _ := c.Open(); n != 1 {
			t.Errorf("open timestep has %d images after a late one, want 1", n)
		}
	})
	t.Run("after a restart", func(t *testing.T) {
		r := &Closer{Tolerance: 100 * time.Millisecond}
		r.Committed(t0.Add(10 * time.Second))
		if _, late := r.Add(img("b1", 10)); late == nil || !late.Timestep.Equal(t0.Add(10*time.Second)) {
			t.Errorf("image of the last committed timestep: late = %+v", late)
		}
		if closed, late := r.Add(img("a2", 20)); late != nil || len(closed) != 0 {
			t.Errorf("image of a new timestep: %v, %+v", closed, late)
		}
	})
}

// TestCloserCounted: a Closer started again learns the expected count
// from the counts of the timesteps closed before it (Counted), as from
// its own.
func TestCloserCounted(t *testing.T) {
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	c := &Closer{Tolerance: time.Second, Now: func() time.Time { return t0 }}
	c.Committed(t0)
	c.Counted(3, 3)
	if got := c.ExpectedCount(); got != 3 {
		t.Fatalf("expected count %d after Counted(3, 3), want 3", got)
	}
	var closed []Timestep
	for k := range 3 {
		cl, late := c.Add(Image{Path: string(rune('a' + k)), Start: t0.Add(time.Minute)})
		if late != nil {
			t.Fatalf("image %d late: %v", k, late)
		}
		closed = append(closed, cl...)
	}
	if len(closed) != 1 || closed[0].Reason != ClosedCount || len(closed[0].Images) != 3 {
		t.Errorf("closed %+v, want one timestep of 3 images closed by its count", closed)
	}
	d := &Closer{Tolerance: time.Second}
	d.Counted(3, 4)
	if got := d.ExpectedCount(); got != 0 {
		t.Errorf("expected count %d after Counted(3, 4) (disagreeing), want 0", got)
	}
}
