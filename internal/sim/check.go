package sim

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/dsp/fourier"

	"gotrap/kernels"
)

// Figures that compare simulated images with real ones (docs/simulate.md
// "How real are the images"): the autocorrelation of the noise with the
// sources masked, and the detections near bright sources.

// CheckBeam is a restoring beam in pixels: semi-axes (HWHM) and angle as
// in SPEC 0.3 (fitsimg.BeamPx's fields).
type CheckBeam struct{ SMaj, SMin, Theta float64 }

// ACF holds the noise autocorrelation ρ of an image, normalised to 1 at
// lag 0, summarised in units of the restoring beam: the lag r of offset Δ
// is sqrt(ΔᵀΣ⁻¹Δ)/2.3548 (Σ the beam's covariance), so r = 1 is one beam
// FWHM in every direction and a Gaussian beam has ρ = exp(-4 ln2 r²).
type ACF struct {
	Rho1    float64 // mean ρ over 0.9 <= r <= 1.1
	Rho2    float64 // mean ρ over 1.8 <= r <= 2.2
	SideRMS float64 // rms of ρ over 3 <= r <= 6: far sidelobes of the correlation
	Min     float64 // smallest ρ for r <= 6 (negative sidelobes)
	Pixels  int     // pixels used (unmasked)
	// EdgeRatio is the rms of the unmasked pixels in the outer eighth of
	// the image on each side over that of its central quarter: 1 for flat
	// noise, larger when the noise rises to the edges (PB-corrected).
	EdgeRatio float64
}

// acfMaxR is the largest lag summarised, in beam FWHM.
const acfMaxR = 6

// lagBeams returns r(Δ) for beam bm.
func lagBeams(bm *pixBeam, dx, dy float64) float64 {
	return math.Sqrt(bm.ixx*dx*dx+2*bm.ixy*dx*dy+bm.iyy*dy*dy) * fwhmToSigma
}

// NoiseACF computes the autocorrelation of img's pixels where keep is
// true (and not NaN), each less the mean of those pixels, as
// ρ(Δ) = [Σ u(x)u(x+Δ) / Σ m(x)m(x+Δ)] / [Σ u² / Σ m], u the masked
// values and m the mask, by FFT on a zero-padded grid; keep is row-major
// over img.Rect (nil: all pixels).
func NoiseACF(img *kernels.Image, keep []bool, beam CheckBeam) ACF {
	bm := beamFromAxes(beam.SMaj, beam.SMin, beam.Theta)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	ok := func(x, y int) (float64, bool) {
		if keep != nil && !keep[y*w+x] {
			return 0, false
		}
		v := float64(img.Pix[img.PixOffset(img.Rect.Min.X+x, img.Rect.Min.Y+y)])
		return v, !math.IsNaN(v)
	}
	var sum float64
	var n int
	for y := range h {
		for x := range w {
			if v, k := ok(x, y); k {
				sum += v
				n++
			}
		}
	}
	out := ACF{Pixels: n, EdgeRatio: edgeRatio(w, h, ok)}
	if n < 2 {
		return out
	}
	mean := sum / float64(n)
	// Largest lag in pixels: acfMaxR beam FWHM along the major axis.
	L := int(math.Ceil(acfMaxR * 2 * bm.a))
	nx, ny := fastSize(w+L+1), fastSize(h+L+1)
	u := make([]complex128, nx*ny)
	m := make([]complex128, nx*ny)
	for y := range h {
		for x := range w {
			if v, k := ok(x, y); k {
				u[y*nx+x] = complex(v-mean, 0)
				m[y*nx+x] = 1
			}
		}
	}
	// |FFT|² then inverse FFT gives the circular autocorrelation, which
	// the padding makes linear for lags up to L.
	fft2(u, nx, ny, false)
	fft2(m, nx, ny, false)
	for i := range u {
		u[i] = complex(real(u[i])*real(u[i])+imag(u[i])*imag(u[i]), 0)
		m[i] = complex(real(m[i])*real(m[i])+imag(m[i])*imag(m[i]), 0)
	}
	fft2(u, nx, ny, true)
	fft2(m, nx, ny, true)
	c0 := real(u[0]) / real(m[0])
	res := summariseACF(&bm, func(dx, dy int) (float64, bool) {
		k := ((dy+ny)%ny)*nx + (dx+nx)%nx
		cm := real(m[k])
		if cm < 0.5 { // no pixel pair at this lag
			return 0, false
		}
		return real(u[k]) / cm / c0, true
	})
	res.Pixels, res.EdgeRatio = out.Pixels, out.EdgeRatio
	return res
}

// summariseACF fills the lag figures of ACF from rho(dx, dy) (false: no
// value at that lag) for lags up to acfMaxR beam FWHM.
func summariseACF(bm *pixBeam, rho func(dx, dy int) (float64, bool)) ACF {
	L := int(math.Ceil(acfMaxR * 2 * bm.a))
	var out ACF
	var s1, s2, sq float64
	var n1, n2, nq int
	out.Min = 1
	for dy := -L; dy <= L; dy++ {
		for dx := -L; dx <= L; dx++ {
			r := lagBeams(bm, float64(dx), float64(dy))
			if r > acfMaxR {
				continue
			}
			v, ok := rho(dx, dy)
			if !ok {
				continue
			}
			out.Min = math.Min(out.Min, v)
			switch {
			case r >= 0.9 && r <= 1.1:
				s1 += v
				n1++
			case r >= 1.8 && r <= 2.2:
				s2 += v
				n2++
			case r >= 3:
				sq += v * v
				nq++
			}
		}
	}
	out.Rho1 = s1 / float64(max(n1, 1))
	out.Rho2 = s2 / float64(max(n2, 1))
	out.SideRMS = math.Sqrt(sq / float64(max(nq, 1)))
	return out
}

// fft2 transforms a row-major nx x ny complex grid in place (forward, or
// inverse without the 1/N: only ratios are used).
func fft2(a []complex128, nx, ny int, inverse bool) {
	fx := fourier.NewCmplxFFT(nx)
	for y := range ny {
		row := a[y*nx : (y+1)*nx]
		if inverse {
			fx.Sequence(row, row)
		} else {
			fx.Coefficients(row, row)
		}
	}
	fy := fourier.NewCmplxFFT(ny)
	col := make([]complex128, ny)
	for x := range nx {
		for y := range ny {
			col[y] = a[y*nx+x]
		}
		if inverse {
			fy.Sequence(col, col)
		} else {
			fy.Coefficients(col, col)
		}
		for y := range ny {
			a[y*nx+x] = col[y]
		}
	}
}

// edgeRatio is the robust rms (1.4826 MAD) of the kept pixels in the
// outer eighth of the image over that of its central quarter.
func edgeRatio(w, h int, ok func(x, y int) (float64, bool)) float64 {
	var in, out []float64
	for y := range h {
		for x := range w {
			v, k := ok(x, y)
			if !k {
				continue
			}
			switch {
			case x < w/8 || x >= w-w/8 || y < h/8 || y >= h-h/8:
				out = append(out, v)
			case x >= 3*w/8 && x < 5*w/8 && y >= 3*h/8 && y < 5*h/8:
				in = append(in, v)
			}
		}
	}
	a, b := madSigma(in), madSigma(out)
	if !(a > 0) {
		return math.NaN()
	}
	return b / a
}

// madSigma is 1.4826 times the median absolute deviation from the median.
func madSigma(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	v = slices.Clone(v)
	slices.Sort(v)
	med := v[len(v)/2]
	for i := range v {
		v[i] = math.Abs(v[i] - med)
	}
	slices.Sort(v)
	return 1.4826 * v[len(v)/2]
}

// SourceMask returns the keep mask for NoiseACF: false within
// radiusBeams beam FWHM (major axis) of each position, and NaN pixels.
func SourceMask(img *kernels.Image, pos [][2]float64, beam CheckBeam, radiusBeams float64) []bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	keep := make([]bool, w*h)
	for i := range keep {
		keep[i] = true
	}
	R := radiusBeams * 2 * beam.SMaj
	for _, p := range pos {
		for y := max(0, int(p[1]-R)); y <= min(h-1, int(p[1]+R)); y++ {
			for x := max(0, int(p[0]-R)); x <= min(w-1, int(p[0]+R)); x++ {
				if math.Hypot(float64(x)-p[0], float64(y)-p[1]) <= R {
					keep[y*w+x] = false
				}
			}
		}
	}
	return keep
}

// A Detection is a source found in an image: pixel position and
// significance (peak over the local rms).
type Detection struct {
	X, Y, SNR float64
}

// NearBright counts detections near bright ones. Bright detections have
// SNR >= brightSNR; a detection is near when it lies between 0.5 and
// nearBeams beam FWHM (major axis) of a bright one (closer is the bright
// source itself). truth, when not nil, says whether detection i matches
// an injected source; False then counts the near detections that do not.
// Expected is the number of near detections that the density of
// detections farther than nearBeams from every bright one predicts for
// the near zones' area (inside the image).
type NearBright struct {
	Bright   int
	Near     int
	False    int // -1 without truth
	Expected float64
}

// CountNearBright computes NearBright for detections dets of a w x h image.
func CountNearBright(dets []Detection, truth func(i int) bool, w, h int, beam CheckBeam, brightSNR, nearBeams float64) NearBright {
	fw := 2 * beam.SMaj
	r0, r1 := 0.5*fw, nearBeams*fw
	var bright []Detection
	for _, d := range dets {
		if d.SNR >= brightSNR {
			bright = append(bright, d)
		}
	}
	out := NearBright{Bright: len(bright), False: -1}
	if truth != nil {
		out.False = 0
	}
	if len(bright) == 0 {
		return out
	}
	zone := func(x, y float64) bool {
		for _, b := range bright {
			if d := math.Hypot(x-b.X, y-b.Y); d <= r1 {
				return true
			}
		}
		return false
	}
	far := 0
	for i, d := range dets {
		near := false
		self := false
		for _, b := range bright {
			dd := math.Hypot(d.X-b.X, d.Y-b.Y)
			if dd < r0 {
				self = true
			} else if dd <= r1 {
				near = true
			}
		}
		switch {
		case self:
		case near:
			out.Near++
			if truth != nil && !truth(i) {
				out.False++
			}
		case !zone(d.X, d.Y):
			far++
		}
	}
	// Areas by counting pixel centres.
	var nearPix, farPix int
	for y := range h {
		for x := range w {
			fx, fy := float64(x), float64(y)
			in, self := false, false
			for _, b := range bright {
				dd := math.Hypot(fx-b.X, fy-b.Y)
				if dd < r0 {
					self = true
				} else if dd <= r1 {
					in = true
				}
			}
			switch {
			case self:
			case in:
				nearPix++
			default:
				farPix++
			}
		}
	}
	if farPix > 0 {
		out.Expected = float64(far) * float64(nearPix) / float64(farPix)
	}
	return out
}
