package wcs_test

import (
	"fmt"

	"gotrap/internal/wcs"
)

func Example() {
	// The celestial cards of GRB120422A-120429.fits, as a FITS reader
	// hands them over.
	h := wcs.MapHeader{
		"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN",
		"CRVAL1": 136.91025, "CRVAL2": 14.01822222,
		"CRPIX1": 257.0, "CRPIX2": 257.0,
		"CDELT1": -0.001388888888889, "CDELT2": 0.001388888888889,
		"CUNIT1": "deg", "CUNIT2": "deg",
	}
	w, err := wcs.FromHeader(h)
	if err != nil {
		fmt.Println(err)
		return
	}
	// The image centre of SPEC 0.1: p2s(nx/2, ny/2), 0-based pixel 256 =
	// FITS pixel 257 = CRPIX here.
	ra, dec, _ := w.PixToSky(512/2.0, 512/2.0)
	fmt.Printf("centre %s: %.6f %.6f\n", w.Projection(), ra, dec)
	// astropy (wcslib) gives 263.16078242 242.88015697.
	x, y, _ := w.SkyToPix(136.9, 14.0)
	fmt.Printf("pixel %.3f %.3f\n", x, y)
	dx, dy := w.PixelScale()
	fmt.Printf("%.2f\" x %.2f\" pixels\n", dx*3600, dy*3600)
	_, _, err = w.PixToSky(1e6, 0)
	fmt.Println(err)
	// Output:
	// centre SIN: 136.910250 14.018222
	// pixel 263.161 242.880
	// 5.00" x 5.00" pixels
	// wcs: position outside the valid region of the projection
}
