package watch

import (
	"fmt"
	"time"
)

// DefaultLearn is the number of closed timesteps whose image counts, when
// they agree, a Closer with no expected count takes as the count.
const DefaultLearn = 2

// Why a timestep closed.
const (
	ClosedLater   = "later"   // an image of a later timestep arrived
	ClosedCount   = "count"   // the expected number of images is in
	ClosedTimeout = "timeout" // no image for Timeout
	ClosedFlush   = "flush"   // Flush (the input ended)
)

// An Image is a file with its start time (the header's, as the plan
// reads it: fitsimg.Meta.TauStart).
type Image struct {
	Path  string
	Start time.Time
}

// A Timestep is a closed timestep: its images in arrival order.
type Timestep struct {
	Seq    int       // 0-based count of the timesteps this Closer closed
	Start  time.Time // the earliest start time of its images
	Images []Image
	// Last is when its last image arrived (the clock of the Closer).
	Last time.Time
	// Closed is when it closed, Reason why (ClosedLater, ...).
	Closed time.Time
	Reason string
}

// A Late image belongs to a timestep already closed, or is older than
// the open one. It is not part of any timestep the Closer emits.
type Late struct {
	Image
	// Timestep is the start of the closed timestep it belongs to (its
	// start within the tolerance), or the zero time when it matches none
	// of the last closed ones (it is older than the open timestep).
	Timestep time.Time
}

// String says what is late, for the log line "watch: late image ..."
// of docs/live.md.
func (l Late) String() string {
	if l.Timestep.IsZero() {
		return fmt.Sprintf("late image %s (start %s, older than the open timestep)", l.Path, l.Start.UTC().Format(time.RFC3339Nano))
	}
	return fmt.Sprintf("late image %s (timestep %s, already closed)", l.Path, l.Timestep.UTC().Format(time.RFC3339Nano))
}

// A Closer groups images into timesteps as they arrive and says when a
// timestep is closed. Images whose start times lie within Tolerance of a
// timestep's earliest start are one timestep, the rule of the pipeline's
// plan (pipeline.timestep_tolerance); at most one timestep is open. It
// closes when
//
//   - an image of a later timestep arrives (that image opens the next),
//   - it holds Expected images (configured, or learned: when the first
//     Learn closed timesteps all hold the same number of images), or
//   - Timeout has passed since its last image arrived (Tick).
//
// An image of a closed timestep, or older than the open one, is Late.
// The Closer is not safe for concurrent use; its clock is Now.
type Closer struct {
	Tolerance time.Duration
	Expected  int           // images per timestep; 0: learn
	Learn     int           // timesteps to learn Expected from (0: DefaultLearn)
	Timeout   time.Duration // 0: no timeout
	Now       func() time.Time

	open    *Timestep
	seq     int
	counts  []int       // image counts of the first closed timesteps, while learning
	learned int         // Expected learned (0: not yet)
	recent  []time.Time // starts of the last closed timesteps, newest last
	after   time.Time   // images at or before after+Tolerance are late
	hasLast bool
}

// maxRecent is how many closed timesteps a Late image is matched against.
const maxRecent = 64

func (c *Closer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Committed tells a new Closer that the run already holds timesteps up to
// the one starting at start (a restart): images of it or older are Late.
func (c *Closer) Committed(start time.Time) {
	c.after, c.hasLast = start, true
	c.recent = append(c.recent, start)
}

// ExpectedCount is the number of images per timestep in force: the
// configured one, the learned one, or 0.
func (c *Closer) ExpectedCount() int {
	if c.Expected > 0 {
		return c.Expected
	}
	return c.learned
}

// Open reports the open timestep's start and image count (ok false when
// none is open).
func (c *Closer) Open() (start time.Time, n int, ok bool) {
	if c.open == nil {
		return time.Time{}, 0, false
	}
	return c.open.Start, len(c.open.Images), true
}

// Add takes an image that arrived now. It returns the timesteps this
// closes (in time order: the open one when img starts a later one, and
// img's own when that is then complete), or late when img belongs to a
// closed timestep.
func (c *Closer) Add(img Image) (closed []Timestep, late *Late) {
	now := c.now()
	if c.hasLast && !img.Start.After(c.after.Add(c.Tolerance)) {
		return nil, c.late(img)
	}
	if c.open != nil {
		d := img.Start.Sub(c.open.Start)
		switch {
		case d > c.Tolerance:
			closed = append(closed, c.close(now, ClosedLater))
		case d < -c.Tolerance:
			return nil, &Late{Image: img}
		}
	}
	if c.open == nil {
		c.open = &Timestep{Start: img.Start}
	}
	if img.Start.Before(c.open.Start) {
		c.open.Start = img.Start
	}
	c.open.Images = append(c.open.Images, img)
	c.open.Last = now
	if n := c.ExpectedCount(); n > 0 && len(c.open.Images) >= n {
		closed = append(closed, c.close(now, ClosedCount))
	}
	return closed, nil
}

// late matches img with the last closed timesteps.
func (c *Closer) late(img Image) *Late {
	l := &Late{Image: img}
	for i := len(c.recent) - 1; i >= 0; i-- {
		if d := img.Start.Sub(c.recent[i]); d >= -c.Tolerance && d <= c.Tolerance {
			l.Timestep = c.recent[i]
			break
		}
	}
	return l
}

// Deadline is when the open timestep times out (ok false when none is
// open or there is no timeout): call Tick then.
func (c *Closer) Deadline() (t time.Time, ok bool) {
	if c.open == nil || c.Timeout <= 0 {
		return time.Time{}, false
	}
	return c.open.Last.Add(c.Timeout), true
}

// Tick closes the open timestep when its timeout has passed.
func (c *Closer) Tick() []Timestep {
	if d, ok := c.Deadline(); ok && !c.now().Before(d) {
		return []Timestep{c.close(c.now(), ClosedTimeout)}
	}
	return nil
}

// Flush closes the open timestep, if any (the input has ended).
func (c *Closer) Flush() []Timestep {
	if c.open == nil {
		return nil
	}
	return []Timestep{c.close(c.now(), ClosedFlush)}
}

func (c *Closer) close(now time.Time, reason string) Timestep {
	ts := *c.open
	c.open = nil
	ts.Seq, ts.Closed, ts.Reason = c.seq, now, reason
	c.seq++
	c.after, c.hasLast = ts.Start, true
	c.recent = append(c.recent, ts.Start)
	if len(c.recent) > maxRecent {
		c.recent = append(c.recent[:0], c.recent[len(c.recent)-maxRecent:]...)
	}
	c.count(len(ts.Images))
	return ts
}

// Counted tells a new Closer the image counts of timesteps the run closed
// before (a restart), oldest first, as if it had closed them: the
// expected count is learned from them as from its own.
func (c *Closer) Counted(counts ...int) {
	for _, n := range counts {
		c.count(n)
	}
}

// count learns from a closed timestep of n images.
func (c *Closer) count(n int) {
	learn := c.Learn
	if learn <= 0 {
		learn = DefaultLearn
	}
	if c.Expected <= 0 && c.learned == 0 && len(c.counts) < learn {
		c.counts = append(c.counts, n)
		if len(c.counts) == learn {
			agree := true
			for _, n := range c.counts {
				agree = agree && n == c.counts[0]
			}
			if agree {
				c.learned = c.counts[0]
			}
		}
	}
}
