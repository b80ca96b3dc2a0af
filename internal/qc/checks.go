package qc

import (
	"fmt"
	"math"
	"strings"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/kernels"
	"gotrap/kernels/sphere"
)

// PixelStats summarises the pixels of an image for the flat and NaN
// checks.
type PixelStats struct {
	N        int     // pixels
	NaN      int     // NaN pixels
	Min, Max float64 // extremes of the non-NaN pixels (±Inf count); NaN when there are none
}

// Stats returns the PixelStats of img. It panics if img's Pix, Stride and
// Rect do not describe a valid layout.
func Stats(img *kernels.Image) PixelStats {
	return StatsCopy(img, nil)
}

// StatsCopy is Stats that also copies img's pixels, row by row as it
// scans them, into dst (compact: row y at dst[y*w:], w the width) when
// dst is not nil: one pass over the pixels where Stats and a copy were
// two. It panics if img's layout is not valid or dst is not nil and
// holds fewer than w*h values.
//
// The pixels are scanned by scanPix (scanPixGo, or its vector version in
// the GOEXPERIMENT=simd build), which returns the extremes of the
// non-NaN values and the NaN count. The extremes of any set of values
// are the same in any order, except that a zero extreme keeps the sign
// of the zero met first: when an extreme is zero the image is scanned
// again by statsRef, the reference twin, so the result is always
// statsRef's.
func StatsCopy(img *kernels.Image, dst []float32) PixelStats {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w > 0 && h > 0 && (img.Stride < w || len(img.Pix) < (h-1)*img.Stride+w) {
		panic(badImage)
	}
	st := PixelStats{N: w * h, Min: math.Inf(1), Max: math.Inf(-1)}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	if w <= 0 || h <= 0 {
		st.N = 0
	} else {
		if dst != nil && len(dst) < w*h {
			panic(badCopy)
		}
		lo, hi, st.NaN = scanPix(img.Pix, img.Stride, w, h, dst)
	}
	if lo == 0 || hi == 0 {
		return statsRef(img)
	}
	if st.NaN == st.N {
		st.Min, st.Max = math.NaN(), math.NaN()
	} else {
		st.Min, st.Max = float64(lo), float64(hi)
	}
	return st
}

// scanPixGo returns the extremes of the non-NaN values of the w x h
// pixels pix (row y at y*stride; +Inf, -Inf when there are none) and
// the number of NaN values, copying each row to dst (row y at y*w) after
// scanning it when dst is not nil (the row is then in the cache). It is
// the default build's scanPix and the oracle of the vector version.
//
// A row is scanned four values at a time with independent minimum and
// maximum chains (NaN compares false, so the chains skip it) and a
// branch-free NaN test (the sign bit of (bits & 0x7fffffff) + 0x007fffff
// is set only by a NaN); a row with NaN is counted again.
func scanPixGo(pix []float32, stride, w, h int, dst []float32) (lo, hi float32, nan int) {
	inf := float32(math.Inf(1))
	lo0, lo1, lo2, lo3 := inf, inf, inf, inf
	hi0, hi1, hi2, hi3 := -inf, -inf, -inf, -inf
	for y := range h {
		o := y * stride
		row := pix[o : o+w]
		var isNaN uint32
		v := row
		for len(v) >= 4 {
			q := v[:4:4]
			a, b, c, d := q[0], q[1], q[2], q[3]
			isNaN |= (math.Float32bits(a) & 0x7fffffff) + 0x007fffff
			isNaN |= (math.Float32bits(b) & 0x7fffffff) + 0x007fffff
			isNaN |= (math.Float32bits(c) & 0x7fffffff) + 0x007fffff
			isNaN |= (math.Float32bits(d) & 0x7fffffff) + 0x007fffff
			if a < lo0 {
				lo0 = a
			}
			if b < lo1 {
				lo1 = b
			}
			if c < lo2 {
				lo2 = c
			}
			if d < lo3 {
				lo3 = d
			}
			if a > hi0 {
				hi0 = a
			}
			if b > hi1 {
				hi1 = b
			}
			if c > hi2 {
				hi2 = c
			}
			if d > hi3 {
				hi3 = d
			}
			v = v[4:]
		}
		for _, x := range v {
			isNaN |= (math.Float32bits(x) & 0x7fffffff) + 0x007fffff
			if x < lo0 {
				lo0 = x
			}
			if x > hi0 {
				hi0 = x
			}
		}
		if isNaN&0x80000000 != 0 {
			nan += countNaN(row)
		}
		if dst != nil {
			copy(dst[y*w:y*w+w], row)
		}
	}
	return min32(min32(lo0, lo1), min32(lo2, lo3)), max32(max32(hi0, hi1), max32(hi2, hi3)), nan
}

// countNaN returns the number of NaN values of row.
func countNaN(row []float32) int {
	n := 0
	for _, x := range row {
		if x != x {
			n++
		}
	}
	return n
}

func min32(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

func max32(a, b float32) float32 {
	if b > a {
		return b
	}
	return a
}

// statsRef is the reference twin of Stats: one plain pass.
func statsRef(img *kernels.Image) PixelStats {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w > 0 && h > 0 && (img.Stride < w || len(img.Pix) < (h-1)*img.Stride+w) {
		panic(badImage)
	}
	st := PixelStats{N: w * h, Min: math.Inf(1), Max: math.Inf(-1)}
	if w <= 0 || h <= 0 {
		st.N = 0
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for y := 0; y < h && w > 0; y++ {
		o := y * img.Stride
		row := img.Pix[o : o+w]
		for _, v := range row {
			switch {
			case v != v:
				st.NaN++
			case v < lo:
				lo = v
				if v > hi {
					hi = v
				}
			case v > hi:
				hi = v
			}
		}
	}
	if st.NaN == st.N {
		st.Min, st.Max = math.NaN(), math.NaN()
	} else {
		st.Min, st.Max = float64(lo), float64(hi)
	}
	return st
}

// CheckFlat is the flat-image check of SPEC 3.2 item 1, NaN-aware: the
// image is flat when it has non-NaN pixels and they are all equal
// (min == max). An image whose pixels are all NaN is not flat here; the
// NaN check rejects it.
func CheckFlat(st PixelStats) (ok bool, comment string) {
	if st.NaN < st.N && st.Min == st.Max {
		return false, fmt.Sprintf("data is flat: all %d non-NaN pixels equal %g", st.N-st.NaN, st.Min)
	}
	return true, ""
}

// CheckNaN rejects an image in which more than maxFraction of the pixels
// are NaN (gotrap's generalisation of TraP's AARTFAAC test "any NaN",
// which is maxFraction = 0), and an image with any infinite pixel: no
// flux is infinite, and one such pixel makes rms_qc NaN. An image without
// pixels is rejected.
func CheckNaN(st PixelStats, maxFraction float64) (ok bool, comment string) {
	if st.N == 0 {
		return false, "image has no pixels"
	}
	f := float64(st.NaN) / float64(st.N)
	if f > maxFraction {
		return false, fmt.Sprintf("%d of %d pixels are NaN (fraction %.4g > %.4g)", st.NaN, st.N, f, maxFraction)
	}
	if math.IsInf(st.Min, 0) || math.IsInf(st.Max, 0) {
		return false, fmt.Sprintf("image has infinite pixels (min %g, max %g)", st.Min, st.Max)
	}
	return true, ""
}

// CheckTauTime rejects an integration time (s) that is not positive
// (TraP: tau_time == 0; gotrap also rejects negative and NaN times).
func CheckTauTime(tau float64) (ok bool, comment string) {
	if !(tau > 0) {
		return false, fmt.Sprintf("tau_time %g s is not positive", tau)
	}
	return true, ""
}

// CheckNoiseRatio compares rms_qc with the theoretical noise sigma (both
// Jy), SPEC 3.2: reject when rms < low·sigma or rms > high·sigma (the
// bounds themselves pass). A NaN rms or sigma is rejected.
func CheckNoiseRatio(rms, sigma, low, high float64) (ok bool, comment string) {
	switch {
	case rms < low*sigma:
		return false, fmt.Sprintf("rms_qc %.4g Jy < %g x theoretical %.4g Jy", rms, low, sigma)
	case rms > high*sigma:
		return false, fmt.Sprintf("rms_qc %.4g Jy > %g x theoretical %.4g Jy", rms, high, sigma)
	case math.IsNaN(rms) || math.IsNaN(sigma):
		return false, fmt.Sprintf("rms_qc %.4g Jy or theoretical noise %.4g Jy is NaN", rms, sigma)
	}
	return true, ""
}

// CheckRMSRange is TraP's reject_basic_rms (SPEC 3.2 item 4): accept only
// when min < rms < max (strict; NaN is rejected).
func CheckRMSRange(rms, min, max float64) (ok bool, comment string) {
	if !(min < rms && rms < max) {
		return false, fmt.Sprintf("rms_qc %.4g Jy outside (%g, %g) Jy", rms, min, max)
	}
	return true, ""
}

// CheckBeam is the beam-shape check of SPEC 3.4 on a beam in pixels
// (a = SMaj, b = SMin semi-axes, θ in radians), the first hit rejecting:
//
//  1. a, b or θ is not finite (TraP: +Inf; gotrap adds −Inf and NaN);
//  2. 2a <= 1 or 2b <= 1: undersampled;
//  3. a > oversampledX or b > oversampledX: oversampled;
//  4. a/b > ellipticalX: too elliptical.
func CheckBeam(b fitsimg.BeamPx, oversampledX, ellipticalX float64) (ok bool, comment string) {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	switch {
	case !finite(b.SMaj) || !finite(b.SMin) || !finite(b.Theta):
		return false, fmt.Sprintf("beam not finite: smaj %g px, smin %g px, theta %g rad", b.SMaj, b.SMin, b.Theta)
	case 2*b.SMaj <= 1 || 2*b.SMin <= 1:
		return false, fmt.Sprintf("beam undersampled: 2 x smaj %.4g px, 2 x smin %.4g px (must be > 1)", 2*b.SMaj, 2*b.SMin)
	case b.SMaj > oversampledX || b.SMin > oversampledX:
		return false, fmt.Sprintf("beam oversampled: smaj %.4g px, smin %.4g px (limit %g px)", b.SMaj, b.SMin, oversampledX)
	case b.SMaj/b.SMin > ellipticalX:
		return false, fmt.Sprintf("beam too elliptical: smaj/smin %.4g > %g", b.SMaj/b.SMin, ellipticalX)
	}
	return true, ""
}

// Source is a bright radio source (or solar-system body) of the proximity
// check: a name and a J2000 position in degrees.
type Source struct {
	Name    string
	RA, Dec float64
}

// brightFixed are the fixed A-team sources of SPEC 3.5 (J2000, degrees).
var brightFixed = [...]Source{
	{"CasA", 350.850, 58.815},
	{"CygA", 299.868, 40.734},
	{"TauA", 83.633, 22.014},
	{"HerA", 252.784, 4.9925},
	{"VirA", 187.706, 12.391},
}

// BrightSources returns the sources of the proximity check (SPEC 3.5) at
// time t: CasA, CygA, TauA, HerA, VirA, and the Sun and Jupiter from the
// low-precision ephemerides (Sun, Jupiter), all J2000. It returns an error
// wrapping ErrEphemeris when t is the zero time or outside [1900, 2100).
func BrightSources(t time.Time) ([]Source, error) {
	if err := checkEphemerisTime(t); err != nil {
		return nil, err
	}
	out := make([]Source, 0, len(brightFixed)+2)
	out = append(out, brightFixed[:]...)
	ra, dec := Sun(t)
	out = append(out, Source{"Sun", ra, dec})
	ra, dec = Jupiter(t)
	out = append(out, Source{"Jupiter", ra, dec})
	return out, nil
}

// CheckBrightSources rejects an image whose centre (ra, dec, degrees J2000)
// lies less than minSep degrees from any source of BrightSources(t)
// (SPEC 3.5; a separation of exactly minSep passes). The comment names the
// nearest offending source. When the ephemeris is invalid the image is
// rejected with a comment starting "Invalid ephemeris", as in TraP.
func CheckBrightSources(ra, dec float64, t time.Time, minSep float64) (ok bool, comment string) {
	srcs, err := BrightSources(t)
	if err != nil {
		return false, "Invalid ephemeris: " + strings.TrimPrefix(err.Error(), ErrEphemeris.Error()+": ")
	}
	best, bestSep := -1, math.Inf(1)
	for i, s := range srcs {
		if sep := sphere.Sep(ra, dec, s.RA, s.Dec); sep < minSep && sep < bestSep {
			best, bestSep = i, sep
		}
	}
	if best >= 0 {
		return false, fmt.Sprintf("%s is %.3g deg from the image centre (< %g deg)", srcs[best].Name, bestSep, minSep)
	}
	if math.IsNaN(ra) || math.IsNaN(dec) {
		return false, "image centre is NaN"
	}
	return true, ""
}
