package assoc

import "math"

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
)

// alpha is SPEC 0.5's alpha(theta, dec) (degrees in, degrees out): the RA
// half-width of a circle of radius theta centred at declination dec, or
// 180 when |dec| + theta > 89.9 (MSR TR-2006-52; TraP's SQL alpha()).
func alpha(theta, dec float64) float64 {
	if math.Abs(dec)+theta > 89.9 {
		return 180
	}
	t := theta * deg2rad
	d := dec * deg2rad
	return math.Abs(math.Atan(math.Sin(t)/math.Sqrt(math.Abs(math.Cos(d-t)*math.Cos(d+t))))) * rad2deg
}

// raHalfWidth is the exact RA half-width (degrees) of a circle of radius
// theta at declination dec, asin(sin theta / cos dec), or 180 when the
// circle reaches a pole. Unlike alpha it has no 89.9 cut-off; the
// candidate index uses it (with a margin) so that near-pole fields do not
// scan whole zones.
func raHalfWidth(theta, dec float64) float64 {
	if math.Abs(dec)+theta >= 90 {
		return 180
	}
	s := math.Sin(theta*deg2rad) / math.Cos(dec*deg2rad)
	if s >= 1 {
		return 180
	}
	return math.Asin(s) * rad2deg
}

// eqToCart is SPEC 0.5's unit vector of (ra, dec) in degrees.
func eqToCart(ra, dec float64) (x, y, z float64) {
	sa, ca := math.Sincos(ra * deg2rad)
	sd, cd := math.Sincos(dec * deg2rad)
	return cd * ca, cd * sa, sd
}

// wrap180 reduces an angle in degrees to (-180, 180].
func wrap180(a float64) float64 {
	a = math.Mod(a, 360)
	if a > 180 {
		a -= 360
	} else if a <= -180 {
		a += 360
	}
	return a
}

// normRA reduces an RA in degrees to [0, 360).
func normRA(a float64) float64 {
	a = math.Mod(a, 360)
	if a < 0 {
		a += 360
	}
	if a >= 360 { // -tiny + 360 rounds to 360
		a = 0
	}
	return a
}

// chordDeg returns the great-circle angle (degrees) between two unit
// vectors from their chord, 2 asin(|a - b|/2), and the chord length.
func chordDeg(x1, y1, z1, x2, y2, z2 float64) (deg, chord float64) {
	dx, dy, dz := x1-x2, y1-y2, z1-z2
	chord = math.Sqrt(dx*dx + dy*dy + dz*dz)
	return 2 * math.Asin(math.Min(chord/2, 1)) * rad2deg, chord
}

// zoneOf is SPEC 0.5's zone, floor(dec).
func zoneOf(dec float64) int32 { return int32(math.Floor(dec)) }
