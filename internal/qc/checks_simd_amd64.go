//go:build goexperiment.simd && amd64

package qc

import (
	"math"
	"simd/archsimd"
)

// haveAVX2 reports whether the CPU runs the vector scan (AVX2 for the
// merges); without it scanPixGo runs.
var haveAVX2 = archsimd.X86.AVX2()

// scanPix is scanPixGo sixteen values at a time with AVX2: two float32x8
// minimum and two maximum chains, each lane replaced by a value that is
// smaller (larger) than it (a NaN compares false and never enters), and
// a NaN mask (x != x) ORed over the row; a row with NaN is counted again
// by countNaN, the tail of fewer than 16 values by scalar chains. The
// extremes of a set do not depend on the order except for the sign of a
// zero, which StatsCopy settles by statsRef; the NaN count is exact, so
// StatsCopy's result is the twin's bit for bit.
func scanPix(pix []float32, stride, w, h int, dst []float32) (lo, hi float32, nan int) {
	if !haveAVX2 || w < 16 {
		return scanPixGo(pix, stride, w, h, dst)
	}
	inf := float32(math.Inf(1))
	lo0, lo1 := archsimd.BroadcastFloat32x8(inf), archsimd.BroadcastFloat32x8(inf)
	hi0, hi1 := archsimd.BroadcastFloat32x8(-inf), archsimd.BroadcastFloat32x8(-inf)
	los, his := inf, -inf
	w16 := w &^ 15
	for y := range h {
		o := y * stride
		row := pix[o : o+w]
		var isNaN archsimd.Mask32x8
		for x := 0; x < w16; x += 16 {
			q := (*[16]float32)(row[x : x+16])
			a := archsimd.LoadFloat32x8((*[8]float32)(q[0:8]))
			b := archsimd.LoadFloat32x8((*[8]float32)(q[8:16]))
			isNaN = isNaN.Or(a.NotEqual(a)).Or(b.NotEqual(b))
			lo0 = a.Merge(lo0, a.Less(lo0))
			lo1 = b.Merge(lo1, b.Less(lo1))
			hi0 = a.Merge(hi0, a.Greater(hi0))
			hi1 = b.Merge(hi1, b.Greater(hi1))
		}
		rowNaN := isNaN.ToBits() != 0
		for _, v := range row[w16:] {
			rowNaN = rowNaN || v != v
			if v < los {
				los = v
			}
			if v > his {
				his = v
			}
		}
		if rowNaN {
			nan += countNaN(row)
		}
		if dst != nil {
			copy(dst[y*w:y*w+w], row)
		}
	}
	var l, u [8]float32
	lo0 = lo1.Merge(lo0, lo1.Less(lo0))
	hi0 = hi1.Merge(hi0, hi1.Greater(hi0))
	lo0.Store(&l)
	hi0.Store(&u)
	lo, hi = los, his
	for k := range 8 {
		lo = min32(lo, l[k])
		hi = max32(hi, u[k])
	}
	return lo, hi, nan
}
