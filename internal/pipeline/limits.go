package pipeline

import (
	"container/heap"
	"context"
	"image"

	"gotrap/catalog"
	"gotrap/internal/extract"
	"gotrap/internal/rundir"
	"gotrap/kernels"
)

// Upper limits (docs/catalog.md "limits"): after the
// association (and the backward fits), rank 0 writes RUN/limits.parquet,
// one catalog.Limit per running-catalogue source (monitors excepted) and
// accepted image before its first detection in which it could have been
// detected: the images and positions of the backward forced fits
// (backwardRequests: a timestep before the source's earliest
// association, any band, the final position inside the image's usable
// area and sky-region circle), less the positions the extraction masks
// (margin, extraction radius: kernels.GeometryMasked). The rms is the
// image's rms map at the position, evaluated from the background grids
// the extraction staged (RUN/work/extract/ID.grids.bin,
// kernels.BackgroundGrids.RMSAt, the same value Detect used). An image
// without staged grids (deleted, damaged, staged by an older gotrap) is
// read and its background estimated again, as the forced stage does, so
// the table does not depend on them; with supplied maps the rms map is
// read at the pixel. Only an image that cannot be read any more gives its
// rms_max (RMSFromMap false). Nothing is fitted and, with the grids in
// place, no image is read: the table costs a few reads of tiny files, so
// it is rewritten on every run and --resume. It gives the light curves'
// upper limits and the new sources' significance at their own position
// (catalog/duck vetting, VAST's new_high_sigma).

// limitsOptions are the extraction settings the limits depend on.
type limitsOptions struct {
	margin int
	radius float64 // extraction_radius_pix, 0 for none
	edge   kernels.EdgeMode
	sigma  float64         // new_source_sigma_margin
	xopt   extract.Options // to estimate the grids of an image without staged ones
}

func limitsOptionsOf(opt extract.Options, sigmaMargin float64) limitsOptions {
	return limitsOptions{margin: opt.Detect.Margin, radius: opt.Detect.Radius, edge: opt.Detect.Edge, sigma: sigmaMargin, xopt: opt}
}

// rmsSource gives an image's rms map at a pixel: from its grids, or from
// a supplied rms map (rms), or nothing (both nil).
type rmsSource struct {
	g    *kernels.BackgroundGrids
	rms  *kernels.Image
	rect image.Rectangle
	edge kernels.EdgeMode
}

func (s rmsSource) ok() bool { return s.g != nil || s.rms != nil }

func (s rmsSource) at(x, y int) float64 {
	if s.g != nil {
		return s.g.RMSAt(s.rect, x, y, s.edge)
	}
	return float64(s.rms.Pix[s.rms.PixOffset(x, y)])
}

// imageRMS returns the rms source of img: its staged grids, else the
// grids (or supplied rms map) of a new extraction of the image; nothing
// when the image cannot be read.
func imageRMS(run string, img *Image, rect image.Rectangle, lo limitsOptions) rmsSource {
	src := rmsSource{rect: rect, edge: lo.edge}
	if src.g = stagedGrids(run, img.ID, rect); src.g != nil {
		return src
	}
	opt := img.extractOptions(lo.xopt)
	opt.Maps, opt.Positions, opt.Threads = true, nil, 1
	w, err := extract.NewWorker(opt)
	if err != nil {
		return src
	}
	r, err := w.File(img.Path)
	if err != nil {
		return src
	}
	switch {
	case r.Grids != nil:
		src.g = r.Grids
	case r.Maps != nil && r.Maps.RMS != nil && r.Maps.RMS.Rect == rect:
		src.rms = r.Maps.RMS
	}
	return src
}

// writeLimits computes the limits of the run (rows are the images rows
// after quality control) and writes RUN/limits.parquet, sorted by
// (runcat, image): each image's rows are in runcat order, and they are
// merged into the file as they are written, so the rows are held once
// (a live run's end after 14,400 images: 5.8 M of them). It returns the
// number of rows.
func writeLimits(ctx context.Context, run string, plan *Plan, rows []catalog.Image, lo limitsOptions, copts []catalog.Option, workers int) (int, error) {
	per, err := computeLimits(ctx, run, plan, rows, lo, workers)
	if err != nil {
		return 0, err
	}
	w, err := catalog.Create[catalog.Limit](rundir.TablePath(run, catalog.TableLimits), copts...)
	if err != nil {
		return 0, err
	}
	n := 0
	err = mergeLimits(per, func(l *catalog.Limit) error {
		n++
		return w.Write(*l)
	})
	if err != nil {
		w.Abort()
		return 0, err
	}
	return n, w.Close()
}

// limitHead is an image's next limit in mergeLimits' heap.
type limitHead struct{ rows []catalog.Limit }

type limitHeap []limitHead

func (h limitHeap) Len() int { return len(h) }
func (h limitHeap) Less(i, j int) bool {
	a, b := &h[i].rows[0], &h[j].rows[0]
	return a.Runcat < b.Runcat || (a.Runcat == b.Runcat && a.Image < b.Image)
}
func (h limitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *limitHeap) Push(x any)   { *h = append(*h, x.(limitHead)) }
func (h *limitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeLimits calls each with the rows of per (each sorted by runcat)
// in (runcat, image) order, releasing each image's rows once passed.
func mergeLimits(per [][]catalog.Limit, each func(*catalog.Limit) error) error {
	h := make(limitHeap, 0, len(per))
	for i, p := range per {
		if len(p) > 0 {
			h = append(h, limitHead{rows: p})
		}
		per[i] = nil
	}
	heap.Init(&h)
	for len(h) > 0 {
		top := &h[0]
		if err := each(&top.rows[0]); err != nil {
			return err
		}
		if top.rows = top.rows[1:]; len(top.rows) == 0 {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	return nil
}

// computeLimits returns the limits rows of each image (by plan index),
// in runcat order.
func computeLimits(ctx context.Context, run string, plan *Plan, rows []catalog.Image, lo limitsOptions, workers int) ([][]catalog.Limit, error) {
	srcs, err := finalRuncats(run, plan)
	if err != nil {
		return nil, err
	}
	reqs, err := backwardRequests(ctx, plan, rows, srcs, lo.radius, workers)
	if err != nil {
		return nil, err
	}
	per := make([][]catalog.Limit, plan.Len())
	err = forEach(ctx, plan.Len(), workers, func(i int) error {
		if len(reqs[i].null) == 0 {
			return nil
		}
		img := plan.Image(i)
		g := img.geo()
		nx, ny := g.nx, g.ny
		rect := image.Rect(0, 0, nx, ny)
		src := imageRMS(run, img, rect, lo)
		out := make([]catalog.Limit, 0, len(reqs[i].null))
		for _, r := range reqs[i].null {
			x, y, err := g.wcs.SkyToPix(r.RA, r.Dec)
			if err != nil {
				continue // Usable accepted it: cannot happen
			}
			// The forced fitter's pixel (kernels locateFixed).
			ix, iy := int(x), int(y)
			if ix < 0 || iy < 0 || ix >= nx || iy >= ny || kernels.GeometryMasked(nx, ny, ix, iy, lo.margin, lo.radius) {
				continue
			}
			l := catalog.Limit{Runcat: r.Runcat, Image: img.ID, XPix: x, YPix: y, SigmaMargin: lo.sigma}
			if src.ok() {
				l.RMS, l.RMSFromMap = src.at(ix, iy), true
			} else {
				l.RMS = rows[i].RMSMax
			}
			if !(l.RMS > 0) {
				continue // an empty grid: nothing could be detected
			}
			l.FPeakLimit = rows[i].DetectionThresh * l.RMS
			out = append(out, l)
		}
		per[i] = out
		return nil
	})
	if err != nil {
		return nil, err
	}
	return per, nil
}
