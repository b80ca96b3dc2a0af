package kernels

import "math"

// Deconv removes a Gaussian beam from a Gaussian component (classic AIPS
// DECONV, SPEC 4.10). fmaj, fmin are the component's full widths and fpa
// its position angle (degrees); cmaj, cmin, cpa the beam's. Widths may be
// in any unit; the results are in the same unit. ierr counts the squared
// widths that came out negative and were set to 0.
func Deconv(fmaj, fmin, fpa, cmaj, cmin, cpa float64) (rmaj, rmin, rpa float64, ierr int) {
	const halfRad = 90 / math.Pi // degrees per radian / 2
	c2, f2 := cmaj*cmaj-cmin*cmin, fmaj*fmaj-fmin*fmin
	phi := (fpa - cpa) / halfRad
	sphi, cphi := math.Sincos(phi)
	det := ((fmaj*fmaj + fmin*fmin) - (cmaj*cmaj + cmin*cmin)) / 2
	rhoc := f2*cphi - c2
	var s, rhoa float64
	if rhoc != 0 {
		s = math.Atan(f2 * sphi / rhoc)
		rhoa = (c2 - f2*cphi) / (2 * math.Cos(s))
	}
	rpa = s*halfRad + cpa
	rmaj2, rmin2 := det-rhoa, det+rhoa
	if rmaj2 < 0 {
		ierr++
		rmaj2 = 0
	}
	if rmin2 < 0 {
		ierr++
		rmin2 = 0
	}
	rmaj, rmin = math.Sqrt(rmaj2), math.Sqrt(rmin2)
	if rmaj < rmin {
		rmaj, rmin = rmin, rmaj
		rpa += 90
	}
	rpa = pyMod(rpa+900, 180)
	if rmaj == 0 {
		rpa = 0
	} else if rmin == 0 {
		if d := math.Abs(rpa - fpa); d > 45 && d < 135 {
			rpa = pyMod(rpa+450, 180)
		}
	}
	return rmaj, rmin, rpa, ierr
}

// pyMod is x mod m with the sign of m (Python's %).
func pyMod(x, m float64) float64 {
	r := math.Mod(x, m)
	if r != 0 && (r < 0) != (m < 0) {
		r += m
	}
	return r
}

// deconvolved is a deconvolved source shape: semi-axes (HWHM, px), position
// angle (degrees, in (−90, 90]) and their errors, and DECONV's ierr.
type deconvolved struct {
	smaj, smin, theta          float64
	smajErr, sminErr, thetaErr float64
	ierr                       int
}

// deconvolve applies SPEC 4.10 to a measured shape (a, b semi-axes in px,
// θ radians) with errors (ea, eb, eθ): DECONV on the full widths, PySE's
// mapping of the PA to (−90, 90], and the errors by covariance
// propagation (deconvErrors). When ierr > 0 the errors are NaN and every
// zero axis is NaN. A fully unresolved source (both axes 0, ierr = 0) has
// zero errors, as in PySE's output.
func deconvolve(a, b, theta, ea, eb, et float64, beam Beam) deconvolved {
	rmaj, rmin, rpa, ierr := Deconv(2*a, 2*b, theta*180/math.Pi, 2*beam.A, 2*beam.B, beam.Theta*180/math.Pi)
	if rpa > 90 {
		rpa -= 180
	}
	d := deconvolved{smaj: rmaj / 2, smin: rmin / 2, theta: rpa, ierr: ierr}
	switch {
	case ierr > 0:
		nan := math.NaN()
		d.smajErr, d.sminErr, d.thetaErr = nan, nan, nan
		if d.smaj == 0 {
			d.smaj = nan
		}
		if d.smin == 0 {
			d.smin = nan
		}
	case d.smaj == 0:
		// Point source: no deconvolved shape to be uncertain about.
	default:
		d.smajErr, d.sminErr, d.thetaErr = deconvErrors(a, b, theta, ea, eb, et, beam)
	}
	return d
}

// deconvErrors propagates the errors of a measured shape to its
// deconvolved shape (PySE's method, SPEC 4.10): with σ = HWHM/√(2ln2),
// Σ = R·diag(σ_maj², σ_min²)·Rᵀ, R = [[−sinθ, −cosθ], [cosθ, −sinθ]],
// Σ_dec = Σ_meas − Σ_beam (the beam exact); the diagonal covariance of
// (σ_maj, σ_min, θ) goes through the analytic Jacobian of
// (s_xx, s_yy, s_xy) and then through that of the eigen-decomposition
// (σ'_maj, σ'_min, φ). It returns the semi-axis errors (HWHM, px) and the
// PA error (degrees, capped at 90), or NaN when Σ_dec is not positive
// definite.
func deconvErrors(a, b, theta, ea, eb, et float64, beam Beam) (float64, float64, float64) {
	k := math.Sqrt(2 * math.Ln2)
	sa, sb, esa, esb := a/k, b/k, ea/k, eb/k
	xx, yy, xy := covFromAxes(sa, sb, theta)
	bxx, byy, bxy := covFromAxes(beam.A/k, beam.B/k, beam.Theta)
	dxx, dyy, dxy := xx-bxx, yy-byy, xy-bxy

	// J_S = ∂(s_xx, s_yy, s_xy)/∂(σ_maj, σ_min, θ).
	s, c := math.Sincos(theta)
	d2 := sa*sa - sb*sb
	js := [3][3]float64{
		{2 * sa * s * s, 2 * sb * c * c, 2 * d2 * s * c},
		{2 * sa * c * c, 2 * sb * s * s, -2 * d2 * s * c},
		{-2 * sa * s * c, 2 * sb * s * c, -d2 * (c*c - s*s)},
	}
	cp := [3]float64{esa * esa, esb * esb, et * et}
	var cs [3][3]float64 // J_S·C_p·J_Sᵀ
	for i := range 3 {
		for j := range 3 {
			for l := range 3 {
				cs[i][j] += js[i][l] * cp[l] * js[j][l]
			}
		}
	}

	m := (dxx + dyy) / 2
	h := (dxx - dyy) / 2
	t := math.Hypot(h, dxy)
	l1, l2 := m+t, m-t
	nan := math.NaN()
	if !(l1 > 0 && l2 > 0) {
		return nan, nan, nan
	}
	ra, rb := math.Sqrt(l1), math.Sqrt(l2)
	// Eigenvalue derivatives; a circular Σ_dec (t = 0) takes the
	// direction-averaged limit h/t = s_xy/t = 0.
	var ht, xt float64
	if t > 0 {
		ht, xt = h/t, dxy/t
	}
	nn, dd := 2*dxy, dxx-dyy
	q := nn*nn + dd*dd
	var jr [3][3]float64
	jr[0] = [3]float64{(0.5 + ht/2) / (2 * ra), (0.5 - ht/2) / (2 * ra), xt / (2 * ra)}
	jr[1] = [3]float64{(0.5 - ht/2) / (2 * rb), (0.5 + ht/2) / (2 * rb), -xt / (2 * rb)}
	if q > 0 {
		jr[2] = [3]float64{-dxy / q, dxy / q, dd / q}
	} else {
		jr[2] = [3]float64{nan, nan, nan}
	}
	var v [3]float64 // diagonal of J_r·C_S·J_rᵀ
	for i := range 3 {
		for j := range 3 {
			for l := range 3 {
				v[i] += jr[i][j] * cs[j][l] * jr[i][l]
			}
		}
	}
	pa := math.Sqrt(v[2]) * 180 / math.Pi
	if pa > 90 {
		pa = 90
	}
	return math.Sqrt(v[0]) * k, math.Sqrt(v[1]) * k, pa
}

// covFromAxes returns the covariance (s_xx, s_yy, s_xy) of a Gaussian with
// standard deviations sa along the major axis (−sinθ, cosθ) and sb along
// the minor axis.
func covFromAxes(sa, sb, theta float64) (xx, yy, xy float64) {
	s, c := math.Sincos(theta)
	xx = sa*sa*s*s + sb*sb*c*c
	yy = sa*sa*c*c + sb*sb*s*s
	xy = -(sa*sa - sb*sb) * s * c
	return xx, yy, xy
}
