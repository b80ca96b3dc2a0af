// Package report writes what people look at beside the catalogue: for now
// DS9 region files of extracted sources (the HTML report, plots and
// VOEvents of DESIGN.md come later).
//
// # Regions
//
// WriteRegions writes one DS9 ellipse per source in fk5 (RA, Dec in
// degrees; semi-axes in arcsec; the angle is the position angle east of
// north plus 90 degrees, because DS9 measures a sky ellipse's angle from
// the RA axis counter-clockwise, i.e. from west through north, with the
// first radius along that axis). The semi-axes are the fitted HWHM
// semi-axes (smaj_asec, smin_asec), so an ellipse traces the source's half
// maximum. RegionImage writes the same ellipses in image coordinates:
// FITS 1-based pixel centres (x+1, y+1), semi-axes in pixels and the angle
// from the +x axis counter-clockwise (theta + 90 degrees, theta being
// kernels' angle from +y towards -x).
//
// # Errors
//
// Write errors of the underlying writer are returned; nothing panics.
package report
