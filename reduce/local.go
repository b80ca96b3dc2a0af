package reduce

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"sync"
)

// Run runs fn on n in-process ranks (goroutines) that meet in collectives
// through shared memory (a mutex and channels closed per round), waits for all of them and returns nil or the
// first failure as a *[RankError] (which matches [ErrRankFailed]). A rank
// fails when fn returns an error, panics, or calls Abort; the other ranks'
// collectives then return errors instead of blocking, so Run always returns
// once every fn has returned. It panics if n < 1.
func Run(n int, fn func(c Comm) error) error {
	return RunContext(context.Background(), n, fn)
}

// RunContext is [Run] with a context: when ctx is done before the ranks
// finish, the group fails with ctx's error (attributed to rank -1), so ranks
// blocked in collectives return. A rank that never enters a collective is not
// interrupted; fn may watch ctx itself.
func RunContext(ctx context.Context, n int, fn func(c Comm) error) error {
	if n < 1 {
		panic(badSize)
	}
	g := newGroup(n)
	stop := context.AfterFunc(ctx, func() { g.fail(-1, context.Cause(ctx)) })
	defer stop()
	var wg sync.WaitGroup
	for r := range n {
		wg.Go(func() {
			c := &local{g: g, rank: r}
			err := runRank(c, fn)
			if err != nil {
				g.fail(r, err)
				return
			}
			g.exit(r)
		})
	}
	wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	return nil
}

// runRank calls fn and turns a panic into an error carrying the stack.
func runRank(c *local, fn func(c Comm) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(c)
}

// group is the shared state of the ranks of one Run.
//
// Collectives proceed in rounds: every rank counts the collectives it has
// entered, and the k-th collective of every rank meets in round k. The first
// rank to arrive creates the round; a rank never sees more than two rounds
// (the one it is reading and the next), because no rank can leave round k
// before all have entered it. Each rank deposits a private copy of its
// contribution, so senders may reuse their buffers as soon as they return;
// the last to arrive closes ready, after which the round is read-only.
type group struct {
	n      int
	mu     sync.Mutex
	cur    *round
	exited int           // ranks whose fn returned nil
	failed chan struct{} // closed on the first failure
	err    *RankError    // the first failure
}

type round struct {
	seq     int
	kind    string
	op      Op
	root    int
	length  int // element count for Allreduce, -1 when unused
	arrived int
	contrib []any // per rank
	ready   chan struct{}
	result  any // computed once by the last arrival
}

func newGroup(n int) *group {
	return &group{n: n, failed: make(chan struct{})}
}

// fail records the first failure and releases every waiting rank.
func (g *group) fail(rank int, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failLocked(rank, err)
}

func (g *group) failLocked(rank int, err error) {
	if g.err != nil {
		return
	}
	g.err = &RankError{Rank: rank, Err: err}
	close(g.failed)
}

// exit records that a rank returned nil. A round still waiting for it can
// never complete, so the group fails.
func (g *group) exit(rank int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.exited++
	if g.cur != nil && g.cur.arrived < g.n {
		g.failLocked(rank, fmt.Errorf("returned while ranks wait in %s (collective #%d)", g.cur.kind, g.cur.seq))
	}
}

// local is one rank's handle on a group.
type local struct {
	g    *group
	rank int
	seq  int // collectives entered
}

func (c *local) Rank() int { return c.rank }
func (c *local) Size() int { return c.g.n }

func (c *local) Abort(err error) {
	if err == nil {
		err = errors.New("abort")
	}
	c.g.fail(c.rank, fmt.Errorf("abort: %w", err))
}

// enter deposits this rank's contribution in its next round and waits for
// the round to be complete. check validates a later arrival against the
// round's first (same kind, op, root, length); compute runs once, in the
// last arrival, with every contribution present.
func (c *local) enter(kind string, op Op, root, length int, contrib any, compute func(r *round) any) (*round, error) {
	g := c.g
	g.mu.Lock()
	if g.err != nil {
		err := g.err
		g.mu.Unlock()
		return nil, fmt.Errorf("reduce: %s: %w", kind, err)
	}
	c.seq++
	r := g.cur
	if r == nil || r.seq < c.seq {
		r = &round{seq: c.seq, kind: kind, op: op, root: root, length: length,
			contrib: make([]any, g.n), ready: make(chan struct{})}
		g.cur = r
		if g.exited > 0 {
			g.failLocked(c.rank, fmt.Errorf("entered %s (collective #%d) after another rank returned", kind, c.seq))
			err := g.err
			g.mu.Unlock()
			return nil, fmt.Errorf("reduce: %s: %w", kind, err)
		}
	} else if r.kind != kind || r.op != op || r.root != root || r.length != length {
		g.failLocked(c.rank, fmt.Errorf("collective #%d mismatch: %s(op=%v root=%d len=%d) while another rank called %s(op=%v root=%d len=%d)",
			c.seq, kind, op, root, length, r.kind, r.op, r.root, r.length))
		err := g.err
		g.mu.Unlock()
		return nil, fmt.Errorf("reduce: %s: %w", kind, err)
	}
	r.contrib[c.rank] = contrib
	r.arrived++
	if r.arrived == g.n {
		if compute != nil {
			r.result = compute(r)
		}
		close(r.ready)
	}
	g.mu.Unlock()

	select {
	case <-r.ready:
		return r, nil
	case <-g.failed:
		// Prefer a completed round: a failure after completion must not
		// hide a result every other rank has seen.
		select {
		case <-r.ready:
			return r, nil
		default:
		}
		g.mu.Lock()
		err := g.err
		g.mu.Unlock()
		return nil, fmt.Errorf("reduce: %s: %w", kind, err)
	}
}

func (c *local) Barrier() error {
	_, err := c.enter("Barrier", 0, 0, -1, nil, nil)
	return err
}

func (c *local) Bcast(data []byte, root int) ([]byte, error) {
	if root < 0 || root >= c.g.n {
		panic(badRoot)
	}
	var contrib any
	if c.rank == root {
		contrib = clone(data)
	}
	r, err := c.enter("Bcast", 0, root, -1, contrib, nil)
	if err != nil {
		return nil, err
	}
	if c.rank == root {
		return clone(data), nil
	}
	return clone(r.contrib[root].([]byte)), nil
}

func (c *local) AllreduceFloat64(buf []float64, op Op) error {
	return allreduceLocal(c, "AllreduceFloat64", buf, op, combineFloat64)
}

func (c *local) AllreduceInt64(buf []int64, op Op) error {
	return allreduceLocal(c, "AllreduceInt64", buf, op, combineInt64)
}

// allreduceLocal combines every rank's buf in rank order with combine and
// writes the result back into buf on every rank.
func allreduceLocal[T int64 | float64](c *local, name string, buf []T, op Op, combine func(dst, src []T, op Op)) error {
	checkOp(op)
	r, err := c.enter(name, op, 0, len(buf), append([]T(nil), buf...), func(r *round) any {
		out := make([]T, r.length)
		copy(out, r.contrib[0].([]T))
		for _, x := range r.contrib[1:] {
			combine(out, x.([]T), r.op)
		}
		return out
	})
	if err != nil {
		return err
	}
	copy(buf, r.result.([]T))
	return nil
}

func (c *local) Allgatherv(send []byte) ([][]byte, error) {
	r, err := c.enter("Allgatherv", 0, 0, -1, clone(send), nil)
	if err != nil {
		return nil, err
	}
	// Every rank gets its own copy: the deposited slices are shared.
	total := 0
	for _, x := range r.contrib {
		total += len(x.([]byte))
	}
	all := make([]byte, 0, total)
	out := make([][]byte, c.g.n)
	for i, x := range r.contrib {
		start := len(all)
		all = append(all, x.([]byte)...)
		out[i] = all[start:len(all):len(all)]
	}
	return out, nil
}

func (c *local) Alltoallv(send [][]byte) ([][]byte, error) {
	if len(send) != c.g.n {
		panic(badAlltoallv)
	}
	// Deposit one private copy per destination; each copy has exactly one
	// reader, so receivers may keep it without copying again.
	parts := make([][]byte, len(send))
	for j, s := range send {
		parts[j] = clone(s)
	}
	r, err := c.enter("Alltoallv", 0, 0, -1, parts, nil)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, c.g.n)
	for i, x := range r.contrib {
		out[i] = x.([][]byte)[c.rank]
	}
	return out, nil
}

// clone copies b; a nil or empty b gives an empty non-nil slice.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

func checkOp(op Op) {
	if op != Sum && op != Min && op != Max {
		panic(badOp)
	}
}

// combineFloat64 is dst[i] = op(dst[i], x[i]). Min and Max propagate NaN
// (as math.Min and math.Max do) and order -0 below +0.
func combineFloat64(dst, x []float64, op Op) {
	x = x[:len(dst)]
	switch op {
	case Sum:
		for i, v := range x {
			dst[i] += v
		}
	case Min:
		for i, v := range x {
			dst[i] = math.Min(dst[i], v)
		}
	case Max:
		for i, v := range x {
			dst[i] = math.Max(dst[i], v)
		}
	}
}

func combineInt64(dst, x []int64, op Op) {
	x = x[:len(dst)]
	switch op {
	case Sum:
		for i, v := range x {
			dst[i] += v
		}
	case Min:
		for i, v := range x {
			dst[i] = min(dst[i], v)
		}
	case Max:
		for i, v := range x {
			dst[i] = max(dst[i], v)
		}
	}
}
