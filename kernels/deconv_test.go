package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/testutil"
)

func TestDeconvKnown(t *testing.T) {
	// AIPS known-good values, SPEC 4.10.
	cases := []struct {
		in                 [6]float64
		rmaj, rmin, rpa    float64
		ierr               int
		checkAxes, checkPA bool
	}{
		{[6]float64{1, 1, 0, 1, 1, 0}, 0, 0, 0, 0, true, true},
		{[6]float64{1, 1, 0, 1, 1, 37}, 0, 0, 0, 0, true, true},
		{[6]float64{2, 2, 0, 1, 1, 0}, 1.7320508075688772, 1.7320508075688772, 0, 0, true, true},
		{[6]float64{2, 2, 0, 1, 1, 90}, 1.7320508075688772, 1.7320508075688772, 90, 0, true, true},
		{[6]float64{2, 2, 0, 1, 1, 45}, 1.7320508075688772, 1.7320508075688772, 45, 0, true, true},
		{[6]float64{2.7, 1.7, 0, 1, 1, 0}, 2.507987240796891, 1.3747727084867518, 0, 0, true, true},
		{[6]float64{2.7, 1.7, 10, 1, 1, 0}, 2.507987240796891, 1.3747727084867518, 10, 0, true, true},
		{[6]float64{2.7, 1.7, 30, 1, 1, 90}, 0, 0, 30, 0, false, true},
	}
	for _, c := range cases {
		rmaj, rmin, rpa, ierr := Deconv(c.in[0], c.in[1], c.in[2], c.in[3], c.in[4], c.in[5])
		// 1e-12 relative: the reference values are AIPS's float64 output,
		// equal up to the rounding of a few operations.
		if c.checkAxes && (!testutil.Close(rmaj, c.rmaj, 1e-15, 1e-12) || !testutil.Close(rmin, c.rmin, 1e-15, 1e-12)) {
			t.Errorf("Deconv%v axes = (%.17g, %.17g), want (%.17g, %.17g)", c.in, rmaj, rmin, c.rmaj, c.rmin)
		}
		if c.checkPA && !testutil.Close(rpa, c.rpa, 1e-12, 1e-12) {
			t.Errorf("Deconv%v pa = %.17g, want %g", c.in, rpa, c.rpa)
		}
		if ierr != c.ierr {
			t.Errorf("Deconv%v ierr = %d, want %d", c.in, ierr, c.ierr)
		}
	}
	// A component smaller than the beam cannot be deconvolved.
	if _, _, _, ierr := Deconv(1, 0.5, 0, 1, 1, 0); ierr != 1 {
		t.Errorf("Deconv of a narrower component: ierr %d, want 1", ierr)
	}
}

// TestDeconvErrorsFiniteDiff cross-checks the analytic covariance
// propagation with linear propagation by central differences of DECONV
// itself: both are first-order propagation of the same map.
func TestDeconvErrorsFiniteDiff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	beam := Beam{3, 2, 0.4}
	for range 100 {
		a := beam.A*1.2 + rng.Float64()*3
		b := beam.A*1.1 + rng.Float64()*(a-beam.A*1.1)
		th := rng.Float64()*math.Pi - math.Pi/2
		ea, eb, et := 0.1*rng.Float64()+0.01, 0.1*rng.Float64()+0.01, 0.05*rng.Float64()+0.005
		d := deconvolve(a, b, th, ea, eb, et, beam)
		if d.ierr != 0 {
			continue
		}
		f := func(a, b, th float64) [3]float64 {
			r := deconvolve(a, b, th, 0, 0, 0, beam)
			return [3]float64{r.smaj, r.smin, r.theta}
		}
		var v [3]float64
		for k, e := range [3]float64{ea, eb, et} {
			h := 1e-6
			var dp, dm [3]float64
			switch k {
			case 0:
				dp, dm = f(a+h, b, th), f(a-h, b, th)
			case 1:
				dp, dm = f(a, b+h, th), f(a, b-h, th)
			case 2:
				dp, dm = f(a, b, th+h), f(a, b, th-h)
			}
			for i := range 3 {
				dd := dp[i] - dm[i]
				if i == 2 { // PA wraps at ±90 degrees
					dd = math.Remainder(dd, 180)
				}
				g := dd / (2 * h)
				v[i] += g * g * e * e
			}
		}
		want := [3]float64{math.Sqrt(v[0]), math.Sqrt(v[1]), math.Sqrt(v[2])}
		got := [3]float64{d.smajErr, d.sminErr, d.thetaErr}
		for i := range 3 {
			if i == 2 && want[2] > 90 {
				want[2] = 90
			}
			// Central differences with h = 1e-6: ~1e-7 relative.
			if !testutil.Close(got[i], want[i], 1e-9, 1e-5) {
				t.Errorf("(a, b, θ) = (%g, %g, %g): error %d = %.8g, finite differences %.8g", a, b, th, i, got[i], want[i])
			}
		}
	}
	// A fully unresolved source has zero deconvolved axes and errors.
	d := deconvolve(beam.A, beam.B, beam.Theta, 0.1, 0.1, 0.1, beam)
	if d.smaj != 0 || d.smin != 0 || d.smajErr != 0 || d.ierr != 0 {
		t.Errorf("point source: %+v", d)
	}
	// Narrower than the beam: NaN.
	d = deconvolve(beam.A, beam.B*0.8, beam.Theta, 0.1, 0.1, 0.1, beam)
	if d.ierr == 0 || !math.IsNaN(d.smin) || !math.IsNaN(d.smajErr) {
		t.Errorf("narrow source: %+v", d)
	}
}
