//go:build goexperiment.simd && amd64

package kernels

import (
	"encoding/binary"
	"math"
	"math/bits"
	"simd/archsimd"
	"unsafe"
)

// haveAVX2 reports whether the CPU runs the vector passes (AVX2; the
// float64x4 arithmetic, conversions and compares are AVX, the merges
// AVX2). Without it the plain twins run.
var haveAVX2 = archsimd.X86.AVX2()

// mapsFlagsPix is mapsFlagsPixGo eight pixels at a time with AVX2 (two
// float64x4 halves), the tail of fewer than eight by mapsFlagsPixGo.
// Each lane does mapsFlagsPixGo's operations in its order (the product,
// then the sum, each rounded to float64; the clamp; the conversions to
// float32 rounding to nearest; the float32 difference; the comparisons
// in float64), so the bits are the same. Masked lanes are computed too
// (their values are never read) and then overwritten with NaN, NaN and
// p.rem, as the twin writes them.
func mapsFlagsPix(src, drow, rrow []float32, mrow []bool, fx []float64, flags []uint8, p *mapsSegParams) {
	n := len(src)
	if !haveAVX2 || n < 8 {
		mapsFlagsPixGo(src, drow, rrow, mrow, fx, flags, p)
		return
	}
	drow, rrow, mrow, fx, flags = drow[:n], rrow[:n], mrow[:n], fx[:n], flags[:n]
	m0, dm := archsimd.BroadcastFloat64x4(p.m0), archsimd.BroadcastFloat64x4(p.dm)
	r0, dr := archsimd.BroadcastFloat64x4(p.r0), archsimd.BroadcastFloat64x4(p.dr)
	rfloor := archsimd.BroadcastFloat64x4(p.rfloor)
	anl, floor := archsimd.BroadcastFloat64x4(p.anl), archsimd.BroadcastFloat64x4(p.floor)
	rem := uint64(p.rem)
	nan := float32(math.NaN())
	n8 := n &^ 7
	mbytes := boolBytes(mrow)
	for x := 0; x < n8; x += 8 {
		// Fixed-size views: no bounds checks on the halves.
		f8, s8 := (*[8]float64)(fx[x:x+8]), (*[8]float32)(src[x:x+8])
		d8, r8 := (*[8]float32)(drow[x:x+8]), (*[8]float32)(rrow[x:x+8])
		mb := boolBits8(binary.LittleEndian.Uint64(mbytes[x : x+8]))

		f := archsimd.LoadFloat64x4((*[4]float64)(f8[0:4]))
		bv := m0.Add(dm.Mul(f)).ConvertToFloat32()
		r := r0.Add(dr.Mul(f))
		rv := rfloor.Merge(r, r.Less(rfloor)).ConvertToFloat32()
		dv := archsimd.LoadFloat32x4((*[4]float32)(s8[0:4])).Sub(bv)
		dv.Store((*[4]float32)(d8[0:4]))
		rv.Store((*[4]float32)(r8[0:4]))
		r64 := rv.ConvertToFloat64()
		lo := dv.ConvertToFloat64().Greater(anl.Mul(r64)).And(r64.GreaterEqual(floor)).ToBits()

		f = archsimd.LoadFloat64x4((*[4]float64)(f8[4:8]))
		bv = m0.Add(dm.Mul(f)).ConvertToFloat32()
		r = r0.Add(dr.Mul(f))
		rv = rfloor.Merge(r, r.Less(rfloor)).ConvertToFloat32()
		dv = archsimd.LoadFloat32x4((*[4]float32)(s8[4:8])).Sub(bv)
		dv.Store((*[4]float32)(d8[4:8]))
		rv.Store((*[4]float32)(r8[4:8]))
		r64 = rv.ConvertToFloat64()
		hi := dv.ConvertToFloat64().Greater(anl.Mul(r64)).And(r64.GreaterEqual(floor)).ToBits()

		cand := (lo | hi<<4) &^ mb
		// flagCand is 1: the candidate bits spread to bytes are the flags.
		binary.LittleEndian.PutUint64(flags[x:x+8], spreadBits8(cand)|spreadBits8(mb)*rem)
		for m := mb; m != 0; m &= m - 1 {
			k := bits.TrailingZeros8(m)
			d8[k], r8[k] = nan, nan
		}
	}
	if n8 < n {
		mapsFlagsPixGo(src[n8:], drow[n8:], rrow[n8:], mrow[n8:], fx[n8:], flags[n8:], p)
	}
}

// boolBytes views m as bytes: a Go bool is one byte, 0 or 1.
func boolBytes(m []bool) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(m))), len(m))
}

// boolBits8 packs 8 bools, the bytes (0 or 1) of the little-endian word
// u, into a bitmap, bool k in bit k: multiplying by 0x0102040810204080
// moves byte k's bit 0 to bit 56+k; every other partial product lands
// below bit 56 at a distinct position (no carries) or above bit 63.
func boolBits8(u uint64) uint8 {
	return uint8((u * 0x0102040810204080) >> 56)
}

// spreadBits8 is the inverse of boolBits8: bit k of b becomes byte k (0
// or 1) of the result. Each byte k of b*0x0101010101010101 holds b;
// masking keeps bit k of byte k; adding 0x7f to a byte sets its bit 7
// exactly when it is nonzero, without a carry into the next byte.
func spreadBits8(b uint8) uint64 {
	const ones = 0x0101010101010101
	u := (uint64(b) * ones) & 0x8040201008040201
	return ((u + 0x7f7f7f7f7f7f7f7f) >> 7) & ones
}

// hasNaN is hasNaNGo sixteen values at a time with AVX (x != x over two
// float32x8 vectors, ORed), the tail by hasNaNGo.
func hasNaN(v []float32) bool {
	if !haveAVX2 || len(v) < 16 {
		return hasNaNGo(v)
	}
	n16 := len(v) &^ 15
	var acc archsimd.Mask32x8
	for x := 0; x < n16; x += 16 {
		q := (*[16]float32)(v[x : x+16])
		a := archsimd.LoadFloat32x8((*[8]float32)(q[0:8]))
		b := archsimd.LoadFloat32x8((*[8]float32)(q[8:16]))
		acc = acc.Or(a.NotEqual(a)).Or(b.NotEqual(b))
	}
	return acc.ToBits() != 0 || hasNaNGo(v[n16:])
}
