package wcs

import (
	"fmt"
	"math"
	"strings"
)

// number returns the numeric value of key, whether it is present, and an
// error when it is present but not a finite number. FITS readers hand over
// int64 or float64; int, int32 and float32 (handy in a MapHeader literal)
// are accepted too.
func number(h Header, key string) (float64, bool, error) {
	v, ok := h.Get(key)
	if !ok {
		return 0, false, nil
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int64:
		f = float64(n)
	case int:
		f = float64(n)
	case float32:
		f = float64(n)
	case int32:
		f = float64(n)
	default:
		return 0, true, fmt.Errorf("wcs: %s is %T %v, not a number: %w", key, v, v, ErrNoCelestial)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, true, fmt.Errorf("wcs: %s = %v is not finite: %w", key, f, ErrNoCelestial)
	}
	return f, true, nil
}

// required is number for a keyword that must be present.
func required(h Header, key string) (float64, error) {
	f, ok, err := number(h, key)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, fmt.Errorf("wcs: %s missing: %w", key, ErrNoCelestial)
	}
	return f, nil
}

// str returns the string value of key with FITS padding removed, and
// whether it is present.
func str(h Header, key string) (string, bool, error) {
	v, ok := h.Get(key)
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, fmt.Errorf("wcs: %s is %T %v, not a string: %w", key, v, v, ErrNoCelestial)
	}
	return strings.TrimSpace(s), true, nil
}

// axisKind tells a longitude axis from a latitude axis.
type axisKind uint8

const (
	lngAxis axisKind = iota + 1
	latAxis
)

// ctypeAxis is a parsed celestial CTYPE: 'RA---SIN' is {lng, "RA", "SIN"}.
type ctypeAxis struct {
	kind axisKind
	pair string // the coordinate pair: "RA", "GLON", "ELON", "SLON", or "xxLN" for xxLN/xxLT
	code string // projection code, e.g. "SIN"
}

// parseCTYPE parses a celestial CTYPE value: four characters of
// coordinate type padded with '-', a '-', and a three-letter projection
// code (paper I, section 2.1.3; paper II, section 3).
func parseCTYPE(key, v string) (ctypeAxis, error) {
	u := strings.ToUpper(v)
	if len(u) < 8 || u[4] != '-' {
		return ctypeAxis{}, fmt.Errorf("wcs: %s = %q is not a celestial axis with a projection: %w", key, v, ErrNoCelestial)
	}
	if len(u) > 8 {
		return ctypeAxis{}, fmt.Errorf("wcs: %s = %q: distortion suffixes are not supported: %w", key, v, ErrNoCelestial)
	}
	typ := strings.TrimRight(u[:4], "-")
	a := ctypeAxis{code: u[5:8]}
	switch typ {
	case "RA":
		a.kind, a.pair = lngAxis, "RA"
	case "DEC":
		a.kind, a.pair = latAxis, "RA"
	case "GLON", "ELON", "SLON":
		a.kind, a.pair = lngAxis, typ
	case "GLAT", "ELAT", "SLAT":
		a.kind, a.pair = latAxis, typ[:1]+"LON"
	default:
		switch {
		case len(typ) == 4 && typ[2:] == "LN":
			a.kind, a.pair = lngAxis, typ
		case len(typ) == 4 && typ[2:] == "LT":
			a.kind, a.pair = latAxis, typ[:2]+"LN"
		default:
			return ctypeAxis{}, fmt.Errorf("wcs: %s = %q is not a celestial axis: %w", key, v, ErrNoCelestial)
		}
	}
	return a, nil
}

// unitFactor returns the factor that turns values of axis i (1-based) into
// degrees: CUNITi absent, empty or 'deg' gives 1, 'rad' gives 180/π
// (case-insensitive). Any other unit is an error.
func unitFactor(h Header, i int) (float64, error) {
	key := fmt.Sprintf("CUNIT%d", i)
	u, _, err := str(h, key)
	if err != nil {
		return 0, err
	}
	switch strings.ToLower(u) {
	case "", "deg":
		return 1, nil
	case "rad":
		return rad2deg, nil
	}
	return 0, fmt.Errorf("wcs: %s = %q: want 'deg' or 'rad': %w", key, u, ErrNoCelestial)
}

// matrixEntry looks up element (i, j) (1-based) of the matrix named prefix
// ("PC" or "CD") in the form PCi_j, then in the old AIPS form PC00i00j.
func matrixEntry(h Header, prefix string, i, j int) (float64, bool, error) {
	f, ok, err := number(h, fmt.Sprintf("%s%d_%d", prefix, i, j))
	if ok || err != nil {
		return f, ok, err
	}
	return number(h, fmt.Sprintf("%s%03d%03d", prefix, i, j))
}

// linear returns the matrix CD (row = world axis, column = pixel axis, both
// in header order) that turns pixel offsets from CRPIX into intermediate
// world coordinates in the header's units, with the precedence of paper I:
// a CD matrix when any CDi_j is present (missing elements 0); else CDELTi
// times a PC matrix when any PCi_j is present (missing elements those of
// the unit matrix); else CDELTi with the rotation CROTA of the latitude
// axis lat (0-based; the AIPS convention, described in FITS WCS paper II).
func linear(h Header, lat int) ([2][2]float64, error) {
	var cd [2][2]float64
	hasCD := false
	for i := range 2 {
		for j := range 2 {
			f, ok, err := matrixEntry(h, "CD", i+1, j+1)
			if err != nil {
				return cd, err
			}
			hasCD = hasCD || ok
			cd[i][j] = f
		}
	}
	if hasCD {
		return cd, nil
	}
	var cdelt [2]float64
	for i := range 2 {
		key := fmt.Sprintf("CDELT%d", i+1)
		f, ok, err := number(h, key)
		if err != nil {
			return cd, err
		}
		if !ok {
			return cd, fmt.Errorf("wcs: %s missing and no CD matrix: %w", key, ErrNoCelestial)
		}
		cdelt[i] = f
	}
	pc := [2][2]float64{{1, 0}, {0, 1}}
	hasPC := false
	for i := range 2 {
		for j := range 2 {
			f, ok, err := matrixEntry(h, "PC", i+1, j+1)
			if err != nil {
				return cd, err
			}
			if ok {
				hasPC = true
				pc[i][j] = f
			}
		}
	}
	if hasPC {
		for i := range 2 {
			for j := range 2 {
				cd[i][j] = cdelt[i] * pc[i][j]
			}
		}
		return cd, nil
	}
	rho, _, err := number(h, fmt.Sprintf("CROTA%d", lat+1))
	if err != nil {
		return cd, err
	}
	// CROTA rotates the intermediate coordinates after scaling by CDELT:
	// CD = R(rho) diag(CDELT) in (longitude, latitude) order.
	lng := 1 - lat
	s, c := sincosd(rho)
	cd[lng][lng] = cdelt[lng] * c
	cd[lng][lat] = -cdelt[lat] * s
	cd[lat][lng] = cdelt[lng] * s
	cd[lat][lat] = cdelt[lat] * c
	return cd, nil
}
