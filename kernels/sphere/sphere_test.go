package sphere

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSep(t *testing.T) {
	const mas = 1.0 / 3600 / 1000 // one milliarcsecond in degrees
	cases := []struct {
		name                 string
		r1, d1, r2, d2, want float64
		abs, rel             float64
	}{
		// atan2 form: a few ulps of the larger of the angle and its
		// supplement (180 deg: 3e-14 deg) absolute, and a few ulps of the
		// angle itself relative to it at small angles.
		{"quarter", 0, 0, 90, 0, 90, 1e-12, 0},
		{"over the pole", 10, 89, 190, 89, 2, 1e-12, 0},
		{"meridian", 350.850, 58.815, 350.850, 48.815, 10, 1e-12, 0},
		{"same", 123, -45, 123, -45, 0, 0, 0},
		{"antipodes", 0, 0, 180, 0, 180, 1e-12, 0},
		{"antipodes off the equator", 30, 40, 210, -40, 180, 1e-12, 0},
		{"RA seam", 359.9995, 0, 0.0005, 0, 0.001, 0, 1e-9},
		{"1e-9 deg", 0, 0, 1e-9, 0, 1e-9, 0, 1e-12},
		// The spherical law of cosines gets a 1 mas separation wrong by
		// about 1e-3 relative (acos near 1); this form to rounding. The
		// positions differ by mas in Dec, which is exact to the rounding
		// of 52 + mas (7e-15 deg, 3e-8 relative to 2.8e-7 deg).
		{"1 mas", 200, 52, 200, 52 + mas, mas, 0, 1e-7},
		{"pole", 0, 90, 137, 90, 0, 1e-14, 0},
		{"to the pole", 17, 89.5, 250, 90, 0.5, 1e-12, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Sep(c.r1, c.d1, c.r2, c.d2)
			if d := math.Abs(got - c.want); d > c.abs && d > c.rel*c.want {
				t.Errorf("Sep(%g, %g, %g, %g) = %.17g, want %.17g", c.r1, c.d1, c.r2, c.d2, got, c.want)
			}
			if back := Sep(c.r2, c.d2, c.r1, c.d1); back != got {
				t.Errorf("not symmetric: %.17g and %.17g", got, back)
			}
		})
	}
}

// TestSepTriangle checks random triples against the triangle inequality
// and against Unit's norm; seed 1.
func TestSepTriangle(t *testing.T) {
	g := rand.New(rand.NewPCG(1, 1))
	pos := func() (float64, float64) { return 360 * g.Float64(), math.Asin(2*g.Float64()-1) * rad2deg }
	for range 10000 {
		r1, d1 := pos()
		r2, d2 := pos()
		r3, d3 := pos()
		a, b, c := Sep(r1, d1, r2, d2), Sep(r2, d2, r3, d3), Sep(r1, d1, r3, d3)
		// 1e-12 deg: a few ulps of 180 deg per term.
		if c > a+b+1e-12 || a < 0 || a > 180 {
			t.Fatalf("(%g, %g) (%g, %g) (%g, %g): %g > %g + %g", r1, d1, r2, d2, r3, d3, c, a, b)
		}
		u := Unit(r1, d1)
		// 1e-15: sin and cos are within an ulp, then three products and
		// two sums round, each by up to 1.1e-16 (ulp of 1 is 2.2e-16).
		if n := u[0]*u[0] + u[1]*u[1] + u[2]*u[2]; math.Abs(n-1) > 1e-15 {
			t.Fatalf("|Unit(%g, %g)|² = %.17g", r1, d1, n)
		}
	}
}
