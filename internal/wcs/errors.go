package wcs

import "errors"

// ErrNoCelestial is returned, wrapped with the reason, by FromHeader when the
// header has no usable celestial WCS on axes 1 and 2: a missing CTYPE,
// CRVAL, CRPIX or CDELT (when there is no CD matrix), a projection this
// package does not implement, CTYPEs that do not form a longitude/latitude
// pair, a unit other than degrees or radians, a singular linear
// transformation, or a value that is not a number.
var ErrNoCelestial = errors.New("wcs: no usable celestial WCS")

// ErrOutsideSky is returned, unwrapped, by PixToSky and SkyToPix when the
// pixel or sky position has no valid image under the projection: a pixel
// outside the SIN or ZEA disc or beyond the edge of a CAR map, a position
// on the far hemisphere of a SIN or TAN projection, the point opposite the
// reference point of STG, ZEA or ARC, or a NaN anywhere.
var ErrOutsideSky = errors.New("wcs: position outside the valid region of the projection")

// Panic messages for programmer misuse.
const (
	errNilHeader = "wcs: nil Header"
	errLengths   = "wcs: slice lengths do not match"
	errUninitWCS = "wcs: use of a WCS not made by FromHeader"
)
