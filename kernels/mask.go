package kernels

import (
	"image"
	"math"
)

// # Masks
//
// A mask is a []bool in the compact layout of the image's rectangle: one
// element per pixel, row-major with x fastest and a stride equal to the
// image width, so pixel (x, y) is element
// (y-Rect.Min.Y)*Rect.Dx() + (x-Rect.Min.X). true means masked (excluded).
// This is also the layout of Detections.D, Detections.RMS and
// Detections.Labels, which Detect allocates compact.

// MaskTo writes into dst the mask of SPEC 4.2 for img: the OR of
//
//	margin: x' < margin || x' >= w-margin || y' < margin || y' >= h-margin
//	radius: radius > 0 && (x'-(w-1)/2)^2 + (y'-(h-1)/2)^2 >= radius^2
//	NaN:    the pixel is NaN
//	extra:  extra != nil && extra[i]
//
// where (x', y') are the 0-based indices inside img.Rect and w, h its size.
// margin <= 0 and radius <= 0 switch those parts off; extra is an optional
// caller mask in the same layout. It returns dst resliced to the number of
// pixels (reallocated when too short) and the bounding box, in image
// coordinates, of the unmasked pixels (empty when every pixel is masked).
// It panics if extra has the wrong length.
func MaskTo(dst []bool, img *Image, margin int, radius float64, extra []bool) ([]bool, image.Rectangle) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	checkImageLayout(img)
	n := w * h
	if extra != nil && len(extra) != n {
		panic(badMaskLength)
	}
	if cap(dst) < n {
		dst = make([]bool, n)
	}
	dst = dst[:n]
	if n == 0 {
		return dst, image.Rectangle{}
	}
	minX, minY, maxX, maxY := w, h, -1, -1
	cx, cy := float64(w-1)/2, float64(h-1)/2
	r2 := radius * radius
	for y := range h {
		src := img.Pix[y*img.Stride : y*img.Stride+w]
		row := dst[y*w : y*w+w]
		rowMasked := margin > 0 && (y < margin || y >= h-margin)
		dy := float64(y) - cy
		// Along the row, the radius mask leaves one interval [rx0, rx1).
		rx0, rx1 := 0, w
		if radius > 0 {
			rem := r2 - dy*dy
			if rem <= 0 {
				rx0, rx1 = 0, 0
			} else {
				half := math.Sqrt(rem)
				// Unmasked: (x-cx)^2 < rem, i.e. cx-half < x < cx+half.
				rx0 = int(math.Floor(cx-half)) + 1
				rx1 = int(math.Ceil(cx + half))
				// Fix rounding at the boundary with the exact test.
				for rx0 > 0 && maskSq(float64(rx0-1)-cx)+dy*dy < r2 {
					rx0--
				}
				for rx0 < w && maskSq(float64(rx0)-cx)+dy*dy >= r2 {
					rx0++
				}
				for rx1 < w && maskSq(float64(rx1)-cx)+dy*dy < r2 {
					rx1++
				}
				for rx1 > rx0 && maskSq(float64(rx1-1)-cx)+dy*dy >= r2 {
					rx1--
				}
				rx0 = max(rx0, 0)
				rx1 = min(rx1, w)
			}
		}
		if margin > 0 {
			rx0 = max(rx0, margin)
			rx1 = min(rx1, w-margin)
		}
		if rowMasked || rx1 <= rx0 {
			for x := range row {
				row[x] = true
			}
			continue
		}
		for x := range row[:rx0] {
			row[x] = true
		}
		for x := rx1; x < w; x++ {
			row[x] = true
		}
		in := row[rx0:rx1]
		vals := src[rx0:rx1]
		vals = vals[:len(in)]
		rowMin, rowMax := -1, -1
		if extra != nil {
			ex := extra[y*w+rx0 : y*w+rx1]
			ex = ex[:len(in)]
			for i, v := range vals {
				m := v != v || ex[i]
				in[i] = m
				if !m {
					if rowMin < 0 {
						rowMin = i
					}
					rowMax = i
				}
			}
		} else if !hasNaN(vals) {
			// Fast path: no NaN in the row's interval, nothing to test
			// per pixel.
			clear(in)
			if len(in) > 0 {
				rowMin, rowMax = 0, len(in)-1
			}
		} else {
			for i, v := range vals {
				m := v != v
				in[i] = m
				if !m {
					if rowMin < 0 {
						rowMin = i
					}
					rowMax = i
				}
			}
		}
		if rowMin >= 0 {
			minX = min(minX, rx0+rowMin)
			maxX = max(maxX, rx0+rowMax)
			minY = min(minY, y)
			maxY = y
		}
	}
	if maxY < 0 {
		return dst, image.Rectangle{}
	}
	o := img.Rect.Min
	return dst, image.Rect(minX+o.X, minY+o.Y, maxX+1+o.X, maxY+1+o.Y)
}

// maskRef is the reference twin of MaskTo: the plain per-pixel test.
func maskRef(img *Image, margin int, radius float64, extra []bool) []bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	dst := make([]bool, w*h)
	cx, cy := float64(w-1)/2, float64(h-1)/2
	for y := range h {
		for x := range w {
			v := img.Pix[y*img.Stride+x]
			m := math.IsNaN(float64(v))
			if margin > 0 && (x < margin || x >= w-margin || y < margin || y >= h-margin) {
				m = true
			}
			if radius > 0 && maskSq(float64(x)-cx)+maskSq(float64(y)-cy) >= radius*radius {
				m = true
			}
			if extra != nil && extra[y*w+x] {
				m = true
			}
			dst[y*w+x] = m
		}
	}
	return dst
}

func maskSq(x float64) float64 { return x * x }

// hasNaNGo reports whether v holds a NaN, without a branch per value: with
// a = bits &^ sign, a value is NaN when a > 0x7f800000, that is when
// a + 0x007fffff sets bit 31 (a + 0x007fffff < 2^32, so nothing carries
// out). The reference loop is
//
//	for _, x := range v { if x != x { return true } }; return false
//
// It is the default build's hasNaN (the GOEXPERIMENT=simd build has a
// vector version).
func hasNaNGo(v []float32) bool {
	var acc uint32
	for len(v) >= 4 {
		q := v[:4:4]
		acc |= (math.Float32bits(q[0]) & 0x7fffffff) + 0x007fffff
		acc |= (math.Float32bits(q[1]) & 0x7fffffff) + 0x007fffff
		acc |= (math.Float32bits(q[2]) & 0x7fffffff) + 0x007fffff
		acc |= (math.Float32bits(q[3]) & 0x7fffffff) + 0x007fffff
		v = v[4:]
	}
	for _, x := range v {
		acc |= (math.Float32bits(x) & 0x7fffffff) + 0x007fffff
	}
	return acc&0x80000000 != 0
}

// hasNaNRef is the reference twin of hasNaN.
func hasNaNRef(v []float32) bool {
	for _, x := range v {
		if x != x {
			return true
		}
	}
	return false
}

// checkImage panics unless img's Stride and Pix can hold its rectangle.
func checkImageLayout(img *Image) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < 0 || h < 0 {
		panic(badImage)
	}
	if w == 0 || h == 0 {
		return
	}
	if img.Stride < w || len(img.Pix) < (h-1)*img.Stride+w {
		panic(badImage)
	}
}

// GeometryMasked reports whether pixel (x, y), 0-based inside a w x h
// image, is masked by the margin or radius parts of MaskTo's mask (not
// NaN, not a caller's mask): where no source can be detected whatever the
// pixels hold.
func GeometryMasked(w, h, x, y, margin int, radius float64) bool {
	if margin > 0 && (x < margin || x >= w-margin || y < margin || y >= h-margin) {
		return true
	}
	cx, cy := float64(w-1)/2, float64(h-1)/2
	return radius > 0 && maskSq(float64(x)-cx)+maskSq(float64(y)-cy) >= radius*radius
}
