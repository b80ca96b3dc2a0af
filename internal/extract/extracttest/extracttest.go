// Package extracttest makes synthetic fields for tests and benchmarks of
// source extraction: regular grids of point and resolved sources with
// their truth, and a SIN WCS to measure them with (SPEC 10.2 item 9's
// statistical regression). The noise (sim.ConvolvedNoise) and the painter
// (sim.PaintGaussian) are the simulator's.
//
// # Conventions
//
// Pixels are kernels' (0-based, x along FITS axis 1); shapes are
// kernels.Beam (HWHM semi-axes in pixels, angle from +y towards -x). All
// randomness comes from the *rand.Rand given (math/rand/v2, seeded by the
// caller).
package extracttest

import (
	"math"
	"math/rand/v2"

	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/internal/wcs"
	"gotrap/kernels"
)

// Truth is one inserted source: position, peak and (convolved) shape.
type Truth struct {
	X, Y, Peak float64
	Shape      kernels.Beam
}

// Flux returns the source's integrated flux for a restoring beam (SPEC
// 0.2: peak * a * b / (a_beam * b_beam)).
func (t Truth) Flux(beam kernels.Beam) float64 {
	return t.Peak * t.Shape.A * t.Shape.B / (beam.A * beam.B)
}

// Convolve returns the shape of a Gaussian of intrinsic shape src
// convolved with beam: the covariances add.
func Convolve(src, beam kernels.Beam) kernels.Beam {
	cov := func(b kernels.Beam) (xx, yy, xy float64) {
		// Major axis along (-sin t, cos t), minor along (cos t, sin t).
		s, c := math.Sincos(b.Theta)
		a2, b2 := b.A*b.A, b.B*b.B
		return a2*s*s + b2*c*c, a2*c*c + b2*s*s, -a2*s*c + b2*s*c
	}
	x1, y1, c1 := cov(src)
	x2, y2, c2 := cov(beam)
	xx, yy, xy := x1+x2, y1+y2, c1+c2
	tr, det := xx+yy, xx*yy-xy*xy
	disc := math.Sqrt(math.Max(tr*tr/4-det, 0))
	l1, l2 := tr/2+disc, tr/2-disc
	// Eigenvector of l1: (xy, l1 - xx), or (l1 - yy, xy).
	vx, vy := xy, l1-xx
	if math.Abs(vx)+math.Abs(vy) < 1e-300 {
		vx, vy = l1-yy, xy
	}
	if math.Abs(vx)+math.Abs(vy) < 1e-300 {
		vx, vy = 0, 1
	}
	// theta from +y towards -x: (vx, vy) = (-sin t, cos t).
	theta := math.Atan2(-vx, vy)
	for theta > math.Pi/2 {
		theta -= math.Pi
	}
	for theta <= -math.Pi/2 {
		theta += math.Pi
	}
	return kernels.Beam{A: math.Sqrt(l1), B: math.Sqrt(math.Max(l2, 0)), Theta: theta}
}

// PaintGrid adds an n x n grid of sources of the given peak and shape to
// img, spaced by spacing pixels starting at first, each moved by a uniform
// offset in [-0.5, 0.5) px along each axis, and returns their truth in
// row-major order (x fastest). The sources are painted by the
// simulator's painter, sim.PaintGaussian.
func PaintGrid(img *kernels.Image, n int, first, spacing, peak float64, shape kernels.Beam, rng *rand.Rand) []Truth {
	out := make([]Truth, 0, n*n)
	for j := range n {
		for i := range n {
			t := Truth{
				X:    first + spacing*float64(i) + rng.Float64() - 0.5,
				Y:    first + spacing*float64(j) + rng.Float64() - 0.5,
				Peak: peak, Shape: shape,
			}
			sim.PaintGaussian(img, t.X, t.Y, t.Peak, t.Shape)
			out = append(out, t)
		}
	}
	return out
}

// SINMeta returns metadata for a w x h image with a SIN projection of
// square pixels of cdelt degrees centred on (ra0, dec0) at FITS pixel
// (w/2+1, h/2+1), and the restoring beam beam (pixels).
func SINMeta(w, h int, cdelt, ra0, dec0 float64, beam kernels.Beam) (*fitsimg.Meta, error) {
	hdr := fitsimg.NewHeader()
	for _, c := range []struct {
		k string
		v any
	}{
		{"NAXIS", int64(2)}, {"NAXIS1", int64(w)}, {"NAXIS2", int64(h)},
		{"CTYPE1", "RA---SIN"}, {"CRVAL1", ra0}, {"CRPIX1", float64(w/2 + 1)}, {"CDELT1", -cdelt}, {"CUNIT1", "deg"},
		{"CTYPE2", "DEC--SIN"}, {"CRVAL2", dec0}, {"CRPIX2", float64(h/2 + 1)}, {"CDELT2", cdelt}, {"CUNIT2", "deg"},
	} {
		hdr.Set(c.k, c.v, "")
	}
	proj, err := wcs.FromHeader(hdr)
	if err != nil {
		return nil, err
	}
	return &fitsimg.Meta{
		Path: "synthetic", Naxis1: w, Naxis2: h, PixelScale: cdelt,
		BeamPx: fitsimg.BeamPx{SMaj: beam.A, SMin: beam.B, Theta: beam.Theta},
		WCS:    proj, Header: hdr,
	}, nil
}
