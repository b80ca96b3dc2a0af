package fitsimg

import (
	"encoding/binary"
	"math"
)

// Scaling says how the stored values of a data array become physical
// values (FITS 4.0 section 5.3):
//
//	physical = BZERO + BSCALE * stored
//
// and, for integer BITPIX only, stored == BLANK gives NaN. BITPIX is 8
// (unsigned bytes), 16, 32, 64 (two's complement) or -32, -64 (IEEE 754),
// all big-endian.
type Scaling struct {
	Bitpix   int
	BScale   float64 // 1 when the header has no BSCALE
	BZero    float64 // 0 when the header has no BZERO
	Blank    int64   // the stored value of undefined pixels, if HasBlank
	HasBlank bool    // BLANK is present and BITPIX is an integer type
}

// identity reports whether the scaling leaves values unchanged.
func (s Scaling) identity() bool { return s.BScale == 1 && s.BZero == 0 }

// bytesPerValue returns |BITPIX|/8, or 0 for an invalid BITPIX.
func bytesPerValue(bitpix int) int {
	switch bitpix {
	case 8, 16, 32, 64, -32, -64:
		if bitpix < 0 {
			return -bitpix / 8
		}
		return bitpix / 8
	}
	return 0
}

var (
	nan32   = float32(math.NaN())
	nanBits = math.Float32bits(nan32)
)

// DecodeToRef is the reference decoder, the plain loop
//
//	for i := range dst {
//		v := the i-th big-endian value of raw
//		switch {
//		case integer BITPIX && s.HasBlank && v == s.Blank:
//			dst[i] = NaN
//		case float BITPIX && s is the identity:
//			dst[i] = float32(v)  // -0, NaN and infinities kept
//		default:
//			dst[i] = float32(float64(float64(v)*s.BScale) + s.BZero)
//		}
//	}
//
// (the explicit float64 conversion keeps the compiler from fusing the
// multiply and add, so every platform gives the same bits). It panics if
// s.Bitpix is invalid or len(raw) != len(dst)*|Bitpix|/8.
func DecodeToRef(dst []float32, raw []byte, s Scaling) {
	nb := checkDecode(dst, raw, s)
	integer := s.Bitpix > 0
	for i := range dst {
		b := raw[i*nb : i*nb+nb]
		var v float64
		var iv int64
		switch s.Bitpix {
		case 8:
			iv = int64(b[0])
		case 16:
			iv = int64(int16(binary.BigEndian.Uint16(b)))
		case 32:
			iv = int64(int32(binary.BigEndian.Uint32(b)))
		case 64:
			iv = int64(binary.BigEndian.Uint64(b))
		case -32:
			f := math.Float32frombits(binary.BigEndian.Uint32(b))
			if s.identity() {
				dst[i] = f
				continue
			}
			v = float64(f)
		case -64:
			f := math.Float64frombits(binary.BigEndian.Uint64(b))
			if s.identity() {
				dst[i] = float32(f)
				continue
			}
			v = f
		}
		if integer {
			if s.HasBlank && iv == s.Blank {
				dst[i] = nan32
				continue
			}
			v = float64(iv)
		}
		dst[i] = float32(float64(v*s.BScale) + s.BZero)
	}
}

func checkDecode(dst []float32, raw []byte, s Scaling) int {
	nb := bytesPerValue(s.Bitpix)
	if nb == 0 {
		panic(badBitpix)
	}
	if len(raw) != len(dst)*nb {
		panic(badLength)
	}
	return nb
}

// DecodeTo decodes raw, a FITS data array, into dst; it gives the same bits
// as DecodeToRef (see there for the definition) but loops over each
// BITPIX with the per-value decisions hoisted, and byte-swaps BITPIX -32
// sixteen bytes at a time. For 4-byte values (BITPIX -32 and 32) raw may
// be dst's own bytes: each value is read before it is overwritten, so the
// decoding is in place. It panics if s.Bitpix is invalid or
// len(raw) != len(dst)*|Bitpix|/8.
func DecodeTo(dst []float32, raw []byte, s Scaling) {
	checkDecode(dst, raw, s)
	blank := s.HasBlank && s.Bitpix > 0
	switch s.Bitpix {
	case -32:
		if s.identity() {
			swap32(dst, raw)
		} else {
			decodeF32(dst, raw, s.BScale, s.BZero)
		}
	case -64:
		decodeF64(dst, raw, s.BScale, s.BZero, s.identity())
	case 8:
		decodeU8(dst, raw, s.BScale, s.BZero, blank, s.Blank)
	case 16:
		decodeI16(dst, raw, s.BScale, s.BZero, blank, s.Blank)
	case 32:
		decodeI32(dst, raw, s.BScale, s.BZero, blank, s.Blank)
	case 64:
		decodeI64(dst, raw, s.BScale, s.BZero, blank, s.Blank)
	}
}

// swap32Go converts big-endian IEEE floats to native ones, four per
// iteration with two 64-bit loads: the high word of a big-endian uint64 is
// the first float. The loop has no bounds checks (-d=ssa/check_bce). It
// is the default build's swap32 (the GOEXPERIMENT=simd build has a vector
// version) and converts min(len(dst), len(raw)/4) values.
func swap32Go(dst []float32, raw []byte) {
	for len(dst) >= 4 && len(raw) >= 16 {
		d, r := dst[:4:4], raw[:16:16]
		u0 := binary.BigEndian.Uint64(r[0:8])
		u1 := binary.BigEndian.Uint64(r[8:16])
		d[0] = math.Float32frombits(uint32(u0 >> 32))
		d[1] = math.Float32frombits(uint32(u0))
		d[2] = math.Float32frombits(uint32(u1 >> 32))
		d[3] = math.Float32frombits(uint32(u1))
		dst, raw = dst[4:], raw[16:]
	}
	for len(dst) >= 1 && len(raw) >= 4 {
		dst[0] = math.Float32frombits(binary.BigEndian.Uint32(raw))
		dst, raw = dst[1:], raw[4:]
	}
}

// The loops below walk dst and raw by re-slicing, a form the compiler
// proves in bounds (no checks inside the loops).

func decodeF32(dst []float32, raw []byte, bs, bz float64) {
	for len(dst) > 0 && len(raw) >= 4 {
		v := float64(math.Float32frombits(binary.BigEndian.Uint32(raw)))
		dst[0] = float32(float64(v*bs) + bz)
		dst, raw = dst[1:], raw[4:]
	}
}

func decodeF64(dst []float32, raw []byte, bs, bz float64, identity bool) {
	if identity {
		for len(dst) > 0 && len(raw) >= 8 {
			dst[0] = float32(math.Float64frombits(binary.BigEndian.Uint64(raw)))
			dst, raw = dst[1:], raw[8:]
		}
		return
	}
	for len(dst) > 0 && len(raw) >= 8 {
		v := math.Float64frombits(binary.BigEndian.Uint64(raw))
		dst[0] = float32(float64(v*bs) + bz)
		dst, raw = dst[1:], raw[8:]
	}
}

func decodeU8(dst []float32, raw []byte, bs, bz float64, blank bool, bv int64) {
	raw = raw[:len(dst)]
	if !blank {
		for i, b := range raw {
			dst[i] = float32(float64(float64(b)*bs) + bz)
		}
		return
	}
	for i, b := range raw {
		if int64(b) == bv {
			dst[i] = nan32
		} else {
			dst[i] = float32(float64(float64(b)*bs) + bz)
		}
	}
}

func decodeI16(dst []float32, raw []byte, bs, bz float64, blank bool, bv int64) {
	for len(dst) > 0 && len(raw) >= 2 {
		v := int16(binary.BigEndian.Uint16(raw))
		bits := math.Float32bits(float32(float64(float64(v)*bs) + bz))
		if blank && int64(v) == bv {
			bits = nanBits // an integer select: no branch to mispredict
		}
		dst[0] = math.Float32frombits(bits)
		dst, raw = dst[1:], raw[2:]
	}
}

func decodeI32(dst []float32, raw []byte, bs, bz float64, blank bool, bv int64) {
	for len(dst) > 0 && len(raw) >= 4 {
		v := int32(binary.BigEndian.Uint32(raw))
		bits := math.Float32bits(float32(float64(float64(v)*bs) + bz))
		if blank && int64(v) == bv {
			bits = nanBits // an integer select: no branch to mispredict
		}
		dst[0] = math.Float32frombits(bits)
		dst, raw = dst[1:], raw[4:]
	}
}

func decodeI64(dst []float32, raw []byte, bs, bz float64, blank bool, bv int64) {
	for len(dst) > 0 && len(raw) >= 8 {
		v := int64(binary.BigEndian.Uint64(raw))
		bits := math.Float32bits(float32(float64(float64(v)*bs) + bz))
		if blank && v == bv {
			bits = nanBits // an integer select: no branch to mispredict
		}
		dst[0] = math.Float32frombits(bits)
		dst, raw = dst[1:], raw[8:]
	}
}
