package sphere

import "math"

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
)

// Unit returns the unit vector of (ra, dec) in degrees (SPEC 0.5's
// eq_to_cart).
func Unit(ra, dec float64) [3]float64 {
	sa, ca := math.Sincos(ra * deg2rad)
	sd, cd := math.Sincos(dec * deg2rad)
	return [3]float64{cd * ca, cd * sa, sd}
}

// Angle returns the angle in degrees between the unit vectors p and q, as
// atan2(|p×q|, p·q).
func Angle(p, q [3]float64) float64 {
	cx := p[1]*q[2] - p[2]*q[1]
	cy := p[2]*q[0] - p[0]*q[2]
	cz := p[0]*q[1] - p[1]*q[0]
	dot := p[0]*q[0] + p[1]*q[1] + p[2]*q[2]
	return math.Atan2(math.Sqrt(cx*cx+cy*cy+cz*cz), dot) * rad2deg
}

// Sep returns the great-circle separation in degrees of two sky positions
// in degrees: Angle(Unit(ra1, dec1), Unit(ra2, dec2)).
func Sep(ra1, dec1, ra2, dec2 float64) float64 {
	return Angle(Unit(ra1, dec1), Unit(ra2, dec2))
}
