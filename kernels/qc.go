package kernels

import (
	"image"
	"math"
)

// Image quality control: TraP's rms_qc (SPEC 3.1).

// QCSubregion returns the central subregion of SPEC 3.1 step 1 as a view of
// img: with (X, Y) the image size and f = fraction, the x range
// [X/2 - X/f, X/2 + X/f) and the y range [Y/2 - Y/f, Y/2 + Y/f) (integer
// division, 0-based inside img.Rect). For f = 8 that is the central
// quarter width, 1/16 of the area. It panics if fraction < 1.
func QCSubregion(img *Image, fraction int) *Image {
	if fraction < 1 {
		panic(badFraction)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	r := image.Rect(w/2-w/fraction, h/2-h/fraction, w/2+w/fraction, h/2+h/fraction)
	return img.SubImage(r.Add(img.Rect.Min))
}

// SigmaClipQC is TraP's iterative clip of SPEC 3.1 step 2, without bias
// correction and inclusive:
//
//	loop:
//	    m = median(v); s = std(v)         // population std
//	    v' = {x in v : |x - m| <= kappa*s}
//	    if len(v') == len(v) || len(v') == 0 { break }
//	    v = v'
//
// It works in place (v is reordered) and returns the kept values as a
// prefix of v; when a pass would keep nothing it returns an empty slice.
// v must not hold NaN.
func SigmaClipQC(v []float64, kappa float64) []float64 {
	for len(v) > 0 {
		m := medianSelect(v)
		_, s := clipMeanStd(v)
		lim := kappa * s
		n := 0
		for _, x := range v {
			if math.Abs(x-m) <= lim {
				v[n] = x
				n++
			}
		}
		if n == len(v) {
			break
		}
		v = v[:n]
	}
	return v
}

// RMSQC returns TraP's rms_qc of img (SPEC 3.1): the rms about the median,
// sqrt(mean((v - median(v))^2)), of the values of QCSubregion(img,
// fraction) that survive SigmaClipQC with kappa (TraP: fraction 8, kappa
// 4). NaN pixels are left out (TraP would propagate them); the result is
// NaN when no finite pixel is left, which the QC's range test rejects. buf
// is scratch, returned grown for reuse. It panics if fraction < 1.
func RMSQC(img *Image, fraction int, kappa float64, buf []float64) (float64, []float64) {
	checkImageLayout(img)
	sub := QCSubregion(img, fraction)
	w, h := sub.Rect.Dx(), sub.Rect.Dy()
	buf = buf[:0]
	for y := range h {
		row := sub.Pix[y*sub.Stride : y*sub.Stride+w]
		for _, v := range row {
			if v == v {
				buf = append(buf, float64(v))
			}
		}
	}
	v := SigmaClipQC(buf, kappa)
	if len(v) == 0 {
		return math.NaN(), buf
	}
	m := medianSelect(v)
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(v))), buf
}
