// Package regions writes and reads DS9 region files (version 4.1): the
// ellipses of extracted sources (gotrap extract's STEM.reg, the report's
// regions/image-ID.reg) and the subset of the format it writes.
//
// It imports nothing but kernels' plain types, so the small commands
// (gotrap extract) write region files without linking the report and
// DuckDB.
//
// # Coordinates
//
// WriteSources writes one DS9 ellipse per source in FK5 (RA, Dec in
// degrees; semi-axes in arcsec; the angle is the position angle east of
// north plus 90 degrees, because DS9 measures a sky ellipse's angle from
// the RA axis counter-clockwise, i.e. from west through north, with the
// first radius along that axis). The semi-axes are the fitted HWHM
// semi-axes (smaj_asec, smin_asec), so an ellipse traces the source's half
// maximum. Image writes the same ellipses in image coordinates: FITS
// 1-based pixel centres (x+1, y+1), semi-axes in pixels and the angle from
// the +x axis counter-clockwise (theta + 90 degrees, theta being kernels'
// angle from +y towards -x).
//
// Write writes any Region list (the report's: blind measurements green,
// forced fits red dashed, monitor fits cyan dashed, labelled "ID KIND");
// Parse reads that subset of the DS9 format back (fuzzed round trip).
//
// # Errors
//
// Write errors of the underlying writer are returned; Parse returns an
// error naming the line of a shape it cannot read. Shapes with a
// non-finite coordinate are skipped, never written.
package regions
