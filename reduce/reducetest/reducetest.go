package reducetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"gotrap/reduce"
)

// Result is what one rank's Check computed.
type Result struct {
	Rank, Size int
	Digest     [32]byte
}

// Check runs rounds of every collective on c with payloads derived from
// seed and returns this rank's digest, or the first mismatch as an error.
// Every rank of c must call it with the same seed and rounds.
func Check(c reduce.Comm, seed uint64, rounds int) (Result, error) {
	n, me := c.Size(), c.Rank()
	h := sha256.New()
	put := func(b []byte) {
		var l [8]byte
		binary.LittleEndian.PutUint64(l[:], uint64(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	fail := func(round int, what string, format string, args ...any) (Result, error) {
		return Result{}, fmt.Errorf("reducetest: rank %d of %d, round %d, %s: %s", me, n, round, what, fmt.Sprintf(format, args...))
	}
	for round := range rounds {
		if err := c.Barrier(); err != nil {
			return Result{}, err
		}

		// Bcast from every root.
		for root := range n {
			want := Bytes(seed, round, root, 1)
			var send []byte
			if me == root {
				send = want
			}
			got, err := c.Bcast(send, root)
			if err != nil {
				return Result{}, err
			}
			if !bytes.Equal(got, want) {
				return fail(round, "Bcast", "root %d: got %d bytes, want %d", root, len(got), len(want))
			}
			put(got)
		}

		// Integer reductions: every rank's vector has the same length L.
		L := Length(seed, round)
		for _, op := range []reduce.Op{reduce.Sum, reduce.Min, reduce.Max} {
			buf := Int64s(seed, round, me, L)
			want := Int64s(seed, round, 0, L)
			for r := 1; r < n; r++ {
				for i, v := range Int64s(seed, round, r, L) {
					switch op {
					case reduce.Sum:
						want[i] += v
					case reduce.Min:
						want[i] = min(want[i], v)
					case reduce.Max:
						want[i] = max(want[i], v)
					}
				}
			}
			if err := c.AllreduceInt64(buf, op); err != nil {
				return Result{}, err
			}
			for i := range buf {
				if buf[i] != want[i] {
					return fail(round, "AllreduceInt64 "+op.String(), "element %d: got %d, want %d", i, buf[i], want[i])
				}
				put(binary.LittleEndian.AppendUint64(nil, uint64(buf[i])))
			}
		}

		// Float reductions.
		for _, op := range []reduce.Op{reduce.Sum, reduce.Min, reduce.Max} {
			buf := Float64s(seed, round, me, L)
			want := Float64s(seed, round, 0, L)
			abs := make([]float64, L)
			for i, v := range want {
				abs[i] = math.Abs(v)
			}
			for r := 1; r < n; r++ {
				for i, v := range Float64s(seed, round, r, L) {
					switch op {
					case reduce.Sum:
						want[i] += v
						abs[i] += math.Abs(v)
					case reduce.Min:
						want[i] = math.Min(want[i], v)
					case reduce.Max:
						want[i] = math.Max(want[i], v)
					}
				}
			}
			if err := c.AllreduceFloat64(buf, op); err != nil {
				return Result{}, err
			}
			for i := range buf {
				if op != reduce.Sum {
					if math.Float64bits(buf[i]) != math.Float64bits(want[i]) {
						return fail(round, "AllreduceFloat64 "+op.String(), "element %d: got %v, want %v", i, buf[i], want[i])
					}
					put(binary.LittleEndian.AppendUint64(nil, math.Float64bits(buf[i])))
					continue
				}
				// Any order of n-1 additions errs by at most
				// (n-1)·u·Σ|x| with u = 2^-53 (Higham, Accuracy and
				// Stability of Numerical Algorithms, 2nd ed., eq. 4.4);
				// both sides err, hence the factor 2.
				tol := 2 * float64(n-1) * 0x1p-53 * abs[i]
				if d := math.Abs(buf[i] - want[i]); !(d <= tol) {
					return fail(round, "AllreduceFloat64 sum", "element %d: got %v, want %v (|diff| %g > %g)", i, buf[i], want[i], d, tol)
				}
			}
		}

		// Allgatherv with lengths that differ by rank (zero included).
		got, err := c.Allgatherv(Bytes(seed, round, me, 2))
		if err != nil {
			return Result{}, err
		}
		if len(got) != n {
			return fail(round, "Allgatherv", "got %d parts, want %d", len(got), n)
		}
		for r := range n {
			if want := Bytes(seed, round, r, 2); !bytes.Equal(got[r], want) {
				return fail(round, "Allgatherv", "part of rank %d: got %d bytes, want %d", r, len(got[r]), len(want))
			}
			put(got[r])
		}

		// Alltoallv: the payload from src to dst depends on both.
		send := make([][]byte, n)
		for dst := range n {
			send[dst] = Bytes(seed, round, me*n+dst, 3)
		}
		recv, err := c.Alltoallv(send)
		if err != nil {
			return Result{}, err
		}
		if len(recv) != n {
			return fail(round, "Alltoallv", "got %d parts, want %d", len(recv), n)
		}
		for src := range n {
			if want := Bytes(seed, round, src*n+me, 3); !bytes.Equal(recv[src], want) {
				return fail(round, "Alltoallv", "part from rank %d: got %d bytes, want %d", src, len(recv[src]), len(want))
			}
			put(recv[src])
		}

		// Fixed-order merges. Each rank adds a share of one global list
		// of values; the ExactSum must equal the correctly rounded sum of
		// the whole list whatever the share.
		vals := Float64s(seed, round, 1<<20, 64+L)
		lo, hi := Share(len(vals), n, me)
		var es reduce.ExactSum
		var ns reduce.Neumaier
		var mo reduce.Moments
		for _, v := range vals[lo:hi] {
			es.Add(v)
			ns.Add(v)
			mo.Add(v)
		}
		esAll, err := reduce.AllMerge(c, &es)
		if err != nil {
			return Result{}, err
		}
		var ref reduce.ExactSum
		for _, v := range vals {
			ref.Add(v)
		}
		if g, w := esAll.Float64(), ref.Float64(); math.Float64bits(g) != math.Float64bits(w) {
			return fail(round, "AllMerge ExactSum", "got %v, want %v", g, w)
		}
		nsAll, err := reduce.AllMerge(c, &ns)
		if err != nil {
			return Result{}, err
		}
		moAll, err := reduce.AllMerge(c, &mo)
		if err != nil {
			return Result{}, err
		}
		if moAll.N != int64(len(vals)) {
			return fail(round, "AllMerge Moments", "N = %d, want %d", moAll.N, len(vals))
		}
		b, _ := esAll.AppendBinary(nil)
		b, _ = nsAll.AppendBinary(b)
		b, _ = moAll.AppendBinary(b)
		put(b)
	}
	if err := c.Barrier(); err != nil {
		return Result{}, err
	}
	r := Result{Rank: me, Size: n}
	h.Sum(r.Digest[:0])
	return r, nil
}

// Share returns the half-open range [lo, hi) of m items that rank r of n
// holds in a contiguous, as-even-as-possible split.
func Share(m, n, r int) (lo, hi int) {
	return m * r / n, m * (r + 1) / n
}

func rng(seed uint64, round, who, kind int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(round)<<40^uint64(kind)<<32^uint64(who)))
}

// Length is the common vector length of a round's Allreduce (0 to 300).
func Length(seed uint64, round int) int {
	if round == 0 {
		return 0 // an empty Allreduce must work too
	}
	return rng(seed, round, 0, 9).IntN(301)
}

// Bytes is the byte payload of (round, who, kind); about one in five is
// empty, the others 1 to 4096 bytes.
func Bytes(seed uint64, round, who, kind int) []byte {
	g := rng(seed, round, who, kind)
	if g.IntN(5) == 0 {
		return []byte{}
	}
	b := make([]byte, 1+g.IntN(4096))
	for i := range b {
		b[i] = byte(g.Uint32())
	}
	return b
}

// Int64s is rank who's integer vector; values span the whole int64 range,
// so sums wrap.
func Int64s(seed uint64, round, who, n int) []int64 {
	g := rng(seed, round, who, 4)
	v := make([]int64, n)
	for i := range v {
		v[i] = int64(g.Uint64())
	}
	return v
}

// Float64s is rank who's float vector: normal values with magnitudes from
// 1e-6 to 1e6 and both signs, so sums cancel and rounding matters.
func Float64s(seed uint64, round, who, n int) []float64 {
	g := rng(seed, round, who, 5)
	v := make([]float64, n)
	for i := range v {
		v[i] = g.NormFloat64() * math.Pow(10, 12*g.Float64()-6)
	}
	return v
}
