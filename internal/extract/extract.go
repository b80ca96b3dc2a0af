package extract

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/fitsimg"
	"gotrap/internal/hugemem"
	"gotrap/kernels"
)

// ErrOptions reports invalid extraction options; the message names the
// setting.
var ErrOptions = errors.New("extract: invalid option")

// Options are the settings of one extraction, shared by every image of a
// run. Build them with FromConfig or start from Default.
type Options struct {
	Detect  kernels.DetectConfig
	Measure kernels.MeasureConfig
	// Positions, when not empty, switches to forced fits (SPEC 4.15) at
	// these (RA, Dec) in degrees instead of a blind extraction, as PySE's
	// --fixed-posns does.
	Positions [][2]float64
	// BoxInBeamPix is the forced-fit box side in beam semi-major axes
	// (TraP's box_in_beampix, default 10).
	BoxInBeamPix float64
	// Fixed selects what a forced fit holds fixed (default position and
	// shape, TraP's).
	Fixed kernels.ForcedFixed
	// Background and RMS are user-supplied maps (SPEC 4.16) with every
	// image's rectangle; both or neither.
	Background, RMS *kernels.Image
	// Maps keeps the background, rms and significance maps of each image
	// in Result.Maps (3 extra planes per image).
	Maps bool
	// Plane is the flat index of the image plane to read (fitsimg.Options).
	Plane int
	// Stokes and Channel, when set, choose the plane by polarisation and
	// channel (fitsimg.Options).
	Stokes  string
	Channel int
	// Negative also searches for negative sources (a Stokes V image's
	// circular polarisation of either hand): the image is inverted and
	// searched again with the same settings, and each negative source is
	// appended after the positive ones with its peak and fluxes negative
	// (errors, sizes, significance and positions as measured on the
	// inverted image). Blind extraction only; not with supplied maps.
	Negative bool
	// NegativeStokesV searches for negative sources as Negative does in
	// the images whose plane is Stokes V (Meta.Stokes), and in no other:
	// gotrap run sets it, so a run over V planes finds both signs. Blind
	// extraction only (forced fits ignore it); not with supplied maps.
	NegativeStokesV bool
	// Beam, when not nil, overrides the header's restoring beam.
	Beam *fitsimg.Beam
	// Threads bounds the goroutines one image uses (<= 0: GOMAXPROCS).
	Threads int
	// SerialPixels, when > 0, extracts images of fewer pixels on one
	// goroutine whatever Threads says: for a small image, the second
	// goroutine's scratch (fresh memory, page faults) and its wake-up
	// cost more than it saves (gotrap extract sets it; docs/performance.md
	// "Start-up"). Results do not depend on it.
	SerialPixels int
	// HugePages keeps each Worker's image-sized planes (the image File
	// reads, the mask, the rms map, the labels, D when not in place, the
	// background clippers' values) in memory of the Worker's own outside
	// the Go heap, mapped with huge pages where the system has them
	// (internal/hugemem): a small image's planes then cost one page fault
	// instead of hundreds (docs/performance.md "Session 9"). Worker.Close
	// releases that memory. Results do not depend on it. gotrap extract
	// sets it.
	HugePages bool
}

// QC settings of TraP's rms_qc (SPEC 3.1): the central 1/8-width
// subregion, 4 sigma clipping.
const (
	qcFraction = 8
	qcKappa    = 4
)

// Default returns TraP's job defaults (config.Default).
func Default() Options {
	o, err := FromConfig(config.DefaultExtraction())
	if err != nil {
		panic("extract: the default configuration is invalid: " + err.Error())
	}
	return o
}

// FromConfig converts the [extraction] section of a job configuration
// into Options. It returns an error wrapping ErrOptions for an invalid
// section.
func FromConfig(e config.Extraction) (Options, error) {
	if err := e.Validate(); err != nil {
		return Options{}, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	d := kernels.DefaultDetectConfig()
	d.DetectionThr, d.AnalysisThr = e.DetectionThreshold, e.AnalysisThreshold
	d.BackSizeX, d.BackSizeY = e.BackSizeX, e.BackSizeY
	d.Margin, d.Radius = e.Margin, e.ExtractionRadiusPix
	d.RemoveEdgeSources = e.RemoveEdgeSources
	d.DeblendNThresh, d.DeblendMinCont = e.DeblendNThresh, e.DeblendMinCont
	d.RMSFilter, d.MedianFilter, d.MFThreshold = e.RMSFilter, e.MedianFilter, e.MFThreshold
	d.Edge = kernels.EdgeHold
	if e.BackgroundEdge == "pyse" {
		d.Edge = kernels.EdgePySE
	}
	d.FDR, d.FDRAlpha = e.FDR, e.FDRAlpha
	m := kernels.DefaultMeasureConfig()
	m.Mode = kernels.ModeGaussian
	if e.Mode == "moments" {
		m.Mode = kernels.ModeMoments
	}
	m.ForceBeam = e.ForceBeam
	m.EpsRA, m.EpsDec = e.EpsRA, e.EpsDec
	m.EwSysErr, m.NsSysErr = e.EwSysErr, e.NsSysErr
	m.Errors = kernels.ErrorModel{
		CleanBias: e.CleanBias, CleanBiasError: e.CleanBiasError, FracFluxCalError: e.FracFluxCalError,
		AlphaMaj1: e.AlphaMaj1, AlphaMaj2: e.AlphaMaj2, AlphaMin1: e.AlphaMin1, AlphaMin2: e.AlphaMin2,
		AlphaBrightness1: e.AlphaBrightness1, AlphaBrightness2: e.AlphaBrightness2,
		PySE: e.ErrorModel == "pyse",
	}
	return Options{Detect: d, Measure: m, BoxInBeamPix: e.BoxInBeamPix, Fixed: kernels.FixPositionShape, Threads: e.Threads}, nil
}

// Maps are the full-resolution maps of one image (Options.Maps), NaN where
// masked, with the image's rectangle and a compact stride.
type Maps struct {
	Background, RMS, Sig *kernels.Image // Sig = D / rms
}

// Timings are the wall-clock durations of the stages of one image.
// DetectStages splits Detect into its parts.
type Timings struct {
	Read, QC, Detect, Measure time.Duration
	DetectStages              kernels.DetectTimes
}

// Result is the extraction of one image.
type Result struct {
	Path string
	Meta *fitsimg.Meta // nil for Worker.Image without metadata
	Beam kernels.Beam  // restoring beam in pixels
	// Sources are the blind detections, or the forced fits when
	// Options.Positions is set (Forced true), in PySE's order.
	Sources []kernels.Source
	Forced  bool
	// ForcedReasons says, per requested position, why it was dropped
	// (kernels.DropNone when it was fitted).
	ForcedReasons []kernels.DropReason
	// Outcome says why a blind extraction found nothing (OutcomeOK when
	// it found islands).
	Outcome kernels.Outcome
	// RMSQC is TraP's image-QC rms (SPEC 3.1), of the image's pixels.
	RMSQC float64
	// RMSMin and RMSMax are the extremes of the rms map over unmasked
	// pixels (TraP's image.rms_min, rms_max); NaN without a background.
	RMSMin, RMSMax float64
	// RMSGridMedian is the median of the rms grid (NaN without one).
	RMSGridMedian float64
	// DetectionThr and AnalysisThr are the thresholds used, in units of
	// the rms (z_FDR with FDR).
	DetectionThr, AnalysisThr float64
	Islands                   int // islands detected (before measurement)
	Stats                     kernels.MeasureStats
	Times                     Timings
	Maps                      *Maps // with Options.Maps only
	// Grids are the background grids the maps were interpolated from
	// (a copy; nil with supplied maps or without a background): with
	// the image and the options they give the maps again (ForcedGrids).
	Grids *kernels.BackgroundGrids
}

// Worker extracts images one at a time, reusing its detector and
// measurement buffers across images. It is not safe for concurrent use:
// use one Worker per goroutine (Run does).
type Worker struct {
	opt Options
	det *kernels.Detector
	m   kernels.Measurer
	qc  kernels.QCScratch
	// img is the storage of the last image File read, reused by the next
	// one (the extraction consumes the image, and no result refers to it).
	img *kernels.Image
	gm  kernels.GridMaps // ForcedGrids' maps
	// arena holds the planes with Options.HugePages (nil without).
	arena  *hugemem.Arena
	closed bool
}

// errClosed is the error of a Worker used after Close.
var errClosed = errors.New("extract: the worker is closed")

// NewWorker returns a Worker for opt. It returns an error wrapping
// ErrOptions for invalid settings.
func NewWorker(opt Options) (*Worker, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	cfg := opt.Detect
	if cfg.FDR && cfg.Beam == (kernels.Beam{}) {
		// FDR's threshold depends on each image's beam, known only when
		// the image is read: the detector starts with a placeholder beam
		// of one pixel, replaced by the image's before it detects
		// (Extract); an image with that very beam gets the same
		// threshold either way.
		cfg.Beam = kernels.Beam{A: 1, B: 1}
	}
	det, err := kernels.NewDetector(cfg, opt.Threads)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrOptions, err)
	}
	w := &Worker{opt: opt, det: det}
	if opt.HugePages {
		w.arena = hugemem.New()
		det.SetPlanes(w.arena)
	}
	return w, nil
}

// planes is the storage of the Worker's planes: its arena, or nil for the
// Go heap (never a nil *hugemem.Arena in the interface).
func (w *Worker) planes() kernels.Planes {
	if w.arena == nil {
		return nil
	}
	return w.arena
}

// Close releases the Worker's memory outside the Go heap
// (Options.HugePages); the Worker cannot be used after it (its methods
// return an error). Results returned before stay valid: they own their
// slices. Close is safe to call more than once and returns nil without
// HugePages.
func (w *Worker) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.det.Release()
	kernels.FreeImage(w.planes(), w.img)
	w.img = nil
	if w.arena == nil {
		return nil
	}
	if err := w.arena.Close(); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	return nil
}

func (o *Options) validate() error {
	if (o.Background == nil) != (o.RMS == nil) {
		return fmt.Errorf("%w: supplied background and rms maps go together", ErrOptions)
	}
	if o.Background != nil && o.Background.Rect != o.RMS.Rect {
		return fmt.Errorf("%w: supplied maps differ in size (%v, %v)", ErrOptions, o.Background.Rect, o.RMS.Rect)
	}
	if o.Negative && (len(o.Positions) > 0 || o.Background != nil) || o.NegativeStokesV && o.Background != nil {
		return fmt.Errorf("%w: the negative-source search is for blind extraction without supplied maps", ErrOptions)
	}
	if len(o.Positions) > 0 && !(o.BoxInBeamPix > 0) {
		return fmt.Errorf("%w: forced-fit box %v beam axes", ErrOptions, o.BoxInBeamPix)
	}
	for _, p := range o.Positions {
		if math.IsNaN(p[0]) || math.IsNaN(p[1]) || math.Abs(p[1]) > 90 || math.IsInf(p[0], 0) {
			return fmt.Errorf("%w: position (%v, %v)", ErrOptions, p[0], p[1])
		}
	}
	return nil
}

// File reads the FITS image path and extracts it. Errors (unreadable
// files, missing metadata, supplied maps of another size) name the file;
// an image without sources is not an error (Result.Outcome says why).
func (w *Worker) File(path string) (*Result, error) {
	if w.closed {
		return nil, errClosed
	}
	t0 := time.Now()
	img, meta, err := fitsimg.ReadInto(w.img, path, fitsimg.Options{Plane: w.opt.Plane, Stokes: w.opt.Stokes, Channel: w.opt.Channel, Beam: w.opt.Beam, Planes: w.planes()})
	if err != nil {
		return nil, err
	}
	if w.img != nil && cap(w.img.Pix) < len(img.Pix) {
		// ReadInto did not reuse w.img's storage (too small): give it back.
		kernels.FreeImage(w.planes(), w.img)
	}
	w.img = img
	read := time.Since(t0)
	r, err := w.Image(img, meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.Times.Read = read
	return r, nil
}

// Image extracts img, whose metadata (beam, WCS) are meta. The image is
// consumed: its pixels are overwritten with the background-subtracted
// data D (NaN where masked), which saves a plane of memory. The returned
// Result owns its slices.
func (w *Worker) Image(img *kernels.Image, meta *fitsimg.Meta) (*Result, error) {
	return w.image(img, meta, nil)
}

// ImageQC is Image for a caller that has computed the image's rms_qc
// already (the pipeline's quality control, with its own settings): it is
// Result.RMSQC, and the worker does not compute it again.
func (w *Worker) ImageQC(img *kernels.Image, meta *fitsimg.Meta, rmsQC float64) (*Result, error) {
	return w.image(img, meta, &rmsQC)
}

// image is Image, with rms_qc given when rmsQC is not nil.
func (w *Worker) image(img *kernels.Image, meta *fitsimg.Meta, rmsQC *float64) (*Result, error) {
	opt := &w.opt
	if w.closed {
		return nil, errClosed
	}
	if meta == nil || meta.WCS == nil {
		return nil, fmt.Errorf("extract: image metadata with a WCS are required")
	}
	if opt.Background != nil && opt.Background.Rect != img.Rect {
		return nil, fmt.Errorf("extract: image is %dx%d but the supplied maps are %dx%d",
			img.Rect.Dx(), img.Rect.Dy(), opt.Background.Rect.Dx(), opt.Background.Rect.Dy())
	}
	beam := kernels.Beam{A: meta.BeamPx.SMaj, B: meta.BeamPx.SMin, Theta: meta.BeamPx.Theta}
	r := &Result{Path: meta.Path, Meta: meta, Beam: beam, Forced: len(opt.Positions) > 0}

	var inverted *kernels.Image
	if (opt.Negative || opt.NegativeStokesV && strings.EqualFold(meta.Stokes, "V")) && !r.Forced {
		// Detection consumes img: keep the inverted copy first.
		var err error
		if inverted, err = kernels.NewImage(img.Rect); err != nil {
			return nil, fmt.Errorf("extract: %w", err)
		}
		for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
			dst, src := inverted.Row(y), img.Row(y)
			for i, v := range src {
				dst[i] = -v
			}
		}
	}
	t := time.Now()
	if rmsQC != nil {
		r.RMSQC = *rmsQC
	} else if img.Rect.Dx() > 0 && img.Rect.Dy() > 0 {
		r.RMSQC = w.qc.RMSQC(img, qcFraction, qcKappa)
	} else {
		r.RMSQC = math.NaN()
	}
	r.Times.QC = time.Since(t)

	if opt.Detect.FDR && w.det.Config().Beam != beam {
		// FDR's C_n depends on the beam: a new detector for a new beam.
		cfg := opt.Detect
		cfg.Beam = beam
		det, err := kernels.NewDetector(cfg, opt.Threads)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrOptions, err)
		}
		w.det.Release()
		det.SetPlanes(w.planes())
		w.det = det
	}
	t = time.Now()
	threads := w.imageThreads(img)
	det, rep := w.det.DetectWith(img, kernels.DetectOptions{Background: opt.Background, RMS: opt.RMS, InPlace: true, Threads: threads})
	r.Times.Detect = time.Since(t)
	r.Times.DetectStages = rep.Times
	r.Outcome = rep.Outcome
	r.RMSMin, r.RMSMax, r.RMSGridMedian = rep.RMSMin, rep.RMSMax, rep.RMSGridMedian
	r.DetectionThr, r.AnalysisThr = rep.DetectionThr, rep.AnalysisThr
	r.Islands = len(det.Islands)

	if opt.Background == nil && !rep.Grids.Empty() {
		g := rep.Grids
		r.Grids = &kernels.BackgroundGrids{Frame: g.Frame, CellX: g.CellX, CellY: g.CellY, NX: g.NX, NY: g.NY,
			Mean: slices.Clone(g.Mean), RMS: slices.Clone(g.RMS), Filled: slices.Clone(g.Filled)}
	}

	t = time.Now()
	var err error
	if r.Forced {
		fc := w.forcedConfig(beam)
		r.Sources, r.ForcedReasons, err = w.m.FitFixed(nil, nil, det.D, det.RMS, opt.Positions, beam, meta.WCS, &fc)
		r.forcedStats()
	} else if len(det.Islands) > 0 {
		mc := opt.Measure
		mc.Threads = threads
		r.Sources, r.Stats, err = w.m.Measure(nil, det, beam, meta.WCS, &mc)
	}
	r.Times.Measure = time.Since(t)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	if opt.Maps {
		r.Maps = w.maps(det, rep, threads)
	}
	if inverted != nil {
		if err := w.negative(r, inverted, beam, meta); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// negative searches the inverted image for sources and appends them to r
// with their peak and fluxes negated (Options.Negative, NegativeStokesV).
func (w *Worker) negative(r *Result, inverted *kernels.Image, beam kernels.Beam, meta *fitsimg.Meta) error {
	t := time.Now()
	threads := w.imageThreads(inverted)
	det, _ := w.det.DetectWith(inverted, kernels.DetectOptions{InPlace: true, Threads: threads})
	r.Times.Detect += time.Since(t)
	r.Islands += len(det.Islands)
	if len(det.Islands) == 0 {
		return nil
	}
	t = time.Now()
	mc := w.opt.Measure
	mc.Threads = threads
	neg, _, err := w.m.Measure(nil, det, beam, meta.WCS, &mc)
	r.Times.Measure += time.Since(t)
	if err != nil {
		return fmt.Errorf("extract: negative sources: %w", err)
	}
	for i := range neg {
		s := &neg[i]
		s.ID = len(r.Sources)
		s.Peak, s.Flux = -s.Peak, -s.Flux
		r.Sources = append(r.Sources, *s)
	}
	return nil
}

// forcedConfig returns the forced-fit settings for beam.
func (w *Worker) forcedConfig(beam kernels.Beam) kernels.ForcedConfig {
	opt := &w.opt
	return kernels.ForcedConfig{
		BoxSize: opt.BoxInBeamPix * math.Max(beam.A, beam.B),
		Fixed:   opt.Fixed,
		Errors:  opt.Measure.Errors,
		EpsRA:   opt.Measure.EpsRA, EpsDec: opt.Measure.EpsDec,
		EwSysErr: opt.Measure.EwSysErr, NsSysErr: opt.Measure.NsSysErr,
	}
}

// forcedStats counts the forced fits and their drops.
func (r *Result) forcedStats() {
	r.Stats.Measured = len(r.Sources)
	for _, why := range r.ForcedReasons {
		r.Stats.Dropped[why]++
	}
	r.Stats.Dropped[kernels.DropNone] = 0
}

// ForcedGrids does the forced fits of Image (Options.Positions must be
// set) from the background grids g that the blind extraction of the same
// image with the same options reported (Result.Grids), rebuilding the
// background-subtracted and rms maps only inside the fit boxes
// (kernels.GridMaps): Sources, ForcedReasons and Stats.Measured, Dropped
// are Image's, bit for bit; RMSQC, the thresholds, the rms extremes,
// Islands and Maps are not computed (NaN, 0, nil). img is not modified.
// With supplied maps (Options.Background) or g nil it is Image.
func (w *Worker) ForcedGrids(img *kernels.Image, meta *fitsimg.Meta, g *kernels.BackgroundGrids) (*Result, error) {
	opt := &w.opt
	if opt.Background != nil || g == nil || len(opt.Positions) == 0 || opt.Maps {
		return w.Image(img, meta)
	}
	if w.closed {
		return nil, errClosed
	}
	if meta == nil || meta.WCS == nil {
		return nil, fmt.Errorf("extract: image metadata with a WCS are required")
	}
	beam := kernels.Beam{A: meta.BeamPx.SMaj, B: meta.BeamPx.SMin, Theta: meta.BeamPx.Theta}
	nan := math.NaN()
	r := &Result{Path: meta.Path, Meta: meta, Beam: beam, Forced: true, RMSQC: nan, RMSMin: nan, RMSMax: nan,
		RMSGridMedian: nan, DetectionThr: nan, AnalysisThr: nan, Grids: g}
	t := time.Now()
	w.gm.Reset(img, g, opt.Detect.Margin, opt.Detect.Radius, opt.Detect.Edge)
	fc := w.forcedConfig(beam)
	var err error
	r.Sources, r.ForcedReasons, err = w.m.FitFixedMaps(nil, nil, &w.gm, opt.Positions, beam, meta.WCS, &fc)
	r.forcedStats()
	r.Times.Measure = time.Since(t)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	return r, nil
}

func (w *Worker) threads() int {
	if w.opt.Threads > 0 {
		return w.opt.Threads
	}
	return maxProcs()
}

// imageThreads is the number of goroutines for img: 1 below
// Options.SerialPixels, else threads().
func (w *Worker) imageThreads(img *kernels.Image) int {
	if n := img.Rect.Dx() * img.Rect.Dy(); w.opt.SerialPixels > 0 && n < w.opt.SerialPixels {
		return 1
	}
	return w.threads()
}

// maps builds the full-resolution maps of the last detection.
func (w *Worker) maps(det *kernels.Detections, rep *kernels.DetectReport, threads int) *Maps {
	rect := det.D.Rect
	n := rect.Dx() * rect.Dy()
	mk := func() *kernels.Image {
		return &kernels.Image{Pix: make([]float32, n), Stride: rect.Dx(), Rect: rect}
	}
	bkg, rms, sig := mk(), mk(), mk()
	nan := float32(math.NaN())
	if w.opt.Background != nil {
		for y := range rect.Dy() {
			copy(bkg.Pix[y*rect.Dx():(y+1)*rect.Dx()], w.opt.Background.Row(rect.Min.Y+y))
		}
	} else if !rep.Grids.Empty() {
		kernels.BackgroundMapsTo(bkg, rms, rep.Grids, make([]bool, n), w.opt.Detect.Edge, threads)
	} else {
		for i := range bkg.Pix {
			bkg.Pix[i] = nan
		}
	}
	for i, r := range det.RMS.Pix {
		rms.Pix[i] = r
		sig.Pix[i] = det.D.Pix[i] / r
		if r != r {
			bkg.Pix[i] = nan // masked
		}
	}
	return &Maps{Background: bkg, RMS: rms, Sig: sig}
}
