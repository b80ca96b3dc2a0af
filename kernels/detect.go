package kernels

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"time"
)

// ErrDetectConfig reports an invalid DetectConfig (a setting out of range);
// the wrapped message names the setting.
var ErrDetectConfig = errors.New("kernels: invalid detection setting")

// DetectConfig holds the source-detection settings of SPEC 4.1. The zero
// value is not useful: start from DefaultDetectConfig.
type DetectConfig struct {
	DetectionThr float64 // island acceptance: peak > DetectionThr * rms at the peak
	AnalysisThr  float64 // island pixels: D > AnalysisThr * rms (0 with FDR: use z_FDR)
	BackSizeX    int     // background cell width along x, pixels
	BackSizeY    int     // background cell height along y, pixels
	Margin       int     // masked border width, pixels (0: off)
	Radius       float64 // extraction radius about the image centre, pixels (0: off)
	// RemoveEdgeSources discards islands that touch the image border or
	// hold a masked pixel (PySE's remove_edge_sources; masked pixels then
	// count as candidates while labelling).
	RemoveEdgeSources bool
	DeblendNThresh    int     // deblending levels (0: off; at most 300)
	DeblendMinCont    float64 // minimum flux fraction of a deblended sub-island
	RMSFilter         float64 // candidates need rms >= RMSFilter * median(rms grid)
	MedianFilter      int     // size of the median filter of the grids (0: off)
	MFThreshold       float64 // the median filter replaces a node only above this change (0: always)
	Edge              EdgeMode
	FDR               bool    // threshold by the False Detection Rate (SPEC 4.13)
	FDRAlpha          float64 // FDR alpha
	// Beam is the restoring beam in pixels; only FDR uses it (C_n).
	Beam Beam
}

// MaxDeblendNThresh caps DeblendNThresh, as PySE does.
const MaxDeblendNThresh = 300

// DefaultDetectConfig returns TraP's job defaults (SPEC 4.1, with the
// decisions of SPEC's top: extraction radius off, edge-hold maps):
// detection 8, analysis 3, 50 x 50 cells, margin 10, radius 0,
// remove_edge_sources on, no deblending (mincont 0.005), rms_filter
// 0.001, no median filter, EdgeHold, FDR off with alpha 0.01.
func DefaultDetectConfig() DetectConfig {
	return DetectConfig{
		DetectionThr:      8,
		AnalysisThr:       3,
		BackSizeX:         50,
		BackSizeY:         50,
		Margin:            10,
		Radius:            0,
		RemoveEdgeSources: true,
		DeblendNThresh:    0,
		DeblendMinCont:    0.005,
		RMSFilter:         0.001,
		MedianFilter:      0,
		MFThreshold:       0,
		Edge:              EdgeHold,
		FDR:               false,
		FDRAlpha:          0.01,
	}
}

// Validate reports the first setting out of range, wrapping
// ErrDetectConfig.
func (c *DetectConfig) Validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !finite(c.DetectionThr):
		return fmt.Errorf("%w: detection threshold %v", ErrDetectConfig, c.DetectionThr)
	case !finite(c.AnalysisThr):
		return fmt.Errorf("%w: analysis threshold %v", ErrDetectConfig, c.AnalysisThr)
	case c.BackSizeX <= 0 || c.BackSizeY <= 0:
		return fmt.Errorf("%w: background cell %d x %d", ErrDetectConfig, c.BackSizeX, c.BackSizeY)
	case c.Margin < 0:
		return fmt.Errorf("%w: margin %d", ErrDetectConfig, c.Margin)
	case !finite(c.Radius) || c.Radius < 0:
		return fmt.Errorf("%w: extraction radius %v", ErrDetectConfig, c.Radius)
	case c.DeblendNThresh < 0:
		return fmt.Errorf("%w: deblend_nthresh %d", ErrDetectConfig, c.DeblendNThresh)
	case !finite(c.DeblendMinCont) || c.DeblendMinCont < 0:
		return fmt.Errorf("%w: deblend_mincont %v", ErrDetectConfig, c.DeblendMinCont)
	case !finite(c.RMSFilter) || c.RMSFilter < 0:
		return fmt.Errorf("%w: rms_filter %v", ErrDetectConfig, c.RMSFilter)
	case c.MedianFilter < 0:
		return fmt.Errorf("%w: median_filter %d", ErrDetectConfig, c.MedianFilter)
	case !finite(c.MFThreshold):
		return fmt.Errorf("%w: mf_threshold %v", ErrDetectConfig, c.MFThreshold)
	case c.Edge != EdgeHold && c.Edge != EdgePySE:
		return fmt.Errorf("%w: background edge mode %d", ErrDetectConfig, int(c.Edge))
	case c.FDR && !(c.FDRAlpha > 0 && c.FDRAlpha < 1):
		return fmt.Errorf("%w: FDR alpha %v", ErrDetectConfig, c.FDRAlpha)
	case c.FDR && !(c.Beam.A > 0 && c.Beam.B > 0 && finite(c.Beam.A*c.Beam.B)):
		return fmt.Errorf("%w: FDR needs the beam, got %+v", ErrDetectConfig, c.Beam)
	}
	return nil
}

// Outcome says why an image gave no islands; it is OutcomeOK when it gave
// some. None of these is an error: the caller logs the reason and goes on.
type Outcome int

const (
	OutcomeOK             Outcome = iota // islands were found
	OutcomeEmptyImage                    // the image has no pixels
	OutcomeAllMasked                     // every pixel is masked (NaN, margin, radius or caller mask)
	OutcomeTooSmall                      // the unmasked area is not larger than one background cell along x or y
	OutcomeNoBackground                  // every background cell is masked or flat (e.g. a constant image)
	OutcomeFDRNoThreshold                // FDR found no threshold (no p-value under the FDR line)
	OutcomeNoCandidates                  // no pixel above the analysis threshold
	OutcomeNoIslands                     // no island passed the detection threshold and edge tests
)

var outcomeText = [...]string{
	OutcomeOK:             "ok",
	OutcomeEmptyImage:     "empty image",
	OutcomeAllMasked:      "all pixels masked",
	OutcomeTooSmall:       "unmasked area smaller than two background cells along an axis",
	OutcomeNoBackground:   "no usable background cell (all masked or flat)",
	OutcomeFDRNoThreshold: "FDR found no threshold",
	OutcomeNoCandidates:   "no pixel above the analysis threshold",
	OutcomeNoIslands:      "no island above the detection threshold",
}

// String returns a short reason for logs.
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeText) {
		return outcomeText[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// DetectReport describes one Detect call beside its Detections.
type DetectReport struct {
	Outcome Outcome
	// Chunk is the bounding box of the unmasked pixels (image coordinates).
	Chunk image.Rectangle
	// Grids are the background and rms grids (empty when there is none).
	Grids *BackgroundGrids
	// RMSGridMedian and RMSGridMin are the median and minimum of the rms
	// grid (NaN without a grid).
	RMSGridMedian, RMSGridMin float64
	// RMSMin and RMSMax are the extremes of the rms map over unmasked
	// pixels: TraP's image.rms_min and rms_max (NaN without a grid).
	RMSMin, RMSMax float64
	// DetectionThr and AnalysisThr are the thresholds used, in units of
	// the rms: the configured ones, or z_FDR with FDR.
	DetectionThr, AnalysisThr float64
	Candidates                int // unmasked pixels above the analysis threshold
	Components                int // connected components (masked pixels included)
	Accepted                  int // islands that passed before deblending
	// Times are the wall-clock durations of the stages of this call.
	Times DetectTimes
}

// DetectTimes are the stages of one Detect call: the mask; the
// background and rms grids; the pixel pass (maps, D, candidate flags and
// runs, fused per block of rows); and the labelling (union-find,
// acceptance, label painting, deblending).
type DetectTimes struct {
	Mask, Background, Maps, Label time.Duration
}

// Detector runs the detection stage of SPEC 4.2-4.6 and 4.13 on images,
// one at a time, reusing its buffers across calls. It is not safe for
// concurrent use; use one Detector per goroutine.
type Detector struct {
	cfg     DetectConfig
	threads int

	mask   []bool
	ownD   []float32 // D's own buffer (unused while D is computed in place)
	grids  BackgroundGrids
	ip     interpolator
	dimg   Image
	rimg   Image
	labels []int32
	det    Detections
	rep    DetectReport

	blocks  []detBlock
	workers []detWorker
	ls      labelScratch
	runs    []labelRun
	order   []int32
	fdrBuf  []float64
	db      deblendScratch
	anl     float64
	rmsMin  float64 // rms floor of the candidate test (rms_filter)
	remMask uint8
	planes  Planes // storage of the image-sized planes (nil: the Go heap)
}

// detBlock is the per-row-block output of the pixel pass.
type detBlock struct {
	runs       []labelRun
	rmin, rmax float64
	ncand      int
}

// detWorker is the per-goroutine scratch of the pixel pass.
type detWorker struct {
	gm, gr []float64
	bkg    []float32
	flags  []uint8
}

// detRowBlock is the number of rows of one unit of parallel work.
const detRowBlock = 16

// NewDetector returns a Detector for cfg that uses at most threads
// goroutines (threads <= 0 means GOMAXPROCS). Results do not depend on
// threads. It returns an error wrapping ErrDetectConfig for an invalid cfg.
func NewDetector(cfg DetectConfig, threads int) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.DeblendNThresh = min(cfg.DeblendNThresh, MaxDeblendNThresh)
	return &Detector{cfg: cfg, threads: threads}, nil
}

// Config returns the Detector's settings.
func (d *Detector) Config() DetectConfig { return d.cfg }

// SetPlanes makes p (nil: the Go heap) the storage of the Detector's
// image-sized planes from now on: the mask, the rms map, the labels, D
// when not computed in place, and the background clippers' values. Call
// it before the first detection; planes allocated before stay where they
// are. Results do not depend on it.
func (d *Detector) SetPlanes(p Planes) {
	d.planes, d.grids.planes = p, p
}

// Release gives the Detector's planes back to its Planes (SetPlanes) and
// forgets them, with the last results that alias them; the Detector
// stays usable and allocates them again when it next detects. Without
// Planes it only drops them for the garbage collector.
func (d *Detector) Release() {
	freePlane(d.planes, d.mask)
	freePlane(d.planes, d.rimg.Pix)
	freePlane(d.planes, d.ownD)
	freePlane(d.planes, d.labels)
	for i := range d.grids.clippers {
		cc := &d.grids.clippers[i]
		freePlane(cc.planes, cc.vals)
		cc.vals = nil
	}
	d.mask, d.rimg.Pix, d.ownD, d.labels = nil, nil, nil, nil
	d.dimg.Pix = nil
	d.det = Detections{}
}

// Detect runs a fresh Detector once; see Detector.Detect.
func Detect(img *Image, mask []bool, cfg DetectConfig, threads int) (*Detections, *DetectReport, error) {
	d, err := NewDetector(cfg, threads)
	if err != nil {
		return nil, nil, err
	}
	det, rep := d.Detect(img, mask)
	return det, rep, nil
}

// Detect finds the islands of img (SPEC 4.2-4.6, PySE modern):
//
//  1. mask = margin | radius | NaN | mask (MaskTo; mask is an optional
//     caller mask in the compact layout, nil for none);
//  2. background and rms grids (ComputeBackground, MedianFilter);
//  3. maps by linear interpolation with the edge mode (BackgroundMapsTo),
//     D = data - background;
//  4. candidates: unmasked, D > AnalysisThr*rms and rms >=
//     RMSFilter*median(rms grid) (strict, then inclusive);
//  5. 8-connected components; with RemoveEdgeSources masked pixels are
//     candidates and components holding one or touching the border are
//     dropped;
//  6. islands: peak D > DetectionThr*rms at the peak pixel (strict);
//  7. optional FDR thresholds (SPEC 4.13) and deblending (SPEC 4.6).
//
// The result's D and RMS have img's rectangle and a compact stride (NaN
// where masked); Labels holds the island labels (1, 2, ... in island
// order; deblended sub-islands get further labels and their parents'
// leftover pixels keep the parent's label, which no Island references).
// Islands are in PySE's order: by their first pixel in x-major order (x
// outer, y inner), deblended sub-islands in place of their parent.
//
// Both results alias the Detector's buffers and are valid until the next
// call. When the image gives no islands, the report's Outcome says why
// (all NaN, constant, too small, ...); that is not an error. It panics if
// img's layout is inconsistent or mask has the wrong length.
func (d *Detector) Detect(img *Image, mask []bool) (*Detections, *DetectReport) {
	return d.DetectWith(img, DetectOptions{Mask: mask})
}

// DetectOptions are the per-image options of [Detector.DetectWith].
type DetectOptions struct {
	// Mask is an optional caller mask in the compact layout of the
	// image's rectangle (nil for none).
	Mask []bool
	// Background and RMS, when both are set, are user-supplied maps (SPEC
	// 4.16) with the image's rectangle (any stride): the grids are not
	// computed (DetectReport.Grids is empty), D = data - Background, and
	// pixels where either map is NaN or RMS is not positive are masked.
	// The rms_filter floor needs the grid's median and is not applied.
	Background, RMS *Image
	// InPlace lets Detect write D over img's pixels instead of into a
	// buffer of its own, saving 4 bytes per pixel; the caller's image
	// then holds D (NaN where masked) and aliases Detections.D. It is
	// honoured only when img is compact (Stride == width); otherwise D
	// goes to the Detector's buffer as usual.
	InPlace bool
	// Threads, when > 0, bounds the goroutines of this call instead of the
	// Detector's threads (a caller that runs a small image serially).
	// Results do not depend on it.
	Threads int
}

// DetectWith is [Detector.Detect] with per-image options: the caller
// mask, user-supplied background and rms maps, and D in place. It panics
// if only one map is given or a map's rectangle differs from img's.
func (d *Detector) DetectWith(img *Image, o DetectOptions) (*Detections, *DetectReport) {
	checkImageLayout(img)
	if o.Threads > 0 && o.Threads != d.threads {
		defer func(t int) { d.threads = t }(d.threads)
		d.threads = o.Threads
	}
	mask := o.Mask
	supplied := o.Background != nil || o.RMS != nil
	if supplied {
		if o.Background == nil || o.RMS == nil || o.Background.Rect != img.Rect || o.RMS.Rect != img.Rect {
			panic(badMaps)
		}
		checkImageLayout(o.Background)
		checkImageLayout(o.RMS)
	}
	cfg := &d.cfg
	w, h := img.Rect.Dx(), img.Rect.Dy()
	d.rep = DetectReport{
		Grids: &d.grids, RMSGridMedian: math.NaN(), RMSGridMin: math.NaN(),
		RMSMin: math.NaN(), RMSMax: math.NaN(),
		DetectionThr: cfg.DetectionThr, AnalysisThr: cfg.AnalysisThr,
	}
	rep := &d.rep
	d.setupOutputs(img, o.InPlace && img.Stride == w)
	if w == 0 || h == 0 {
		d.grids.Frame = image.Rectangle{}
		d.grids.setSize(0, 0)
		rep.Outcome = OutcomeEmptyImage
		return &d.det, rep
	}
	var chunk image.Rectangle
	t0 := time.Now()
	d.mask = growPlane(d.planes, d.mask, w*h) // MaskTo reuses it
	d.mask, chunk = MaskTo(d.mask, img, cfg.Margin, cfg.Radius, mask)
	rep.Chunk = chunk
	t1 := time.Now()
	rep.Times.Mask = t1.Sub(t0)
	if supplied {
		d.grids.Frame = chunk
		d.grids.setSize(0, 0)
		if chunk.Empty() {
			rep.Outcome = OutcomeAllMasked
			d.fillMasked()
			return &d.det, rep
		}
	} else {
		ComputeBackground(&d.grids, img, d.mask, chunk, cfg.BackSizeX, cfg.BackSizeY, d.threads)
	}
	if !supplied && d.grids.Empty() {
		switch {
		case chunk.Empty():
			rep.Outcome = OutcomeAllMasked
		case d.grids.Frame.Dx() <= cfg.BackSizeX || d.grids.Frame.Dy() <= cfg.BackSizeY:
			rep.Outcome = OutcomeTooSmall
		default:
			rep.Outcome = OutcomeNoBackground
		}
		d.fillMasked()
		return &d.det, rep
	}
	if supplied {
		d.rmsMin = math.Inf(-1)
	} else {
		d.grids.MedianFilter(cfg.MedianFilter, cfg.MFThreshold)
		rep.RMSGridMedian, rep.RMSGridMin = d.grids.GridMedian()
		d.ip.setup(&d.grids, img.Rect.Min, w, h, cfg.Edge)
		d.rmsMin = cfg.RMSFilter * rep.RMSGridMedian
	}
	t2 := time.Now()
	rep.Times.Background = t2.Sub(t1)
	maps := func(b, wk int) {
		if supplied {
			d.mapsBlockSupplied(img, o.Background, o.RMS, b, wk)
		} else {
			d.mapsBlock(img, b, wk)
		}
	}
	d.remMask = 0
	if cfg.RemoveEdgeSources {
		d.remMask = flagMasked
	}
	d.anl = cfg.AnalysisThr

	nblk := (h + detRowBlock - 1) / detRowBlock
	threads := workerCount(d.threads, h, minParallelRows)
	d.prepareBlocks(nblk, threads, w)
	if cfg.FDR {
		parallelFor(nblk, 1, threads, func(wk, lo, hi int) {
			for b := lo; b < hi; b++ {
				maps(b, wk)
			}
		})
		z, ok := d.fdrThreshold()
		if !ok {
			rep.Outcome = OutcomeFDRNoThreshold
			d.reduceBlocks()
			return &d.det, rep
		}
		rep.DetectionThr = z
		if cfg.AnalysisThr == 0 {
			rep.AnalysisThr = z
			d.anl = z
		}
		parallelFor(nblk, 1, threads, func(wk, lo, hi int) {
			for b := lo; b < hi; b++ {
				d.flagsBlock(b, wk)
			}
		})
	} else if supplied {
		parallelFor(nblk, 1, threads, func(wk, lo, hi int) {
			for b := lo; b < hi; b++ {
				maps(b, wk)
				d.flagsBlock(b, wk)
			}
		})
	} else {
		parallelFor(nblk, 1, threads, func(wk, lo, hi int) {
			for b := lo; b < hi; b++ {
				d.mapsFlagsBlock(img, b, wk)
			}
		})
	}
	d.reduceBlocks()
	t3 := time.Now()
	rep.Times.Maps = t3.Sub(t2)
	if rep.Candidates == 0 {
		rep.Outcome = OutcomeNoCandidates
		return &d.det, rep
	}
	d.islands(rep.DetectionThr)
	rep.Times.Label = time.Since(t3)
	if len(d.det.Islands) == 0 {
		rep.Outcome = OutcomeNoIslands
	}
	return &d.det, rep
}

// setupOutputs sizes D, RMS and Labels for img's rectangle (compact
// layout); with inPlace D is img's own pixels.
func (d *Detector) setupOutputs(img *Image, inPlace bool) {
	rect := img.Rect
	n := rect.Dx() * rect.Dy()
	d.rimg.Pix = growPlane(d.planes, d.rimg.Pix, n)
	d.rimg.Pix, d.rimg.Stride, d.rimg.Rect = d.rimg.Pix[:n], rect.Dx(), rect
	if inPlace {
		d.dimg.Pix = img.Pix[:n]
	} else {
		d.ownD = growPlane(d.planes, d.ownD, n)
		d.dimg.Pix = d.ownD[:n]
	}
	d.dimg.Stride, d.dimg.Rect = rect.Dx(), rect
	d.labels = growPlane(d.planes, d.labels, n)[:n]
	d.det = Detections{D: &d.dimg, RMS: &d.rimg, Labels: d.labels, Islands: d.det.Islands[:0]}
}

// fillMasked makes the maps fully masked and the labels empty.
func (d *Detector) fillMasked() {
	nan := float32(math.NaN())
	for i := range d.dimg.Pix {
		d.dimg.Pix[i], d.rimg.Pix[i] = nan, nan
	}
	clear(d.labels)
}

func (d *Detector) prepareBlocks(nblk, threads, w int) {
	if len(d.blocks) < nblk {
		d.blocks = append(d.blocks, make([]detBlock, nblk-len(d.blocks))...)
	}
	if len(d.workers) < threads {
		d.workers = append(d.workers, make([]detWorker, threads-len(d.workers))...)
	}
	nx := d.grids.NX + 2
	for i := range d.workers[:threads] {
		wk := &d.workers[i]
		if cap(wk.gm) < nx {
			wk.gm, wk.gr = make([]float64, nx), make([]float64, nx)
		}
		if cap(wk.bkg) < w {
			wk.bkg, wk.flags = make([]float32, w), make([]uint8, w)
		}
	}
}

// mapsBlock computes rows [b*detRowBlock, ...) of D and RMS, clears their
// labels and records the block's rms extremes. The reference loop per
// pixel is
//
//	if mask { D, RMS = NaN, NaN } else { D = data - bkg(x, y); RMS = rms(x, y) }
func (d *Detector) mapsBlock(img *Image, b, worker int) {
	w, h := d.dimg.Rect.Dx(), d.dimg.Rect.Dy()
	wk := &d.workers[worker]
	blk := &d.blocks[b]
	blk.rmin, blk.rmax = math.Inf(1), math.Inf(-1)
	nan := float32(math.NaN())
	bkg := wk.bkg[:w]
	for y := b * detRowBlock; y < min((b+1)*detRowBlock, h); y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+w]
		drow := d.dimg.Pix[y*w : y*w+w]
		rrow := d.rimg.Pix[y*w : y*w+w]
		mrow := d.mask[y*w : y*w+w]
		clear(d.labels[y*w : y*w+w])
		d.ip.nodes(wk.gm, wk.gr, y)
		d.ip.rowTo(bkg, rrow, wk.gm, wk.gr)
		src, drow, rrow, mrow = src[:len(bkg)], drow[:len(bkg)], rrow[:len(bkg)], mrow[:len(bkg)]
		rmin, rmax := float32(math.Inf(1)), float32(math.Inf(-1))
		for x, bv := range bkg {
			if mrow[x] {
				drow[x], rrow[x] = nan, nan
				continue
			}
			drow[x] = src[x] - bv
			r := rrow[x]
			rmin = min(rmin, r)
			rmax = max(rmax, r)
		}
		blk.rmin = math.Min(blk.rmin, float64(rmin))
		blk.rmax = math.Max(blk.rmax, float64(rmax))
	}
}

// mapsFlagsBlock is mapsBlock followed by flagsBlock in one pass over
// each row, with the same bits: the row is walked by interpolation
// segments (interpolator.segs), inside which the two node pairs are
// constant, and each pixel's background, rms, D and candidate flag are
// computed by the reference formulas of rowTo, mapsBlock and flagsBlock
// (the node differences m1-m0 and r1-r0 are the same values per segment,
// so every rounding is the same). mapsBlock and flagsBlock are its twins.
func (d *Detector) mapsFlagsBlock(img *Image, b, worker int) {
	w, h := d.dimg.Rect.Dx(), d.dimg.Rect.Dy()
	wk := &d.workers[worker]
	blk := &d.blocks[b]
	blk.rmin, blk.rmax = math.Inf(1), math.Inf(-1)
	blk.runs = blk.runs[:0]
	blk.ncand = 0
	flags := wk.flags[:w]
	fx := d.ip.ax.f[:w]
	rfloor := d.ip.rmin
	anl, floor, rem := d.anl, d.rmsMin, d.remMask
	for y := b * detRowBlock; y < min((b+1)*detRowBlock, h); y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+w]
		drow := d.dimg.Pix[y*w : y*w+w]
		rrow := d.rimg.Pix[y*w : y*w+w]
		mrow := d.mask[y*w : y*w+w]
		clear(d.labels[y*w : y*w+w])
		gm, gr := wk.gm, wk.gr
		d.ip.nodes(gm, gr, y)
		rmin, rmax := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, sg := range d.ip.segs {
			x0, x1 := int(sg.x0), int(sg.x1)
			k := int(sg.k)
			m0, m1 := gm[k], gm[k+1]
			r0, r1 := gr[k], gr[k+1]
			lo, hi := mapsFlagsSeg(src[x0:x1], drow[x0:x1], rrow[x0:x1], mrow[x0:x1], fx[x0:x1], flags[x0:x1],
				&mapsSegParams{m0: m0, dm: m1 - m0, r0: r0, dr: r1 - r0, rfloor: rfloor, anl: anl, floor: floor, rem: rem})
			// The rms is positive and finite (grid values are), so
			// these comparisons are min and max.
			if lo < rmin {
				rmin = lo
			}
			if hi > rmax {
				rmax = hi
			}
		}
		var n int
		blk.runs, n = appendRuns(blk.runs, flags, y)
		blk.rmin = math.Min(blk.rmin, float64(rmin))
		blk.rmax = math.Max(blk.rmax, float64(rmax))
		blk.ncand += n
	}
}

// mapsSegParams are the constants of one interpolation segment.
type mapsSegParams struct {
	m0, dm, r0, dr     float64 // background and rms nodes: left value and difference
	rfloor, anl, floor float64 // min(rms grid), analysis threshold, rms_filter floor
	rem                uint8   // the flag of a masked pixel
}

// mapsFlagsSeg is the per-pixel work of mapsFlagsBlock on one segment
// (mapsFlagsPix: the plain twin mapsFlagsPixGo, or its vector version in
// the GOEXPERIMENT=simd build); it returns the extremes of its unmasked
// rms values (+Inf, -Inf when all are masked). Inside a segment the
// fraction fx is non-decreasing in x (interpAxis.build) and the node pair
// fixed, so the rms, a rounded linear function of fx clamped below and
// rounded to float32, is monotone: its extremes are at the first and last
// unmasked pixels, and the pixel loop does not track them.
func mapsFlagsSeg(src, drow, rrow []float32, mrow []bool, fx []float64, flags []uint8, p *mapsSegParams) (rmin, rmax float32) {
	drow, rrow, mrow, fx, flags = drow[:len(src)], rrow[:len(src)], mrow[:len(src)], fx[:len(src)], flags[:len(src)]
	mapsFlagsPix(src, drow, rrow, mrow, fx, flags, p)
	i, j := 0, len(src)-1
	for i <= j && mrow[i] {
		i++
	}
	for j > i && mrow[j] {
		j--
	}
	if i > j {
		return float32(math.Inf(1)), float32(math.Inf(-1))
	}
	a, b := rrow[i], rrow[j]
	if a > b {
		a, b = b, a
	}
	return a, b
}

// mapsFlagsPixGo is the pixel loop of mapsFlagsSeg in plain Go: each
// pixel's background, rms, D and candidate flag, or NaN, NaN and p.rem
// for a masked one. It is the default build's mapsFlagsPix and the
// oracle of the vector version (detect_simd_amd64.go). The products are
// converted explicitly so that no GOAMD64 level fuses them with the sums
// into FMAs: the vector version rounds each product too, and the two
// agree bit for bit.
func mapsFlagsPixGo(src, drow, rrow []float32, mrow []bool, fx []float64, flags []uint8, p *mapsSegParams) {
	m0, dm, r0, dr := p.m0, p.dm, p.r0, p.dr
	rfloor, anl, floor := p.rfloor, p.anl, p.floor
	nan := float32(math.NaN())
	drow, rrow, mrow, fx, flags = drow[:len(src)], rrow[:len(src)], mrow[:len(src)], fx[:len(src)], flags[:len(src)]
	for x, v := range src {
		if mrow[x] {
			drow[x], rrow[x], flags[x] = nan, nan, p.rem
			continue
		}
		f := fx[x]
		bv := float32(m0 + float64(dm*f))
		r := r0 + float64(dr*f)
		if r < rfloor {
			r = rfloor
		}
		rv := float32(r)
		dv := v - bv
		drow[x], rrow[x] = dv, rv
		flags[x] = 0
		if r64 := float64(rv); float64(dv) > float64(anl*r64) && r64 >= floor {
			flags[x] = flagCand
		}
	}
}

// mapsBlockSupplied is mapsBlock with user-supplied maps. The reference
// loop per pixel is
//
//	if mask || bkg is NaN || !(rms > 0) { mask = true; D, RMS = NaN, NaN } else { D = data - bkg; RMS = rms }
func (d *Detector) mapsBlockSupplied(img, bkgMap, rmsMap *Image, b, worker int) {
	_ = worker
	w, h := d.dimg.Rect.Dx(), d.dimg.Rect.Dy()
	blk := &d.blocks[b]
	blk.rmin, blk.rmax = math.Inf(1), math.Inf(-1)
	nan := float32(math.NaN())
	for y := b * detRowBlock; y < min((b+1)*detRowBlock, h); y++ {
		src := img.Pix[y*img.Stride : y*img.Stride+w]
		brow := bkgMap.Pix[y*bkgMap.Stride : y*bkgMap.Stride+w]
		srow := rmsMap.Pix[y*rmsMap.Stride : y*rmsMap.Stride+w]
		drow := d.dimg.Pix[y*w : y*w+w]
		rrow := d.rimg.Pix[y*w : y*w+w]
		mrow := d.mask[y*w : y*w+w]
		clear(d.labels[y*w : y*w+w])
		brow, srow, drow, rrow, mrow = brow[:len(src)], srow[:len(src)], drow[:len(src)], rrow[:len(src)], mrow[:len(src)]
		rmin, rmax := float32(math.Inf(1)), float32(math.Inf(-1))
		for x, v := range src {
			bv, r := brow[x], srow[x]
			if mrow[x] || bv != bv || !(r > 0) {
				mrow[x] = true
				drow[x], rrow[x] = nan, nan
				continue
			}
			drow[x] = v - bv
			rrow[x] = r
			rmin = min(rmin, r)
			rmax = max(rmax, r)
		}
		blk.rmin = math.Min(blk.rmin, float64(rmin))
		blk.rmax = math.Max(blk.rmax, float64(rmax))
	}
}

// flagsBlock flags the candidates of block b's rows and collects their
// runs. The reference loop per pixel is
//
//	switch {
//	case mask:                                   flag = remMask
//	case D > anl*RMS && RMS >= rmsMin:           flag = flagCand
//	}
func (d *Detector) flagsBlock(b, worker int) {
	w, h := d.dimg.Rect.Dx(), d.dimg.Rect.Dy()
	wk := &d.workers[worker]
	blk := &d.blocks[b]
	blk.runs = blk.runs[:0]
	blk.ncand = 0
	flags := wk.flags[:w]
	anl, floor, rem := d.anl, d.rmsMin, d.remMask
	for y := b * detRowBlock; y < min((b+1)*detRowBlock, h); y++ {
		drow := d.dimg.Pix[y*w : y*w+w]
		rrow := d.rimg.Pix[y*w : y*w+w]
		mrow := d.mask[y*w : y*w+w]
		drow, rrow, mrow = drow[:len(flags)], rrow[:len(flags)], mrow[:len(flags)]
		n := 0
		for x, m := range mrow {
			var f uint8
			if m {
				f = rem
			} else if r := float64(rrow[x]); float64(drow[x]) > anl*r && r >= floor {
				f = flagCand
				n++
			}
			flags[x] = f
		}
		blk.ncand += n
		blk.runs, _ = appendRuns(blk.runs, flags, y)
	}
}

// reduceBlocks merges the blocks' results in block order.
func (d *Detector) reduceBlocks() {
	h := d.dimg.Rect.Dy()
	nblk := (h + detRowBlock - 1) / detRowBlock
	rmin, rmax := math.Inf(1), math.Inf(-1)
	ncand := 0
	d.runs = d.runs[:0]
	for _, blk := range d.blocks[:nblk] {
		rmin, rmax = math.Min(rmin, blk.rmin), math.Max(rmax, blk.rmax)
		ncand += blk.ncand
		d.runs = append(d.runs, blk.runs...)
	}
	if rmin <= rmax {
		d.rep.RMSMin, d.rep.RMSMax = rmin, rmax
	}
	d.rep.Candidates = ncand
}

// islands labels the runs, keeps the islands that pass the edge and peak
// tests, orders them, paints Labels and deblends.
func (d *Detector) islands(det float64) {
	w, h := d.dimg.Rect.Dx(), d.dimg.Rect.Dy()
	comps := d.ls.components(d.runs, d.dimg.Pix, w, w, h, d.cfg.RemoveEdgeSources)
	d.rep.Components = len(comps)
	order := d.order[:0]
	for i := range comps {
		c := &comps[i]
		if c.discard || c.peakX < 0 {
			continue
		}
		r := d.rimg.Pix[int(c.peakY)*w+int(c.peakX)]
		if float64(c.peak) > det*float64(r) {
			order = append(order, int32(i))
		}
	}
	slices.SortFunc(order, func(a, b int32) int { return compareKey(&comps[a], &comps[b]) })
	d.order = order
	d.rep.Accepted = len(order)
	for i := range comps {
		comps[i].label = 0
	}
	for l, ci := range order {
		comps[ci].label = int32(l + 1)
	}
	for i, r := range d.runs {
		l := comps[d.ls.comp[d.ls.parent[i]]].label
		if l == 0 {
			continue
		}
		row := d.labels[int(r.y)*w+int(r.x0) : int(r.y)*w+int(r.x1)]
		for k := range row {
			row[k] = l
		}
	}
	o := d.dimg.Rect.Min
	isl := d.det.Islands[:0]
	for _, ci := range order {
		c := &comps[ci]
		noise := d.rimg.Pix[int(c.peakY)*w+int(c.peakX)]
		isl = append(isl, Island{
			Label:     c.label,
			Box:       image.Rect(int(c.minX), int(c.minY), int(c.maxX)+1, int(c.maxY)+1).Add(o),
			Peak:      image.Pt(int(c.peakX), int(c.peakY)).Add(o),
			PeakValue: c.peak,
			NPix:      c.npix,
			Threshold: float32(d.anl * float64(noise)),
			Noise:     noise,
		})
	}
	d.det.Islands = isl
	switch {
	case len(isl) == 0:
	case d.cfg.DeblendNThresh > 0:
		d.deblendAll(det, int32(len(order)))
	default:
		d.markBlends(det)
	}
}
