package qc

import (
	"fmt"
	"math"
	"time"

	"gotrap/kernels/sphere"
)

// Low-precision ephemerides of the Sun and Jupiter for the bright-source
// check (SPEC 3.5). TraP asks casacore for them; gotrap uses published
// analytic models, ample against a 10 degree limit:
//
//   - Sun: the Astronomical Almanac's low-precision formulae (section C,
//     "Low precision formulas for the Sun"; 0.01° from 1950 to 2050),
//     mean ecliptic and equinox of date, then precessed to J2000 with the
//     IAU 1976 angles (Lieske et al. 1977; Meeus, Astronomical Algorithms,
//     2nd ed., eq. 21.2-21.4).
//   - Jupiter: Keplerian orbits of Jupiter and the Earth-Moon barycentre
//     from E. M. Standish, "Keplerian Elements for Approximate Positions
//     of the Major Planets" (JPL), table 1 (fit to 1800-2050; Jupiter's
//     heliocentric error is below 600″ there), geocentric vector in the
//     J2000 ecliptic rotated to J2000 equatorial with ε0 = 23.43928°.
//
// Time: UTC is used in place of TT (ΔT ≈ 69 s in 2024 moves the Sun by
// 0.0008°); aberration, nutation, light time and parallax are ignored
// (each < 0.01°).

const (
	// jdUnixEpoch is the Julian date of 1970-01-01T00:00:00 UTC.
	jdUnixEpoch = 2440587.5
	// jdJ2000 is the Julian date of J2000.0 (2000-01-01T12:00 TT).
	jdJ2000 = 2451545.0
	// obliquityJ2000 is the mean obliquity of the ecliptic at J2000, deg
	// (84381.448″, IAU 1976).
	obliquityJ2000 = 23.43928
	deg            = math.Pi / 180
	arcsec         = deg / 3600
)

// ephemFrom and ephemTo bound the start times for which the Sun and
// Jupiter are computed, [1900, 2100). Outside, and for the zero time (no
// start time in the header), the bright-source check rejects the image
// with "Invalid ephemeris", as TraP does when casacore fails. The span
// covers the fit interval of Standish's table 1 with a margin in which
// the extrapolated errors stay far below the 10° limit.
var (
	ephemFrom = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	ephemTo   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// julianDate returns the Julian date of t (UTC taken as TT).
func julianDate(t time.Time) float64 {
	return jdUnixEpoch + (float64(t.Unix())+float64(t.Nanosecond())*1e-9)/86400
}

func checkEphemerisTime(t time.Time) error {
	if t.IsZero() {
		return fmt.Errorf("%w: no start time", ErrEphemeris)
	}
	if t.Before(ephemFrom) || !t.Before(ephemTo) {
		return fmt.Errorf("%w: start time %s outside [%s, %s)", ErrEphemeris, t.UTC().Format(time.RFC3339), ephemFrom.Format("2006-01-02"), ephemTo.Format("2006-01-02"))
	}
	return nil
}

// normDeg reduces an angle in degrees to [0, 360).
func normDeg(a float64) float64 {
	a = math.Mod(a, 360)
	if a < 0 {
		a += 360
	}
	return a
}

// SunOfDate returns the Sun's geocentric right ascension and declination
// (degrees) at t in the equator and equinox of date, from the
// Astronomical Almanac's low-precision formulae: with n = JD − 2451545.0,
//
//	L = 280.460° + 0.9856474° n,  g = 357.528° + 0.9856003° n
//	λ = L + 1.915° sin g + 0.020° sin 2g,  ε = 23.439° − 0.0000004° n
//	α = atan2(cos ε sin λ, cos λ),  δ = asin(sin ε sin λ)
//
// RA is in [0, 360).
func SunOfDate(t time.Time) (ra, dec float64) {
	n := julianDate(t) - jdJ2000
	l := 280.460 + 0.9856474*n
	g := (357.528 + 0.9856003*n) * deg
	lambda := (l + 1.915*math.Sin(g) + 0.020*math.Sin(2*g)) * deg
	eps := (23.439 - 0.0000004*n) * deg
	sl, cl := math.Sincos(lambda)
	se, ce := math.Sincos(eps)
	ra = normDeg(math.Atan2(ce*sl, cl) / deg)
	dec = math.Asin(se*sl) / deg
	return ra, dec
}

// Sun returns the Sun's geocentric J2000 right ascension and declination
// (degrees) at t: SunOfDate precessed to J2000.
func Sun(t time.Time) (ra, dec float64) {
	ra, dec = SunOfDate(t)
	return precessToJ2000(ra, dec, (julianDate(t)-jdJ2000)/36525)
}

// precessionAngles returns the IAU 1976 precession angles ζ, z, θ
// (radians) from J2000 to T Julian centuries after J2000 (Meeus 21.3).
func precessionAngles(T float64) (zeta, z, theta float64) {
	zeta = (2306.2181*T + 0.30188*T*T + 0.017998*T*T*T) * arcsec
	z = (2306.2181*T + 1.09468*T*T + 0.018203*T*T*T) * arcsec
	theta = (2004.3109*T - 0.42665*T*T - 0.041833*T*T*T) * arcsec
	return zeta, z, theta
}

func fromVec(v [3]float64) (ra, dec float64) {
	ra = normDeg(math.Atan2(v[1], v[0]) / deg)
	dec = math.Atan2(v[2], math.Hypot(v[0], v[1])) / deg
	return ra, dec
}

// rotZ rotates v by +a about the z axis (adds a to the longitude).
func rotZ(v [3]float64, a float64) [3]float64 {
	s, c := math.Sincos(a)
	return [3]float64{c*v[0] - s*v[1], s*v[0] + c*v[1], v[2]}
}

// rotTheta rotates v in the x-z plane: x' = cos a x − sin a z,
// z' = sin a x + cos a z (the θ step of the precession).
func rotTheta(v [3]float64, a float64) [3]float64 {
	s, c := math.Sincos(a)
	return [3]float64{c*v[0] - s*v[2], v[1], s*v[0] + c*v[2]}
}

// precessFromJ2000 moves a J2000 position (degrees) to the mean equator
// and equinox T Julian centuries after J2000 (Meeus 21.4 in vector form:
// longitude + ζ, tilt θ, longitude + z).
func precessFromJ2000(ra, dec, T float64) (float64, float64) {
	zeta, z, theta := precessionAngles(T)
	v := rotZ(rotTheta(rotZ(sphere.Unit(ra, dec), zeta), theta), z)
	return fromVec(v)
}

// precessToJ2000 is the inverse of precessFromJ2000.
func precessToJ2000(ra, dec, T float64) (float64, float64) {
	zeta, z, theta := precessionAngles(T)
	v := rotZ(rotTheta(rotZ(sphere.Unit(ra, dec), -z), -theta), -zeta)
	return fromVec(v)
}

// orbit is a set of Keplerian elements at J2000 with their rates per
// Julian century (Standish's table 1): a (au), e, I, L, ϖ, Ω (degrees).
type orbit struct {
	a, da, e, de, i, di, l, dl, peri, dperi, node, dnode float64
}

// Standish, "Keplerian Elements for Approximate Positions of the Major
// Planets", table 1 (mean ecliptic and equinox of J2000, 1800-2050).
var (
	orbitEMB = orbit{
		1.00000261, 0.00000562, 0.01671123, -0.00004392, -0.00001531, -0.01294668,
		100.46457166, 35999.37244981, 102.93768193, 0.32327364, 0.0, 0.0,
	}
	orbitJupiter = orbit{
		5.20288700, -0.00011607, 0.04838624, -0.00013253, 1.30439695, -0.00183714,
		34.39644051, 3034.74612775, 14.72847983, 0.21252668, 100.47390909, 0.20469106,
	}
)

// heliocentric returns the body's heliocentric position (au) in the J2000
// ecliptic frame at T Julian centuries after J2000: the elements at T,
// M = L − ϖ, ω = ϖ − Ω, Kepler's equation E − e sin E = M by Newton's
// method, then the orbital-plane coordinates rotated by ω, I and Ω.
func (o orbit) heliocentric(T float64) [3]float64 {
	a := o.a + o.da*T
	e := o.e + o.de*T
	inc := (o.i + o.di*T) * deg
	l := o.l + o.dl*T
	peri := o.peri + o.dperi*T
	node := (o.node + o.dnode*T) * deg
	omega := peri*deg - node
	m := math.Remainder((l-peri)*deg, 2*math.Pi)
	ecc := m + e*math.Sin(m)
	for range 30 {
		d := (ecc - e*math.Sin(ecc) - m) / (1 - e*math.Cos(ecc))
		ecc -= d
		if math.Abs(d) < 1e-14 {
			break
		}
	}
	se, ce := math.Sincos(ecc)
	xp := a * (ce - e)
	yp := a * math.Sqrt(1-e*e) * se
	sw, cw := math.Sincos(omega)
	sn, cn := math.Sincos(node)
	si, ci := math.Sincos(inc)
	return [3]float64{
		(cw*cn-sw*sn*ci)*xp + (-sw*cn-cw*sn*ci)*yp,
		(cw*sn+sw*cn*ci)*xp + (-sw*sn+cw*cn*ci)*yp,
		sw*si*xp + cw*si*yp,
	}
}

// eclipticToEquatorial rotates a J2000 ecliptic vector to J2000
// equatorial coordinates.
func eclipticToEquatorial(v [3]float64) [3]float64 {
	s, c := math.Sincos(obliquityJ2000 * deg)
	return [3]float64{v[0], c*v[1] - s*v[2], s*v[1] + c*v[2]}
}

// Jupiter returns Jupiter's geocentric J2000 right ascension and
// declination (degrees) at t from Standish's Keplerian elements (the
// Earth-Moon barycentre stands for the Earth).
func Jupiter(t time.Time) (ra, dec float64) {
	T := (julianDate(t) - jdJ2000) / 36525
	j := orbitJupiter.heliocentric(T)
	e := orbitEMB.heliocentric(T)
	return fromVec(eclipticToEquatorial([3]float64{j[0] - e[0], j[1] - e[1], j[2] - e[2]}))
}

// sunKepler returns the Sun's geocentric J2000 position from the
// Earth-Moon barycentre's Keplerian orbit; tests compare it with Sun, an
// independent model.
func sunKepler(t time.Time) (ra, dec float64) {
	T := (julianDate(t) - jdJ2000) / 36525
	e := orbitEMB.heliocentric(T)
	return fromVec(eclipticToEquatorial([3]float64{-e[0], -e[1], -e[2]}))
}
