package catalog

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"
)

// TestLog10ChiSquareSF checks the false-alarm probability against gonum's
// chi-square distribution where it does not underflow, the continued
// fraction against gonum's incomplete gamma in the range where both
// work, and that the tail stays finite and monotone beyond float64.
func TestLog10ChiSquareSF(t *testing.T) {
	for _, c := range []struct{ chi2, dof float64 }{
		{0.5, 1}, {1, 1}, {5, 5}, {20, 5}, {140, 140}, {300, 140}, {1000, 5}, {3, 2},
	} {
		t.Run("", func(t *testing.T) {
			want := math.Log10(distuv.ChiSquared{K: c.dof}.Survival(c.chi2))
			got := Log10ChiSquareSF(c.chi2, c.dof)
			// gonum's incomplete gamma is accurate to about 1e-14 relative.
			if math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Errorf("chi2 %v dof %v: log10 p = %v, want %v", c.chi2, c.dof, got, want)
			}
		})
	}
	// The continued fraction where both forms are finite (x > a + 1).
	for _, c := range []struct{ a, x float64 }{{2.5, 50}, {70, 200}, {0.5, 300}, {2.5, 600}} {
		want := math.Log(distuv.ChiSquared{K: 2 * c.a}.Survival(2 * c.x))
		if got := lnGammaQ(c.a, c.x); math.Abs(got-want) > 1e-9*math.Abs(want) {
			t.Errorf("lnGammaQ(%v, %v) = %v, want %v", c.a, c.x, got, want)
		}
	}
	prev := 0.0
	for _, chi2 := range []float64{10, 100, 1e3, 1e4, 1e5, 1e6} {
		l := Log10ChiSquareSF(chi2, 5)
		if !(l < prev) || math.IsInf(l, 0) {
			t.Errorf("chi2 %v: log10 p = %v, want finite and below %v", chi2, l, prev)
		}
		prev = l
	}
	// ln Q(a, x) ~ -x + (a-1) ln x - lnGamma(a) for x >> a: at dof 5,
	// chi2 1e6 the correction terms are below 1e-5 relative.
	lg, _ := math.Lgamma(2.5)
	if want := (-5e5 + 1.5*math.Log(5e5) - lg) / math.Ln10; math.Abs(prev-want) > 1e-5*math.Abs(want) {
		t.Errorf("chi2 1e6: log10 p = %v, want %v", prev, want)
	}
	for _, c := range []struct{ chi2, dof float64 }{{1, 0}, {math.NaN(), 3}, {1, -1}} {
		if l := Log10ChiSquareSF(c.chi2, c.dof); !math.IsNaN(l) {
			t.Errorf("chi2 %v dof %v: %v, want NaN", c.chi2, c.dof, l)
		}
	}
	if l := Log10ChiSquareSF(0, 3); l != 0 {
		t.Errorf("chi2 0: %v, want 0", l)
	}
}

// TestGaussSigma checks the one-sided significance against gonum's normal
// distribution, and the tail branch against the exact one where both
// apply.
func TestGaussSigma(t *testing.T) {
	// P(N > z) = erfc(z/sqrt2)/2, exact to float64 in the tail (gonum's
	// Survival loses it beyond z = 8).
	for _, z := range []float64{-2, 0, 1, 3, 5, 8, 20, 30} {
		if got := GaussSigma(math.Log10(math.Erfc(z/math.Sqrt2) / 2)); math.Abs(got-z) > 1e-9*math.Max(1, z) {
			t.Errorf("z %v: got %v", z, got)
		}
	}
	for _, l := range []float64{-20, -100, -250} {
		exact := GaussSigma(l)
		// The asymptotic series truncated after z^-4 errs by about
		// 15/z^6 in ln p, so by 15/z^7 in z (d ln p/dz is about -z).
		if tail := gaussSigmaTail(l * math.Ln10); math.Abs(tail-exact) > 15/math.Pow(exact, 7) {
			t.Errorf("log10 p %v: tail %v, exact %v", l, tail, exact)
		}
	}
	prev := 0.0
	for _, l := range []float64{-10, -300, -400, -1e4, -1e6} {
		z := GaussSigma(l)
		if !(z > prev) || math.IsInf(z, 0) {
			t.Errorf("log10 p %v: z %v, want finite above %v", l, z, prev)
		}
		prev = z
	}
	if z := GaussSigma(math.NaN()); !math.IsNaN(z) {
		t.Errorf("NaN: %v", z)
	}
}
