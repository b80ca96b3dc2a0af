package sim

import (
	"math"
	"math/rand/v2"

	"gotrap/kernels"
)

// The realistic options at render time (see "Realistic options" in
// doc.go): resolved sources, primary-beam correction, sidelobe residuals
// and artefacts around bright sources.

// sourceBeam returns the Gaussian that paints source s in band b (the
// restoring beam, or it convolved with the source's intrinsic shape) and
// its peak per unit flux (1 for a point source).
func (p *plan) sourceBeam(s *Source, band int) (pixBeam, float64) {
	bm := p.beams[band]
	if s.Maj <= 0 {
		return bm, 1
	}
	src := newPixBeam(s.Maj/3600, s.Min/3600, s.PA, p.pixDeg)
	return convolve(&bm, &src)
}

// sourceTruth is what a source looks like in one image.
type sourceTruth struct {
	flux     float64 // intrinsic flux density, Jy
	pb       float64 // primary-beam gain at the source (1 when off)
	apparent float64 // flux·pb: what the telescope sees, Jy
	peak     float64 // peak in this image, Jy/beam (after PB correction, when on)
	appPeak  float64 // apparent peak, Jy/beam: apparent·(peak per unit flux)
	snr      float64 // appPeak / image rms
	bright   bool    // gets sidelobe residuals and artefacts
}

// truthOf describes source s (placed at sep deg from the pointing) in image im.
func (p *plan) truthOf(im *imageSpec, s *Source, sep float64) sourceTruth {
	c := &p.cfg
	f := c.FreqMHz[im.band]
	var t sourceTruth
	t.flux = s.FluxAt(im.t, f, c.FluxRefMHz)
	if c.stokesV() {
		t.flux *= s.CircPol // signed: the Stokes V flux
	}
	t.pb = c.pbGain(sep, f)
	t.apparent = t.flux * t.pb
	_, k := p.sourceBeam(s, im.band)
	t.appPeak = t.apparent * k
	t.peak = t.appPeak
	if c.PBCorrected {
		t.peak = t.flux * k
	}
	t.snr = t.appPeak / im.rms
	t.bright = (c.SidelobeFrac > 0 || c.ArtefactFrac > 0) && math.Abs(t.snr) >= c.BrightSNR
	return t
}

// pbInverse returns 1/PB per pixel of band b's images (the same for every
// field: the SIN projection is centred on the pointing, so the distance
// from it is asin of the direction cosines' length).
func (p *plan) pbInverse(b int) []float32 {
	c := &p.cfg
	out := make([]float32, c.Width*c.Height)
	cx, cy := float64(c.Width/2), float64(c.Height/2) // CRPIX-1, 0-based
	pr := p.pixDeg * deg2rad
	for y := range c.Height {
		for x := range c.Width {
			r := math.Hypot(float64(x)-cx, float64(y)-cy) * pr
			sep := math.Asin(math.Min(1, r)) * rad2deg
			out[y*c.Width+x] = float32(1 / c.pbGain(sep, c.FreqMHz[b]))
		}
	}
	return out
}

// artefactRadius is the extent (px) of the rings and spokes of band b.
func (p *plan) artefactRadius(b int) float64 {
	return p.cfg.ArtefactBeams * 2 * p.beams[b].a
}

// paintBright adds, around a bright source at (x0, y0) of apparent peak
// peak, SidelobeFrac·peak·(PSF − restoring beam) with the PSF rotated by
// rot, and ArtefactFrac·peak times rings and spokes of phases psi, phi0.
func (w *worker) paintBright(im *imageSpec, x0, y0, peak float64, rot *scaledPSF, psi, phi0 float64) {
	p := w.p
	c := &p.cfg
	bm := &p.beams[im.band]
	dst := w.img
	if c.SidelobeFrac > 0 && rot != nil {
		R := int(math.Ceil(rot.radius))
		amp := c.SidelobeFrac * peak
		xa, xb, ya, yb, ok := paintRange(dst, x0, y0, R, R)
		if ok {
			for y := ya; y < yb; y++ {
				dy := float64(y) - y0
				row := dst.Row(y)
				for x := xa; x < xb; x++ {
					dx := float64(x) - x0
					g := math.Exp(-0.5 * (bm.ixx*dx*dx + 2*bm.ixy*dx*dy + bm.iyy*dy*dy))
					if v := rot.at(dx, dy) - g; v != 0 {
						row[x-dst.Rect.Min.X] = float32(float64(row[x-dst.Rect.Min.X]) + amp*v)
					}
				}
			}
		}
	}
	if c.ArtefactFrac > 0 {
		fw := 2 * bm.a
		Rb := c.ArtefactBeams
		R := int(math.Ceil(p.artefactRadius(im.band)))
		amp := c.ArtefactFrac * peak
		m := float64(c.ArtefactSpokes)
		xa, xb, ya, yb, ok := paintRange(dst, x0, y0, R, R)
		if !ok {
			return
		}
		for y := ya; y < yb; y++ {
			dy := float64(y) - y0
			row := dst.Row(y)
			for x := xa; x < xb; x++ {
				dx := float64(x) - x0
				rho := math.Hypot(dx, dy) / fw
				e := artefactEnvelope(rho, Rb)
				if e == 0 {
					continue
				}
				v := math.Cos(2*math.Pi*rho/artefactRingBeams + psi)
				if m > 0 {
					v += math.Cos(m * (math.Atan2(dy, dx) - phi0))
				}
				row[x-dst.Rect.Min.X] = float32(float64(row[x-dst.Rect.Min.X]) + amp*e*v/2)
			}
		}
	}
}

// artefactRingBeams is the ring spacing in restoring beam FWHM.
const artefactRingBeams = 1.5

// artefactEnvelope is the radial envelope of the artefacts at rho beam
// FWHM from the source, out to R: (1 − exp(−ρ²)) (none on the source
// itself) · exp(−3ρ/R) · a cos² taper from 0.8R to 0 at R.
func artefactEnvelope(rho, R float64) float64 {
	if rho >= R {
		return 0
	}
	e := (1 - math.Exp(-rho*rho)) * math.Exp(-3*rho/R)
	if t := (rho - 0.8*R) / (0.2 * R); t > 0 {
		c := math.Cos(math.Pi / 2 * t)
		e *= c * c
	}
	return e
}

// rotated returns s with its PSF turned by angle a (rad): the snapshot PSF
// of a real array turns with the parallactic angle.
func (s *scaledPSF) rotated(a float64) *scaledPSF {
	sn, cs := math.Sincos(a)
	m := s.m
	r := *s
	// table = m · R(a) · image.
	r.m = [4]float64{m[0]*cs + m[1]*sn, -m[0]*sn + m[1]*cs, m[2]*cs + m[3]*sn, -m[2]*sn + m[3]*cs}
	return &r
}

// artefactRNG is image im's stream for the sidelobe rotation and the
// artefact phases (drawn only when those options are on).
func (p *plan) artefactRNG(im *imageSpec) *rand.Rand {
	return rand.New(rand.NewPCG(p.cfg.Seed, streamArtefact+uint64(im.index)))
}

// applyPB divides the image by the primary beam of its band.
func applyPB(img *kernels.Image, inv []float32) {
	w := img.Rect.Dx()
	for y := range img.Rect.Dy() {
		row := img.Row(img.Rect.Min.Y + y)
		for x, f := range inv[y*w : (y+1)*w] {
			row[x] *= f
		}
	}
}
