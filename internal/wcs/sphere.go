package wcs

import (
	"fmt"
	"math"
)

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
)

// poleTol is how far (degrees) a computed celestial latitude of the native
// pole may stray beyond ±90 through rounding and still count as a pole
// solution; it is clamped to ±90 then. The rounding of acos and atan2 near
// ±90 is a few 1e-14 degrees, so 1e-10 only absorbs rounding.
const poleTol = 1e-10

// sincosd returns the sine and cosine of a degrees, exactly for multiples
// of 90 (so that a pole or a LONPOLE of 180 gives exact zeros and ones in
// the rotation matrix).
func sincosd(a float64) (s, c float64) {
	m := math.Mod(a, 360)
	if m < 0 {
		m += 360
	}
	switch m {
	case 0:
		return 0, 1
	case 90:
		return 1, 0
	case 180:
		return 0, -1
	case 270:
		return -1, 0
	}
	return math.Sincos(a * deg2rad)
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

// celestialPole returns the celestial coordinates (alphaP, deltaP) of the
// native pole, in degrees, given the celestial coordinates (alpha0, delta0)
// of the reference point, its native coordinates (phi0, theta0), the native
// longitude phiP of the celestial pole (LONPOLE) and LATPOLE (paper II,
// section 2.4, equations 8-10, derived here from the spherical rotation of
// equation 2 evaluated at the reference point).
func celestialPole(alpha0, delta0, phi0, theta0, phiP, latpole float64) (alphaP, deltaP float64, err error) {
	if theta0 == 90 {
		// Zenithal: the reference point is the native pole.
		return alpha0, delta0, nil
	}
	st0, ct0 := sincosd(theta0)
	_, cd := sincosd(phiP - phi0)
	// sin(delta0) = A sin(deltaP) + B cos(deltaP) = rho cos(deltaP - psi).
	a := st0
	b := ct0 * cd
	rho := math.Sqrt(a*a + b*b)
	sd0, _ := sincosd(delta0)
	if rho == 0 {
		// theta0 = 0 and |phiP - phi0| = 90: any deltaP works when the
		// reference point is on the equator; LATPOLE gives it.
		if sd0 != 0 {
			return 0, 0, fmt.Errorf("wcs: LONPOLE %g is inconsistent with CRVAL latitude %g: %w", phiP, delta0, ErrNoCelestial)
		}
		deltaP = latpole
	} else {
		arg := sd0 / rho
		if math.Abs(arg) > 1 {
			if math.Abs(arg)-1 > 1e-12 {
				return 0, 0, fmt.Errorf("wcs: LONPOLE %g is inconsistent with CRVAL latitude %g: %w", phiP, delta0, ErrNoCelestial)
			}
			arg = math.Copysign(1, arg)
		}
		psi := math.Atan2(a, b) * rad2deg
		dd := math.Acos(arg) * rad2deg
		c1 := wrap180(psi + dd)
		c2 := wrap180(psi - dd)
		ok1 := math.Abs(c1) <= 90+poleTol
		ok2 := math.Abs(c2) <= 90+poleTol
		switch {
		case ok1 && ok2:
			// Both are poles of a valid rotation: LATPOLE picks the
			// nearer.
			deltaP = c1
			if math.Abs(c2-latpole) < math.Abs(c1-latpole) {
				deltaP = c2
			}
		case ok1:
			deltaP = c1
		case ok2:
			deltaP = c2
		default:
			return 0, 0, fmt.Errorf("wcs: no celestial pole for LONPOLE %g, CRVAL latitude %g: %w", phiP, delta0, ErrNoCelestial)
		}
		deltaP = math.Max(-90, math.Min(90, deltaP))
	}
	// Equation 2 at the reference point gives alpha0 - alphaP as the
	// argument of (X, Y).
	sdp, cdp := sincosd(deltaP)
	sdphi, cdphi := sincosd(phi0 - phiP)
	x := st0*cdp - ct0*sdp*cdphi
	y := -ct0 * sdphi
	alphaP = alpha0 - math.Atan2(y, x)*rad2deg
	return alphaP, deltaP, nil
}

// rotation returns the matrix, row-major, that turns a native unit vector
// (cos θ cos φ, cos θ sin φ, sin θ) into the celestial unit vector
// (cos δ cos α, cos δ sin α, sin δ), for the native pole at celestial
// (alphaP, deltaP) and the celestial pole at native longitude phiP
// (paper II, equation 2, written as a product of rotations).
func rotation(alphaP, deltaP, phiP float64) [9]float64 {
	sa, ca := sincosd(alphaP)
	sd, cd := sincosd(deltaP)
	sp, cp := sincosd(phiP)
	return [9]float64{
		-ca*sd*cp - sa*sp, -ca*sd*sp + sa*cp, ca * cd,
		-sa*sd*cp + ca*sp, -sa*sd*sp - ca*cp, sa * cd,
		cd * cp, cd * sp, sd,
	}
}
