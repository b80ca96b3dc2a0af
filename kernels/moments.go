package kernels

import (
	"image"
	"math"
)

// islandPix is the per-island workspace shared by both measurement paths:
// the island's pixels gathered from Detections (or a forced-fit box) with
// coordinates relative to the box origin, as in PySE. Its slices are
// reused from island to island.
type islandPix struct {
	lmPixels           // xs, ys (box-relative) and vs (D)
	rms      []float64 // rms map at each pixel
	in       []bool    // nx*ny membership bitmap, x fastest
	colCount []int     // island pixels per column (x)
	origin   image.Point
	nx, ny   int
	minWidth int     // smaller of the largest row and column pixel counts
	maxV     float64 // largest value and its position
	minV     float64
	sig      float64 // max(v/rms)
	sumV     float64
}

// reset prepares the workspace for a box of nx×ny pixels at origin.
func (w *islandPix) reset(origin image.Point, nx, ny int) {
	w.origin, w.nx, w.ny = origin, nx, ny
	w.xs, w.ys, w.vs, w.rms = w.xs[:0], w.ys[:0], w.vs[:0], w.rms[:0]
	n := nx * ny
	if cap(w.in) < n {
		w.in = make([]bool, n)
	}
	w.in = w.in[:n]
	clear(w.in)
	if cap(w.colCount) < nx {
		w.colCount = make([]int, nx)
	}
	w.colCount = w.colCount[:nx]
	clear(w.colCount)
	w.minWidth = 0
	w.maxV, w.minV, w.sig, w.sumV = math.Inf(-1), math.Inf(1), math.Inf(-1), 0
}

// add appends pixel (x, y) (box-relative) with value v and rms r.
func (w *islandPix) add(x, y int, v, r float64) {
	w.xs = append(w.xs, float64(x))
	w.ys = append(w.ys, float64(y))
	w.vs = append(w.vs, v)
	w.rms = append(w.rms, r)
	w.in[y*w.nx+x] = true
	w.colCount[x]++
	w.maxV = math.Max(w.maxV, v)
	w.minV = math.Min(w.minV, v)
	w.sig = math.Max(w.sig, v/r)
	w.sumV += v
}

// finish computes minWidth after the last add; rowMax is the largest
// number of pixels in one row, tracked by the caller.
func (w *islandPix) finish(rowMax int) {
	colMax := 0
	for _, c := range w.colCount {
		colMax = max(colMax, c)
	}
	w.minWidth = min(rowMax, colMax)
}

// gatherIsland fills w with the pixels of isl. It returns false when the
// island has no pixels.
func (w *islandPix) gatherIsland(det *Detections, isl *Island) bool {
	box := isl.Box
	w.reset(box.Min, box.Dx(), box.Dy())
	d, rms := det.D, det.RMS
	rowMax := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		o := d.PixOffset(box.Min.X, y)
		labels := det.Labels[o : o+box.Dx()]
		dv := d.Pix[o : o+len(labels)]
		ro := rms.PixOffset(box.Min.X, y)
		rv := rms.Pix[ro : ro+len(labels)]
		cnt := 0
		for i, l := range labels {
			if l != isl.Label {
				continue
			}
			w.add(i, y-box.Min.Y, float64(dv[i]), float64(rv[i]))
			cnt++
		}
		rowMax = max(rowMax, cnt)
	}
	w.finish(rowMax)
	return len(w.xs) > 0
}

// value returns the value at box-relative pixel (x, y) and whether it is an
// island pixel.
func (w *islandPix) value(x, y int) (float64, bool) {
	if x < 0 || y < 0 || x >= w.nx || y >= w.ny || !w.in[y*w.nx+x] {
		return 0, false
	}
	// Island pixels are few; a linear search keeps the workspace small.
	fx, fy := float64(x), float64(y)
	for i, px := range w.xs {
		if px == fx && w.ys[i] == fy {
			return w.vs[i], true
		}
	}
	return 0, false
}

// initialPeak is step 3 of SPEC 4.7: the largest pixel times the fudge
// factor, or the smallest one times it when no pixel is positive.
func (w *islandPix) initialPeak(fudge float64) float64 {
	if w.maxV > 0 {
		return w.maxV * fudge
	}
	return w.minV * fudge
}

// barycentre returns Σx·v/Σv and Σy·v/Σv.
func (w *islandPix) barycentre() (float64, float64) {
	var sx, sy float64
	ys := w.ys[:len(w.xs)]
	vs := w.vs[:len(w.xs)]
	for i, x := range w.xs {
		sx += x * vs[i]
		sy += ys[i] * vs[i]
	}
	return sx / w.sumV, sy / w.sumV
}

// moments measures the island by the "tweaked moments" of SPEC 4.7 steps
// 2-6 with threshold t (flux units): barycentre, peak (extrapolated with the
// beam shape when forceBeam, else Spreeuw's eq. 2.67), second-moment axes
// corrected for the threshold cut, and θ. It returns the parameters in
// box-relative coordinates and false when they are not finite (for example
// Σv = 0).
func (w *islandPix) moments(beam Beam, fudge, t float64, forceBeam bool) ([nPar]float64, bool) {
	var p [nPar]float64
	xb, yb := w.barycentre()
	peak := w.initialPeak(fudge)
	rx, ry := math.RoundToEven(xb), math.RoundToEven(yb)
	base, haveBase := w.value(int(rx), int(ry))
	if !measFinite(xb) || !measFinite(yb) {
		haveBase = false
	}
	dx, dy := xb-rx, yb-ry
	p[parX], p[parY] = xb, yb
	p[parA], p[parB], p[parTheta] = beam.A, beam.B, beam.Theta
	if forceBeam {
		if haveBase {
			s, c := math.Sincos(beam.Theta)
			u := (c*dx + s*dy) / beam.B
			v := (c*dy - s*dx) / beam.A
			peak = base * math.Exp(math.Ln2*(u*u+v*v)) // Spreeuw eq. 2.66
		}
		p[parPeak] = peak
		return p, measFinite(peak) && measFinite(xb) && measFinite(yb)
	}
	var sxx, syy, sxy float64
	ys := w.ys[:len(w.xs)]
	vs := w.vs[:len(w.xs)]
	for i, x := range w.xs {
		sxx += x * x * vs[i]
		syy += ys[i] * ys[i] * vs[i]
		sxy += x * ys[i] * vs[i]
	}
	xx := sxx/w.sumV - xb*xb
	yy := syy/w.sumV - yb*yb
	xy := sxy/w.sumV - xb*yb
	w1 := (xx + yy) / 2
	w2 := math.Sqrt(((xx-yy)/2)*((xx-yy)/2) + xy*xy)
	a2 := 2 * math.Ln2 * (w1 + w2)
	b2 := 2 * math.Ln2 * (w1 - w2)
	if !(b2 > 0) || w.minWidth <= 2 {
		p[parPeak] = peak
		return p, measFinite(peak) && measFinite(xb) && measFinite(yb)
	}
	var theta float64
	switch {
	case math.Abs(a2-b2) < 0.01:
		theta = 0
	case xx != yy:
		theta = math.Atan(2*xy/(xx-yy)) / 2
	default:
		theta = math.Copysign(math.Pi/4, xy)
		if xy == 0 {
			theta = 0
		}
	}
	if theta*xy > 0 {
		if theta < 0 {
			theta += math.Pi / 2
		} else {
			theta -= math.Pi / 2
		}
	}
	if haveBase && t != 0 && math.Signbit(t) == math.Signbit(base) && base != 0 {
		s, c := math.Sincos(theta)
		u := c*dx + s*dy
		v := c*dy - s*dx
		eps := math.Ln2 * (u*u + v*v*b2/a2)
		peak = tweakedPeak(base, t, eps/b2)
	}
	if t != 0 && math.Signbit(t) == math.Signbit(peak) && math.Abs(peak) > math.Abs(t) {
		k := thresholdFactor(t / peak)
		a2 /= k
		b2 /= k
	}
	p[parPeak] = peak
	p[parA], p[parB], p[parTheta] = math.Sqrt(a2), math.Sqrt(b2), theta
	ok := true
	for _, v := range p {
		ok = ok && measFinite(v)
	}
	return p, ok
}

// thresholdFactor is 1 + ln(r)·r/(1 − r), the factor by which a cut at
// r = T/P shrinks the squared second-moment axes of a Gaussian (SPEC 4.7
// step 6); its limit at r = 1 is 0.
func thresholdFactor(r float64) float64 {
	if r == 1 {
		return 0
	}
	return 1 + math.Log(r)*r/(1-r)
}

// tweakedPeak solves Spreeuw's eq. 2.67 for the peak P given the value B of
// the pixel nearest the barycentre, the threshold T and e = ε/b²:
//
//	f(P) = ln(P/B) − e·k(T/P) = 0,  k(r) = 1 + ln(r)·r/(1 − r)
//
// by Newton's method with the analytic derivative, from P = B, kept inside
// [0.5B, 2B] (SPEC 4.7), until the step is below 1e-12 relative (float64
// resolution of P after a few steps) or 100 iterations.
func tweakedPeak(b, t, e float64) float64 {
	lo, hi := 0.5*b, 2*b
	if b < 0 {
		lo, hi = hi, lo
	}
	p := b
	for range 100 {
		q := p / t // P/T > 0 (same signs)
		f := math.Log(p/b) - e*thresholdFactor(1/q)
		// k(1/q) = 1 − ln(q)/(q−1); dk/dP = (ln q − 1 + 1/q)/((q−1)²·T).
		var dk float64
		if q != 1 {
			dk = (math.Log(q) - 1 + 1/q) / ((q - 1) * (q - 1) * t)
		} else {
			dk = 1 / (2 * t) // the limit as q → 1
		}
		df := 1/p - e*dk
		if df == 0 || !measFinite(df) {
			break
		}
		np := math.Min(math.Max(p-f/df, lo), hi)
		if math.Abs(np-p) <= 1e-12*math.Abs(p) {
			p = np
			break
		}
		p = np
	}
	return p
}
