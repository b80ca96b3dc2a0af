// Package extract is gotrap's per-image source finder: read a FITS image,
// mask it, estimate the background and rms, detect islands and measure
// them with the image's beam and WCS (SPEC 4), or fit fixed positions
// (SPEC 4.15). The standalone command "gotrap extract" and the pipeline's
// extraction stage both use it.
//
// # Use
//
// Options hold the settings (FromConfig converts a job configuration's
// [extraction] section; Default gives TraP's job defaults). A Worker
// extracts images one at a time and reuses its detector and measurement
// buffers, so a pipeline worker that extracts thousands of images
// allocates little beyond each image's pixels. Run extracts many files on
// a bounded pool of Workers and hands the results back in input order,
// so its output does not depend on the number of workers.
//
// # Results
//
// A Result holds the sources (kernels.Source: 0-based pixels with x along
// FITS axis 1, HWHM semi-axes in pixels, angles as documented there, RA
// and Dec in degrees, peak in the image's units, Jy/beam, flux in Jy) and
// the image-level facts TraP stores: rms_qc (SPEC 3.1), rms_min and
// rms_max of the rms map, the thresholds used, and the Outcome that says
// why an image had no sources. WriteCSV writes PySE's 37-column CSV,
// Measurements makes catalogue rows (catalog.Measurement).
//
// # Memory
//
// Worker.Image overwrites the image's pixels with the background-subtracted
// data D (kernels.DetectOptions.InPlace), so an extraction needs beyond the
// image: the mask (1 byte per pixel), the rms map (4) and the labels (4),
// plus small per-island and per-grid state: about 9 bytes per pixel.
// Options.Maps adds three planes (12 bytes per pixel).
//
// With Options.HugePages a Worker keeps the image it reads and its
// detector's planes (mask, rms map, labels, the background clippers'
// values) in an arena of its own outside the Go heap (internal/hugemem:
// mmap with huge pages), which a new process touches with a few 2 MB page
// faults instead of hundreds of 4 KB ones; Worker.Close unmaps it, after
// which the Worker cannot be used. Results own their slices and stay
// valid after Close. Run closes its Workers. Without HugePages, Close
// only drops the buffers for the garbage collector.
//
// # Errors
//
// Unreadable files and missing metadata are errors naming the file
// (fitsimg's *Error); invalid options wrap ErrOptions. An image without
// sources (all NaN, constant, smaller than a background cell, nothing above
// threshold) is not an error: Result.Outcome says why. Nothing here panics
// on data; shape mismatches of caller-supplied maps are errors.
package extract
