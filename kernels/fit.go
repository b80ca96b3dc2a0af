package kernels

import "math"

// fitGaussian is the Gaussian-fit path of SPEC 4.8 on the island gathered
// in w.pix, with threshold t: initial values (peak·F, barycentre, beam
// shape) overwritten by the fixed parameters in fixedVal; when the island
// is wider than 2 px, moments (if nothing is fixed; they also set bounds
// when t ≠ 0) and a least-squares fit of the free parameters. A failed fit
// keeps the previous values. It returns box-relative parameters and whether
// a fit succeeded.
func (w *measureWS) fitGaussian(beam Beam, fudge, t float64, fixed *[nPar]bool, fixedVal *[nPar]float64) ([nPar]float64, bool) {
	px := &w.pix
	var p [nPar]float64
	p[parPeak] = px.initialPeak(fudge)
	p[parX], p[parY] = px.barycentre()
	p[parA], p[parB], p[parTheta] = beam.A, beam.B, beam.Theta
	anyFixed := false
	var free [nPar]bool
	for j := range nPar {
		if fixed[j] {
			p[j] = fixedVal[j]
			anyFixed = true
		} else {
			free[j] = true
		}
	}
	if px.minWidth <= 2 {
		return p, false
	}
	inf := math.Inf(1)
	lo := [nPar]float64{-inf, -inf, -inf, -inf, -inf, -inf}
	hi := [nPar]float64{inf, inf, inf, inf, inf, inf}
	if !anyFixed {
		if mp, ok := px.moments(beam, fudge, t, false); ok {
			p = mp
			if t != 0 {
				lo[parPeak], hi[parPeak] = 0.5*p[parPeak], 1.5*p[parPeak]
				if p[parPeak] < 0 {
					lo[parPeak], hi[parPeak] = hi[parPeak], lo[parPeak]
				}
				lo[parX], hi[parX] = 0, float64(px.nx)
				lo[parY], hi[parY] = 0, float64(px.ny)
				lo[parA], hi[parA] = 0.5*p[parA], 1.5*p[parA]
				lo[parB], hi[parB] = 0.5*p[parB], 1.5*p[parB]
				lo[parTheta], hi[parTheta] = -math.Pi/2, math.Pi
			}
		}
	}
	nfree := 0
	for _, f := range free {
		if f {
			nfree++
		}
	}
	q := p
	_, _, status := w.lm.solve(&q, &free, &lo, &hi, &px.lmPixels, 100*max(nfree, 1))
	if !status.converged() {
		return p, false
	}
	for _, v := range q {
		if !measFinite(v) {
			return p, false
		}
	}
	if q[parB] > q[parA] {
		q[parA], q[parB] = q[parB], q[parA]
		q[parTheta] += math.Pi / 2
	}
	q[parA], q[parB] = math.Abs(q[parA]), math.Abs(q[parB])
	return q, true
}
