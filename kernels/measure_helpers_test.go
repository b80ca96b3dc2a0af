package kernels

import (
	"encoding/csv"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
)

// sinProj is a SIN (orthographic) projection with CDELT and CROTA2 only,
// from FITS WCS paper II (Calabretta & Greisen 2002) eqs. for zenithal
// projections with LONPOLE = 180: a test double for Projector.
type sinProj struct {
	crval1, crval2 float64 // degrees
	crpix1, crpix2 float64 // 1-based FITS pixels
	cdelt1, cdelt2 float64 // degrees per pixel
	crota          float64 // degrees
}

const d2r = math.Pi / 180

func (p sinProj) PixToSky(x, y float64) (float64, float64, error) {
	// Intermediate world coordinates (degrees), CROTA2 rotation.
	u := (x + 1 - p.crpix1) * p.cdelt1
	v := (y + 1 - p.crpix2) * p.cdelt2
	sr, cr := math.Sincos(p.crota * d2r)
	xi := u*cr - v*sr
	eta := u*sr + v*cr
	// Native spherical: R = cos θ (radians), φ = atan2(x, −y).
	xr, yr := xi*d2r, eta*d2r
	r := math.Hypot(xr, yr)
	if r > 1 {
		return math.NaN(), math.NaN(), nil
	}
	phi := math.Atan2(xr, -yr)
	theta := math.Acos(r)
	// Native → celestial with φ_p = π, (α_p, δ_p) = CRVAL.
	dp := p.crval2 * d2r
	st, ct := math.Sincos(theta)
	sdp, cdp := math.Sincos(dp)
	dphi := phi - math.Pi
	sd := st*sdp + ct*cdp*math.Cos(dphi)
	dec := math.Asin(math.Max(-1, math.Min(1, sd)))
	ra := p.crval1*d2r + math.Atan2(-ct*math.Sin(dphi), st*cdp-ct*sdp*math.Cos(dphi))
	ra = math.Mod(ra/d2r+360, 360)
	return ra, dec / d2r, nil
}

func (p sinProj) SkyToPix(ra, dec float64) (float64, float64, error) {
	// Orthographic projection written directly in (α, δ), which keeps full
	// precision near the reference point (paper II eq. 54 composed with the
	// spherical rotation).
	sd, cd := math.Sincos(dec * d2r)
	sdp, cdp := math.Sincos(p.crval2 * d2r)
	sa, ca := math.Sincos((ra - p.crval1) * d2r)
	if sd*sdp+cd*cdp*ca < 0 {
		return math.NaN(), math.NaN(), nil // far hemisphere
	}
	xi := cd * sa / d2r
	eta := (sd*cdp - cd*sdp*ca) / d2r
	sr, cr := math.Sincos(p.crota * d2r)
	u := xi*cr + eta*sr
	v := -xi*sr + eta*cr
	return u/p.cdelt1 + p.crpix1 - 1, v/p.cdelt2 + p.crpix2 - 1, nil
}

// testProj is a GRB120422A-like SIN projection: 5" pixels, RA increasing
// to −x, reference pixel 256 (0-based) at (136.91025, 14.018222).
var testProj = sinProj{136.91025, 14.018222, 257, 257, -5.0 / 3600, 5.0 / 3600, 0}

// synthSrc is a painted elliptical Gaussian (SPEC 0.2), box-free.
type synthSrc struct{ peak, x, y, a, b, theta float64 }

// newTestImage returns a w×h image at the origin.
func newTestImage(w, h int) *Image {
	m, err := NewImage(image.Rect(0, 0, w, h))
	if err != nil {
		panic(err)
	}
	return m
}

// paint adds the sources to m, evaluated within 8 HWHM of each centre.
func paint(m *Image, srcs []synthSrc) {
	for _, s := range srcs {
		r := int(8*math.Max(s.a, s.b)) + 1
		for y := max(m.Rect.Min.Y, int(s.y)-r); y < min(m.Rect.Max.Y, int(s.y)+r+1); y++ {
			for x := max(m.Rect.Min.X, int(s.x)-r); x < min(m.Rect.Max.X, int(s.x)+r+1); x++ {
				m.Pix[m.PixOffset(x, y)] += float32(Gauss2D(s.peak, s.x, s.y, s.a, s.b, s.theta, float64(x), float64(y)))
			}
		}
	}
}

// correlatedNoise fills m with zero-mean, unit-variance Gaussian noise whose
// autocorrelation is the elliptical Gaussian with semi-axes (a, b) along
// (y, x), θ = 0: white noise convolved with a separable Gaussian kernel of
// HWHM (b/√2, a/√2), then scaled to unit variance. This is the correlated
// noise Condon's error formulas assume (SPEC 0.2).
func correlatedNoise(m *Image, a, b float64, rng *rand.Rand) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	kern := func(hw float64) []float64 {
		n := int(4*hw) + 1
		k := make([]float64, 2*n+1)
		var s2 float64
		for i := range k {
			d := float64(i - n)
			k[i] = math.Exp(-math.Ln2 * d * d / (hw * hw))
			s2 += k[i] * k[i]
		}
		for i := range k {
			k[i] /= math.Sqrt(s2) // unit variance after convolving unit white noise
		}
		return k
	}
	kx, ky := kern(b/math.Sqrt2), kern(a/math.Sqrt2)
	nx, ny := len(kx)/2, len(ky)/2
	W, H := w+2*nx, h+2*ny
	white := make([]float64, W*H)
	for i := range white {
		white[i] = rng.NormFloat64()
	}
	tmp := make([]float64, w*H)
	for y := 0; y < H; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for k, kv := range kx {
				s += kv * white[y*W+x+k]
			}
			tmp[y*w+x] = s
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s float64
			for k, kv := range ky {
				s += kv * tmp[(y+k)*w+x]
			}
			m.Pix[m.PixOffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)] = float32(s)
		}
	}
}

// buildDetections labels, for each seed pixel, the 8-connected pixels with
// D > anl·rms that contain it (a stand-in for the detection half), and
// returns the Detections with one island per seed whose island does not
// touch an earlier one or the image border.
func buildDetections(d, rms *Image, seeds []image.Point, anl float64) *Detections {
	det := &Detections{D: d, RMS: rms, Labels: make([]int32, len(d.Pix))}
	var stack []image.Point
	for i, sd := range seeds {
		label := int32(i + 1)
		o := d.PixOffset(sd.X, sd.Y)
		if det.Labels[o] != 0 || !(float64(d.Pix[o]) > anl*float64(rms.Pix[o])) {
			continue
		}
		isl := Island{Label: label, Box: image.Rectangle{sd, sd.Add(image.Pt(1, 1))}, Peak: sd, PeakValue: d.Pix[o]}
		stack = append(stack[:0], sd)
		det.Labels[o] = label
		clash := false
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			isl.NPix++
			isl.Box = isl.Box.Union(image.Rectangle{p, p.Add(image.Pt(1, 1))})
			if v := d.Pix[d.PixOffset(p.X, p.Y)]; v > isl.PeakValue || (v == isl.PeakValue && (p.Y < isl.Peak.Y || p.Y == isl.Peak.Y && p.X < isl.Peak.X)) {
				isl.Peak, isl.PeakValue = p, v
			}
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					q := p.Add(image.Pt(dx, dy))
					if !q.In(d.Rect) {
						clash = true
						continue
					}
					qo := d.PixOffset(q.X, q.Y)
					if !(float64(d.Pix[qo]) > anl*float64(rms.Pix[qo])) {
						continue
					}
					if l := det.Labels[qo]; l != 0 {
						if l != label {
							clash = true
						}
						continue
					}
					det.Labels[qo] = label
					stack = append(stack, q)
				}
			}
		}
		if clash {
			continue
		}
		po := d.PixOffset(isl.Peak.X, isl.Peak.Y)
		isl.Threshold = float32(anl) * rms.Pix[po]
		isl.Noise = rms.Pix[po]
		det.Islands = append(det.Islands, isl)
	}
	return det
}

// constImage returns a w×h image filled with v.
func constImage(w, h int, v float32) *Image {
	m := newTestImage(w, h)
	for i := range m.Pix {
		m.Pix[i] = v
	}
	return m
}

// gridField paints an nx×ny grid of sources (spacing px apart, uniform
// ±0.5 px offsets) of the given peak and shape into correlated unit noise
// whose correlation is the beam, and returns the detections (analysis
// threshold anl) and the true sources in island order.
func gridField(rng *rand.Rand, nx, ny, spacing int, peak float64, shape, beam Beam, anl float64) (*Detections, []synthSrc) {
	w, h := nx*spacing, ny*spacing
	d := newTestImage(w, h)
	correlatedNoise(d, beam.A, beam.B, rng)
	var srcs []synthSrc
	var seeds []image.Point
	for j := range ny {
		for i := range nx {
			s := synthSrc{peak, float64(i*spacing+spacing/2) + rng.Float64() - 0.5, float64(j*spacing+spacing/2) + rng.Float64() - 0.5, shape.A, shape.B, shape.Theta}
			srcs = append(srcs, s)
			seeds = append(seeds, image.Pt(int(math.Round(s.x)), int(math.Round(s.y))))
		}
	}
	paint(d, srcs)
	rms := constImage(w, h, 1)
	det := buildDetections(d, rms, seeds, anl)
	truth := make([]synthSrc, len(det.Islands))
	for k, isl := range det.Islands {
		truth[k] = srcs[isl.Label-1]
	}
	return det, truth
}

// readCSVFloats reads a numeric CSV with a header line.
func readCSVFloats(t testing.TB, path string) [][]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for _, r := range recs[1:] {
		row := make([]float64, len(r))
		for i, v := range r {
			if row[i], err = strconv.ParseFloat(v, 64); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, row)
	}
	return out
}
