// Package extracttest makes synthetic fields for tests and benchmarks of
// source extraction: noise correlated by a real PSF, regular grids of
// point and resolved sources with their truth, and a SIN WCS to measure
// them with (SPEC 10.2 item 9's statistical regression).
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

	"gonum.org/v1/gonum/dsp/fourier"

	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/internal/wcs"
	"gotrap/kernels"
)

// PSFNoise fills dst (compact: Stride == width) with white N(0, 1) noise
// convolved with psf (normalised to unit sum; its brightest pixel is the
// centre) by a circular FFT convolution, then rescaled to mean 0 and
// standard deviation 1 (SPEC 10.2 item 9). It panics if dst is not
// compact or its size is not even.
func PSFNoise(dst, psf *kernels.Image, rng *rand.Rand) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if dst.Stride != w || w%2 != 0 || w == 0 || h == 0 {
		panic("extracttest: PSFNoise needs a compact image of even width")
	}
	// Kernel: psf centred on (0, 0) with wrap-around, unit sum.
	kern := make([]float64, w*h)
	pw, ph := psf.Rect.Dx(), psf.Rect.Dy()
	cx, cy, best, sum := 0, 0, math.Inf(-1), 0.0
	for y := range ph {
		for x := range pw {
			v := float64(psf.Pix[y*psf.Stride+x])
			if math.IsNaN(v) {
				continue
			}
			sum += v
			if v > best {
				best, cx, cy = v, x, y
			}
		}
	}
	for y := range ph {
		for x := range pw {
			v := float64(psf.Pix[y*psf.Stride+x])
			if math.IsNaN(v) {
				continue
			}
			kern[((y-cy)%h+h)%h*w+((x-cx)%w+w)%w] += v / sum
		}
	}
	noise := make([]float64, w*h)
	for i := range noise {
		noise[i] = rng.NormFloat64()
	}
	fn := fft2(noise, w, h)
	fk := fft2(kern, w, h)
	for i := range fn {
		fn[i] *= fk[i]
	}
	ifft2(noise, fn, w, h)
	var s1, s2 float64
	for _, v := range noise {
		s1 += v
	}
	mean := s1 / float64(len(noise))
	for _, v := range noise {
		s2 += (v - mean) * (v - mean)
	}
	std := math.Sqrt(s2 / float64(len(noise)))
	for i, v := range noise {
		dst.Pix[i] = float32((v - mean) / std)
	}
}

// fft2 returns the 2-D transform of the real w x h array a as h rows of
// w/2+1 coefficients.
func fft2(a []float64, w, h int) []complex128 {
	nc := w/2 + 1
	out := make([]complex128, h*nc)
	rf := fourier.NewFFT(w)
	for y := range h {
		rf.Coefficients(out[y*nc:(y+1)*nc], a[y*w:(y+1)*w])
	}
	cf := fourier.NewCmplxFFT(h)
	col := make([]complex128, h)
	for k := range nc {
		for y := range h {
			col[y] = out[y*nc+k]
		}
		cf.Coefficients(col, col)
		for y := range h {
			out[y*nc+k] = col[y]
		}
	}
	return out
}

// ifft2 is the inverse of fft2 (unnormalised), written into a.
func ifft2(a []float64, c []complex128, w, h int) {
	nc := w/2 + 1
	cf := fourier.NewCmplxFFT(h)
	col := make([]complex128, h)
	for k := range nc {
		for y := range h {
			col[y] = c[y*nc+k]
		}
		cf.Sequence(col, col)
		for y := range h {
			c[y*nc+k] = col[y]
		}
	}
	rf := fourier.NewFFT(w)
	for y := range h {
		rf.Sequence(a[y*w:(y+1)*w], c[y*nc:(y+1)*nc])
	}
}

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
