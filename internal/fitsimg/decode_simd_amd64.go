//go:build goexperiment.simd && amd64

package fitsimg

import "simd/archsimd"

// haveAVX2 reports whether the CPU runs the vector byte swap (VPSHUFB on
// 256 bits is AVX2); without it swap32Go runs.
var haveAVX2 = archsimd.X86.AVX2()

// swap32Rev reverses the bytes of each 4-byte word within each 128-bit
// group (VPSHUFB's indices are per group).
var swap32Rev = [32]int8{
	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
	3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12,
}

// swap32 is swap32Go eight floats (32 bytes) at a time with AVX2: one
// byte shuffle reverses each word, and the bits are stored unchanged, so
// the same values as swap32Go's. Each block is loaded before it is
// stored, so raw may be dst's own bytes (DecodeTo in place). The tail of
// fewer than eight values is swap32Go's.
func swap32(dst []float32, raw []byte) {
	n := min(len(dst), len(raw)/4)
	if !haveAVX2 || n < 8 {
		swap32Go(dst, raw)
		return
	}
	idx := archsimd.LoadInt8x32(&swap32Rev)
	n8 := n &^ 7
	for i := 0; i < n8; i += 8 {
		v := archsimd.LoadUint8x32((*[32]uint8)(raw[4*i : 4*i+32]))
		v.PermuteOrZeroGrouped(idx).AsFloat32x8().Store((*[8]float32)(dst[i : i+8]))
	}
	swap32Go(dst[n8:n], raw[4*n8:4*n])
}
