package pipeline

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"gotrap/catalog"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
	"gotrap/kernels"
)

// forcedStage fits the forced-fit requests (SPEC 4.15, 6.1, 6.2) of each
// image that has some, in parallel over images: the image is read again,
// its background-subtracted and rms maps rebuilt inside the fit boxes
// from the grids the extraction staged (grids.go; recomputed in full
// without them), and the beam fitted at every requested position. Each image leaves RUN/work/forced/ID.fits.parquet
// (the fits with their final ids and ff_runcat / ff_monitor) and then
// ID.json (the requests' hash and the runcats found off the image), the
// latter written last and atomically as the image's completion mark.
type forcedStage struct {
	run   string
	opt   extract.Options
	read  fitsimg.Options
	copts []catalog.Option
	pix   sync.Pool // *kernels.Image storage reused across images
}

// forcedMark is the content of ID.json.
type forcedMark struct {
	Image    int64   `json:"image"`
	Requests string  `json:"requests_sha256"`
	Outside  []int64 `json:"outside"`
}

// mark returns the completion mark of image id, or nil.
func (s *forcedStage) mark(id int64) *forcedMark {
	b, err := os.ReadFile(stagedPath(s.run, StageForced, id, "json"))
	if err != nil {
		return nil
	}
	var m forcedMark
	if json.Unmarshal(b, &m) != nil || m.Image != id {
		return nil
	}
	return &m
}

// image fits the requests of img, whose blind sources took the indices
// below nBlind: null-detection fits take MeasurementID(image, nBlind+k)
// for request k, monitor fits nBlind+len(null)+k.
func (s *forcedStage) image(img *Image, req *imageRequests, nBlind int) (err error) {
	defer recoverImage(img, StageForced, &err)
	if testHookImage != nil {
		testHookImage(StageForced, img)
	}
	r, err := fitPositions(s.run, s.opt, s.read, &s.pix, img, req.positions(), "forced fits")
	if err != nil {
		return err
	}
	nn := len(req.null)
	var fits []catalog.Measurement
	for _, src := range r.Sources {
		k := src.ID
		typ := int32(catalog.ExtractForced)
		if k >= nn {
			typ = catalog.ExtractMonitor
		}
		m := extract.Measurements(nil, img.ID, []kernels.Source{src}, typ)[0]
		m.ID = catalog.MeasurementID(img.ID, nBlind+k)
		if k < nn {
			m.FFRuncat = sql.NullInt64{Int64: req.null[k].Runcat, Valid: true}
		} else {
			m.FFMonitor = sql.NullInt64{Int64: req.mon[k-nn].Monitor, Valid: true}
		}
		fits = append(fits, m)
	}
	mk := forcedMark{Image: img.ID, Requests: req.hash(), Outside: []int64{}}
	for k, why := range r.ForcedReasons {
		if k < nn && dropOutside(why) {
			mk.Outside = append(mk.Outside, req.null[k].Runcat)
		}
	}
	if err := catalog.WriteFile(stagedPath(s.run, StageForced, img.ID, "fits.parquet"), fits, s.copts...); err != nil {
		return err
	}
	b, err := json.Marshal(mk)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return rundir.WriteFile(stagedPath(s.run, StageForced, img.ID, "json"), b)
}

// fitPositions reads img into storage from pool (returned there after
// the fit) and fits the fixed positions pos, rebuilding the maps inside
// the fit boxes from the background grids staged by extraction (without
// them, see grids.go, the maps are recomputed in full: same fits). what
// names the stage in errors. The forced and backward stages share it.
func fitPositions(run string, opt extract.Options, read fitsimg.Options, pool *sync.Pool, img *Image, pos [][2]float64, what string) (*extract.Result, error) {
	reuse, _ := pool.Get().(*kernels.Image)
	pix, meta, err := fitsimg.ReadInto(reuse, img.Path, img.readOptions(read))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", what, err)
	}
	defer pool.Put(pix)
	if opt, err = img.withMaps(opt); err != nil {
		return nil, err
	}
	w, err := extract.NewWorker(forcedOptions(opt, pos))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	r, err := w.ForcedGrids(pix, meta, stagedGrids(run, img.ID, pix.Rect))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s of %s: %w", what, img.Path, err)
	}
	return r, nil
}

// splitFits sorts an image's staged fits into null-detection and monitor
// fits.
func splitFits(m *forcedMark, all []catalog.Measurement) *forcedFits {
	f := &forcedFits{outside: m.Outside}
	for _, ms := range all {
		if ms.ExtractType == catalog.ExtractMonitor {
			f.mon = append(f.mon, ms)
		} else {
			f.null = append(f.null, ms)
		}
	}
	return f
}
