package sim

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/dsp/fourier"

	"gotrap/internal/fitsimg"
)

// A real point-spread function (see "Realistic options" in doc.go).
//
// A PSF is a centro-symmetric table of odd size n = 2·half+1 on its own
// pixel grid, peak 1 at the centre, with the restoring beam that its
// imager fitted to the main lobe (semi-axes a, b in table pixels, angle
// theta as in SPEC 0.3). It is scaled onto an image's beam by the affine
// map that takes the PSF's beam ellipse onto the image's: its major axis
// onto the image's major axis, and so on.

// psfLOFARBin is the embedded PSF, derived from the WSClean dirty beam
// ../shared/data/psf.fits by testdata/genpsf.go (see PSFFromFITS).
//
//go:embed psf_lofar.bin
var psfLOFARBin []byte

// PSF names of the noise_psf parameter.
const (
	PSFGaussian = "gaussian" // the restoring beam (the default)
	PSFLOFAR    = "lofar"    // the embedded LOFAR dirty beam
)

// PSF is a point-spread function table (see above).
type PSF struct {
	half        int       // the table is (2·half+1)² values
	val         []float64 // row-major, peak 1 at (half, half)
	a, b, theta float64   // fitted beam: HWHM semi-axes (table px), angle (rad)
}

// psfTaper is the width (table px) of the cos² taper that brings the cut-out
// smoothly to zero at its edge (so that its transform rings less).
const psfTaper = 8

// PSFFromFITS cuts the central (2·half+1)² pixels around the peak of a PSF
// image (FITS, with BMAJ/BMIN/BPA of its fitted main lobe), normalises
// the peak to 1, makes it exactly centro-symmetric ((P(x)+P(-x))/2; a
// PSF of real visibilities is), and tapers it with cos² over the outer
// psfTaper pixels of the inscribed circle, zero outside.
func PSFFromFITS(path string, half int) (*PSF, error) {
	if half < 2*psfTaper {
		return nil, fmt.Errorf("sim: psf %s: half-size %d, want at least %d", path, half, 2*psfTaper)
	}
	img, meta, err := fitsimg.Read(path, fitsimg.Options{})
	if err != nil {
		return nil, fmt.Errorf("sim: psf: %w", err)
	}
	// The peak pixel.
	px, py, pv := -1, -1, math.Inf(-1)
	r := img.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x, v := range img.Row(y) {
			if float64(v) > pv {
				px, py, pv = r.Min.X+x, y, float64(v)
			}
		}
	}
	if !(pv > 0) {
		return nil, fmt.Errorf("sim: psf %s: no positive peak", path)
	}
	if px-half < r.Min.X || py-half < r.Min.Y || px+half >= r.Max.X || py+half >= r.Max.Y {
		return nil, fmt.Errorf("sim: psf %s: peak at (%d, %d) is closer than %d px to an edge", path, px, py, half)
	}
	bp := meta.BeamPx
	if !(bp.SMaj > 0) || !(bp.SMin > 0) {
		return nil, fmt.Errorf("sim: psf %s: no usable BMAJ/BMIN", path)
	}
	n := 2*half + 1
	p := &PSF{half: half, val: make([]float64, n*n), a: bp.SMaj, b: bp.SMin, theta: bp.Theta}
	for j := -half; j <= half; j++ {
		for i := -half; i <= half; i++ {
			v := (float64(img.At(px+i, py+j)) + float64(img.At(px-i, py-j))) / (2 * pv)
			p.val[(j+half)*n+i+half] = v * taperWeight(math.Hypot(float64(i), float64(j)), float64(half))
		}
	}
	return p, nil
}

// taperWeight is 1 within rmax-psfTaper, cos² down to 0 at rmax, 0 beyond.
func taperWeight(r, rmax float64) float64 {
	switch {
	case r >= rmax:
		return 0
	case r <= rmax-psfTaper:
		return 1
	}
	c := math.Cos(math.Pi / 2 * (r - (rmax - psfTaper)) / psfTaper)
	return c * c
}

// The binary form of a PSF: "GTPSF1", half (uint16), a, b, theta
// (float64), then the table as int16 of value·32767, all little-endian.
// Quantisation error ≤ 1.5e-5 of the peak, far below the sidelobes (1e-2).
const psfMagic = "GTPSF1"

// MarshalBinary encodes p (see psfMagic).
func (p *PSF) MarshalBinary() ([]byte, error) {
	b := append([]byte(nil), psfMagic...)
	b = binary.LittleEndian.AppendUint16(b, uint16(p.half))
	for _, v := range []float64{p.a, p.b, p.theta} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	for _, v := range p.val {
		b = binary.LittleEndian.AppendUint16(b, uint16(int16(math.Round(math.Max(-1, math.Min(1, v))*32767))))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary wrote.
func (p *PSF) UnmarshalBinary(b []byte) error {
	hdr := len(psfMagic) + 2 + 24
	if len(b) < hdr || string(b[:len(psfMagic)]) != psfMagic {
		return errors.New("sim: psf table: bad header")
	}
	b = b[len(psfMagic):]
	half := int(binary.LittleEndian.Uint16(b))
	b = b[2:]
	var f [3]float64
	for i := range f {
		f[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	b = b[24:]
	n := 2*half + 1
	if len(b) != 2*n*n {
		return fmt.Errorf("sim: psf table: %d bytes of values, want %d", len(b), 2*n*n)
	}
	*p = PSF{half: half, val: make([]float64, n*n), a: f[0], b: f[1], theta: f[2]}
	for i := range p.val {
		p.val[i] = float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) / 32767
	}
	return nil
}

// loadPSF returns the PSF that the noise_psf value names: nil for the
// Gaussian restoring beam, the embedded table, or a FITS file's centre.
func loadPSF(name string) (*PSF, error) {
	switch name {
	case "", PSFGaussian:
		return nil, nil
	case PSFLOFAR:
		p := new(PSF)
		if err := p.UnmarshalBinary(psfLOFARBin); err != nil {
			panic(err) // the embedded table is tested
		}
		return p, nil
	}
	return PSFFromFITS(name, psfFileHalf)
}

// psfFileHalf is the half-size of the cut-out taken from a user's PSF FITS
// file: the embedded table's.
const psfFileHalf = 24

// at interpolates the table bilinearly at (u, v) table pixels from the
// centre; 0 outside.
func (p *PSF) at(u, v float64) float64 {
	h := float64(p.half)
	u, v = u+h, v+h
	if !(u >= 0 && v >= 0 && u < 2*h && v < 2*h) {
		return 0
	}
	i, j := int(u), int(v)
	fu, fv := u-float64(i), v-float64(j)
	n := 2*p.half + 1
	k := j*n + i
	return (1-fv)*((1-fu)*p.val[k]+fu*p.val[k+1]) + fv*((1-fu)*p.val[k+n]+fu*p.val[k+n+1])
}

// scaledPSF is a PSF mapped onto an image beam: value at image-pixel
// offset (dx, dy) is psf.at(m·(dx, dy)).
type scaledPSF struct {
	p      *PSF
	m      [4]float64 // image px -> table px (row-major 2x2)
	radius float64    // support radius, image px
}

// scale maps p onto beam bm: table = R(θp)·diag(ap/a, bp/b)·R(θ)ᵀ·image,
// where R(θ) takes (minor, major) axis coordinates to pixel offsets (the
// major axis points along (-sinθ, cosθ), SPEC 0.3).
func (p *PSF) scale(bm *pixBeam) *scaledPSF {
	rot := func(th float64) [4]float64 { // columns: minor axis, major axis
		s, c := math.Sincos(th)
		return [4]float64{c, -s, s, c}
	}
	mul := func(x, y [4]float64) [4]float64 {
		return [4]float64{x[0]*y[0] + x[1]*y[2], x[0]*y[1] + x[1]*y[3], x[2]*y[0] + x[3]*y[2], x[2]*y[1] + x[3]*y[3]}
	}
	ri, rp := rot(bm.theta), rot(p.theta)
	riT := [4]float64{ri[0], ri[2], ri[1], ri[3]}
	d := [4]float64{p.b / bm.b, 0, 0, p.a / bm.a}
	m := mul(rp, mul(d, riT))
	// The smallest stretch of the map bounds the support in image px.
	return &scaledPSF{p: p, m: m, radius: float64(p.half) * math.Max(bm.a/p.a, bm.b/p.b)}
}

func (s *scaledPSF) at(dx, dy float64) float64 {
	return s.p.at(s.m[0]*dx+s.m[1]*dy, s.m[2]*dx+s.m[3]*dy)
}

// psfSpectrum returns the transform of the scaled PSF on grid g, real
// (the PSF is centro-symmetric), on the half plane kx in [0, nx/2],
// column-major like noiseFilter.h, and the fraction of its absolute sum
// that is negative (truncation and interpolation ringing: a true PSF's
// transform, the uv weights, is not negative).
func psfSpectrum(g noiseGrid, s *scaledPSF) (spec []float64, negFrac float64) {
	R := int(math.Ceil(s.radius))
	nk := g.nx/2 + 1
	if 2*R+1 > g.nx || 2*R+1 > g.ny {
		panic("sim: psf support larger than the noise grid")
	}
	// Rows along x, transformed one at a time, then columns along y.
	cols := make([]complex128, nk*g.ny)
	row := make([]complex128, g.nx)
	fx := fourier.NewCmplxFFT(g.nx)
	for dy := -R; dy <= R; dy++ {
		clear(row)
		any := false
		for dx := -R; dx <= R; dx++ {
			if v := s.at(float64(dx), float64(dy)); v != 0 {
				row[(dx+g.nx)%g.nx] = complex(v, 0)
				any = true
			}
		}
		if !any {
			continue
		}
		fx.Coefficients(row, row)
		ky := (dy + g.ny) % g.ny
		for kx := range nk {
			cols[kx*g.ny+ky] = row[kx]
		}
	}
	fy := fourier.NewCmplxFFT(g.ny)
	spec = make([]float64, nk*g.ny)
	var neg, tot float64
	for kx := range nk {
		col := cols[kx*g.ny : (kx+1)*g.ny]
		fy.Coefficients(col, col)
		for ky, v := range col {
			re := real(v)
			spec[kx*g.ny+ky] = re
			w := 2.0
			if kx == 0 || (g.nx%2 == 0 && kx == g.nx/2) {
				w = 1
			}
			tot += w * math.Abs(re)
			if re < 0 {
				neg -= w * re
			}
		}
	}
	return spec, neg / tot
}
