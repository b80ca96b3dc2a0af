package reduce

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
)

// ErrCorrupt marks encoded state that does not decode.
var ErrCorrupt = errors.New("reduce: corrupt encoded state")

// Mergeable is the constraint of [AllMerge]: a pointer to a statistic that
// merges another of its kind and encodes itself. Merge must be associative
// in exact arithmetic; the zero value must be the empty statistic.
type Mergeable[T any] interface {
	*T
	// Merge adds o's contributions to the receiver.
	Merge(o *T)
	// AppendBinary appends the encoded state to b.
	AppendBinary(b []byte) ([]byte, error)
	// UnmarshalBinary replaces the receiver by the decoded state.
	UnmarshalBinary(data []byte) error
}

// AllMerge reduces every rank's local state in fixed rank order and returns
// the result on every rank: it all-gathers the encoded states, then each
// rank merges them into a zero value in the order 0, 1, ..., Size-1. Every
// rank therefore gets bit-identical results, independent of arrival order
// and of the engine (in-process or MPI). Whether the bits also stay the same
// for a different number of ranks depends on T: yes for [ExactSum] (exact
// merges), no in general for [Neumaier] and [Moments] (see the package
// doc, # Determinism).
func AllMerge[T any, P Mergeable[T]](c Comm, local P) (P, error) {
	enc, err := local.AppendBinary(nil)
	if err != nil {
		return nil, fmt.Errorf("reduce: AllMerge: encode rank %d: %w", c.Rank(), err)
	}
	parts, err := c.Allgatherv(enc)
	if err != nil {
		return nil, err
	}
	out := P(new(T))
	for r, b := range parts {
		part := P(new(T))
		if err := part.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("reduce: AllMerge: state of rank %d: %w", r, err)
		}
		out.Merge((*T)(part))
	}
	return out, nil
}

// Neumaier is a compensated (Kahan-Babuska-Neumaier) running sum: the
// error of a long accumulation stays near one rounding of the result
// instead of growing with the count. The zero value is an empty sum.
type Neumaier struct {
	S, C float64 // running sum and compensation
}

// Add adds x.
func (s *Neumaier) Add(x float64) {
	t := float64(s.S + x)
	if math.Abs(s.S) >= math.Abs(x) {
		s.C += float64(s.S-t) + x
	} else {
		s.C += float64(x-t) + s.S
	}
	s.S = t
}

// Merge adds o's sum.
func (s *Neumaier) Merge(o *Neumaier) {
	s.Add(o.S)
	s.Add(o.C)
}

// Sum returns the compensated sum.
func (s *Neumaier) Sum() float64 { return s.S + s.C }

// AppendBinary appends 16 bytes: S and C, little-endian IEEE 754.
func (s *Neumaier) AppendBinary(b []byte) ([]byte, error) {
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.S))
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(s.C)), nil
}

// UnmarshalBinary decodes what AppendBinary wrote.
func (s *Neumaier) UnmarshalBinary(data []byte) error {
	if len(data) != 16 {
		return fmt.Errorf("%w: Neumaier needs 16 bytes, got %d", ErrCorrupt, len(data))
	}
	s.S = math.Float64frombits(binary.LittleEndian.Uint64(data))
	s.C = math.Float64frombits(binary.LittleEndian.Uint64(data[8:]))
	return nil
}

// ExactSum accumulates float64 values without rounding: every finite
// float64 is an integer multiple of 2^-1074, and the sum is kept as that
// integer (at most about 2100 bits). [ExactSum.Float64] rounds once, to
// nearest even, so the result is the correctly rounded exact sum. Because
// no merge rounds, the result does not depend on the order of additions,
// how the values were split among ranks, or the number of ranks. Infinities
// and NaNs are counted apart and follow IEEE 754 (+Inf plus -Inf is NaN).
// An Add costs tens of nanoseconds: use it for statistics that must be
// bit-reproducible, not in pixel loops. The zero value is an empty sum.
type ExactSum struct {
	acc             big.Int // sum in units of 2^-1074
	tmp             big.Int
	nan, pinf, ninf uint64
}

const exactShift = 1074 // -log2(math.SmallestNonzeroFloat64)

// Add adds x exactly.
func (s *ExactSum) Add(x float64) {
	switch {
	case math.IsNaN(x):
		s.nan++
		return
	case math.IsInf(x, 1):
		s.pinf++
		return
	case math.IsInf(x, -1):
		s.ninf++
		return
	case x == 0:
		return
	}
	bits := math.Float64bits(x)
	e := uint(bits>>52) & 0x7ff
	m := bits & (1<<52 - 1)
	shift := uint(0) // subnormal: x = m * 2^-1074
	if e != 0 {
		m |= 1 << 52
		shift = e - 1 // normal: x = m * 2^(e-1075) = m<<(e-1) * 2^-1074
	}
	s.tmp.SetUint64(m)
	s.tmp.Lsh(&s.tmp, shift)
	if bits>>63 != 0 {
		s.acc.Sub(&s.acc, &s.tmp)
	} else {
		s.acc.Add(&s.acc, &s.tmp)
	}
}

// Merge adds o's values exactly.
func (s *ExactSum) Merge(o *ExactSum) {
	s.acc.Add(&s.acc, &o.acc)
	s.nan += o.nan
	s.pinf += o.pinf
	s.ninf += o.ninf
}

// Float64 returns the sum rounded to the nearest float64 (ties to even);
// it overflows to ±Inf like IEEE addition. An exact zero is +0.
func (s *ExactSum) Float64() float64 {
	switch {
	case s.nan > 0 || (s.pinf > 0 && s.ninf > 0):
		return math.NaN()
	case s.pinf > 0:
		return math.Inf(1)
	case s.ninf > 0:
		return math.Inf(-1)
	}
	var f big.Float
	f.SetInt(&s.acc) // exact: the precision grows to the integer's length
	f.SetMantExp(&f, -exactShift)
	v, _ := f.Float64()
	return v
}

// AppendBinary appends the NaN, +Inf and -Inf counts as uvarints, a sign
// byte (0 or 1) and the big-endian magnitude of the accumulator.
func (s *ExactSum) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, s.nan)
	b = binary.AppendUvarint(b, s.pinf)
	b = binary.AppendUvarint(b, s.ninf)
	if s.acc.Sign() < 0 {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, s.acc.Bytes()...), nil
}

// UnmarshalBinary decodes what AppendBinary wrote.
func (s *ExactSum) UnmarshalBinary(data []byte) error {
	var counts [3]uint64
	for i := range counts {
		v, n := binary.Uvarint(data)
		if n <= 0 {
			return fmt.Errorf("%w: ExactSum count", ErrCorrupt)
		}
		counts[i] = v
		data = data[n:]
	}
	if len(data) < 1 || data[0] > 1 {
		return fmt.Errorf("%w: ExactSum sign", ErrCorrupt)
	}
	neg := data[0] == 1
	s.nan, s.pinf, s.ninf = counts[0], counts[1], counts[2]
	s.acc.SetBytes(data[1:])
	if neg {
		s.acc.Neg(&s.acc)
	}
	return nil
}

// Moments is a mergeable weighted mean and spread: the count, the sums of
// weights and of squared weights, the weighted mean and
// M2 = Σ w (x - mean)², updated by West's recurrence and merged by the
// pairwise formula of Chan, Golub and LeVeque (1979). The zero value is
// empty.
type Moments struct {
	N     int64
	W, W2 float64 // Σw, Σw²
	Mean  float64
	M2    float64 // Σw(x-Mean)²
}

// Add adds x with weight 1.
func (m *Moments) Add(x float64) { m.AddWeighted(x, 1) }

// AddWeighted adds x with weight w > 0 (w <= 0 is ignored).
func (m *Moments) AddWeighted(x, w float64) {
	if !(w > 0) {
		return
	}
	m.N++
	m.W += w
	m.W2 += float64(w * w)
	d := x - m.Mean
	m.Mean += float64(d * float64(w/m.W))
	m.M2 += float64(w * float64(d*float64(x-m.Mean)))
}

// Merge adds o's values.
func (m *Moments) Merge(o *Moments) {
	switch {
	case o.N == 0:
		return
	case m.N == 0:
		*m = *o
		return
	}
	w := m.W + o.W
	d := o.Mean - m.Mean
	m.Mean += float64(d * float64(o.W/w))
	m.M2 += o.M2 + float64(float64(d*d)*float64(float64(m.W*o.W)/w))
	m.N += o.N
	m.W = w
	m.W2 += o.W2
}

// Var returns the weighted population variance M2/W (NaN when empty).
func (m *Moments) Var() float64 {
	if m.W == 0 {
		return math.NaN()
	}
	return m.M2 / m.W
}

// AppendBinary appends N and the four floats, little-endian.
func (m *Moments) AppendBinary(b []byte) ([]byte, error) {
	b = binary.LittleEndian.AppendUint64(b, uint64(m.N))
	for _, v := range [...]float64{m.W, m.W2, m.Mean, m.M2} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	return b, nil
}

// UnmarshalBinary decodes what AppendBinary wrote.
func (m *Moments) UnmarshalBinary(data []byte) error {
	if len(data) != 40 {
		return fmt.Errorf("%w: Moments needs 40 bytes, got %d", ErrCorrupt, len(data))
	}
	f := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])) }
	m.N = int64(binary.LittleEndian.Uint64(data))
	m.W, m.W2, m.Mean, m.M2 = f(1), f(2), f(3), f(4)
	return nil
}
