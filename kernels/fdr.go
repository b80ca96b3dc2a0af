package kernels

import (
	"math"
	"slices"
)

// FDRHarmonic returns C_n of SPEC 4.13, the harmonic number of the number
// of correlated pixels: C_n = sum_{k=1}^{K} 1/k with
// K = round(pi/4 * thetaB * thetab + 1) - 1 = round(pi*a*b + 1) - 1
// (thetaB = 2a, thetab = 2b; rounding half to even, as Python's round).
// K is at least 1, so C_n >= 1 also for beams smaller than a pixel.
func FDRHarmonic(beam Beam) float64 {
	k := int(math.RoundToEven(math.Pi*beam.A*beam.B+1)) - 1
	k = max(k, 1)
	var c float64
	for i := k; i >= 1; i-- { // smallest terms first
		c += 1 / float64(i)
	}
	return c
}

// GaussTail returns the one-sided Gaussian tail probability
// P(Z > z) = erfc(z/sqrt 2)/2.
func GaussTail(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// GaussTailInv returns z with GaussTail(z) = p, for 0 < p < 1. math.Erfcinv
// computes Erfinv(1-x) and loses all precision for tiny tails (z = 8 comes
// back as 8.002), so its value is only the start of Newton steps on
// ln GaussTail(z) = ln p, which use the accurate math.Erfc.
func GaussTailInv(p float64) float64 {
	if !(p > 0 && p < 1) {
		switch {
		case p == 0:
			return math.Inf(1)
		case p == 1:
			return math.Inf(-1)
		}
		return math.NaN()
	}
	z := math.Sqrt2 * math.Erfcinv(2*p)
	if p > 0.5 {
		return z // Erfinv is accurate away from the far tail
	}
	lp := math.Log(p)
	for range 8 {
		q := GaussTail(z)
		if q == 0 {
			break
		}
		// d ln Q / dz = -phi(z)/Q(z)
		phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
		step := (math.Log(q) - lp) * q / phi
		z += step
		if math.Abs(step) <= 1e-15*math.Abs(z) {
			break
		}
	}
	return z
}

// FDRThreshold returns the False Detection Rate threshold z_FDR of SPEC
// 4.13 (Hopkins et al. 2002) with gotrap's fix of quirk 7: the p-value of
// a pixel is its one-sided Gaussian tail probability p = P(Z > z), z =
// D/rms (PySE uses the density exp(-z^2/2)/sqrt(2 pi) instead), so that
// only positive excursions count, as sources are positive.
//
// With the p-values of the N unmasked pixels (finite D and rms > 0) sorted
// ascending, i is the last index with p_(i) < (alpha/C_n) * i/N, and
// z_FDR = GaussTailInv(p_(i)), which is the z of that pixel. ok is false
// when no p-value lies under the line. Only pixels with p < alpha/C_n can
// be under it, so only those are collected and sorted: O(N) plus the sort
// of a small tail. d and rms are maps of equal length (NaN where masked);
// buf is scratch, returned grown for reuse. It panics if the lengths
// differ.
func FDRThreshold(buf []float64, d, rms []float32, alpha float64, beam Beam) (z float64, ok bool, out []float64) {
	if len(d) != len(rms) {
		panic(badLength)
	}
	rms = rms[:len(d)]
	cn := FDRHarmonic(beam)
	pmax := alpha / cn
	if !(pmax > 0) || pmax >= 1 {
		return math.NaN(), false, buf
	}
	zmin := GaussTailInv(pmax)
	buf = buf[:0]
	n := 0
	for i, v := range d {
		r := rms[i]
		if !(r > 0) || v != v {
			continue
		}
		n++
		if zz := float64(v) / float64(r); zz > zmin {
			buf = append(buf, zz)
		}
	}
	if len(buf) == 0 {
		return math.NaN(), false, buf
	}
	slices.Sort(buf) // ascending z: p descending
	last := -1
	for i := range buf {
		zz := buf[len(buf)-1-i] // the (i+1)-th smallest p
		if GaussTail(zz) < pmax*float64(i+1)/float64(n) {
			last = i
		}
	}
	if last < 0 {
		return math.NaN(), false, buf
	}
	return buf[len(buf)-1-last], true, buf
}

// fdrThresholdRef is the reference twin of FDRThreshold: all p-values,
// fully sorted.
func fdrThresholdRef(d, rms []float32, alpha float64, beam Beam) (float64, bool) {
	var p []float64
	for i, v := range d {
		if r := rms[i]; r > 0 && !math.IsNaN(float64(v)) {
			p = append(p, GaussTail(float64(v)/float64(r)))
		}
	}
	slices.Sort(p)
	c := alpha / FDRHarmonic(beam)
	last := -1
	for i, pi := range p {
		if pi < c*float64(i+1)/float64(len(p)) {
			last = i
		}
	}
	if last < 0 {
		return math.NaN(), false
	}
	return GaussTailInv(p[last]), true
}

// fdrThreshold runs FDRThreshold on the Detector's maps.
func (d *Detector) fdrThreshold() (float64, bool) {
	z, ok, buf := FDRThreshold(d.fdrBuf, d.dimg.Pix, d.rimg.Pix, d.cfg.FDRAlpha, d.cfg.Beam)
	d.fdrBuf = buf
	return z, ok
}
