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
// # Errors
//
// Mismatched shapes and other programmer errors panic with a message that
// starts with "kernels:". Dimensions that come from data (FITS headers) are
// validated by [NewImage], which returns an error.
package kernels
