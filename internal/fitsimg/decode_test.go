package fitsimg

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// randomRaw returns n random big-endian values of bitpix: integers over
// the type's range (and, one in eight, the blank value), floats with one
// in eight special (NaN with a payload, +-0, +-Inf, denormal).
func randomRaw(rng *rand.Rand, bitpix, n int, blank int64) []byte {
	nb := bytesPerValue(bitpix)
	raw := make([]byte, n*nb)
	for i := 0; i < n; i++ {
		b := raw[i*nb : i*nb+nb]
		special := rng.IntN(8) == 0
		switch bitpix {
		case 8, 16, 32, 64:
			u := rng.Uint64()
			if special {
				u = uint64(blank)
			}
			switch bitpix {
			case 8:
				b[0] = byte(u)
			case 16:
				binary.BigEndian.PutUint16(b, uint16(u))
			case 32:
				binary.BigEndian.PutUint32(b, uint32(u))
			case 64:
				binary.BigEndian.PutUint64(b, u)
			}
		case -32:
			f := float32(rng.NormFloat64() * 1e3)
			bits := math.Float32bits(f)
			if special {
				bits = []uint32{0x7fc00001, 0xffc12345, 0x80000000, 0, 0x7f800000, 0xff800000, 1}[rng.IntN(7)]
			}
			binary.BigEndian.PutUint32(b, bits)
		case -64:
			f := rng.NormFloat64() * 1e3
			bits := math.Float64bits(f)
			if special {
				bits = []uint64{0x7ff8000000000001, 0x8000000000000000, 0x7ff0000000000000, 1, math.Float64bits(1e300)}[rng.IntN(5)]
			}
			binary.BigEndian.PutUint64(b, bits)
		}
	}
	return raw
}

// sameBits reports whether a and b are identical, NaN payloads included.
func sameBits(a, b []float32) (int, bool) {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i, false
		}
	}
	return -1, true
}

var testScalings = []struct {
	name          string
	bscale, bzero float64
	blank         bool
}{
	{"identity", 1, 0, false},
	{"identity-blank", 1, 0, true},
	{"scaled", 0.001, -3.5, false},
	{"scaled-blank", 2.5, 32768, true},
}

// TestDecodeToMatchesRef checks DecodeTo against DecodeToRef for every
// BITPIX and scaling (DecodeTo as built: with the vector byte swap in
// the GOEXPERIMENT=simd build), at lengths around the 2-value unroll and
// the 8-value vectors (0 to 9, 15 to 17, odd and even) and larger,
// inside a NaN-guarded buffer that catches writes outside dst (STYLE 16).
func TestDecodeToMatchesRef(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const guard = 4
	for _, bitpix := range []int{8, 16, 32, 64, -32, -64} {
		for _, sc := range testScalings {
			for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 256, 257, 1023} {
				blank := rng.Int64()
				if bitpix == 8 {
					blank = int64(rng.IntN(256))
				}
				s := Scaling{Bitpix: bitpix, BScale: sc.bscale, BZero: sc.bzero, Blank: blank, HasBlank: sc.blank}
				raw := randomRaw(rng, bitpix, n, blank)
				want := make([]float32, n)
				DecodeToRef(want, raw, s)
				buf := make([]float32, n+2*guard)
				for i := range buf {
					buf[i] = float32(math.NaN())
				}
				got := buf[guard : guard+n]
				DecodeTo(got, raw, s)
				if i, ok := sameBits(got, want); !ok {
					t.Fatalf("bitpix %d %s n=%d: pixel %d = %v (%#x), ref %v (%#x)", bitpix, sc.name, n, i,
						got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
				for i := 0; i < guard; i++ {
					if !math.IsNaN(float64(buf[i])) || !math.IsNaN(float64(buf[guard+n+i])) {
						t.Fatalf("bitpix %d %s n=%d: write outside dst", bitpix, sc.name, n)
					}
				}
				if bitpix == 32 || bitpix == -32 {
					// In place, as readPlane decodes 4-byte values: raw
					// copied into the bytes of dst itself.
					in := make([]float32, n)
					copy(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(in))), 4*n), raw)
					DecodeTo(in, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(in))), 4*n), s)
					if i, ok := sameBits(in, want); !ok {
						t.Fatalf("bitpix %d %s n=%d in place: pixel %d = %v, ref %v", bitpix, sc.name, n, i, in[i], want[i])
					}
				}
			}
		}
	}
}

// TestDecodeToRefValues checks the reference against hand-computed values.
func TestDecodeToRefValues(t *testing.T) {
	be16 := func(v int16) []byte { return binary.BigEndian.AppendUint16(nil, uint16(v)) }
	for _, tc := range []struct {
		s    Scaling
		raw  []byte
		want float32
	}{
		{Scaling{Bitpix: 8, BScale: 0.5, BZero: -10}, []byte{255}, 117.5},
		{Scaling{Bitpix: 8, BScale: 1, Blank: 255, HasBlank: true}, []byte{255}, float32(math.NaN())},
		{Scaling{Bitpix: 16, BScale: 1, BZero: 32768}, be16(-32768), 0},
		{Scaling{Bitpix: 16, BScale: 1, BZero: 32768}, be16(32767), 65535},
		{Scaling{Bitpix: 16, BScale: 1, Blank: -1, HasBlank: true}, be16(-1), float32(math.NaN())},
		{Scaling{Bitpix: -32, BScale: 1, Blank: 0, HasBlank: true}, []byte{0, 0, 0, 0}, 0}, // BLANK ignored for floats
		{Scaling{Bitpix: -32, BScale: 2, BZero: 1}, binary.BigEndian.AppendUint32(nil, math.Float32bits(1.5)), 4},
		{Scaling{Bitpix: -64, BScale: 1}, binary.BigEndian.AppendUint64(nil, math.Float64bits(1e300)), float32(math.Inf(1))},
		{Scaling{Bitpix: 64, BScale: 1}, binary.BigEndian.AppendUint64(nil, 1<<62), 1 << 62},
	} {
		got := make([]float32, 1)
		DecodeToRef(got, tc.raw, tc.s)
		if math.Float32bits(got[0]) != math.Float32bits(tc.want) && !(math.IsNaN(float64(got[0])) && math.IsNaN(float64(tc.want))) {
			t.Errorf("%+v %x: got %v, want %v", tc.s, tc.raw, got[0], tc.want)
		}
	}
	// Identity keeps -0 and NaN payloads of float data.
	raw := binary.BigEndian.AppendUint32(nil, 0x80000000)
	raw = binary.BigEndian.AppendUint32(raw, 0x7fc00123)
	got := make([]float32, 2)
	DecodeToRef(got, raw, Scaling{Bitpix: -32, BScale: 1})
	if math.Float32bits(got[0]) != 0x80000000 || math.Float32bits(got[1]) != 0x7fc00123 {
		t.Errorf("identity changed bits: %#x %#x", math.Float32bits(got[0]), math.Float32bits(got[1]))
	}
}

func TestDecodeToPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func()
		msg  string
	}{
		{"bitpix", func() { DecodeTo(make([]float32, 1), make([]byte, 1), Scaling{Bitpix: 12}) }, badBitpix},
		{"length", func() { DecodeTo(make([]float32, 2), make([]byte, 7), Scaling{Bitpix: -32}) }, badLength},
		{"ref-length", func() { DecodeToRef(make([]float32, 1), make([]byte, 2), Scaling{Bitpix: 8}) }, badLength},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != tc.msg {
					t.Errorf("panic %v, want %q", r, tc.msg)
				}
			}()
			tc.f()
		})
	}
}

// TestEncodeDecode checks that the writer's quantisation reads back within
// half a quantisation step, NaN as BLANK, and out-of-range values clamped.
func TestEncodeDecode(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2))
	for _, bitpix := range []int{8, 16, 32, 64, -32, -64} {
		t.Run(fmt.Sprint(bitpix), func(t *testing.T) {
			o, s := WriteOptions{Bitpix: bitpix, BScale: 0.01, BZero: 1}.resolve()
			_ = o
			src := make([]float32, 100)
			for i := range src {
				src[i] = float32(rng.NormFloat64())
			}
			src[0] = float32(math.NaN())
			src[1] = 1e30 // clamped for integers
			raw := make([]byte, len(src)*bytesPerValue(bitpix))
			encodeTo(raw, src, s)
			got := make([]float32, len(src))
			DecodeTo(got, raw, s)
			if !math.IsNaN(float64(got[0])) {
				t.Errorf("NaN read back as %v", got[0])
			}
			for i := 2; i < len(src); i++ {
				// Integer data: half a step of BSCALE 0.01 plus float32
				// rounding of the result (values near 1, ulp 1.2e-7).
				tol := 0.005 + 1e-6
				if bitpix < 0 {
					tol = 0 // floats are stored exactly
				}
				if bitpix == 8 && (src[i] < 1 || src[i] > 1+0.01*254) {
					continue // outside the unsigned byte range: clamped
				}
				if d := math.Abs(float64(got[i] - src[i])); d > tol {
					t.Fatalf("pixel %d: wrote %v, read %v", i, src[i], got[i])
				}
			}
			if bitpix > 0 {
				_, hi := intRange(bitpix)
				if bitpix == 8 {
					hi-- // 255 is BLANK
				}
				want := float32(float64(float64(hi)*0.01) + 1)
				if got[1] != want {
					t.Errorf("1e30 clamped to %v, want %v", got[1], want)
				}
			}
		})
	}
}
