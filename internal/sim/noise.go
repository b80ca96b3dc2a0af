package sim

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/dsp/fourier"

	"gotrap/kernels"
)

// Correlated noise (see "Noise" in doc.go).
//
// A restored radio image's noise is white noise seen through the
// synthesised beam, and the usual convention is that its autocorrelation
// has the shape of the restoring beam B (peak-normalised Gaussian with
// covariance Σ in pixels). Convolving white noise with a kernel K gives the
// autocorrelation K⋆K, so K must be the beam shrunk by √2 (covariance Σ/2):
// its transfer function is H(f) = exp(-π² fᵀΣf), the square root of the
// beam's transform exp(-2π² fᵀΣf).
//
// The convolution is done in the Fourier domain on a periodic grid padded
// beyond the image (so that pixels on opposite edges are uncorrelated) to
// a size with factors 2, 3 and 5 only. The transform of real white noise
// is itself white, Hermitian noise, so it is drawn directly in the Fourier
// domain: this saves the forward transform, and one inverse real 2-D FFT
// per image remains (complex FFTs along y on the nx/2+1 half-plane
// columns, then real FFTs along x on the rows that the image keeps).

// noiseGrid is the padded periodic grid shared by all bands of a data set.
type noiseGrid struct {
	nx, ny int // padded FFT size
	w, h   int // image size (the top-left w x h of the grid is kept)
}

// newNoiseGrid pads a w x h image by at least 3.5 beam semi-major axes
// (where the beam, and so the noise autocorrelation across the periodic
// wrap, is exp(-ln2·3.5²) = 2e-4 of its peak) to fast FFT sizes. aMax is
// the largest semi-major axis (px) of all bands. For the RSM presets
// (1280 px, a <= 4.4 px) this gives 1296 = 2⁴·3⁴.
func newNoiseGrid(w, h int, aMax float64) noiseGrid {
	return newNoiseGridPad(w, h, int(math.Ceil(3.5*aMax)))
}

// newNoiseGridPad pads by pad pixels at least (a PSF's support radius).
func newNoiseGridPad(w, h, pad int) noiseGrid {
	return noiseGrid{nx: fastSize(w + pad), ny: fastSize(h + pad), w: w, h: h}
}

// fastSize returns the smallest n' >= n whose prime factors are 2, 3 and 5.
func fastSize(n int) int {
	if n < 1 {
		return 1
	}
	for m := n; ; m++ {
		k := m
		for _, p := range [...]int{2, 3, 5} {
			for k%p == 0 {
				k /= p
			}
		}
		if k == 1 {
			return m
		}
	}
}

// noiseFilter is H(f) for one band, scaled so that the noise has the
// band's rms. It is read-only once built and shared by all workers.
type noiseFilter struct {
	g noiseGrid
	// h holds H on the half plane kx in [0, nx/2], ky in [0, ny), column
	// by column: h[kx*ny+ky].
	h []float64
	// live[kx] is false for columns where H is zero (below 1e-12 of its
	// peak everywhere): they are neither drawn nor transformed.
	live []bool
}

// newNoiseFilter builds the transfer function of beam bm for noise of
// standard deviation rms: H(f) = exp(-π² fᵀΣf).
func newNoiseFilter(g noiseGrid, bm pixBeam, rms float64) *noiseFilter {
	return newNoiseFilterFunc(g, rms, func(kx, ky int, fx, fy float64) float64 {
		q := bm.sxx*fx*fx + 2*bm.sxy*fx*fy + bm.syy*fy*fy
		return math.Exp(-math.Pi * math.Pi * q)
	})
}

// newPSFNoiseFilter builds the transfer function whose noise has the
// autocorrelation of the scaled PSF: H = √max(0, P̂), P̂ the PSF's
// transform on the grid (psfSpectrum). It returns the fraction of P̂'s
// absolute sum that was negative and clipped.
func newPSFNoiseFilter(g noiseGrid, s *scaledPSF, rms float64) (*noiseFilter, float64) {
	spec, neg := psfSpectrum(g, s)
	f := newNoiseFilterFunc(g, rms, func(kx, ky int, _, _ float64) float64 {
		return math.Sqrt(math.Max(0, spec[kx*g.ny+ky]))
	})
	return f, neg
}

// newNoiseFilterFunc tabulates H(kx, ky) (fx, fy the frequencies in cycles
// per pixel) on the half plane and scales it for noise of standard
// deviation rms.
func newNoiseFilterFunc(g noiseGrid, rms float64, hf func(kx, ky int, fx, fy float64) float64) *noiseFilter {
	nk := g.nx/2 + 1
	f := &noiseFilter{g: g, h: make([]float64, nk*g.ny), live: make([]bool, nk)}
	var sum float64 // Σ over the full plane of H², i.e. the variance for unit white noise
	var peak float64
	for kx := range nk {
		fx := float64(kx) / float64(g.nx)
		col := f.h[kx*g.ny : (kx+1)*g.ny]
		for ky := range col {
			k := ky
			if k > g.ny/2 {
				k -= g.ny
			}
			col[ky] = hf(kx, ky, fx, float64(k)/float64(g.ny))
			peak = math.Max(peak, col[ky])
		}
	}
	for kx := range nk {
		col := f.h[kx*g.ny : (kx+1)*g.ny]
		var csum float64
		for ky, v := range col {
			if v < 1e-12*peak { // negligible power, keeps columns skippable
				v = 0
				col[ky] = 0
			}
			csum += v * v
		}
		f.live[kx] = csum > 0
		// Columns 0 and nx/2 (even nx) are their own mirror images; the
		// others stand for themselves and their conjugates at nx-kx.
		if kx == 0 || (g.nx%2 == 0 && kx == g.nx/2) {
			sum += csum
		} else {
			sum += 2 * csum
		}
	}
	s := rms / math.Sqrt(sum)
	for i := range f.h {
		f.h[i] *= s
	}
	return f
}

// rowBlock is the number of image rows gathered from the column-major
// spectrum at a time (a cache-friendly transpose).
const rowBlock = 16

// noiseGen holds one worker's FFT plans and buffers for a noiseGrid.
type noiseGen struct {
	g    noiseGrid
	rfft *fourier.FFT
	cfft *fourier.CmplxFFT
	spec []complex128 // half-plane spectrum, column-major like noiseFilter.h
	rows []complex128 // rowBlock half-spectrum rows
	out  []float64    // one real row of length nx
}

func newNoiseGen(g noiseGrid) *noiseGen {
	nk := g.nx/2 + 1
	return &noiseGen{
		g:    g,
		rfft: fourier.NewFFT(g.nx),
		cfft: fourier.NewCmplxFFT(g.ny),
		spec: make([]complex128, nk*g.ny),
		rows: make([]complex128, rowBlock*nk),
		out:  make([]float64, g.nx),
	}
}

const badNoiseShape = "sim: noise image does not match the grid"

// fill writes scale times a realisation of the noise of filter f into dst,
// whose size must be the grid's image size. Draws come from rng in a fixed
// order, so the same rng state gives the same pixels.
func (n *noiseGen) fill(dst *kernels.Image, f *noiseFilter, scale float64, rng *rand.Rand) {
	g := n.g
	if f.g != g || dst.Rect.Dx() != g.w || dst.Rect.Dy() != g.h {
		panic(badNoiseShape)
	}
	nk := g.nx/2 + 1
	ny := g.ny
	const invSqrt2 = 1 / math.Sqrt2
	for kx := range nk {
		col := n.spec[kx*ny : (kx+1)*ny : (kx+1)*ny]
		if !f.live[kx] {
			clear(col)
			continue
		}
		hc := f.h[kx*ny : (kx+1)*ny]
		hc = hc[:len(col)]
		if kx == 0 || (g.nx%2 == 0 && kx == g.nx/2) {
			// This column must be Hermitian in ky for the rows to be real:
			// X(-ky) = conj X(ky), real at ky = 0 and ny/2. Every bin has
			// E|X|² = 1, as for the transform of unit white noise.
			col[0] = complex(rng.NormFloat64()*hc[0]*scale, 0)
			for ky := 1; ky < (ny+1)/2; ky++ {
				re := rng.NormFloat64() * invSqrt2 * scale
				im := rng.NormFloat64() * invSqrt2 * scale
				col[ky] = complex(re*hc[ky], im*hc[ky])
				col[ny-ky] = complex(re*hc[ny-ky], -im*hc[ny-ky])
			}
			if ny%2 == 0 {
				col[ny/2] = complex(rng.NormFloat64()*hc[ny/2]*scale, 0)
			}
		} else {
			for ky, h := range hc {
				re := rng.NormFloat64() * invSqrt2 * scale
				im := rng.NormFloat64() * invSqrt2 * scale
				col[ky] = complex(re*h, im*h)
			}
		}
		n.cfft.Sequence(col, col)
	}
	for y0 := 0; y0 < g.h; y0 += rowBlock {
		nb := min(rowBlock, g.h-y0)
		for kx := range nk {
			src := n.spec[kx*ny+y0 : kx*ny+y0+nb]
			for j, v := range src {
				n.rows[j*nk+kx] = v
			}
		}
		for j := range nb {
			n.rfft.Sequence(n.out, n.rows[j*nk:(j+1)*nk])
			row := dst.Row(dst.Rect.Min.Y + y0 + j)
			out := n.out[:len(row)]
			for x, v := range out {
				row[x] = float32(v)
			}
		}
	}
}
