package fitsimg

import "errors"

// Sentinel errors, checkable with errors.Is on any error this package
// returns. The returned errors are *Error values that name the file and wrap
// one of these with the details.
var (
	// ErrNotFITS: the input does not start with a SIMPLE = T card (an empty
	// file, another format, or SIMPLE = F).
	ErrNotFITS = errors.New("not a FITS file")
	// ErrTruncated: the file ends inside the header (no END card) or before
	// the end of the data array its header declares.
	ErrTruncated = errors.New("truncated FITS file")
	// ErrBadHeader: a structural keyword (BITPIX, NAXIS, NAXISn) is
	// missing, malformed or out of range, or the header does not fit in
	// MaxHeaderBytes.
	ErrBadHeader = errors.New("invalid FITS header")
	// ErrNoImage: the primary HDU holds no data (NAXIS = 0, an axis of
	// length 0, or random groups).
	ErrNoImage = errors.New("no image in the primary HDU")
	// ErrNot2D: fewer than two image axes: NAXIS < 2, or NAXIS1 or NAXIS2
	// shorter than 2 pixels (a 1x1x... array, a single row or column).
	ErrNot2D = errors.New("not a 2-D image")
	// ErrNoPlane: Options.Plane is outside the image's planes.
	ErrNoPlane = errors.New("no such image plane")
	// ErrNoWCS: no usable celestial coordinate system; it wraps the wcs
	// package's error (wcs.ErrNoCelestial when the axes are missing).
	ErrNoWCS = errors.New("no celestial WCS")
	// ErrNoFrequency: none of the frequency keywords of SPEC 10.4 gives a
	// positive frequency, or a frequency axis has a unit that is not one.
	ErrNoFrequency = errors.New("no frequency")
	// ErrNoBeam: no restoring beam in BMAJ/BMIN, an AIPS HISTORY card or
	// CLEANBMJ/CLEANBMN, and none given in Options.Beam.
	ErrNoBeam = errors.New("no restoring beam")
	// ErrNonSquarePixels: | |dx| - |dy| | > SquareTolerance degrees.
	ErrNonSquarePixels = errors.New("pixels are not square")
	// ErrBadTime: a start or end time keyword (DATE-OBS, MJD-OBS, END_UTC,
	// ...) is present but cannot be read as a time.
	ErrBadTime = errors.New("invalid observation time")
	// ErrUnwritable: a header value that FITS cannot hold (NaN, infinity,
	// a non-ASCII string) was given to the writer.
	ErrUnwritable = errors.New("value cannot be written to a FITS header")
)

// Error is the error type of fitsimg's reading and writing functions: the
// file and what is wrong with it. Err wraps one of the sentinel errors
// above, or an error from the operating system.
type Error struct {
	Path string // the file; empty for bytes that did not come from a file
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return "fitsimg: " + e.Err.Error()
	}
	return "fitsimg: " + e.Path + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Panic messages for programmer errors (STYLE rule 7).
const (
	badKey        = "fitsimg: invalid header keyword"
	badValueType  = "fitsimg: unsupported header value type"
	badCommentKey = "fitsimg: COMMENT and HISTORY cards are added with AddComment and AddHistory"
	badBitpix     = "fitsimg: invalid BITPIX"
	badLength     = "fitsimg: slice lengths do not match"
	badScaling    = "fitsimg: BSCALE must be finite and non-zero, BZERO finite"
	nilImage      = "fitsimg: nil or empty image"
	badNaxis      = "fitsimg: WriteOptions.Naxis must be 0 or 2 to 999"
)
