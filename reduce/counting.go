package reduce

import (
	"sort"
	"sync"
	"time"
)

// CommStat counts one kind of collective of one rank: calls, and the
// payload bytes this rank sent to other ranks and received from them
// (Allgatherv: its contribution once, and the others'; Alltoallv: the
// parts for and from other ranks; Bcast: the root's data, once). Copies
// to itself are not counted; the wire traffic of MPI's algorithms differs.
type CommStat struct {
	Op         string
	Calls      int64
	Sent, Recv int64
	// Seconds is the wall time spent in the calls (waiting for the other
	// ranks included).
	Seconds float64
}

// Counting is a Comm that passes every call to the Comm it wraps and
// counts the calls, bytes and time of each kind of collective (CommStat).
// Its methods may be called from several goroutines, as the wrapped
// Comm's may.
type Counting struct {
	Comm
	mu    sync.Mutex
	stats map[string]*CommStat
}

// NewCounting returns a Counting that wraps c.
func NewCounting(c Comm) *Counting {
	return &Counting{Comm: c, stats: map[string]*CommStat{}}
}

func (c *Counting) add(op string, sent, recv int, t0 time.Time) {
	dt := time.Since(t0).Seconds()
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats[op]
	if s == nil {
		s = &CommStat{Op: op}
		c.stats[op] = s
	}
	s.Calls++
	s.Sent += int64(sent)
	s.Recv += int64(recv)
	s.Seconds += dt
}

// Barrier calls the wrapped Barrier and counts it.
func (c *Counting) Barrier() error {
	t0 := time.Now()
	err := c.Comm.Barrier()
	c.add("Barrier", 0, 0, t0)
	return err
}

// Bcast calls the wrapped Bcast and counts the root's data as sent by the
// root (once) and received by every other rank.
func (c *Counting) Bcast(data []byte, root int) ([]byte, error) {
	t0 := time.Now()
	out, err := c.Comm.Bcast(data, root)
	if c.Rank() == root {
		c.add("Bcast", len(data)*min(1, c.Size()-1), 0, t0)
	} else {
		c.add("Bcast", 0, len(out), t0)
	}
	return out, err
}

// AllreduceInt64 calls the wrapped AllreduceInt64 and counts buf as sent
// and received when there are other ranks.
func (c *Counting) AllreduceInt64(buf []int64, op Op) error {
	t0 := time.Now()
	n := 8 * len(buf) * min(1, c.Size()-1)
	err := c.Comm.AllreduceInt64(buf, op)
	c.add("AllreduceInt64", n, n, t0)
	return err
}

// AllreduceFloat64 calls the wrapped AllreduceFloat64 and counts buf as
// sent and received when there are other ranks.
func (c *Counting) AllreduceFloat64(buf []float64, op Op) error {
	t0 := time.Now()
	n := 8 * len(buf) * min(1, c.Size()-1)
	err := c.Comm.AllreduceFloat64(buf, op)
	c.add("AllreduceFloat64", n, n, t0)
	return err
}

// Allgatherv calls the wrapped Allgatherv and counts this rank's part as
// sent (once) and the other ranks' parts as received.
func (c *Counting) Allgatherv(send []byte) ([][]byte, error) {
	t0 := time.Now()
	out, err := c.Comm.Allgatherv(send)
	n := 0
	for r, b := range out {
		if r != c.Rank() {
			n += len(b)
		}
	}
	c.add("Allgatherv", len(send)*min(1, c.Size()-1), n, t0)
	return out, err
}

// Alltoallv calls the wrapped Alltoallv and counts the parts for and from
// the other ranks.
func (c *Counting) Alltoallv(send [][]byte) ([][]byte, error) {
	t0 := time.Now()
	out, err := c.Comm.Alltoallv(send)
	s, r := 0, 0
	for j, b := range send {
		if j != c.Rank() {
			s += len(b)
		}
	}
	for i, b := range out {
		if i != c.Rank() {
			r += len(b)
		}
	}
	c.add("Alltoallv", s, r, t0)
	return out, err
}

// Stats returns the counts so far, one per kind of collective called,
// sorted by Op.
func (c *Counting) Stats() []CommStat {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CommStat, 0, len(c.stats))
	for _, s := range c.stats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}
