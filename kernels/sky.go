package kernels

import (
	"errors"
	"fmt"
	"math"

	"gotrap/kernels/sphere"
)

// Projector converts between 0-based pixel coordinates (x along FITS axis 1)
// and equatorial coordinates in degrees (SPEC 0.1). internal/wcs's *WCS
// satisfies it. Measurement calls it a few dozen times per source, never per
// pixel; implementations used with Measurer.Threads > 1 must be safe for
// concurrent use.
type Projector interface {
	PixToSky(x, y float64) (ra, dec float64, err error)
	SkyToPix(ra, dec float64) (x, y float64, err error)
}

// ErrOffSky reports a pixel position whose sky coordinates are undefined
// (NaN or |dec| > 90), or a local-north angle that cannot be computed.
var ErrOffSky = errors.New("kernels: position is outside the sky")

// p2s is proj.PixToSky with NaN and |dec| > 90 treated as ErrOffSky.
func p2s(proj Projector, x, y float64) (float64, float64, error) {
	ra, dec, err := proj.PixToSky(x, y)
	if err != nil {
		return 0, 0, err
	}
	if math.IsNaN(ra) || math.IsNaN(dec) || math.Abs(dec) > 90 {
		return 0, 0, fmt.Errorf("%w: pixel (%g, %g) gives (%g, %g)", ErrOffSky, x, y, ra, dec)
	}
	return ra, dec, nil
}

// eqToCart is the unit vector of (ra, dec) in degrees (SPEC 0.5).
func eqToCart(ra, dec float64) [3]float64 {
	sa, ca := math.Sincos(ra * math.Pi / 180)
	sd, cd := math.Sincos(dec * math.Pi / 180)
	return [3]float64{cd * ca, cd * sa, sd}
}

// localNorth returns φ_y of SPEC 4.11 step 2 in degrees: the angle from
// local north to the +y pixel axis at (x, y), positive towards east.
// (ra, dec) = p2s(x, y).
func localNorth(proj Projector, x, y, ra, dec float64) (float64, error) {
	ra1, dec1, err := p2s(proj, x, y+1)
	if err != nil {
		return 0, err
	}
	c := eqToCart(ra, dec)
	e := eqToCart(ra1, dec1)
	ce := c[0]*e[0] + c[1]*e[1] + c[2]*e[2]
	for i := range e {
		e[i] /= ce // onto the tangent plane at c
	}
	n := [3]float64{0, 0, 9.9e99}
	if c[2] != 0 {
		n[2] = 1 / c[2]
	}
	var d1, d2 [3]float64
	for i := range d1 {
		d1[i] = e[i] - c[i]
		d2[i] = n[i] - c[i]
	}
	dot := d1[0]*d2[0] + d1[1]*d2[1] + d1[2]*d2[2]
	n1 := math.Sqrt(d1[0]*d1[0] + d1[1]*d1[1] + d1[2]*d1[2])
	n2 := math.Sqrt(d2[0]*d2[0] + d2[1]*d2[1] + d2[2]*d2[2])
	cosv := dot / (n1 * n2)
	if cosv > 1+1e-6 || cosv < -1-1e-6 || math.IsNaN(cosv) {
		return 0, fmt.Errorf("%w: local north undefined at pixel (%g, %g) (cos = %g)", ErrOffSky, x, y, cosv)
	}
	phi := math.Acos(math.Max(-1, math.Min(1, cosv)))
	// Sign: −sign((d2 × d1)·c). A zero triple product (y exactly along or
	// against north) keeps φ (0 or 180 degrees) instead of PySE's 0.
	cr := [3]float64{
		d2[1]*d1[2] - d2[2]*d1[1],
		d2[2]*d1[0] - d2[0]*d1[2],
		d2[0]*d1[1] - d2[1]*d1[0],
	}
	if tr := cr[0]*c[0] + cr[1]*c[1] + cr[2]*c[2]; tr > 0 {
		phi = -phi
	}
	return phi * 180 / math.Pi, nil
}

// toSky fills the sky columns of s (SPEC 4.11) from its pixel columns: ra,
// dec and their errors (plus the systematic epsRA, epsDec in degrees),
// error_radius over all four sign combinations of (±σ_x, ±σ_y) when
// allSigns, else (+, +) only, theta_celes and the deconvolved PA on the
// sky, and the axes in arcseconds. Separations are sphere.Sep's, not
// SPEC 0.5's law of cosines (docs/decisions.md). Any failed conversion is
// an error.
func toSky(s *Source, proj Projector, epsRA, epsDec float64, allSigns bool) error {
	ra, dec, err := p2s(proj, s.X, s.Y)
	if err != nil {
		return err
	}
	s.RA, s.Dec = ra, dec
	phi, err := localNorth(proj, s.X, s.Y, ra, dec)
	if err != nil {
		return err
	}
	sp, cp := math.Sincos(phi * math.Pi / 180)
	ex := math.Sqrt((s.XErr*cp)*(s.XErr*cp) + (s.YErr*sp)*(s.YErr*sp))
	ey := math.Sqrt((s.XErr*sp)*(s.XErr*sp) + (s.YErr*cp)*(s.YErr*cp))
	raX, decX, err := p2s(proj, s.X+ex, s.Y)
	if err != nil {
		return err
	}
	raY, decY, err := p2s(proj, s.X, s.Y+ey)
	if err != nil {
		return err
	}
	s.RAErr = epsRA + math.Max(math.Abs(ra-raX), math.Abs(ra-raY))
	s.DecErr = epsDec + math.Max(math.Abs(dec-decX), math.Abs(dec-decY))

	s.ErrorRadius = 0
	signs := [4][2]float64{{1, 1}, {1, -1}, {-1, 1}, {-1, -1}}
	nsig := 4
	if !allSigns {
		nsig = 1
	}
	for _, sg := range signs[:nsig] {
		r, d, err := p2s(proj, s.X+sg[0]*s.XErr, s.Y+sg[1]*s.YErr)
		if err != nil {
			return err
		}
		s.ErrorRadius = math.Max(s.ErrorRadius, sphere.Sep(ra, dec, r, d)*3600)
	}

	s.ThetaCeles = pyMod(s.Theta*180/math.Pi+phi, 180)
	s.ThetaCelesErr = s.ThetaErr * 180 / math.Pi
	s.ThetaDCCeles = pyMod(s.ThetaDC+phi, 180)
	s.ThetaDCCelesErr = s.ThetaDCErr

	st, ct := math.Sincos(s.Theta)
	r, d, err := p2s(proj, s.X-st*s.Smaj, s.Y+ct*s.Smaj)
	if err != nil {
		return err
	}
	s.SmajAsec = sphere.Sep(ra, dec, r, d) * 3600
	r, d, err = p2s(proj, s.X+ct*s.Smin, s.Y+st*s.Smin)
	if err != nil {
		return err
	}
	s.SminAsec = sphere.Sep(ra, dec, r, d) * 3600
	s.SmajAsecErr = s.SmajErr * s.SmajAsec / s.Smaj
	s.SminAsecErr = s.SminErr * s.SminAsec / s.Smin
	return nil
}
