package kernels

import (
	"fmt"
	"image"
	"math"
	"sync"
	"sync/atomic"
)

// Source is one measured source: the output row of a blind extraction or a
// forced fit. The fields from ID to ReducedChisq map 1:1, in order, onto
// the 37 columns of PySE's CSV export (data/reference/*.csv): x, y are
// 0-based pixels (x along FITS axis 1), axes are semi-axes (HWHM) in
// pixels, Theta is in radians from +y towards −x, RA and Dec in degrees,
// Peak in image units (Jy/beam), Flux in Jy.
type Source struct {
	ID                    int     // id: row number within the image
	Peak, PeakErr         float64 // peak, peak_err (Jy/beam)
	Flux, FluxErr         float64 // flux, flux_err (Jy)
	X, XErr               float64 // x, x_err (px)
	Y, YErr               float64 // y, y_err (px)
	Smaj, SmajErr         float64 // smaj, smaj_err (px, HWHM, convolved)
	Smin, SminErr         float64 // smin, smin_err (px)
	Theta, ThetaErr       float64 // theta, theta_err (rad)
	SmajDC, SmajDCErr     float64 // smaj_dc, smaj_dc_err: deconvolved (px, HWHM)
	SminDC, SminDCErr     float64 // smin_dc, smin_dc_err (px)
	ThetaDC, ThetaDCErr   float64 // theta_dc, theta_dc_err: deconvolved PA (degrees, (−90, 90])
	RA, RAErr             float64 // ra, ra_err (deg; the error includes eps_ra)
	Dec, DecErr           float64 // dec, dec_err (deg; includes eps_dec)
	SmajAsec, SmajAsecErr float64 // smaj_asec, smaj_asec_err (arcsec)
	SminAsec, SminAsecErr float64 // smin_asec, smin_asec_err (arcsec)
	ThetaCeles            float64 // theta_celes: PA east of north (deg, [0, 180))
	ThetaCelesErr         float64 // theta_celes_err (deg)
	ThetaDCCeles          float64 // theta_dc_celes (deg, [0, 180))
	ThetaDCCelesErr       float64 // theta_dc_celes_err (deg)
	ErrorRadius           float64 // error_radius (arcsec)
	Sig                   float64 // sig: max(D/rms) over the island or box
	Chisq, ReducedChisq   float64 // chisq, reduced_chisq = chisq/(N/beamsize)

	// Not CSV columns: TraP's export and pipeline bookkeeping.
	Gaussian           bool        // fit_type: true for a Gaussian fit, false for moments
	EwSysErr, NsSysErr float64     // systematic errors passed through (arcsec); NsSysErr is itself (decision 9)
	DCImposs           int         // DECONV's ierr: axes that could not be deconvolved
	Label              int32       // island label (0 for a forced fit)
	PeakPixel          image.Point // island peak pixel, or the forced-fit pixel (int x, int y)
	NPix               int         // pixels measured
	// Deblended and Blended are the island's flags (Island): a component
	// of a deblended island; an island the deblending test would split,
	// measured as one source. Both false for a forced fit.
	Deblended, Blended bool
}

// MeasureMode selects the measurement path of SPEC 4.7/4.8.
type MeasureMode int

const (
	// ModeGaussian fits an elliptical Gaussian by least squares (SPEC 4.8).
	ModeGaussian MeasureMode = iota
	// ModeMoments uses PySE's vectorised tweaked moments (SPEC 4.7).
	ModeMoments
)

func (m MeasureMode) String() string {
	switch m {
	case ModeGaussian:
		return "gaussian"
	case ModeMoments:
		return "moments"
	}
	return fmt.Sprintf("MeasureMode(%d)", int(m))
}

// MeasureConfig holds the measurement settings of SPEC 4.1.
type MeasureConfig struct {
	Mode      MeasureMode
	ForceBeam bool // fix the shape to the beam (SPEC 4.12)
	Errors    ErrorModel
	// EpsRA, EpsDec are systematic position errors added to ra_err and
	// dec_err (degrees).
	EpsRA, EpsDec float64
	// EwSysErr, NsSysErr are passed through to each Source (arcsec).
	EwSysErr, NsSysErr float64
	// Threads bounds the goroutines measuring islands; <= 1 is serial.
	Threads int
}

// DefaultMeasureConfig returns TraP's job defaults (SPEC decisions, 4.1):
// Gaussian fit with force_beam, 10 arcsec systematic errors, no eps, PySE's
// error model, serial.
func DefaultMeasureConfig() MeasureConfig {
	return MeasureConfig{
		Mode:      ModeGaussian,
		ForceBeam: true,
		Errors:    DefaultErrorModel(),
		EwSysErr:  10,
		NsSysErr:  10,
		Threads:   1,
	}
}

// DropReason says why a source was not measured.
type DropReason int

const (
	DropNone         DropReason = iota
	DropEmpty                   // the island or box has no usable pixels
	DropNotFinite               // the measured parameters are not finite
	DropNegativePeak            // moments (or failed-fit) peak < 0 (SPEC 4.7 step 9)
	DropSky                     // pixel→sky conversion failed
	DropInfiniteErr             // ra_err or dec_err infinite or NaN
	DropOutside                 // forced fit: position outside the image (SPEC 4.15 step 1)
	DropMasked                  // forced fit: masked (NaN) pixel near the position (step 2)
	nDropReasons
)

var dropNames = [nDropReasons]string{"none", "empty", "not finite", "negative peak", "sky conversion", "infinite errors", "outside image", "masked"}

func (r DropReason) String() string {
	if r >= 0 && r < nDropReasons {
		return dropNames[r]
	}
	return fmt.Sprintf("DropReason(%d)", int(r))
}

// MeasureStats counts the measured and dropped sources of one call.
type MeasureStats struct {
	Measured int
	Dropped  [nDropReasons]int
}

// NDropped returns the number of dropped sources.
func (s *MeasureStats) NDropped() int {
	n := 0
	for _, c := range s.Dropped {
		n += c
	}
	return n
}

// measureWS is one worker's reusable workspace.
type measureWS struct {
	pix islandPix
	lm  lmSolver
}

// slot is the result of one island before compaction.
type slot struct {
	src    Source
	reason DropReason
}

// Measurer measures islands, reusing its workspaces across calls, so that
// after warm-up a serial Measure allocates nothing. A Measurer is not safe
// for concurrent use; use one per goroutine (Threads parallelises inside).
type Measurer struct {
	ws    []measureWS
	slots []slot
	// fudge_max_pix cache for the last beam.
	beam      Beam
	fudge     float64
	fudgeVar  float64
	haveFudge bool
}

func (m *Measurer) fudgeFor(beam Beam) float64 {
	if !m.haveFudge || beam != m.beam {
		m.fudge, m.fudgeVar = FudgeMaxPix(beam)
		m.beam, m.haveFudge = beam, true
	}
	return m.fudge
}

func (m *Measurer) workspaces(n int) []measureWS {
	if len(m.ws) < n {
		m.ws = append(m.ws, make([]measureWS, n-len(m.ws))...)
	}
	return m.ws[:n]
}

// checkBeam reports a beam that measurement cannot use.
func checkBeam(beam Beam) error {
	if !(beam.A > 0 && beam.B > 0) || !measFinite(beam.A) || !measFinite(beam.B) || !measFinite(beam.Theta) {
		return fmt.Errorf("kernels: invalid beam %+v", beam)
	}
	return nil
}

// Measure measures every island of det in order (SPEC 4.7-4.11) and appends
// the sources to dst, numbering them from len(dst). Sources whose
// measurement fails are dropped and counted in the returned stats. The
// result does not depend on cfg.Threads. It returns an error only for an
// unusable beam; it panics if det's images and labels disagree in size.
func (m *Measurer) Measure(dst []Source, det *Detections, beam Beam, proj Projector, cfg *MeasureConfig) ([]Source, MeasureStats, error) {
	var st MeasureStats
	if err := checkBeam(beam); err != nil {
		return dst, st, err
	}
	if det.D == nil || det.RMS == nil || det.RMS.Rect != det.D.Rect || det.RMS.Stride != det.D.Stride ||
		len(det.Labels) < len(det.D.Pix) && len(det.D.Pix) > 0 {
		panic(badDetections)
	}
	n := len(det.Islands)
	if n == 0 {
		return dst, st, nil
	}
	for i := range det.Islands {
		if !det.Islands[i].Box.In(det.D.Rect) {
			panic(badIslandBox)
		}
	}
	fudge := m.fudgeFor(beam)
	if cap(m.slots) < n {
		m.slots = make([]slot, n)
	}
	slots := m.slots[:n]
	threads := max(1, cfg.Threads)
	threads = min(threads, n)
	ws := m.workspaces(threads)
	if threads == 1 {
		for i := range slots {
			slots[i] = slot{}
			slots[i].reason = ws[0].measureIsland(&slots[i].src, det, &det.Islands[i], beam, fudge, proj, cfg)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		const chunk = 4
		for w := range ws {
			wg.Add(1)
			go func(w *measureWS) {
				defer wg.Done()
				for {
					lo := int(next.Add(chunk)) - chunk
					if lo >= n {
						return
					}
					for i := lo; i < min(lo+chunk, n); i++ {
						slots[i] = slot{}
						slots[i].reason = w.measureIsland(&slots[i].src, det, &det.Islands[i], beam, fudge, proj, cfg)
					}
				}
			}(&ws[w])
		}
		wg.Wait()
	}
	for i := range slots {
		if r := slots[i].reason; r != DropNone {
			st.Dropped[r]++
			continue
		}
		s := slots[i].src
		s.ID = len(dst)
		dst = append(dst, s)
		st.Measured++
	}
	return dst, st, nil
}

// measureIsland measures one island into s and returns DropNone, or why it
// was dropped.
func (w *measureWS) measureIsland(s *Source, det *Detections, isl *Island, beam Beam, fudge float64, proj Projector, cfg *MeasureConfig) DropReason {
	px := &w.pix
	if !px.gatherIsland(det, isl) {
		return DropEmpty
	}
	t := float64(isl.Threshold)
	noise := float64(isl.Noise)
	var p [nPar]float64
	var ok, fitted bool
	if cfg.Mode == ModeMoments {
		p, ok = px.moments(beam, fudge, t, cfg.ForceBeam)
	} else {
		var fixed [nPar]bool
		var fixedVal [nPar]float64
		if cfg.ForceBeam {
			fixed[parA], fixed[parB], fixed[parTheta] = true, true, true
			fixedVal[parA], fixedVal[parB], fixedVal[parTheta] = beam.A, beam.B, beam.Theta
		}
		p, fitted = w.fitGaussian(beam, fudge, t, &fixed, &fixedVal)
		ok = true
		for _, v := range p {
			ok = ok && measFinite(v)
		}
	}
	if !ok {
		return DropNotFinite
	}
	s.Label = isl.Label
	s.PeakPixel = isl.Peak
	s.Deblended, s.Blended = isl.Deblended, isl.Blended
	s.Sig = px.sig
	return w.finishSource(s, &p, fitted, cfg.Mode == ModeGaussian, cfg.ForceBeam && !cfg.Errors.PySE, beam, noise, t, proj, cfg)
}

// finishSource fills s from the box-relative parameters p of the island in
// w.pix: flux, errors (Condon when fitted, else moments), χ², deconvolution
// and the sky columns. gaussian sets Source.Gaussian and selects the four
// sign combinations of error_radius; fixedShape selects the errors of a
// shape held at the beam (ErrorModel.PySE off).
func (w *measureWS) finishSource(s *Source, p *[nPar]float64, fitted, gaussian, fixedShape bool, beam Beam, noise, t float64, proj Projector, cfg *MeasureConfig) DropReason {
	px := &w.pix
	beamsize := math.Pi * beam.A * beam.B
	peak := p[parPeak]
	flux := math.Pi * peak * p[parA] * p[parB] / beamsize
	var e shapeErrors
	if fitted {
		peak, flux, e = condonErrors(p, flux, beam, noise, &cfg.Errors, fixedShape)
	} else {
		if peak < 0 {
			return DropNegativePeak
		}
		e = momentsErrors(p, flux, beam, noise, t, &cfg.Errors, fixedShape)
	}
	s.Peak, s.PeakErr = peak, e.peak
	s.Flux, s.FluxErr = flux, e.flux
	s.X, s.XErr = p[parX]+float64(px.origin.X), e.x
	s.Y, s.YErr = p[parY]+float64(px.origin.Y), e.y
	s.Smaj, s.SmajErr = p[parA], e.a
	s.Smin, s.SminErr = p[parB], e.b
	s.Theta, s.ThetaErr = p[parTheta], e.theta
	s.Chisq = px.chisq(p)
	s.ReducedChisq = s.Chisq / (float64(len(px.xs)) / beamsize)
	s.NPix = len(px.xs)
	s.Gaussian = gaussian
	s.EwSysErr, s.NsSysErr = cfg.EwSysErr, cfg.NsSysErr
	dc := deconvolve(p[parA], p[parB], p[parTheta], e.a, e.b, e.theta, beam)
	s.SmajDC, s.SmajDCErr = dc.smaj, dc.smajErr
	s.SminDC, s.SminDCErr = dc.smin, dc.sminErr
	s.ThetaDC, s.ThetaDCErr = dc.theta, dc.thetaErr
	s.DCImposs = dc.ierr
	if !measFinite(s.XErr) || !measFinite(s.YErr) {
		return DropInfiniteErr // p2s(x + ∞) would fail anyway (SPEC 4.15 step 8)
	}
	if err := toSky(s, proj, cfg.EpsRA, cfg.EpsDec, gaussian); err != nil {
		return DropSky
	}
	if !measFinite(s.RAErr) || !measFinite(s.DecErr) {
		return DropInfiniteErr
	}
	return DropNone
}

// chisq is Σ((v − G)/rms)² over the pixels of w for box-relative p.
func (w *islandPix) chisq(p *[nPar]float64) float64 {
	var g gaussPre
	g.set(p)
	var gw gaussWalk
	ys := w.ys[:len(w.xs)]
	vs := w.vs[:len(w.xs)]
	rms := w.rms[:len(w.xs)]
	var c float64
	for i, x := range w.xs {
		r := (vs[i] - g.eval(&gw, x, ys[i])) / rms[i]
		c += r * r
	}
	return c
}
