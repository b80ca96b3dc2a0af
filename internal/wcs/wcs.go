package wcs

import (
	"fmt"
	"math"
)

// WCS is the celestial world coordinate system of FITS axes 1 and 2. It is
// immutable after FromHeader and safe for concurrent use. The zero value is
// not usable.
type WCS struct {
	code string     // projection code from CTYPE: "SIN", "NCP", "TAN", ...
	proj projection // the projection code implements
	// crpix holds CRPIX1 and CRPIX2 (FITS, 1-based).
	crpix [2]float64
	// lin turns pixel offsets (d1, d2) from CRPIX into projection-plane
	// coordinates in radians, longitude-like x first:
	// x = lin[0] d1 + lin[1] d2, y = lin[2] d1 + lin[3] d2.
	lin [4]float64
	// inv is the inverse of lin.
	inv [4]float64
	// scale holds |degrees per pixel| along pixel axes 1 and 2.
	scale [2]float64
	// xi, eta are the SIN parameters PV2_1 and PV2_2; sinA = 1 + ξ² + η².
	xi, eta, sinA float64
	// rot turns native unit vectors into celestial ones (row-major).
	rot [9]float64
}

// FromHeader builds the celestial WCS of axes 1 and 2 from a FITS header.
// See the package documentation for the keywords it reads and the rules it
// follows. Errors wrap ErrNoCelestial and name the keyword at fault.
// It panics if h is nil.
func FromHeader(h Header) (*WCS, error) {
	if h == nil {
		panic(errNilHeader)
	}
	var ax [2]ctypeAxis
	for i := range ax {
		key := fmt.Sprintf("CTYPE%d", i+1)
		v, ok, err := str(h, key)
		if err != nil {
			return nil, err
		}
		if !ok || v == "" {
			return nil, fmt.Errorf("wcs: %s missing: %w", key, ErrNoCelestial)
		}
		if ax[i], err = parseCTYPE(key, v); err != nil {
			return nil, err
		}
	}
	if ax[0].kind == ax[1].kind || ax[0].pair != ax[1].pair {
		return nil, fmt.Errorf("wcs: CTYPE1 and CTYPE2 are not a longitude/latitude pair (%s, %s): %w",
			describe(ax[0]), describe(ax[1]), ErrNoCelestial)
	}
	if ax[0].code != ax[1].code {
		return nil, fmt.Errorf("wcs: CTYPE1 and CTYPE2 have different projections %s and %s: %w",
			ax[0].code, ax[1].code, ErrNoCelestial)
	}
	pj, known := projections[ax[0].code]
	if !known {
		return nil, fmt.Errorf("wcs: projection %q is not supported (SIN, NCP, TAN, ARC, STG, ZEA, CAR are): %w",
			ax[0].code, ErrNoCelestial)
	}
	lng, lat := 0, 1
	if ax[0].kind == latAxis {
		lng, lat = 1, 0
	}

	w := &WCS{code: ax[0].code, proj: pj.p}
	var crval, unit [2]float64
	for i := range 2 {
		var err error
		if crval[i], err = required(h, fmt.Sprintf("CRVAL%d", i+1)); err != nil {
			return nil, err
		}
		if w.crpix[i], err = required(h, fmt.Sprintf("CRPIX%d", i+1)); err != nil {
			return nil, err
		}
		if unit[i], err = unitFactor(h, i+1); err != nil {
			return nil, err
		}
	}
	// SPEC 0.1: a reference point exactly on the north pole is moved off
	// it by one part in 2⁵², as PySE does.
	if (unit[lat] == 1 && crval[lat] == 90) || (unit[lat] == rad2deg && crval[lat] == math.Pi/2) {
		crval[lat] *= 1 - 0x1p-52
	}
	alpha0 := crval[lng] * unit[lng]
	delta0 := crval[lat] * unit[lat]
	if math.Abs(delta0) > 90 {
		return nil, fmt.Errorf("wcs: CRVAL%d = %g: latitude beyond ±90 degrees: %w", lat+1, crval[lat], ErrNoCelestial)
	}

	cd, err := linear(h, lat)
	if err != nil {
		return nil, err
	}
	for i := range 2 {
		for j := range 2 {
			cd[i][j] *= unit[i]
		}
	}
	for j := range 2 {
		w.scale[j] = math.Hypot(cd[0][j], cd[1][j])
	}
	w.lin = [4]float64{
		cd[lng][0] * deg2rad, cd[lng][1] * deg2rad,
		cd[lat][0] * deg2rad, cd[lat][1] * deg2rad,
	}
	det := w.lin[0]*w.lin[3] - w.lin[1]*w.lin[2]
	if det == 0 || math.IsNaN(det) || math.IsInf(det, 0) {
		return nil, fmt.Errorf("wcs: the pixel-to-sky matrix is singular (CD = %v degrees): %w", cd, ErrNoCelestial)
	}
	w.inv = [4]float64{w.lin[3] / det, -w.lin[1] / det, -w.lin[2] / det, w.lin[0] / det}

	if err := w.setParameters(h, lng, lat, delta0); err != nil {
		return nil, err
	}
	phi0, theta0 := 0.0, pj.theta0
	if err := checkFiducial(h, lng, phi0, theta0); err != nil {
		return nil, err
	}
	// Paper II, section 2.4: LONPOLE defaults to φ0 when δ0 ≥ θ0 and to
	// φ0 + 180° otherwise; LATPOLE to +90°. PVi_3 and PVi_4 of the
	// longitude axis, when present, take precedence.
	phiP := phi0
	if delta0 < theta0 {
		phiP = phi0 + 180
	}
	latpole := 90.0
	for _, kv := range []struct {
		dst  *float64
		keys [2]string
	}{
		{&phiP, [2]string{fmt.Sprintf("PV%d_3", lng+1), "LONPOLE"}},
		{&latpole, [2]string{fmt.Sprintf("PV%d_4", lng+1), "LATPOLE"}},
	} {
		for _, key := range kv.keys {
			f, ok, err := number(h, key)
			if err != nil {
				return nil, err
			}
			if ok {
				*kv.dst = f
				break
			}
		}
	}
	alphaP, deltaP, err := celestialPole(alpha0, delta0, phi0, theta0, phiP, latpole)
	if err != nil {
		return nil, err
	}
	w.rot = rotation(alphaP, deltaP, phiP)
	return w, nil
}

// describe names a parsed CTYPE for error messages.
func describe(a ctypeAxis) string {
	k := "longitude"
	if a.kind == latAxis {
		k = "latitude"
	}
	return a.pair + "-family " + k
}

// setParameters reads the projection parameters PVj_m of the latitude axis
// j: SIN's ξ = PVj_1 and η = PVj_2 (default 0). NCP is SIN with ξ = 0 and
// η = cot δ0 (paper II, on the AIPS convention), whatever PVj_m say.
func (w *WCS) setParameters(h Header, lng, lat int, delta0 float64) error {
	if w.proj != projSIN {
		return nil
	}
	if w.code == "NCP" {
		s, c := sincosd(delta0)
		if s == 0 {
			return fmt.Errorf("wcs: NCP with CRVAL%d = 0 (on the equator) has no image: %w", lat+1, ErrNoCelestial)
		}
		w.xi, w.eta = 0, c/s
	} else {
		for m, dst := range []*float64{&w.xi, &w.eta} {
			f, _, err := number(h, fmt.Sprintf("PV%d_%d", lat+1, m+1))
			if err != nil {
				return err
			}
			*dst = f
		}
	}
	w.sinA = 1 + w.xi*w.xi + w.eta*w.eta
	return nil
}

// checkFiducial rejects headers that move the reference point off the
// projection's own native origin (φ0, θ0) through PVi_0, PVi_1 or PVi_2 of
// the longitude axis i: this package does not implement those offsets.
func checkFiducial(h Header, lng int, phi0, theta0 float64) error {
	for m, want := range [3]float64{0, phi0, theta0} {
		key := fmt.Sprintf("PV%d_%d", lng+1, m)
		f, ok, err := number(h, key)
		if err != nil {
			return err
		}
		if ok && f != want {
			return fmt.Errorf("wcs: %s = %g: moving the fiducial point is not supported: %w", key, f, ErrNoCelestial)
		}
	}
	return nil
}

// PixToSky returns the celestial coordinates, in degrees with RA (or the
// longitude) in [0, 360), of the 0-based pixel (x, y): FITS pixel
// (x+1, y+1). Where the pixel has no sky (outside the projection's valid
// region, or NaN or infinite input) it returns NaN, NaN and ErrOutsideSky.
// It does not allocate.
func (w *WCS) PixToSky(x, y float64) (ra, dec float64, err error) {
	if math.IsInf(x, 0) || math.IsInf(y, 0) {
		return math.NaN(), math.NaN(), ErrOutsideSky
	}
	d1 := (x + 1) - w.crpix[0]
	d2 := (y + 1) - w.crpix[1]
	px := w.lin[0]*d1 + w.lin[1]*d2
	py := w.lin[2]*d1 + w.lin[3]*d2
	n0, n1, n2, ok := w.planeToNative(px, py)
	if !ok {
		return math.NaN(), math.NaN(), ErrOutsideSky
	}
	r := &w.rot
	c0 := r[0]*n0 + r[1]*n1 + r[2]*n2
	c1 := r[3]*n0 + r[4]*n1 + r[5]*n2
	c2 := r[6]*n0 + r[7]*n1 + r[8]*n2
	ra = math.Atan2(c1, c0) * rad2deg
	if ra < 0 {
		ra += 360
		if ra >= 360 { // -tiny + 360 rounds to 360
			ra = 0
		}
	} else if ra == 0 {
		ra = 0 // not -0
	}
	dec = math.Atan2(c2, math.Sqrt(c0*c0+c1*c1)) * rad2deg
	if math.IsNaN(ra) || math.IsNaN(dec) {
		return math.NaN(), math.NaN(), ErrOutsideSky
	}
	return ra, dec, nil
}

// SkyToPix returns the 0-based pixel (x, y) of the celestial position
// (ra, dec) in degrees; any ra is accepted. Where the position has no image
// (|dec| > 90, the far side of a SIN or TAN projection, NaN or infinite
// input) it returns NaN, NaN and ErrOutsideSky. It does not allocate.
func (w *WCS) SkyToPix(ra, dec float64) (x, y float64, err error) {
	if !(math.Abs(dec) <= 90) || math.IsInf(ra, 0) || math.IsNaN(ra) {
		return math.NaN(), math.NaN(), ErrOutsideSky
	}
	sa, ca := math.Sincos(ra * deg2rad)
	sd, cd := math.Sincos(dec * deg2rad)
	c0, c1, c2 := cd*ca, cd*sa, sd
	r := &w.rot
	// The inverse of a rotation is its transpose.
	n0 := r[0]*c0 + r[3]*c1 + r[6]*c2
	n1 := r[1]*c0 + r[4]*c1 + r[7]*c2
	n2 := r[2]*c0 + r[5]*c1 + r[8]*c2
	px, py, ok := w.nativeToPlane(n0, n1, n2)
	if !ok {
		return math.NaN(), math.NaN(), ErrOutsideSky
	}
	d1 := w.inv[0]*px + w.inv[1]*py
	d2 := w.inv[2]*px + w.inv[3]*py
	x = (d1 + w.crpix[0]) - 1
	y = (d2 + w.crpix[1]) - 1
	if math.IsNaN(x) || math.IsNaN(y) {
		return math.NaN(), math.NaN(), ErrOutsideSky
	}
	return x, y, nil
}

// PixToSkyTo is
//
//	for i := range x { ra[i], dec[i], _ = w.PixToSky(x[i], y[i]) }
//
// and returns how many pixels had no sky (their ra and dec are NaN). It
// panics if the four slices differ in length.
func (w *WCS) PixToSkyTo(ra, dec, x, y []float64) (outside int) {
	n := len(x)
	if len(y) != n || len(ra) != n || len(dec) != n {
		panic(errLengths)
	}
	y, ra, dec = y[:n], ra[:n], dec[:n]
	for i, xi := range x {
		var err error
		ra[i], dec[i], err = w.PixToSky(xi, y[i])
		if err != nil {
			outside++
		}
	}
	return outside
}

// PixelScale returns |degrees per pixel| along pixel axes x and y: the
// lengths of the columns of the CD matrix (for CDELT-only headers,
// |CDELT1| and |CDELT2|), after conversion to degrees.
func (w *WCS) PixelScale() (dx, dy float64) {
	return w.scale[0], w.scale[1]
}

// Projection returns the three-letter projection code of CTYPE1: "SIN",
// "NCP", "TAN", "ARC", "STG", "ZEA" or "CAR".
func (w *WCS) Projection() string {
	return w.code
}
