package kernels

import (
	"image"
	"math"
)

// ForcedFixed selects the parameters a forced fit holds fixed (SPEC 4.15
// step 5).
type ForcedFixed int

const (
	// FixPositionShape fixes the position and the beam shape: only the
	// peak is fitted (the default, and TraP's).
	FixPositionShape ForcedFixed = iota
	// FixPosition fixes the position and fits peak and shape.
	FixPosition
	// FixNone fits all six parameters.
	FixNone
)

// ForcedConfig holds the settings of forced fits at fixed positions.
type ForcedConfig struct {
	// BoxSize is the box side in pixels before rounding: the box has
	// 2·int(BoxSize/2)+1 pixels per side. TraP: 10·max(a_beam, b_beam).
	BoxSize float64
	Fixed   ForcedFixed
	Errors  ErrorModel
	// EpsRA, EpsDec (degrees) and EwSysErr, NsSysErr (arcsec) as in
	// MeasureConfig.
	EpsRA, EpsDec      float64
	EwSysErr, NsSysErr float64
}

// DefaultForcedConfig returns TraP's forced-fit settings for a beam: box
// 10·max(a, b), position and shape fixed, 10 arcsec systematic errors.
func DefaultForcedConfig(beam Beam) ForcedConfig {
	return ForcedConfig{
		BoxSize:  10 * math.Max(beam.A, beam.B),
		Fixed:    FixPositionShape,
		Errors:   DefaultErrorModel(),
		EwSysErr: 10,
		NsSysErr: 10,
	}
}

// FitFixed fits the beam-shaped Gaussian at each requested sky position
// (degrees) in the background-subtracted image d with rms map rms (SPEC
// 4.15, no threshold: the whole box is fitted). Masked pixels are NaN in d
// or rms. A position is dropped when the WCS fails, when it lies outside
// the image, when a pixel of the 3×3 box around (int x, int y) or the rms
// there is NaN, or when its errors are infinite; reasons[i] (len(positions)
// long, reused from the argument) says why position i was dropped or is
// DropNone. Each kept Source has ID = i. The model is centred exactly on the
// requested position (SPEC decision 5), and negative peaks are kept.
// It panics if d and rms differ in shape.
func (m *Measurer) FitFixed(dst []Source, reasons []DropReason, d, rms *Image, positions [][2]float64, beam Beam, proj Projector, cfg *ForcedConfig) ([]Source, []DropReason, error) {
	if d.Rect != rms.Rect {
		panic(badForcedArgs)
	}
	if err := checkBeam(beam); err != nil {
		return dst, reasons, err
	}
	if cap(reasons) < len(positions) {
		reasons = make([]DropReason, len(positions))
	}
	reasons = reasons[:len(positions)]
	fudge := m.fudgeFor(beam)
	w := &m.workspaces(1)[0]
	for i, pos := range positions {
		var s Source
		r := w.fitFixed(&s, d, rms, pos[0], pos[1], beam, fudge, proj, cfg)
		reasons[i] = r
		if r == DropNone {
			s.ID = i
			dst = append(dst, s)
		}
	}
	return dst, reasons, nil
}

func (w *measureWS) fitFixed(s *Source, d, rms *Image, ra, dec float64, beam Beam, fudge float64, proj Projector, cfg *ForcedConfig) DropReason {
	x, y, ix, iy, why := locateFixed(proj, ra, dec, d.Rect)
	if why != DropNone {
		return why
	}
	return w.fitFixedAt(s, d, rms, d.Rect, x, y, ix, iy, beam, fudge, proj, cfg)
}

// locateFixed is step 1 of a forced fit: the pixel position (x, y) of
// (ra, dec) and its pixel (ix, iy) in the image rectangle r, or why the
// position is dropped (DropSky, DropOutside).
func locateFixed(proj Projector, ra, dec float64, r image.Rectangle) (x, y float64, ix, iy int, why DropReason) {
	x, y, err := proj.SkyToPix(ra, dec)
	if err != nil || math.IsNaN(x) || math.IsNaN(y) {
		return 0, 0, 0, 0, DropSky
	}
	// In image coordinates (r.Min is the image's (0, 0) for a whole
	// image).
	fx, fy := x-float64(r.Min.X), y-float64(r.Min.Y)
	if fx < 0 || fy < 0 || fx > float64(r.Dx()) || fy > float64(r.Dy()) {
		return 0, 0, 0, 0, DropOutside
	}
	ix, iy = r.Min.X+int(fx), r.Min.Y+int(fy)
	if !(image.Point{ix, iy}.In(r)) {
		return 0, 0, 0, 0, DropOutside
	}
	return x, y, ix, iy, DropNone
}

// fixedRect is the rectangle of the image r that steps 2 and 3 of a
// forced fit at pixel (ix, iy) read: the fit box and the 3×3 box.
func fixedRect(ix, iy int, r image.Rectangle, cfg *ForcedConfig) image.Rectangle {
	hb := cfg.BoxSize / 2
	if !(hb >= 0 && hb < 1<<30) {
		return r // the box lies in r anyway (NaN, negative and absurd sizes)
	}
	h := max(int(hb), 1)
	return image.Rect(ix-h, iy-h, ix+h+1, iy+h+1).Intersect(r)
}

// fitFixedAt is steps 2-5 of a forced fit located at (x, y), pixel
// (ix, iy), on the image rectangle r. d and rms may cover only
// fixedRect(ix, iy, r, cfg) of it.
func (w *measureWS) fitFixedAt(s *Source, d, rms *Image, r image.Rectangle, x, y float64, ix, iy int, beam Beam, fudge float64, proj Projector, cfg *ForcedConfig) DropReason {
	// Step 2: the 3×3 box (clipped to the image) and the rms at the pixel.
	for yy := iy - 1; yy <= iy+1; yy++ {
		for xx := ix - 1; xx <= ix+1; xx++ {
			if (image.Point{xx, yy}.In(r)) && math.IsNaN(float64(d.Pix[d.PixOffset(xx, yy)])) {
				return DropMasked
			}
		}
	}
	noise := float64(rms.Pix[rms.PixOffset(ix, iy)])
	if math.IsNaN(noise) {
		return DropMasked
	}
	// Step 3: the box.
	h := int(cfg.BoxSize / 2)
	box := image.Rect(ix-h, iy-h, ix+h+1, iy+h+1).Intersect(r)
	px := &w.pix
	px.reset(box.Min, box.Dx(), box.Dy())
	rowMax := 0
	for yy := box.Min.Y; yy < box.Max.Y; yy++ {
		o := d.PixOffset(box.Min.X, yy)
		dv := d.Pix[o : o+box.Dx()]
		ro := rms.PixOffset(box.Min.X, yy)
		rv := rms.Pix[ro : ro+len(dv)]
		cnt := 0
		for i, v := range dv {
			if math.IsNaN(float64(v)) || math.IsNaN(float64(rv[i])) {
				continue
			}
			px.add(i, yy-box.Min.Y, float64(v), float64(rv[i]))
			cnt++
		}
		rowMax = max(rowMax, cnt)
	}
	px.finish(rowMax)
	if len(px.xs) == 0 {
		return DropEmpty
	}
	var fixed [nPar]bool
	var fixedVal [nPar]float64
	if cfg.Fixed == FixPositionShape || cfg.Fixed == FixPosition {
		fixed[parX], fixed[parY] = true, true
		fixedVal[parX], fixedVal[parY] = x-float64(box.Min.X), y-float64(box.Min.Y)
	}
	if cfg.Fixed == FixPositionShape {
		fixed[parA], fixed[parB], fixed[parTheta] = true, true, true
		fixedVal[parA], fixedVal[parB], fixedVal[parTheta] = beam.A, beam.B, beam.Theta
	}
	p, fitted := w.fitGaussian(beam, fudge, 0, &fixed, &fixedVal)
	for _, v := range p {
		if !measFinite(v) {
			return DropNotFinite
		}
	}
	s.PeakPixel = image.Point{ix, iy}
	s.Sig = px.sig
	mc := MeasureConfig{Errors: cfg.Errors, EpsRA: cfg.EpsRA, EpsDec: cfg.EpsDec, EwSysErr: cfg.EwSysErr, NsSysErr: cfg.NsSysErr}
	return w.finishSource(s, &p, fitted, true, cfg.Fixed == FixPositionShape && !cfg.Errors.PySE, beam, noise, 0, proj, &mc)
}
