package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/fitsimg"
	"gotrap/internal/wcs"
)

// Image is one row of the plan: an input image with its id, metadata and
// grouping.
type Image struct {
	// ID is the image id: 1 + the index in the plan (Plan.Image).
	ID   int64
	Path string
	// Plane is the flat index of the plane read from Path (the one the
	// settings choose, or one channel of a channel range): (Path, Plane)
	// is the image's identity. Every read of the image's pixels takes
	// readOptions.
	Plane int
	// Meta holds the header's metadata; nil when the header could not be
	// read (HeaderErr says why; the image is then rejected with
	// catalog.RejectReadError and takes no further part).
	Meta      *fitsimg.Meta
	HeaderErr string
	// Timestep is the 0-based index of the image's timestep, -1 for an
	// unreadable header.
	Timestep int64
	// Band and Region are the frequency band and sky region ids (SPEC
	// 2.3, 2.4 with decisions 10 and 11), 0 for an unreadable header.
	Band, Region int64
	// Catalogue is the catalogue file that replaces the image's
	// extraction (Options.Catalogues), "" for none.
	Catalogue string

	// dx, dy are the signed pixel sizes (deltas), kept from the header,
	// which the plan drops once read: its cards (~18 kB an image) would
	// otherwise be held for the whole run.
	dx, dy float64
	// kept is what the plan holds of Meta once a live run released it
	// (Plan.release); nil while Meta is there.
	kept *geom
}

// geom is what the run reads of an image's header after the image's
// timestep: its association info (the run's end: backward fits, limits),
// tiling and cost, the next timestep's start check. A live run keeps
// this (~100 bytes) instead of the whole Meta (~1.2 kB with its strings
// and axes) once the image's timestep is committed, so the plan grows by
// less per image.
type geom struct {
	tauStart            time.Time
	freqEff, freqBW     float64
	centreRA, centreDec float64
	smajPx              float64
	wcs                 *wcs.WCS
	nx, ny              int
	stokes              int32
}

// geomOf returns what geom keeps of m.
func geomOf(m *fitsimg.Meta) geom {
	g := geom{tauStart: m.TauStart, freqEff: m.FreqEff, freqBW: m.FreqBW,
		centreRA: m.CentreRA, centreDec: m.CentreDec, smajPx: m.BeamPx.SMaj,
		wcs: m.WCS, nx: m.Naxis1, ny: m.Naxis2, stokes: 1}
	if c := fitsimg.StokesCode(m.Stokes); c != 0 {
		g.stokes = int32(c)
	}
	return g
}

// hasHeader reports whether img's header was read: its Meta is there,
// or was released with its geometry kept.
func (img *Image) hasHeader() bool { return img.Meta != nil || img.kept != nil }

// geo returns img's geometry; img must have a header (hasHeader).
func (img *Image) geo() geom {
	if img.Meta != nil {
		return geomOf(img.Meta)
	}
	return *img.kept
}

// release drops the Meta of the images of timesteps [from, to), keeping
// their geometry (geom): a live run calls it once they are committed,
// since only the images to come are read whole again.
func (p *Plan) release(from, to int) {
	for _, ts := range p.Timesteps[from:to] {
		for _, i := range ts {
			img := p.Image(i)
			if img.Meta == nil {
				continue
			}
			g := geomOf(img.Meta)
			img.kept, img.Meta = &g, nil
		}
	}
}

// deltas returns the image's signed pixel sizes (degrees): those kept by
// NewPlan, else computed from Meta.
func (img *Image) deltas() (dx, dy float64) {
	if img.dx != 0 || img.dy != 0 || img.Meta == nil {
		return img.dx, img.dy
	}
	return deltas(img.Meta)
}

// Plan is the image table of a run (DESIGN "Plan"): images sorted by
// (timestep, frequency, start time, path, plane), which is (time,
// frequency, path, plane) when the start times of a timestep are equal,
// numbered from 1; unreadable headers come last, by path and plane.
type Plan struct {
	// images holds the images of index base on (Image): a live run
	// spills those of its committed timesteps (spill) and restores them
	// at its end (restore).
	images []Image
	base   int
	// spillFile holds the spilled images, nil before the first spill.
	spillFile *planSpill
	// Timesteps lists, per timestep, the indices (Image) of its images,
	// in frequency order.
	Timesteps [][]int
	// regions is the association engine that gave the images their band
	// and sky region ids, kept so that Extend continues them.
	regions *assoc.Engine
	// wcs holds one copy of each distinct WCS of the images (internWCS).
	wcs map[wcs.WCS]*wcs.WCS
}

// Image returns the image of index i (its ID is i+1). It panics for an
// image the plan spilled (a live run's committed timesteps before its
// last: spill).
func (p *Plan) Image(i int) *Image {
	if i < p.base {
		panic(fmt.Sprintf("pipeline: image %d of the plan is spilled (the plan holds %d on)", i+1, p.base+1))
	}
	return &p.images[i-p.base]
}

// imageID returns the id of the plan's image of index i, spilled or not.
func imageID(i int) int64 { return int64(i) + 1 }

// Len returns the number of images of the plan, spilled or not.
func (p *Plan) Len() int { return p.base + len(p.images) }

const maxInternedWCS = 256

// internWCS returns the plan's copy of w: the images of a field share one
// WCS (a live run's plan would otherwise hold one per image for ever).
// WCS values are read-only once built. The map holds at most
// maxInternedWCS of them (a field that moves from image to image, as in a
// drift scan, would fill it): when full it starts again.
func (p *Plan) internWCS(w *wcs.WCS) *wcs.WCS {
	if w == nil || *w != *w { // a NaN field: not a key that can be found again
		return w
	}
	if c, ok := p.wcs[*w]; ok {
		return c
	}
	if p.wcs == nil || len(p.wcs) >= maxInternedWCS {
		p.wcs = map[wcs.WCS]*wcs.WCS{}
	}
	p.wcs[*w] = w
	return w
}

// NewPlan reads the headers of paths (headerReaders(workers) at a time)
// and builds the plan, one image per path (NewPlanChannels without a
// channel range).
func NewPlan(ctx context.Context, paths []string, opt fitsimg.Options, tolerance time.Duration, cfg assoc.Config, workers int) (*Plan, error) {
	return NewPlanChannels(ctx, paths, opt, Channels{}, tolerance, cfg, workers)
}

// NewPlanChannels reads the headers of paths (headerReaders(workers) at
// a time) and builds the plan: one image per path, or, with a channel
// range ch, one per channel of ch in each path (expandChannels). A
// header that cannot be read does not stop the run: the image is listed
// last and rejected.
// Images whose start times differ by at most tolerance from the first
// image of a timestep share it (SPEC 2.1 with a tolerance; 0 groups
// exactly equal times). Bands and sky regions come from an association
// engine with cfg, fed in plan order, so they are the ids the association
// stage creates.
func NewPlanChannels(ctx context.Context, paths []string, opt fitsimg.Options, ch Channels, tolerance time.Duration, cfg assoc.Config, workers int) (*Plan, error) {
	per := make([][]Image, len(paths))
	err := forEach(ctx, len(paths), headerReaders(workers), func(i int) error {
		per[i] = expandChannels(paths[i], opt, ch)
		return nil
	})
	if err != nil {
		return nil, err
	}
	imgs := slices.Concat(per...)
	sortImages(imgs)
	eng, err := assoc.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	p := &Plan{regions: eng}
	if err := p.add(imgs, tolerance); err != nil {
		return nil, err
	}
	return p, nil
}

// minHeaderReaders is the fewest headers the plan reads at once. A
// header read is one small read that waits on the disk, not on the
// CPU: from files not in the page cache, one reader at a time read 2.96
// ms a header here and 16 at a time 1.75 ms (docs/performance.md,
// "Session 9"), so the reads are not limited to the CPUs' workers.
const minHeaderReaders = 16

// headerReaders is how many headers the plan reads at once for workers
// extraction workers: at least minHeaderReaders.
func headerReaders(workers int) int { return max(workers, minHeaderReaders) }

// sortImages sorts images by start time, frequency, path and plane,
// unreadable headers last (by path and plane).
func sortImages(imgs []Image) {
	slices.SortStableFunc(imgs, func(a, b Image) int {
		if (a.Meta == nil) != (b.Meta == nil) {
			if a.Meta == nil {
				return 1
			}
			return -1
		}
		if a.Meta == nil {
			return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Plane, b.Plane))
		}
		if c := a.Meta.TauStart.Compare(b.Meta.TauStart); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Meta.FreqEff, b.Meta.FreqEff); c != 0 {
			return c
		}
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Plane, b.Plane))
	})
}

// add appends imgs (sorted by sortImages, all later than p's timesteps)
// to p: groups them into timesteps (start times within tolerance of a
// timestep's first image; within a group, by frequency, start time,
// path), numbers them on from p's last image and registers them with p's
// band and region engine, in plan order. It fails when a timestep holds
// two images of one sky region in an order the association cannot take
// (checkTimestepOrder).
func (p *Plan) add(imgs []Image, tolerance time.Duration) error {
	base := p.Len()
	n := 0
	for n < len(imgs) && imgs[n].Meta != nil {
		n++
	}
	var added [][]int
	for i := 0; i < n; {
		j := i + 1
		for j < n && imgs[j].Meta.TauStart.Sub(imgs[i].Meta.TauStart) <= tolerance {
			j++
		}
		slices.SortStableFunc(imgs[i:j], func(a, b Image) int {
			if c := cmp.Compare(a.Meta.FreqEff, b.Meta.FreqEff); c != 0 {
				return c
			}
			if c := a.Meta.TauStart.Compare(b.Meta.TauStart); c != 0 {
				return c
			}
			return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.Plane, b.Plane))
		})
		ts := make([]int, 0, j-i)
		for k := i; k < j; k++ {
			imgs[k].Timestep = int64(len(p.Timesteps) + len(added))
			ts = append(ts, base+k)
		}
		added = append(added, ts)
		i = j
	}
	for i := range imgs {
		imgs[i].ID = int64(base + i + 1)
		if imgs[i].Meta == nil {
			imgs[i].Timestep = -1
			continue
		}
		info := imageInfo(&imgs[i])
		b, r, err := p.regions.AddImage(info)
		if err != nil {
			// Geometry the engine cannot use (no frequency width, a
			// position off the sky): reject as unreadable.
			imgs[i].HeaderErr = err.Error()
			continue
		}
		imgs[i].Band, imgs[i].Region = b, r
		// The engine numbers bands and regions; it needs no image kept.
		p.regions.Forget(info.ID)
		imgs[i].Meta.WCS = p.internWCS(imgs[i].Meta.WCS)
	}
	p.images = append(p.images, imgs...)
	// Drop images the engine refused from their timesteps.
	for _, ts := range added {
		p.Timesteps = append(p.Timesteps, slices.DeleteFunc(ts, func(k int) bool { return p.Image(k).HeaderErr != "" }))
	}
	return p.checkTimestepOrder(len(p.Timesteps)-len(added), tolerance)
}

// checkTimestepOrder checks the timesteps from the first on: within a
// timestep the images are in frequency order, and the association takes
// the images of a sky region in time order, so an image may not start
// before an earlier one of its region in the same timestep. That happens
// when timestep_tolerance is not below the cadence: consecutive
// snapshots of one field (AARTFAAC's 1 s) fall in one timestep. The error
// says so, naming both files, instead of the association's.
func (p *Plan) checkTimestepOrder(first int, tolerance time.Duration) error {
	for t := first; t < len(p.Timesteps); t++ {
		latest := map[int64]int{} // region -> the image of its latest start so far
		for _, k := range p.Timesteps[t] {
			img := p.Image(k)
			j, ok := latest[img.Region]
			if !ok || !img.Meta.TauStart.Before(p.Image(j).Meta.TauStart) {
				latest[img.Region] = k
				continue
			}
			prev := p.Image(j)
			return fmt.Errorf("pipeline: %s (start %s, %.6g MHz) and %s (start %s, %.6g MHz) image one sky region %v apart, and fall in one timestep ([pipeline] timestep_tolerance = %v s): within a timestep images are taken in frequency order, and the association needs a region's images in time order; if these are consecutive snapshots, set timestep_tolerance below the cadence (e.g. half of it)",
				prev.Path, prev.Meta.TauStart.UTC().Format(time.RFC3339Nano), prev.Meta.FreqEff/1e6,
				img.Path, img.Meta.TauStart.UTC().Format(time.RFC3339Nano), img.Meta.FreqEff/1e6,
				prev.Meta.TauStart.Sub(img.Meta.TauStart), tolerance.Seconds())
		}
	}
	return nil
}

// ErrLate is the error of images that cannot extend a live run: they
// start within or before its last timestep.
var ErrLate = errors.New("pipeline: images too late for the run")

// Extend adds the images of paths, whose timesteps start after p's last
// one (gotrap watch: the timesteps closed since), as NewPlanChannels
// would have planned them with p's inputs: the same ids, timesteps,
// bands and regions. It returns the indices of the images added, and the
// paths whose header could not be read (not added: an unreadable image
// is listed last in a plan, so it cannot join a plan that grows). A plan
// that holds unreadable images cannot grow; images that start within
// tolerance of p's last timestep or before are refused (ErrLate) and
// nothing is added.
func (p *Plan) Extend(ctx context.Context, paths []string, opt fitsimg.Options, ch Channels, tolerance time.Duration, workers int) (added []int, unreadable []string, err error) {
	if p.regions == nil {
		return nil, nil, fmt.Errorf("pipeline: this plan cannot grow")
	}
	// Unreadable headers are listed last: the last image says.
	if n := p.Len(); n > p.base && !p.Image(n-1).hasHeader() {
		return nil, nil, fmt.Errorf("pipeline: the run holds an image with an unreadable header (%s): it cannot grow image by image", p.Image(n-1).Path)
	}
	per := make([][]Image, len(paths))
	if err := forEach(ctx, len(paths), headerReaders(workers), func(i int) error {
		per[i] = expandChannels(paths[i], opt, ch)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	var imgs []Image
	for _, im := range slices.Concat(per...) {
		if im.Meta == nil {
			unreadable = append(unreadable, fmt.Sprintf("%s: %s", im.Path, im.HeaderErr))
			continue
		}
		imgs = append(imgs, im)
	}
	sortImages(imgs)
	if last := len(p.Timesteps) - 1; last >= 0 && len(p.Timesteps[last]) > 0 && len(imgs) > 0 {
		t0 := p.Image(p.Timesteps[last][0]).geo().tauStart
		var late []string
		for _, im := range imgs {
			if im.Meta.TauStart.Sub(t0) <= tolerance {
				late = append(late, fmt.Sprintf("%s (start %s)", im.Path, im.Meta.TauStart.UTC().Format(time.RFC3339Nano)))
			}
		}
		if len(late) > 0 {
			return nil, unreadable, fmt.Errorf("%w: the last timestep starts at %s: %s", ErrLate, t0.UTC().Format(time.RFC3339Nano), strings.Join(late, ", "))
		}
	}
	base := p.Len()
	if err := p.add(imgs, tolerance); err != nil {
		return nil, unreadable, err
	}
	for i := base; i < p.Len(); i++ {
		added = append(added, i)
	}
	return added, unreadable, nil
}

// deltas returns the signed pixel sizes (degrees): CDELT1/CDELT2 when the
// header has them with the WCS's magnitudes, else (-|dx|, |dy|), the
// usual east-left orientation.
func deltas(m *fitsimg.Meta) (dx, dy float64) {
	dx, dy = m.PixelScale, m.PixelScale
	if m.WCS != nil {
		dx, dy = m.WCS.PixelScale()
	}
	dx = -dx
	if m.Header != nil {
		if v, ok := m.Header.Float("CDELT1"); ok && v > 0 {
			dx = -dx
		}
		if v, ok := m.Header.Float("CDELT2"); ok && v < 0 {
			dy = -dy
		}
	}
	return dx, dy
}

// imageInfo registers img with an association engine. Usable is the
// forced fitter's inside test (kernels FitFixed: 0 <= x < NAXIS1,
// 0 <= y < NAXIS2 after sky->pixel), so null-detection requests count
// towards the expiration when they are made (catalog/assoc "Null
// detections").
func imageInfo(img *Image) assoc.ImageInfo {
	g := img.geo()
	dx, dy := img.deltas()
	nx, ny := float64(g.nx), float64(g.ny)
	w := g.wcs
	info := assoc.ImageInfo{
		ID: img.ID, TauStart: g.tauStart, FreqEff: g.freqEff, FreqBW: g.freqBW,
		CentreRA: g.centreRA, CentreDec: g.centreDec, DeltaX: dx, DeltaY: dy,
		NX: g.nx, NY: g.ny, RBSmaj: g.smajPx * math.Abs(dx), Stokes: g.stokes,
	}
	if w != nil {
		info.Usable = func(ra, dec float64) bool {
			x, y, err := w.SkyToPix(ra, dec)
			return err == nil && x >= 0 && y >= 0 && x < nx && y < ny
		}
	}
	return info
}

// imageRow returns the images.parquet row of img as planned: metadata
// only, accepted, no rms values yet.
func imageRow(img *Image) catalog.Image {
	r := catalog.Image{ID: img.ID, URL: img.Path, Band: img.Band, SkyRegion: img.Region,
		Timestep: img.Timestep, Stokes: 1, Plane: int32(img.Plane)}
	m := img.Meta
	if m == nil {
		return r
	}
	dx, dy := img.deltas()
	r.Stokes = img.stokes()
	r.TauStart, r.TauTime = m.TauStart, m.TauTime
	r.FreqEff, r.FreqBW = m.FreqEff, m.FreqBW
	r.RBSmaj, r.RBSmin, r.RBPA = m.BeamPx.SMaj*math.Abs(dx), m.BeamPx.SMin*math.Abs(dy), m.Beam.BPA
	r.DeltaX, r.DeltaY = dx, dy
	r.NX, r.NY = int32(m.Naxis1), int32(m.Naxis2)
	r.CentreRA, r.CentreDec = m.CentreRA, m.CentreDec
	return r
}
