//go:build goexperiment.simd && amd64

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMapsFlagsPixVectorMatchesGo runs the vector pixel loop of the maps
// pass and its plain twin mapsFlagsPixGo on the same segments and asserts
// the same bits (D and RMS compared as float32 bit patterns, NaN payloads
// included, and the flags): lengths 0 to 40 and long odd ones (tails
// shorter than a vector), masks from none to all, NaN, infinite and
// subnormal pixels, rms below the floor, negative node slopes and
// thresholds that split the candidates.
func TestMapsFlagsPixVectorMatchesGo(t *testing.T) {
	if !haveAVX2 {
		t.Skip("the CPU has no AVX2: the vector pass does not run here (mapsFlagsPix is the twin)")
	}
	const seed = 18
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 8))
	lengths := []int{1021, 1024, 1031, 4099}
	for n := range 41 {
		lengths = append(lengths, n)
	}
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -1e-40, 0, float32(math.Copysign(0, -1))}
	for trial, n := range lengths {
		for _, maskP := range []float64{0, 0.05, 0.5, 1} {
			src := make([]float32, n)
			fx := make([]float64, n)
			mrow := make([]bool, n)
			f := rng.Float64() * 0.1
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 3)
				if rng.IntN(20) == 0 {
					src[i] = specials[rng.IntN(len(specials))]
				}
				// Non-decreasing fractions as interpAxis builds them,
				// with repeats and a few beyond [0, 1] (the edge modes).
				if rng.IntN(4) != 0 {
					f += rng.Float64() / float64(n+1)
				}
				fx[i] = f*1.2 - 0.1
				mrow[i] = rng.Float64() < maskP
			}
			p := &mapsSegParams{
				m0: rng.NormFloat64(), dm: rng.NormFloat64(),
				r0: 0.5 + rng.Float64(), dr: rng.NormFloat64(),
				rfloor: 0.2 + rng.Float64(), anl: []float64{0, 1, 3, 5}[trial%4],
				floor: []float64{0, 0.5, 1}[trial%3], rem: []uint8{0, flagMasked}[trial%2],
			}
			want := newPixOut(n)
			got := newPixOut(n)
			mapsFlagsPixGo(src, want.d, want.r, mrow, fx, want.flags, p)
			mapsFlagsPix(src, got.d, got.r, mrow, fx, got.flags, p)
			ncand := 0
			for i := range n {
				if math.Float32bits(got.d[i]) != math.Float32bits(want.d[i]) ||
					math.Float32bits(got.r[i]) != math.Float32bits(want.r[i]) || got.flags[i] != want.flags[i] {
					t.Fatalf("n=%d mask=%g pixel %d (src %g, fx %g, masked %v): vector D %g RMS %g flag %d, twin D %g RMS %g flag %d",
						n, maskP, i, src[i], fx[i], mrow[i], got.d[i], got.r[i], got.flags[i], want.d[i], want.r[i], want.flags[i])
				}
				ncand += int(want.flags[i] & flagCand)
			}
			if n == 4099 && maskP == 0 && (ncand == 0 || ncand == n) {
				t.Errorf("n=%d: %d candidates: the thresholds did not split the pixels, the flags were not tested", n, ncand)
			}
		}
	}
}

// TestMapsFlagsPixNoFMA checks that neither pass fuses a product with
// its sum into an FMA, on node slopes and fractions found where that
// changes the float32 background and rms: 1 + dm*f lands just above the
// float64 value halfway between two float32 values (1 + 2^-24), by less
// than the product's rounding, so the rounded product gives the tie
// (rounded to even, down) and the fused one rounds up. One such fraction
// per slope: each segment repeats it over 13 pixels (a vector and a
// tail).
func TestMapsFlagsPixNoFMA(t *testing.T) {
	if !haveAVX2 {
		t.Skip("the CPU has no AVX2: the vector pass does not run here (mapsFlagsPix is the twin)")
	}
	rng := rand.New(rand.NewPCG(18, 9))
	const n = 13
	segs := 0
	for range 20 {
		dm := 0x1p-25 * (1 + rng.Float64())
		f0 := (0x1p-24 + 0x1p-53) / dm
		for k := -4096; k <= 4096; k++ {
			f := f0 + float64(k)*0x1p-52
			fused := float32(math.FMA(dm, f, 1))
			if float32(1+float64(dm*f)) == fused {
				continue
			}
			segs++
			fx := make([]float64, n)
			for i := range fx {
				fx[i] = f
			}
			src, mrow := make([]float32, n), make([]bool, n)
			p := &mapsSegParams{m0: 1, dm: dm, r0: 1, dr: dm, rfloor: 0, anl: 1, floor: 0}
			want, got := newPixOut(n), newPixOut(n)
			mapsFlagsPixGo(src, want.d, want.r, mrow, fx, want.flags, p)
			mapsFlagsPix(src, got.d, got.r, mrow, fx, got.flags, p)
			for i := range n {
				if want.r[i] == fused || -want.d[i] == fused {
					t.Fatalf("dm %v f %v pixel %d: the twin's rms %v or background %v is the fused value", dm, f, i, want.r[i], -want.d[i])
				}
				if got.r[i] != want.r[i] || got.d[i] != want.d[i] {
					t.Fatalf("dm %v f %v pixel %d: vector D %v RMS %v, twin D %v RMS %v (fused %v)", dm, f, i, got.d[i], got.r[i], want.d[i], want.r[i], fused)
				}
			}
		}
	}
	if segs < 10 {
		t.Fatalf("only %d fractions where an FMA changes the result were found; the test needs 10", segs)
	}
}

type pixOut struct {
	d, r  []float32
	flags []uint8
}

// newPixOut returns outputs filled with a pattern that neither pass
// writes, so a pixel left unwritten shows.
func newPixOut(n int) pixOut {
	o := pixOut{make([]float32, n), make([]float32, n), make([]uint8, n)}
	for i := range n {
		o.d[i], o.r[i], o.flags[i] = 12345, 12345, 0xee
	}
	return o
}

// TestBoolBits8 checks the packing of 8 bools into a bitmap and its
// inverse on all 256 patterns.
func TestBoolBits8(t *testing.T) {
	for b := range 256 {
		var m [8]bool
		for k := range 8 {
			m[k] = b>>k&1 == 1
		}
		var u uint64
		for k, v := range m {
			if v {
				u |= 1 << (8 * k)
			}
		}
		if got := boolBits8(u); got != uint8(b) {
			t.Fatalf("boolBits8(%v) = %08b, want %08b", m, got, b)
		}
		if got := spreadBits8(uint8(b)); got != u {
			t.Fatalf("spreadBits8(%08b) = %016x, want %016x", b, got, u)
		}
		if bb := boolBits8(binaryWord(boolBytes(m[:]))); bb != uint8(b) {
			t.Fatalf("boolBytes(%v) read as %08b, want %08b", m, bb, b)
		}
	}
}

func binaryWord(b []byte) uint64 {
	var u uint64
	for k, v := range b[:8] {
		u |= uint64(v) << (8 * k)
	}
	return u
}
