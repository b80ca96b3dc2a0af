package sim

import "math"

const (
	deg2rad = math.Pi / 180
	rad2deg = 180 / math.Pi
	// fwhmToSigma converts a Gaussian's full width at half maximum to its
	// standard deviation: 1/(2 sqrt(2 ln 2)).
	fwhmToSigma = 0.42466090014400953
)

// angSep returns the angle between two sky positions, all in degrees
// (haversine form, accurate at small separations).
func angSep(ra1, dec1, ra2, dec2 float64) float64 {
	d1, d2 := dec1*deg2rad, dec2*deg2rad
	sd := math.Sin((d2 - d1) / 2)
	sr := math.Sin((ra2 - ra1) * deg2rad / 2)
	h := sd*sd + math.Cos(d1)*math.Cos(d2)*sr*sr
	return 2 * math.Asin(math.Sqrt(math.Min(1, h))) * rad2deg
}

// offset returns the position at angular distance dist (deg) from
// (ra, dec) in the direction of position angle pa (deg, north through
// east). RA is reduced to [0, 360).
func offset(ra, dec, dist, pa float64) (float64, float64) {
	d0, r := dec*deg2rad, dist*deg2rad
	p := pa * deg2rad
	sinDec := math.Sin(d0)*math.Cos(r) + math.Cos(d0)*math.Sin(r)*math.Cos(p)
	sinDec = math.Max(-1, math.Min(1, sinDec))
	dec2 := math.Asin(sinDec)
	dra := math.Atan2(math.Sin(p)*math.Sin(r)*math.Cos(d0), math.Cos(r)-math.Sin(d0)*sinDec)
	ra2 := math.Mod(ra+dra*rad2deg, 360)
	if ra2 < 0 {
		ra2 += 360
	}
	return ra2, dec2 * rad2deg
}

// pointings returns the field centres of the hexagon layout: with 1 or 7
// beams the first is the centre, the others lie on a ring of radius
// sepDeg at position angles 0, 60, ..., 300 degrees.
func pointings(n int, ra, dec, sepDeg float64) [][2]float64 {
	out := make([][2]float64, 0, n)
	ring := n
	if n == 1 || n == 7 {
		r := math.Mod(ra, 360)
		if r < 0 {
			r += 360
		}
		out = append(out, [2]float64{r, dec})
		ring--
	}
	for i := range ring {
		r, d := offset(ra, dec, sepDeg, 60*float64(i))
		out = append(out, [2]float64{r, d})
	}
	return out
}

// pixBeam is a restoring beam on the pixel grid (SPEC 0.2, 0.3): semi-axes
// a >= b (HWHM, px) and theta (rad, from +y towards -x), with the
// covariance matrix of the Gaussian exp(-½ dᵀ Σ⁻¹ d) that it is.
type pixBeam struct {
	a, b, theta   float64
	sxx, sxy, syy float64 // Σ
	ixx, ixy, iyy float64 // Σ⁻¹
}

// newPixBeam converts full widths bmaj, bmin and position angle bpa (all
// degrees) to pixels of size pixDeg (square pixels, north up, east left,
// so that SPEC 0.3 reduces to a = bmaj/2/pixDeg and theta = bpa).
func newPixBeam(bmaj, bmin, bpa, pixDeg float64) pixBeam {
	a, b := bmaj/2/pixDeg, bmin/2/pixDeg
	th := bpa * deg2rad
	return beamFromAxes(a, b, th)
}

func beamFromAxes(a, b, th float64) pixBeam {
	// σ = HWHM/sqrt(2 ln 2) = 2·HWHM·fwhmToSigma.
	sa, sb := 2*a*fwhmToSigma, 2*b*fwhmToSigma
	s, c := math.Sincos(th)
	// Major axis along (-sinθ, cosθ), minor along (cosθ, sinθ).
	pb := pixBeam{a: a, b: b, theta: th}
	pb.sxx = sa*sa*s*s + sb*sb*c*c
	pb.syy = sa*sa*c*c + sb*sb*s*s
	pb.sxy = (sb*sb - sa*sa) * s * c
	pb.ixx = s*s/(sa*sa) + c*c/(sb*sb)
	pb.iyy = c*c/(sa*sa) + s*s/(sb*sb)
	pb.ixy = (1/(sb*sb) - 1/(sa*sa)) * s * c
	return pb
}

// beamDeg returns the beam (BMAJ, BMIN, BPA in degrees) of band frequency
// fMHz: the configured beam scaled by BeamRefMHz/fMHz.
func (c *Config) beamDeg(fMHz float64) (bmaj, bmin, bpa float64) {
	s := c.BeamRefMHz / fMHz
	return c.BmajArcsec / 3600 * s, c.BminArcsec / 3600 * s, c.BPADeg
}

// pbGain returns the primary-beam attenuation at sepDeg from the pointing
// for band frequency fMHz (1 when the primary beam is off).
func (c *Config) pbGain(sepDeg, fMHz float64) float64 {
	if !c.PrimaryBeam {
		return 1
	}
	fw := c.PBFwhmDeg * c.BeamRefMHz / fMHz
	return math.Exp(-4 * math.Ln2 * sepDeg * sepDeg / (fw * fw))
}

// beamFromCov returns the Gaussian of covariance (sxx, sxy, syy) in
// pixels as a pixBeam (its axes from the eigen decomposition).
func beamFromCov(sxx, sxy, syy float64) pixBeam {
	tr, det := sxx+syy, sxx*syy-sxy*sxy
	disc := math.Sqrt(math.Max(0, tr*tr/4-det))
	l1, l2 := tr/2+disc, tr/2-disc // variances along the major and minor axes
	// Major axis direction (ex, ey) = (-sinθ, cosθ).
	var th float64
	if math.Abs(sxy) > 1e-15*tr || sxx > syy {
		ex, ey := sxy, l1-sxx
		if ex == 0 && ey == 0 {
			ex, ey = 1, 0
		}
		th = math.Atan2(-ex, ey)
	}
	// HWHM = σ·sqrt(2 ln 2) = σ/(2·fwhmToSigma).
	return beamFromAxes(math.Sqrt(l1)/(2*fwhmToSigma), math.Sqrt(math.Max(l2, 0))/(2*fwhmToSigma), th)
}

// convolve returns the Gaussian bm convolved with src (covariances add)
// and the peak ratio of the result for equal integrals,
// sqrt(det Σ_bm / det Σ_result) = (a·b of bm)/(a·b of the result).
func convolve(bm, src *pixBeam) (pixBeam, float64) {
	c := beamFromCov(bm.sxx+src.sxx, bm.sxy+src.sxy, bm.syy+src.syy)
	return c, bm.a * bm.b / (c.a * c.b)
}
