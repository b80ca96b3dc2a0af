package pipeline

import (
	"cmp"
	"context"
	"image"
	"slices"

	"gotrap/catalog"
	"gotrap/internal/extract"
	"gotrap/kernels"
)

// Upper limits (issue 21; docs/catalog.md "limits"): after the
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
// kernels.BackgroundGrids.RMSAt, the same value Detect used), or the
// image's rms_max when it has none (RMSFromMap false). Nothing is fitted
// and no image is read: the table costs a few reads of tiny files, so it
// is rewritten on every run and --resume. It gives the light curves'
// upper limits and the new sources' significance at their own position
// (catalog/duck vetting, VAST's new_high_sigma).

// limitsOptions are the extraction settings the limits depend on.
type limitsOptions struct {
	margin int
	radius float64 // extraction_radius_pix, 0 for none
	edge   kernels.EdgeMode
	sigma  float64 // new_source_sigma_margin
}

func limitsOptionsOf(opt extract.Options, sigmaMargin float64) limitsOptions {
	return limitsOptions{margin: opt.Detect.Margin, radius: opt.Detect.Radius, edge: opt.Detect.Edge, sigma: sigmaMargin}
}

// writeLimits computes the limits of the run (rows are the images rows
// after quality control) and writes RUN/limits.parquet. It returns the
// number of rows.
func writeLimits(ctx context.Context, run string, plan *Plan, rows []catalog.Image, lo limitsOptions, copts []catalog.Option, workers int) (int, error) {
	ls, err := computeLimits(ctx, run, plan, rows, lo, workers)
	if err != nil {
		return 0, err
	}
	if err := catalog.WriteFile(catalog.TableFile(run, catalog.TableLimits), ls, copts...); err != nil {
		return 0, err
	}
	return len(ls), nil
}

// computeLimits returns the limits rows sorted by (runcat, image).
func computeLimits(ctx context.Context, run string, plan *Plan, rows []catalog.Image, lo limitsOptions, workers int) ([]catalog.Limit, error) {
	srcs, err := finalRuncats(run, plan)
	if err != nil {
		return nil, err
	}
	reqs, err := backwardRequests(ctx, plan, rows, srcs, lo.radius, workers)
	if err != nil {
		return nil, err
	}
	per := make([][]catalog.Limit, len(plan.Images))
	err = forEach(ctx, len(plan.Images), workers, func(i int) error {
		if len(reqs[i].null) == 0 {
			return nil
		}
		img := &plan.Images[i]
		m := img.Meta
		nx, ny := m.Naxis1, m.Naxis2
		rect := image.Rect(0, 0, nx, ny)
		g := stagedGrids(run, img.ID, rect)
		out := make([]catalog.Limit, 0, len(reqs[i].null))
		for _, r := range reqs[i].null {
			x, y, err := m.WCS.SkyToPix(r.RA, r.Dec)
			if err != nil {
				continue // Usable accepted it: cannot happen
			}
			// The forced fitter's pixel (kernels locateFixed).
			ix, iy := int(x), int(y)
			if ix < 0 || iy < 0 || ix >= nx || iy >= ny || kernels.GeometryMasked(nx, ny, ix, iy, lo.margin, lo.radius) {
				continue
			}
			l := catalog.Limit{Runcat: r.Runcat, Image: img.ID, XPix: x, YPix: y, SigmaMargin: lo.sigma}
			if g != nil {
				l.RMS, l.RMSFromMap = g.RMSAt(rect, ix, iy, lo.edge), true
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
	var all []catalog.Limit
	for _, p := range per {
		all = append(all, p...)
	}
	slices.SortFunc(all, func(a, b catalog.Limit) int {
		if c := cmp.Compare(a.Runcat, b.Runcat); c != 0 {
			return c
		}
		return cmp.Compare(a.Image, b.Image)
	})
	return all, nil
}
