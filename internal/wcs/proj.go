package wcs

import "math"

// projection identifies a map projection of FITS WCS paper II.
type projection uint8

const (
	projSIN projection = iota + 1 // slant orthographic; NCP is SIN with PV2_2 = cot δ0
	projTAN                       // gnomonic
	projARC                       // zenithal equidistant
	projSTG                       // stereographic
	projZEA                       // zenithal equal area
	projCAR                       // plate carrée
)

// projections maps a CTYPE projection code to its projection and native
// latitude θ0 of the reference point (paper II: 90 for zenithal
// projections, 0 for cylindrical ones).
var projections = map[string]struct {
	p      projection
	theta0 float64
}{
	"SIN": {projSIN, 90},
	"NCP": {projSIN, 90},
	"TAN": {projTAN, 90},
	"ARC": {projARC, 90},
	"STG": {projSTG, 90},
	"ZEA": {projZEA, 90},
	"CAR": {projCAR, 0},
}

// boundTol is the slack, relative to 1, allowed at the edge of a bounded
// projection (SIN and ZEA discs, CAR rectangle, ARC circle) so that a pixel
// exactly on the edge is not lost to rounding: a few hundred ulps, far
// below any pixel size.
const boundTol = 1e-13

// planeToNative turns projection-plane coordinates (x, y) in radians into a
// native direction: a vector (n0, n1, n2) parallel to
// (cos θ cos φ, cos θ sin φ, sin θ), not necessarily of unit length. ok is
// false where the projection has no sky.
//
// For the zenithal projections (paper II, section 5.1), φ = arg(−y, x) and
// R = √(x² + y²) = R(θ), so (cos θ cos φ, cos θ sin φ) = (cos θ / R)(−y, x):
// each case below writes cos θ / R and sin θ as functions of R that stay
// finite at R = 0.
func (w *WCS) planeToNative(x, y float64) (n0, n1, n2 float64, ok bool) {
	r2 := x*x + y*y
	switch w.proj {
	case projSIN:
		// x = cos θ sin φ + ξ(1 − sin θ), y = −cos θ cos φ + η(1 − sin θ)
		// (paper II, section 5.1.5). With v = 1 − sin θ, squaring and
		// adding gives a v² − 2 q v + r² = 0 with a = 1 + ξ² + η² and
		// q = 1 + ξx + ηy; the root nearer θ = 90°, the smaller v, is taken
		// in the form that does not cancel near the reference point.
		q := 1 + w.xi*x + w.eta*y
		d := q*q - w.sinA*r2
		if d < 0 {
			if d < -boundTol {
				return 0, 0, 0, false
			}
			d = 0
		}
		if q <= 0 {
			// Both roots give sin θ > 1 (q = 1 at the reference point).
			return 0, 0, 0, false
		}
		v := r2 / (q + math.Sqrt(d))
		if v > 2 {
			return 0, 0, 0, false
		}
		return w.eta*v - y, x - w.xi*v, 1 - v, true
	case projTAN:
		// R = cot θ: cos θ / R = sin θ = 1/√(1 + R²); drop the common factor.
		return -y, x, 1, true
	case projARC:
		// R = π/2 − θ: cos θ / R = sin R / R, sin θ = cos R.
		r := math.Sqrt(r2)
		if r > math.Pi*(1+boundTol) {
			return 0, 0, 0, false
		}
		s, c := math.Sincos(r)
		k := 1.0
		if r > 0 {
			k = s / r
		}
		return -k * y, k * x, c, true
	case projSTG:
		// R = 2 tan((90° − θ)/2) = 2t: cos θ / R = 1/(1 + t²),
		// sin θ = (1 − t²)/(1 + t²); drop the common factor 1/(1 + t²).
		return -y, x, 1 - r2/4, true
	case projZEA:
		// R = 2 sin((90° − θ)/2) = 2s: cos θ / R = √(1 − s²),
		// sin θ = 1 − 2s².
		s2 := r2 / 4
		if s2 > 1 {
			if s2 > 1+boundTol {
				return 0, 0, 0, false
			}
			s2 = 1
		}
		k := math.Sqrt(1 - s2)
		return -k * y, k * x, 1 - 2*s2, true
	case projCAR:
		// φ = x, θ = y (paper II, section 5.2.3), on the rectangle
		// |φ| ≤ 180°, |θ| ≤ 90°.
		if math.Abs(x) > math.Pi*(1+boundTol) || math.Abs(y) > math.Pi/2*(1+boundTol) {
			return 0, 0, 0, false
		}
		sp, cp := math.Sincos(x)
		st, ct := math.Sincos(y)
		return ct * cp, ct * sp, st, true
	}
	panic(errUninitWCS)
}

// nativeToPlane is the inverse of planeToNative for a unit vector
// (n0, n1, n2) = (cos θ cos φ, cos θ sin φ, sin θ): it returns the
// projection-plane coordinates (x, y) in radians, and ok false where the
// direction has no image. For the zenithal projections
// (x, y) = (R / cos θ)(n1, −n0).
func (w *WCS) nativeToPlane(n0, n1, n2 float64) (x, y float64, ok bool) {
	switch w.proj {
	case projSIN:
		// Visible when the direction of projection (ξ, η, 1), in
		// plane coordinates, points out of the sphere at the point:
		// ξ cos θ sin φ − η cos θ cos φ + sin θ ≥ 0 (sin θ ≥ 0 for
		// the orthographic case).
		if w.xi*n1-w.eta*n0+n2 < 0 {
			return 0, 0, false
		}
		// v = 1 − sin θ, without cancellation near the pole.
		v := 1 - n2
		if n2 > 0 {
			v = (n0*n0 + n1*n1) / (1 + n2)
		}
		return n1 + w.xi*v, -n0 + w.eta*v, true
	case projTAN:
		if n2 <= 0 {
			return 0, 0, false
		}
		return n1 / n2, -n0 / n2, true
	case projARC:
		ct := math.Sqrt(n0*n0 + n1*n1)
		if ct == 0 {
			if n2 > 0 {
				return 0, 0, true
			}
			return 0, 0, false
		}
		g := math.Atan2(ct, n2) / ct
		return g * n1, -g * n0, true
	case projSTG:
		d := 1 + n2
		if d <= 0 {
			return 0, 0, false
		}
		g := 2 / d
		return g * n1, -g * n0, true
	case projZEA:
		d := 1 + n2
		if d <= 0 {
			return 0, 0, false
		}
		g := math.Sqrt(2 / d)
		return g * n1, -g * n0, true
	case projCAR:
		return math.Atan2(n1, n0), math.Atan2(n2, math.Sqrt(n0*n0+n1*n1)), true
	}
	panic(errUninitWCS)
}
