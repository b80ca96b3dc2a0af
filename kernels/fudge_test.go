package kernels

import (
	"math"
	"testing"

	"gotrap/internal/testutil"
)

func TestFudgeMaxPixReference(t *testing.T) {
	// SPEC 0.4 reference values, printed to 12 significant digits.
	cases := []struct {
		beam Beam
		want float64
	}{
		{Beam{1.46255645752, 1.30175183614, 1.51619779602}, 1.06380431709},
		{Beam{1.56219151815, 1.25084762573, 1.49080535398}, 1.06328376441},
		{Beam{1.55231285095, 1.24513448079, 1.44660127410}, 1.06398549354},
	}
	for _, c := range cases {
		got, v := FudgeMaxPix(c.beam)
		// The reference is printed with 11 decimals: half a unit in the last
		// place is 5e-12; the inputs carry the same rounding, which moves F
		// by less than that (dF/da ~ 0.1).
		if !testutil.Close(got, c.want, 6e-12, 0) {
			t.Errorf("FudgeMaxPix(%v) = %.14g, want %.12g", c.beam, got, c.want)
		}
		if !(v > 0 && v < 0.01) {
			t.Errorf("max_pix_variance(%v) = %g, want a small positive number", c.beam, v)
		}
	}
}

func TestFudgeMaxPixConverged(t *testing.T) {
	// Doubling the order must not change F beyond rounding (1e-13
	// relative is ~500 ulp, the summation error of 48² terms), for beams
	// from the undersampling limit (0.5 px) to large ones.
	var x48, w48 [48]float64
	gaussLegendre(x48[:], w48[:])
	for _, b := range []Beam{{0.5, 0.5, 0}, {0.6, 0.5, 1}, {5.42431, 2.46528, 0.08752}, {30, 1, -0.7}} {
		f1, v1 := FudgeMaxPix(b)
		f2, v2 := fudgeMaxPixN(b, x48[:], w48[:])
		if !testutil.Close(f1, f2, 0, 1e-13) || !testutil.Close(v1, v2, 1e-13, 1e-10) {
			t.Errorf("beam %v: order %d gives (%.16g, %.16g), order 48 (%.16g, %.16g)", b, fudgeOrder, f1, v1, f2, v2)
		}
	}
	// A circular beam of HWHM a has F = (∫exp(ln2 x²/a²) dx)², an erfi that
	// we check against a 1-D series: ∫_{-1/2}^{1/2} exp(c x²) dx =
	// Σ c^k / (k! (2k+1) 4^k).
	a := 0.8
	cc := math.Ln2 / (a * a)
	sum, term := 0.0, 1.0
	for k := 0; k < 60; k++ {
		sum += term / (float64(2*k+1) * math.Pow(4, float64(k)))
		term *= cc / float64(k+1)
	}
	f, _ := FudgeMaxPix(Beam{a, a, 0.3})
	if !testutil.Close(f, sum*sum, 0, 1e-14) { // series converged to rounding
		t.Errorf("circular beam: F = %.16g, series %.16g", f, sum*sum)
	}
}

func TestGaussLegendre(t *testing.T) {
	// An n-point rule integrates x^k exactly for k <= 2n-1.
	for _, n := range []int{1, 2, 3, 7, 24} {
		xs := make([]float64, n)
		ws := make([]float64, n)
		gaussLegendre(xs, ws)
		for k := 0; k <= 2*n-1; k++ {
			var s float64
			for i := range xs {
				s += ws[i] * math.Pow(xs[i], float64(k))
			}
			want := 0.0
			if k%2 == 0 {
				want = 2 / float64(k+1)
			}
			if !testutil.Close(s, want, 1e-14, 0) { // rounding of n terms
				t.Errorf("n=%d: ∫x^%d = %.16g, want %.16g", n, k, s, want)
			}
		}
	}
}
