package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"strconv"

	"gotrap/internal/fitsimg"
	"gotrap/internal/wcs"
)

func init() {
	register(&command{
		name:  "wcs",
		usage: "[--sky2pix] FILE X Y [X Y ...]",
		short: "convert pixel coordinates to sky coordinates, or back",
		long: `
Convert 0-based pixel coordinates of an image (a FITS file or a CASA image
directory) to right ascension and
declination (ICRS/FK5 as the header says) in degrees, one "RA DEC" line per
"X Y" pair. x runs along FITS axis 1 (NAXIS1) and y along axis 2, and FITS
pixel = x + 1, so pixel (0, 0) is the centre of the first pixel. With
--sky2pix, the pairs are "RA DEC" in degrees and each line is "X Y". Numbers
are printed with %.10f. Negative numbers are read as coordinates, not flags.

Only the header's WCS is read (CRVAL, CRPIX, CDELT or CD/PC, CROTA, CTYPE
with its projection). A pair that has no position (outside the projection's
valid region) prints "nan nan" and a reason on stderr, and the exit status
is 1.

Examples:
  gotrap wcs ../shared/data/GRB120422A-120429.fits 256 256
  gotrap wcs ../shared/data/GRB120422A-120429.fits 0 0 511 511
  gotrap wcs --sky2pix ../shared/data/GRB120422A-120429.fits 136.91025 14.018222
  gotrap wcs --sky2pix image.fits 350.85 -58.815`,
		setFlags: func(fs *flag.FlagSet) {
			wcsSky2Pix = false
			fs.BoolVar(&wcsSky2Pix, "sky2pix", false, "convert RA DEC (degrees) to 0-based pixel X Y")
		},
		run: runWCS,
	})
}

var wcsSky2Pix bool

func runWCS(env *cmdEnv, args []string) error {
	if len(args) < 3 || (len(args)-1)%2 != 0 {
		return usageError("want a FITS file and pairs of coordinates, got %d arguments", len(args))
	}
	path := args[0]
	coords := make([]float64, len(args)-1)
	for i, a := range args[1:] {
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return usageError("%q is not a finite number", a)
		}
		coords[i] = v
	}
	h, err := fitsimg.ReadHeader(path)
	if err != nil {
		fmt.Fprintf(env.stderr, "gotrap wcs: %s: %s\n", path, reason(err))
		return &exitError{code: 1}
	}
	w, err := wcs.FromHeader(h)
	if err != nil {
		fmt.Fprintf(env.stderr, "gotrap wcs: %s: %v\n", path, err)
		return &exitError{code: 1}
	}
	failed := false
	for i := 0; i < len(coords); i += 2 {
		a, b := coords[i], coords[i+1]
		var p, q float64
		if wcsSky2Pix {
			p, q, err = w.SkyToPix(a, b)
		} else {
			p, q, err = w.PixToSky(a, b)
		}
		if err != nil {
			failed = true
			what := "pixel"
			if wcsSky2Pix {
				what = "sky position"
			}
			msg := err.Error()
			if errors.Is(err, wcs.ErrOutsideSky) {
				msg = "no position: outside the valid region of the projection"
			}
			fmt.Fprintf(env.stderr, "gotrap wcs: %s: %s (%g, %g): %s\n", path, what, a, b, msg)
			fmt.Fprintln(env.stdout, "nan nan")
			continue
		}
		fmt.Fprintf(env.stdout, "%.10f %.10f\n", p, q)
	}
	if failed {
		return &exitError{code: 1}
	}
	return nil
}
