// Package kernels implements the pixel kernels of gotrap on float32 images:
// background and rms estimation, thresholding, island labelling and source
// measurement. It does no I/O, knows nothing of MPI and has no globals.
//
// # Layout
//
// An [Image] stores float32 pixels row-major with x fastest. Pixel (x, y) is
// at Pix[(y-Rect.Min.Y)*Stride + (x-Rect.Min.X)], and Rect is half-open.
// The coordinate convention is gotrap's everywhere (SPEC 0.1): x is the
// 0-based index along FITS axis 1 (NAXIS1, usually RA), y along FITS axis 2,
// and FITS pixel (x+1, y+1) is the centre of pixel (x, y). Because FITS
// stores axis 1 fastest, a FITS plane maps onto Pix without a transpose.
// SubImage returns a view that shares Pix with its parent.
//
// # Units
//
// Pixel values are in the image's units (Jy/beam for radio images). Beam
// axes are semi-axes (half width at half maximum) in pixels, angles are in
// radians measured from +y towards -x (SPEC 0.2).
//
// # Detection
//
// [Detector.Detect] runs SPEC 4.2-4.6 and 4.13 (PySE modern): [MaskTo]
// (margin, radius, NaN and a caller mask, in the compact layout of the
// image's rectangle), [ComputeBackground] (centred whole-cell frame,
// kappa-sigma clipping with the truncated-Gaussian bias correction and the
// SExtractor mode per fully unmasked cell, nearest-fill of rejected cells
// with ties to the lowest cell index), order-1 interpolation with nodes at
// cell centres ([EdgeHold] holds the frame's edge values outside the frame;
// [EdgePySE] gives background 0 and rms = min(grid) there, as PySE),
// candidates D > analysis*rms, 8-connected run labelling with removal of
// islands that touch the border or a masked pixel, peak > detection*rms at
// the peak pixel, an optional FDR threshold (one-sided tail probability,
// decision 7) and multi-threshold deblending. Islands are ordered as PySE's
// x-major label order. D, RMS and Labels share one compact layout (stride =
// width, Rect = the image's); results alias the Detector's buffers until its
// next call. Images without sources are not errors: DetectReport.Outcome
// says why. Grid cells and row blocks run on a bounded worker pool, and
// results are bit-identical for any thread count.
//
// [RMSQC] is TraP's image-QC rms (SPEC 3.1).
//
// # Measurement
//
// [Measurer.Measure] measures every island of a [Detections] (SPEC 4.7-4.11):
// the Gaussian path fits the elliptical Gaussian of SPEC 0.2 by a bounded,
// allocation-free Levenberg-Marquardt with analytic Jacobian over the free
// parameters (shape fixed to the beam with force_beam; bounds from tweaked
// moments otherwise), with Condon (1997) errors; the moments path uses
// Spreeuw's tweaked moments and eq. 2.81 errors. Both deconvolve the beam
// (AIPS DECONV with covariance-propagated errors) and convert to the sky
// through a [Projector] (local north, ra/dec errors, error_radius, PA).
// Positions in a [Source] are 0-based pixels (x along FITS axis 1), axes are
// HWHM semi-axes in pixels, Theta is radians from +y towards -x, ThetaDC is
// degrees, RA/Dec degrees; the fields map 1:1 onto PySE's 37 CSV columns.
// Failures are not errors: a source is dropped and counted by [DropReason].
// Results are identical for any Threads; a Measurer is reused across images
// and allocates nothing after warm-up when serial. [Measurer.FitFixed] does
// TraP's forced fits (SPEC 4.15), centring the model exactly on the
// requested position (decision 5) and keeping negative peaks.
//
// # Vector loops
//
// Built with GOEXPERIMENT=simd on amd64 (make build does), the maps pass's
// pixel loop and MaskTo's NaN test run as AVX2 vector loops
// (*_simd_amd64.go) on CPUs that have AVX2; the default build, and CPUs
// without AVX2, run their plain twins (mapsFlagsPixGo, hasNaNGo), which
// the simd build's tests use as oracles. Results are the same bit for bit
// in either build (docs/performance.md, "Session 8: SIMD").
//
// # Errors
//
// Mismatched shapes and other programmer errors panic with a message that
// starts with "kernels:". Dimensions that come from data (FITS headers) are
// validated by [NewImage], which returns an error.
package kernels
