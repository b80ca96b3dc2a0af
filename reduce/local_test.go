package reduce_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotrap/reduce"
	"gotrap/reduce/reducetest"
)

var sizes = []int{1, 2, 3, 4, 7}

// TestCollectives runs every collective at every size against the direct
// computation of reducetest.Check, and checks that all ranks of a run
// agree on the fixed-order merges.
func TestCollectives(t *testing.T) {
	const seed = 20260501
	t.Logf("seed %d", seed)
	for _, n := range sizes {
		t.Run(fmt.Sprintf("ranks=%d", n), func(t *testing.T) {
			res := make([]reducetest.Result, n)
			err := reduce.Run(n, func(c reduce.Comm) error {
				if c.Size() != n {
					return fmt.Errorf("Size %d, want %d", c.Size(), n)
				}
				r, err := reducetest.Check(c, seed, 4)
				res[c.Rank()] = r
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			for r, x := range res {
				if x.Rank != r || x.Size != n {
					t.Errorf("result %d says rank %d of %d", r, x.Rank, x.Size)
				}
			}
		})
	}
}

// TestBufferReuse: a sender may overwrite its buffers as soon as a
// collective returns, while slower ranks still read theirs.
func TestBufferReuse(t *testing.T) {
	const n, iters = 4, 200
	err := reduce.Run(n, func(c reduce.Comm) error {
		send := make([][]byte, n)
		gbuf := make([]byte, 8)
		for it := range iters {
			for j := range send {
				send[j] = []byte{byte(c.Rank()), byte(j), byte(it)}
			}
			for i := range gbuf {
				gbuf[i] = byte(it + c.Rank())
			}
			recv, err := c.Alltoallv(send)
			if err != nil {
				return err
			}
			all, err := c.Allgatherv(gbuf)
			if err != nil {
				return err
			}
			for j := range send {
				send[j][2] = 0xff // scribble
			}
			for i := range gbuf {
				gbuf[i] = 0xee
			}
			for i, p := range recv {
				if len(p) != 3 || p[0] != byte(i) || p[1] != byte(c.Rank()) || p[2] != byte(it) {
					return fmt.Errorf("iter %d: from %d got %v", it, i, p)
				}
			}
			for i, p := range all {
				if len(p) != 8 || p[7] != byte(it+i) {
					return fmt.Errorf("iter %d: gathered from %d got %v", it, i, p)
				}
				p[0] = 0xdd // the caller owns the result
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// exactOracle is the correctly rounded sum of xs, through math/big at a
// precision that holds any sum of a few thousand float64s exactly (2098
// bits span every finite float64; 64 more absorb the carries).
func exactOracle(xs []float64) float64 {
	acc := new(big.Float).SetPrec(2200)
	for _, x := range xs {
		acc.Add(acc, new(big.Float).SetFloat64(x))
	}
	v, _ := acc.Float64()
	return v
}

// TestExactSumRankIndependent: AllMerge of ExactSum gives the same bits on
// every rank count and for uneven splits, equal to the oracle; the plain
// rank-order sum of partials does not (which is why ExactSum exists).
func TestExactSumRankIndependent(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	xs := make([]float64, 3000)
	for i := range xs {
		// Wide magnitudes and both signs, plus a few huge cancelling
		// pairs, so partial sums round differently per split.
		xs[i] = g.NormFloat64() * math.Pow(2, float64(g.IntN(120)-60))
	}
	xs[10], xs[2000] = 1e300, -1e300
	want := exactOracle(xs)
	naive := map[uint64]bool{}
	for _, n := range sizes {
		for trial := range 3 {
			// Random uneven cut points; some ranks get nothing.
			cuts := make([]int, n+1)
			cuts[n] = len(xs)
			for r := 1; r < n; r++ {
				cuts[r] = g.IntN(len(xs) + 1)
			}
			if trial == 0 && n > 1 {
				cuts[1] = 0 // rank 0 empty
			}
			sortInts(cuts)
			var got [7]float64
			var plain [7]float64
			err := reduce.Run(n, func(c reduce.Comm) error {
				var s reduce.ExactSum
				p := 0.0
				for _, x := range xs[cuts[c.Rank()]:cuts[c.Rank()+1]] {
					s.Add(x)
					p += x
				}
				all, err := reduce.AllMerge(c, &s)
				if err != nil {
					return err
				}
				buf := []float64{p}
				if err := c.AllreduceFloat64(buf, reduce.Sum); err != nil {
					return err
				}
				got[c.Rank()] = all.Float64()
				plain[c.Rank()] = buf[0]
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for r := range n {
				if math.Float64bits(got[r]) != math.Float64bits(want) {
					t.Errorf("ranks=%d cuts=%v rank %d: ExactSum %v, want %v", n, cuts, r, got[r], want)
				}
				if plain[r] != plain[0] {
					t.Errorf("ranks=%d: plain sums differ between ranks %d and 0", n, r)
				}
			}
			naive[math.Float64bits(plain[0])] = true
		}
	}
	// The split-dependence of the plain sum is the point of the test; if
	// it vanished the data would no longer exercise rounding.
	if len(naive) < 2 {
		t.Errorf("plain float sums agreed on every split (%d distinct): data too easy", len(naive))
	}
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func TestExactSumEdges(t *testing.T) {
	tiny := math.SmallestNonzeroFloat64
	cases := []struct {
		name string
		xs   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"cancel", []float64{1e308, 1e308, -1e308}, 1e308},
		{"tie to even", []float64{1, 0x1p-53}, 1},
		{"above tie", []float64{1, 0x1p-53, 0x1p-105}, math.Nextafter(1, 2)},
		{"subnormals", []float64{tiny, tiny, tiny}, 3 * tiny},
		{"subnormal cancel", []float64{1, tiny, -1}, tiny},
		{"overflow", []float64{math.MaxFloat64, math.MaxFloat64}, math.Inf(1)},
		{"neg overflow", []float64{-math.MaxFloat64, -math.MaxFloat64}, math.Inf(-1)},
		{"inf", []float64{1, math.Inf(1)}, math.Inf(1)},
		{"inf-inf", []float64{math.Inf(-1), math.Inf(1)}, math.NaN()},
		{"nan", []float64{1, math.NaN()}, math.NaN()},
		{"negative", []float64{-0.1, -0.2}, -0.30000000000000004},
	}
	for _, tc := range cases {
		var s reduce.ExactSum
		for _, x := range tc.xs {
			s.Add(x)
		}
		// Round trip through the encoding.
		b, err := s.AppendBinary([]byte("prefix"))
		if err != nil {
			t.Fatal(err)
		}
		var d reduce.ExactSum
		if err := d.UnmarshalBinary(b[len("prefix"):]); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		for _, got := range []float64{s.Float64(), d.Float64()} {
			if math.Float64bits(got) != math.Float64bits(tc.want) && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("%s: got %v (%x), want %v (%x)", tc.name, got, math.Float64bits(got), tc.want, math.Float64bits(tc.want))
			}
		}
	}
	var d reduce.ExactSum
	for _, bad := range [][]byte{nil, {0}, {0, 0, 0}, {0, 0, 0, 2}} {
		if err := d.UnmarshalBinary(bad); !errors.Is(err, reduce.ErrCorrupt) {
			t.Errorf("UnmarshalBinary(%v) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestNeumaier(t *testing.T) {
	// The classic case a plain sum gets wrong: 1 + 1e100 + 1 - 1e100 = 2.
	var s reduce.Neumaier
	for _, x := range []float64{1, 1e100, 1, -1e100} {
		s.Add(x)
	}
	if s.Sum() != 2 {
		t.Errorf("Neumaier sum %v, want 2", s.Sum())
	}
	// A long accumulation: the compensated error stays within a few ulps
	// of the exact sum (Higham 2nd ed., eq. 4.8: |err| <= 2u|S| +
	// O(n u^2) Σ|x|; we allow 2 ulps).
	g := rand.New(rand.NewPCG(11, 0))
	var e reduce.ExactSum
	s = reduce.Neumaier{}
	for range 100000 {
		x := g.Float64() * 0.1
		s.Add(x)
		e.Add(x)
	}
	want := e.Float64()
	if d := math.Abs(s.Sum() - want); d > 2*ulp(want) {
		t.Errorf("Neumaier %v, exact %v: %g ulps", s.Sum(), want, d/ulp(want))
	}
}

func ulp(x float64) float64 { return math.Nextafter(math.Abs(x), math.Inf(1)) - math.Abs(x) }

// TestMoments: merged weighted moments agree with a two-pass computation
// for every split, and all ranks agree bit for bit.
func TestMoments(t *testing.T) {
	g := rand.New(rand.NewPCG(3, 0))
	xs := make([]float64, 1000)
	ws := make([]float64, 1000)
	for i := range xs {
		xs[i] = 1e4 + g.NormFloat64()*3 // a large offset tests stability
		ws[i] = 0.5 + g.Float64()
	}
	var sw, swx float64
	for i, x := range xs {
		sw += ws[i]
		swx += ws[i] * x
	}
	mean := swx / sw
	var m2 float64
	for i, x := range xs {
		m2 += ws[i] * (x - mean) * (x - mean)
	}
	for _, n := range sizes {
		out := make([]reduce.Moments, n)
		err := reduce.Run(n, func(c reduce.Comm) error {
			var m reduce.Moments
			lo, hi := reducetest.Share(len(xs), n, c.Rank())
			for i := lo; i < hi; i++ {
				m.AddWeighted(xs[i], ws[i])
			}
			all, err := reduce.AllMerge(c, &m)
			if err == nil {
				out[c.Rank()] = *all
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		m := out[0]
		// Relative 1e-12: the recurrences lose a few digits against the
		// two-pass value at a 1e4 offset with variance ~9 (condition
		// number ~1e7 for M2 times u ~ 1e-16 gives ~1e-9 worst case; the
		// observed error is far smaller, 1e-12 keeps a margin).
		if m.N != int64(len(xs)) || math.Abs(m.Mean-mean) > 1e-12*mean || math.Abs(m.M2-m2) > 1e-9*m2 {
			t.Errorf("ranks=%d: N %d mean %v M2 %v, want %d %v %v", n, m.N, m.Mean, m.M2, len(xs), mean, m2)
		}
		for r := range out {
			if out[r] != m {
				t.Errorf("ranks=%d: rank %d disagrees: %+v vs %+v", n, r, out[r], m)
			}
		}
	}
}

// within fails the test if f does not return within d (a hang).
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still blocked after %v: a rank hangs in a collective", d)
		return nil
	}
}

// TestFailureUnblocks: whichever rank fails, by error, panic or Abort,
// the other ranks blocked in collectives return ErrRankFailed and Run
// reports the failing rank and its reason.
func TestFailureUnblocks(t *testing.T) {
	// 5 s is far above the microseconds a wake-up takes and far below the
	// go test timeout; a hang is the only way to exceed it.
	const deadline = 5 * time.Second
	modes := []string{"error", "panic", "abort"}
	for _, n := range sizes[1:] {
		for _, mode := range modes {
			for _, bad := range []int{0, n - 1} {
				t.Run(fmt.Sprintf("ranks=%d/%s/rank=%d", n, mode, bad), func(t *testing.T) {
					var unblocked atomic.Int32
					err := within(t, deadline, func() error {
						return reduce.Run(n, func(c reduce.Comm) error {
							if c.Rank() == bad {
								// Enter one collective first so the
								// failure comes mid-stream.
								if err := c.Barrier(); err != nil {
									return err
								}
								switch mode {
								case "error":
									return errors.New("disk full")
								case "panic":
									panic("disk full")
								default:
									c.Abort(errors.New("disk full"))
									return errors.New("aborted")
								}
							}
							if err := c.Barrier(); err != nil {
								return err
							}
							buf := make([]float64, 10)
							err := c.AllreduceFloat64(buf, reduce.Sum)
							if errors.Is(err, reduce.ErrRankFailed) {
								unblocked.Add(1)
							}
							return err
						})
					})
					var re *reduce.RankError
					if !errors.Is(err, reduce.ErrRankFailed) || !errors.As(err, &re) {
						t.Fatalf("Run = %v, want a RankError", err)
					}
					if re.Rank != bad || !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), fmt.Sprintf("rank %d", bad)) {
						t.Errorf("Run = %q, want rank %d and the reason", err, bad)
					}
					if mode == "panic" && !strings.Contains(err.Error(), "panic") {
						t.Errorf("Run = %q, want the panic reported", err)
					}
					if got := unblocked.Load(); got != int32(n-1) {
						t.Errorf("%d ranks returned ErrRankFailed, want %d", got, n-1)
					}
				})
			}
		}
	}
}

// TestEarlyReturn: a rank that returns while the others wait in a
// collective fails the group instead of leaving them blocked.
func TestEarlyReturn(t *testing.T) {
	for _, first := range []bool{true, false} {
		err := within(t, 5*time.Second, func() error {
			return reduce.Run(3, func(c reduce.Comm) error {
				if c.Rank() == 1 {
					return nil
				}
				if !first {
					// Let rank 1 return before the others enter.
					time.Sleep(10 * time.Millisecond)
				}
				return c.Barrier()
			})
		})
		var re *reduce.RankError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), "return") {
			t.Errorf("first=%v: Run = %v, want a failure about a returned rank", first, err)
		}
	}
}

// TestMismatch: ranks that call different collectives, or one with a
// different length, get an error naming both calls.
func TestMismatch(t *testing.T) {
	err := within(t, 5*time.Second, func() error {
		return reduce.Run(2, func(c reduce.Comm) error {
			if c.Rank() == 0 {
				return c.Barrier()
			}
			_, err := c.Allgatherv(nil)
			return err
		})
	})
	if !errors.Is(err, reduce.ErrRankFailed) || !strings.Contains(err.Error(), "mismatch") {
		t.Errorf("kind mismatch: Run = %v", err)
	}
	err = within(t, 5*time.Second, func() error {
		return reduce.Run(3, func(c reduce.Comm) error {
			return c.AllreduceInt64(make([]int64, 1+c.Rank()/2), reduce.Max)
		})
	})
	if !errors.Is(err, reduce.ErrRankFailed) || !strings.Contains(err.Error(), "len=") {
		t.Errorf("length mismatch: Run = %v", err)
	}
}

// TestRunContext: cancelling the context releases ranks in collectives.
func TestRunContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	err := within(t, 5*time.Second, func() error {
		return reduce.RunContext(ctx, 3, func(c reduce.Comm) error {
			if c.Rank() == 2 {
				cancel()
				<-ctx.Done()
				return ctx.Err()
			}
			return c.Barrier()
		})
	})
	if !errors.Is(err, context.Canceled) || !errors.Is(err, reduce.ErrRankFailed) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
}

func TestMisusePanics(t *testing.T) {
	for name, f := range map[string]func(c reduce.Comm){
		"alltoallv": func(c reduce.Comm) { c.Alltoallv(make([][]byte, 1)) },
		"root":      func(c reduce.Comm) { c.Bcast(nil, 5) },
		"op":        func(c reduce.Comm) { c.AllreduceInt64(nil, reduce.Op(9)) },
	} {
		err := reduce.Run(2, func(c reduce.Comm) error { f(c); return nil })
		if err == nil || !strings.Contains(err.Error(), "panic: reduce:") {
			t.Errorf("%s: Run = %v, want a reduce panic", name, err)
		}
	}
}
