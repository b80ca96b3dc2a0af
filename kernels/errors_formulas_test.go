package kernels

import (
	"math"
	"testing"
)

// TestFixedShapeFluxError: with the shape fixed to the beam (force_beam,
// forced fits) the integrated flux error is the peak's, relative, and
// the peak's is sqrt(4/3) sigma_n; with a fitted shape the peak error is
// Condon's sigma_n and the shape terms add to the flux error, 3 times
// the peak's variance for a point source (rho1 = rho2 = rho3 there, so
// (sigma_a/a)^2 = (sigma_b/b)^2 = (sigma_P/P)^2).
func TestFixedShapeFluxError(t *testing.T) {
	beam := Beam{A: 4, B: 3, Theta: 0.3}
	var p [nPar]float64
	p[parPeak], p[parX], p[parY], p[parA], p[parB], p[parTheta] = 2, 10, 10, beam.A, beam.B, beam.Theta
	em := DefaultErrorModel()
	for _, c := range []struct {
		name  string
		fixed bool
		want  float64 // (flux_err/flux) / (peak_err/peak)
		peak  float64 // peak_err / sigma_n
	}{{"fixed", true, 1, math.Sqrt(4.0 / 3)}, {"fitted", false, math.Sqrt(3), 1}} {
		t.Run(c.name, func(t *testing.T) {
			pk, fl, e := condonErrors(&p, 2, beam, 0.1, &em, c.fixed)
			if r := e.peak / 0.1; math.Abs(r-c.peak) > 1e-12 {
				t.Errorf("condon: peak_err/sigma_n %v, want %v", r, c.peak)
			}
			if r := (e.flux / fl) / (e.peak / pk); math.Abs(r-c.want) > 1e-12 {
				t.Errorf("condon: ratio %v, want %v", r, c.want)
			}
			m := momentsErrors(&p, 2, beam, 0.1, 0.3, &em, c.fixed)
			if r := (m.flux / 2) / (m.peak / 2); c.fixed && math.Abs(r-1) > 1e-12 || !c.fixed && !(r > 1) {
				t.Errorf("moments: ratio %v (fixed %v)", r, c.fixed)
			}
		})
	}
}
