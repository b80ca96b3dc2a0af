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

// forcedStage fits the forced-fit requests (SPEC 4.15, 6.1, 6.2) of
// the images of a timestep that have some: on the image the extraction
// kept in memory, with the maps rebuilt only inside the fit boxes from
// its background grids (extract.Worker.ForcedGrids). Each image leaves
// RUN/work/forced/ID.fits.parquet (the fits with their final ids and
// ff_runcat / ff_monitor) and then ID.json (the requests' hash and the
// runcats found off the image), the latter written last and atomically
// as the image's completion mark: a later call (--resume, --append)
// takes the staged fits of the same requests instead of fitting again.
type forcedStage struct {
	run   string
	opt   extract.Options
	read  fitsimg.Options
	copts []catalog.Option
	pix   sync.Pool // *kernels.Image storage of images read again
	stage *staging  // writes the staged files (shared with the extraction)
}

// forcedMark is the content of ID.json.
type forcedMark struct {
	Image    int64   `json:"image"`
	Requests string  `json:"requests_sha256"`
	Outside  []int64 `json:"outside"`
}

// mark returns the completion mark of image id, or nil.
func (s *forcedStage) mark(id int64) *forcedMark {
	b, err := os.ReadFile(rundir.StagedPath(s.run, StepForced, id, "json"))
	if err != nil {
		return nil
	}
	var m forcedMark
	if json.Unmarshal(b, &m) != nil || m.Image != id {
		return nil
	}
	return &m
}

// fit returns the fits of img's requests req, whose blind sources took
// the indices below nBlind: null-detection fits take
// MeasurementID(image, nBlind+k) for request k, monitor fits
// nBlind+len(null)+k. They are fitted on h's pixels when it holds them;
// otherwise the staged fits of the same requests are taken (reused), or
// the image is read again (a staged extraction whose fits were not
// staged: a resumed run). New fits come with stage, the function that
// writes their staged files (the completion mark last), for the caller to
// run once it no longer needs the pixels. A panic becomes an
// *ImageError.
func (s *forcedStage) fit(img *Image, h *held, req *imageRequests, nBlind int) (f *forcedFits, reused bool, stage func() error, err error) {
	defer recoverImage(img, StepForced, &err)
	if testHookImage != nil {
		testHookImage(StepForced, img)
	}
	if h.pix == nil {
		if m := s.mark(img.ID); m != nil && m.Requests == req.hash() {
			all, err := readStaged[catalog.Measurement](rundir.StagedPath(s.run, StepForced, img.ID, "fits.parquet"))
			if err != nil {
				return nil, false, nil, err
			}
			return splitFits(m, all), true, nil, nil
		}
	}
	var r *extract.Result
	if h.pix != nil {
		opt, err := img.withMaps(s.opt)
		if err != nil {
			return nil, false, nil, err
		}
		w, err := extract.NewWorker(forcedOptions(opt, req.positions()))
		if err != nil {
			return nil, false, nil, fmt.Errorf("pipeline: %w", err)
		}
		if r, err = w.ForcedGrids(h.pix, h.meta, h.grids); err != nil {
			return nil, false, nil, fmt.Errorf("pipeline: forced fits of %s: %w", img.Path, err)
		}
	} else if r, err = fitPositions(s.run, s.opt, s.read, &s.pix, img, req.positions(), "forced fits"); err != nil {
		return nil, false, nil, err
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
	b, err := json.Marshal(mk)
	if err != nil {
		return nil, false, nil, fmt.Errorf("pipeline: %w", err)
	}
	stage = func() error {
		t := img.Timestep
		if err := stageRows(s.stage, t, rundir.StagedPath(s.run, StepForced, img.ID, "fits.parquet"), fits, s.copts); err != nil {
			return err
		}
		return s.stage.file(t, rundir.StagedPath(s.run, StepForced, img.ID, "json"), b)
	}
	return splitFits(&mk, fits), false, stage, nil
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
