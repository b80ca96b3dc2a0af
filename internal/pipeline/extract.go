package pipeline

import (
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"image"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/cespare/xxhash/v2"

	"gotrap/catalog"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/qc"
	"gotrap/internal/rundir"
	"gotrap/kernels"
)

// extractStage is the parallel extraction stage of one rank: for each
// image, read, run the per-image quality checks (every check of SPEC 3.2
// except the rms history, which needs the images in order and is decided
// later), and extract the images that pass. Each image leaves two files
// in RUN/work/extract: ID.blind.parquet, its measurements (ids
// MeasurementID(image, PySE order)), then ID.image.parquet, its images row
// (rms_qc, rms_min, rms_max, thresholds, rejection). The second, written
// last and atomically, marks the image done. An extracted image also
// leaves ID.grids.bin, its background grids, before them (grids.go).
type extractStage struct {
	run   string
	opt   extract.Options
	qc    qc.Config
	read  fitsimg.Options
	copts []catalog.Option
	// catalogues, when true, takes each image's measurements from its
	// catalogue (Image.Catalogue; gotrap run --catalogues) instead of
	// its detections: catalogueMeasurements.
	catalogues bool
	// stage writes the staged files (shared with the forced fits).
	stage *staging

	// pixFree holds the storage of pixel copies kept for forced fits, for
	// reuse: a free list, not a sync.Pool, which every garbage collection
	// empties (at the timesteps stage's low GOGC that is often, and each
	// copy was then allocated and cleared anew: 11% of the CPU of
	// rsm-mini). It holds at most maxFree buffers, the images a rank
	// holds at once.
	pixMu   sync.Mutex
	pixFree []*kernels.Image
	maxFree int
	// stale are the inputs whose staged results are not reused (written
	// again since they were staged; checkResume).
	stale map[string]bool
	// firstOf is, per file, the id of its first image in the plan (the
	// one whose read hashes the file; nil: every image's).
	firstOf map[string]int64
	// pool holds the extraction workers, kept from one prefetch to the
	// next (workerPool).
	pool *poolT
}

// done reports whether image img's extraction is complete on disk and
// may be reused: its timestep was committed (staging.reusable) and its
// completion mark is there.
func (s *extractStage) done(img *Image) bool {
	if s.stale[img.Path] || !s.stage.reusable(img.Timestep) {
		return false
	}
	_, err := os.Stat(rundir.StagedPath(s.run, StepExtract, img.ID, "image.parquet"))
	return err == nil
}

// hashSuffix is the suffix of the staged file ID.xxh64: the xxHash64 of
// the image's file (hex), made on the read that extracted it and written
// before the completion mark.
const hashSuffix = "xxh64"

// hash returns the worker's hash, reset, for img's file.
func (w *worker) hash(*Image) *xxhash.Digest {
	if w.xxh == nil {
		w.xxh = xxhash.New()
	}
	w.xxh.Reset()
	return w.xxh
}

// worker is one extraction goroutine's reusable state.
type worker struct {
	xxh *xxhash.Digest
	ex  *extract.Worker
	qc  kernels.QCScratch
	pix *kernels.Image // the previous image read: its storage is reused
}

// ErrImageFailed marks the unexpected failure of one image's processing
// (a panic in extraction or forced fitting), as opposed to a data
// rejection: the run stops with an *ImageError naming the image. On
// several ranks it becomes the failing rank's error (reduce.RankError).
var ErrImageFailed = errors.New("pipeline: image processing failed")

// ImageError is the unexpected failure of one image in a stage. It
// matches ErrImageFailed under errors.Is.
type ImageError struct {
	ID    int64
	Path  string
	Stage string
	Err   error
	// Stack is the goroutine's stack at the panic, for the rank log.
	Stack []byte
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("pipeline: image %d (%s) failed in the %s stage: %v", e.ID, e.Path, e.Stage, e.Err)
}

// Unwrap returns the underlying error.
func (e *ImageError) Unwrap() error { return e.Err }

// Is reports whether target is ErrImageFailed.
func (e *ImageError) Is(target error) bool { return target == ErrImageFailed }

// recoverImage turns a panic while processing img in stage into an
// *ImageError stored in *err. Use it deferred.
func recoverImage(img *Image, stage string, err *error) {
	if p := recover(); p != nil {
		*err = &ImageError{ID: img.ID, Path: img.Path, Stage: stage, Err: fmt.Errorf("panic: %v", p), Stack: debug.Stack()}
	}
}

// testHookImage, when not nil, is called with the stage and image before
// each image is processed; fault-injection tests make it panic.
var testHookImage func(stage string, img *Image)

// extract reads (from f when the read-ahead read the file, else by
// path), checks and extracts img and writes its staged files
// (the completion mark last; staging). With keep, an image that passes
// the per-image checks is returned with a copy of its pixels as read, its
// metadata and background grids, for the forced fits of its timestep
// (the extraction consumes the worker's copy): the image is read once. A
// panic becomes an *ImageError.
func (s *extractStage) extract(w *worker, img *Image, keep bool, f *rawFile) (h *held, err error) {
	defer recoverImage(img, StepExtract, &err)
	defer f.free() // read1 frees it once read
	if testHookImage != nil {
		testHookImage(StepExtract, img)
	}
	h = &held{row: catalog.Image{ID: img.ID}, extracted: true}
	row := &h.row
	var grids, dropped []byte
	reject := func(reason int64, comment string) {
		row.Rejected = true
		row.RejectReason = sql.NullInt64{Int64: reason, Valid: true}
		row.RejectComment = comment
	}
	if img.Meta == nil {
		reject(catalog.RejectReadError, img.HeaderErr)
	} else if pix, meta, hashed, err := s.read1(w, img, f); err != nil {
		reject(catalog.RejectReadError, err.Error())
	} else {
		w.pix = pix
		if hashed {
			h.xxh64 = fmt.Sprintf("%016x", w.xxh.Sum64())
		}
		// With keep, the copy for the forced fits is taken in the pass of
		// the QC statistics (qc.PrepareCopy) and given back if rejected.
		var kept *kernels.Image
		var dst []float32
		if keep {
			kept = s.pixStorage(pix.Rect)
			dst = kept.Pix
		}
		in := qc.PrepareCopy(meta, pix, s.qc, &w.qc, dst)
		in.Band = int(img.Band)
		row.RMSQC = in.RMSQC
		if res := qc.Check(in, nil, s.qc); !res.Accepted {
			reject(int64(res.Reason), res.Test+": "+res.Comment)
			if kept != nil {
				s.release(&held{pix: kept})
			}
		} else {
			if keep {
				h.pix, h.meta = kept, meta
			}
			if r, err := img.extractWith(w.ex, s.opt, pix, meta, in.RMSQC); err != nil {
				reject(catalog.RejectReadError, fmt.Sprintf("%s: %v", img.Path, err))
			} else {
				row.RMSMin, row.RMSMax = r.RMSMin, r.RMSMax
				row.DetectionThresh, row.AnalysisThresh = r.DetectionThr, r.AnalysisThr
				h.blind = extract.Measurements(nil, img.ID, r.Sources, catalog.ExtractBlind)
				h.grids = r.Grids
				if r.Grids != nil {
					grids = encodeGrids(r.Grids, pix.Rect)
				}
				if s.catalogues {
					// The extraction above still made the rms range and
					// the background grids forced fits and limits need.
					if img.Catalogue == "" {
						h.blind, grids = nil, nil
						reject(catalog.RejectReadError, fmt.Sprintf("%s: no catalogue given for the image (--catalogues)", img.Path))
					} else if h.blind, dropped, err = catalogueMeasurements(img.Catalogue, img.ID, meta, s.opt); err != nil {
						h.blind, grids = nil, nil
						reject(catalog.RejectReadError, err.Error())
					}
				}
			}
		}
	}
	if row.Rejected {
		s.release(h)
	}
	if err := s.stageFiles(img, *row, h.blind, h.xxh64, grids, dropped); err != nil {
		return nil, err
	}
	return h, nil
}

// stageFiles writes image img's staged files: its dropped catalogue
// rows, its background grids and its file's hash (each when there is
// one), its blind measurements, and then its images row, the completion
// mark. They are made durable with the image's timestep (staging).
func (s *extractStage) stageFiles(img *Image, row catalog.Image, blind []catalog.Measurement, xxh64 string, grids, dropped []byte) error {
	st, t := s.stage, img.Timestep
	if dropped != nil {
		if err := st.file(t, rundir.StagedPath(s.run, StepExtract, img.ID, droppedSuffix), dropped); err != nil {
			return err
		}
	}
	if grids != nil {
		// Before the completion mark: a done image has its grids
		// (unless staged by a gotrap without them).
		if err := st.file(t, rundir.StagedPath(s.run, StepExtract, img.ID, gridsSuffix), grids); err != nil {
			return err
		}
	}
	if xxh64 != "" {
		if err := st.file(t, rundir.StagedPath(s.run, StepExtract, img.ID, hashSuffix), []byte(xxh64+"\n")); err != nil {
			return err
		}
	}
	if err := stageRows(st, t, rundir.StagedPath(s.run, StepExtract, img.ID, "blind.parquet"), blind, s.copts); err != nil {
		return err
	}
	return stageRows(st, t, rundir.StagedPath(s.run, StepExtract, img.ID, "image.parquet"), []catalog.Image{row}, s.copts)
}

// read1 reads img's plane into the worker's storage, from f when the
// read-ahead read the file (readahead.go), else by path, hashing the file
// on that read when img is its file's first image in the plan (the other
// planes of a cube are read without: the file is hashed once). It frees
// f.
func (s *extractStage) read1(w *worker, img *Image, f *rawFile) (*kernels.Image, *fitsimg.Meta, bool, error) {
	defer f.free()
	opts := img.readOptions(s.read)
	var h hash.Hash
	if s.firstOf == nil || s.firstOf[img.Path] == img.ID {
		h = w.hash(img)
	}
	switch {
	case f != nil:
		return fitsimg.ReadIntoFrom(w.pix, img.Path, f.data, opts, h)
	case h != nil:
		return fitsimg.ReadIntoHashed(w.pix, img.Path, opts, h)
	}
	pix, meta, err := fitsimg.ReadInto(w.pix, img.Path, opts)
	return pix, meta, false, err
}

// load returns the staged results of image img, extracted by an earlier
// call (--resume, --append): its images row and blind measurements,
// without its pixels.
func (s *extractStage) load(img *Image) (*held, error) {
	path := rundir.StagedPath(s.run, StepExtract, img.ID, "image.parquet")
	rows, err := readStaged[catalog.Image](path)
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 || rows[0].ID != img.ID {
		return nil, fmt.Errorf("pipeline: %s: staged image row missing or of another image (%s)", img.Path, path)
	}
	h := &held{row: rows[0]}
	if h.blind, err = readStaged[catalog.Measurement](rundir.StagedPath(s.run, StepExtract, img.ID, "blind.parquet")); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(rundir.StagedPath(s.run, StepExtract, img.ID, hashSuffix)); err == nil {
		h.xxh64 = strings.TrimSpace(string(b))
	}
	return h, nil
}

// pixStorage returns an image of rectangle r (compact rows) in storage
// from the stage's pool, its pixels not set.
func (s *extractStage) pixStorage(r image.Rectangle) *kernels.Image {
	n := r.Dx() * r.Dy()
	var c *kernels.Image
	s.pixMu.Lock()
	if k := len(s.pixFree); k > 0 {
		c, s.pixFree = s.pixFree[k-1], s.pixFree[:k-1]
	}
	s.pixMu.Unlock()
	if c == nil || cap(c.Pix) < n {
		c = &kernels.Image{Pix: make([]float32, n)}
	}
	c.Pix, c.Stride, c.Rect = c.Pix[:n], r.Dx(), r
	return c
}

// release returns h's pixels to the pool: the image is no longer needed.
func (s *extractStage) release(h *held) {
	if h.pix != nil {
		s.pixMu.Lock()
		if len(s.pixFree) < max(s.maxFree, 1) {
			s.pixFree = append(s.pixFree, h.pix)
		}
		s.pixMu.Unlock()
	}
	h.pix, h.meta, h.grids = nil, nil, nil
}

// workerPool returns the stage's pool of extraction workers with at
// least n (at least 1) in it, made on first use and kept (most: the
// most any call asks for, the channel's room): a live run
// starts a prefetch for each batch of timesteps, and new workers would
// allocate and zero their planes again each time.
// Each prefetch takes n workers from the pool and puts them back when it
// ends (prefetch.close waits for that).
func (s *extractStage) workerPool(n, most int) (*poolT, error) {
	n = max(1, n)
	if s.pool == nil {
		s.pool = &poolT{free: make(chan *worker, max(n, most))}
	}
	for s.pool.n < n {
		ex, err := extract.NewWorker(s.opt)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		s.pool.free <- &worker{ex: ex}
		s.pool.n++
	}
	return s.pool, nil
}

// poolT is a set of reusable workers.
type poolT struct {
	free chan *worker
	n    int
}

// readStaged reads a staged Parquet file of records T.
func readStaged[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	rows, err := catalog.Read[T](f)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return rows, nil
}

// forcedOptions returns extraction options that fit positions (SPEC 4.15).
func forcedOptions(opt extract.Options, pos [][2]float64) extract.Options {
	opt.Positions = pos
	return opt
}

// dropOutside reports the forced fitter's reasons that mean "not on the
// image" (the requests Usable does not count).
func dropOutside(r kernels.DropReason) bool {
	return r == kernels.DropOutside || r == kernels.DropSky
}
