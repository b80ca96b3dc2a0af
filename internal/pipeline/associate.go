package pipeline

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"slices"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/qc"
	"gotrap/internal/rundir"
	"gotrap/internal/wire"
	"gotrap/reduce"
)

// applyHistory runs the rms-history check (SPEC 3.2 item 6, quirk 2
// fixed) over the images of timestep ts in plan order, rejecting in rows
// the images whose rms_qc is off their band's history hist of earlier
// accepted images, and adding the others to it. It is the sequential
// half of quality control; the per-image checks ran in the extraction.
func applyHistory(a *assocRun, ts []int, hist *qc.History, cfg qc.Config) {
	if !cfg.CheckRMSHistory {
		return
	}
	plan := a.plan
	for _, i := range ts {
		r := a.row(i)
		if r.Rejected {
			continue
		}
		band := int(plan.Image(i).Band)
		if ok, c := qc.CheckRMSHistory(r.RMSQC, band, hist, cfg.RMSEstHistory, cfg.RMSRejSigma); !ok {
			r.Rejected = true
			r.RejectReason = sql.NullInt64{Int64: int64(qc.ReasonRMS), Valid: true}
			r.RejectComment = qc.TestRMSHistory + ": " + c
			continue
		}
		hist.Add(band, r.RMSQC)
	}
}

// imageRequests are the forced-fit requests of one image after its blind
// association: null detections (SPEC 6.1) and monitor positions (6.2).
type imageRequests struct {
	null, mon []assoc.Request
}

// empty reports whether there is nothing to fit.
func (r *imageRequests) empty() bool { return len(r.null)+len(r.mon) == 0 }

// positions returns the positions to fit: null detections, then monitors.
func (r *imageRequests) positions() [][2]float64 {
	p := make([][2]float64, 0, len(r.null)+len(r.mon))
	for _, q := range r.null {
		p = append(p, [2]float64{q.RA, q.Dec})
	}
	for _, q := range r.mon {
		p = append(p, [2]float64{q.RA, q.Dec})
	}
	return p
}

// hash identifies the requests (runcat or monitor and position, in
// order), so that staged fits are reused only for the same requests.
func (r *imageRequests) hash() string {
	// The bytes hashed are those of earlier gotraps: Uint64 counts
	// (not wire's varint counts), so that their staged fits are reused.
	e := wire.NewEncoder(nil)
	for _, l := range [][]assoc.Request{r.null, r.mon} {
		e.Uint64(uint64(len(l)))
		for _, q := range l {
			id := q.Runcat
			if q.Monitor != 0 {
				id = q.Monitor
			}
			e.Int64(id)
			e.Float64(q.RA)
			e.Float64(q.Dec)
		}
	}
	h := sha256.Sum256(e.Data())
	return hex.EncodeToString(h[:])
}

// forcedFits are the answers to one image's requests.
type forcedFits struct {
	null    []catalog.Measurement // extract_type 1, ff_runcat set
	outside []int64               // requested runcats off the image
	mon     []catalog.Measurement // extract_type 2, ff_monitor set
}

// assocRun is what a rank's association needs of the run: the plan, the
// images rows, the engine's settings and the ranks. Per timestep, every
// image is registered (SPEC 2.2 step 3, rejected ones included), then
// each accepted image is associated in frequency order (step 8), then
// each image's null-detection and monitor fits (step 10).
type assocRun struct {
	plan *Plan
	// rows are the images rows after quality control: rows[k] is image
	// rowBase+k's. A live run drops those of its committed timesteps
	// (live.publish: they are in the images parts), so rowBase grows.
	rows     []catalog.Image
	rowBase  int
	cfg      assoc.Config
	monitors [][2]float64

	// The ranks (docs/pipeline.md "Ranks"): owner[i] is the rank that
	// extracts image i, fits its requests and writes its measurements.
	comm     reduce.Comm
	owner    []int
	me, size int
	run      string
	// tileDeg is the side of the sky tiles of the distributed
	// association (0: one tile, rank 0's); tiles is the tiling.
	tileDeg float64
	tiles   *tileMap
	log     *logger
}

// row returns image i's row (i an index into the plan's images, at least
// rowBase).
func (a *assocRun) row(i int) *catalog.Image { return &a.rows[i-a.rowBase] }

// dropRows drops the rows of the images before index k (a live run's,
// once they are in the images parts).
func (a *assocRun) dropRows(k int) {
	if k <= a.rowBase {
		return
	}
	a.rows = slices.Clone(a.rows[k-a.rowBase:])
	a.rowBase = k
}

// newEngine returns an engine with the monitors added (ids 1, 2, ...).
// Its association links spill to a temporary file under RUN/work/links
// (rundir.LinksDir; the file is unlinked as soon as it is created); the caller
// closes the engine.
func (a *assocRun) newEngine() (*assoc.Engine, error) {
	cfg := a.cfg
	if a.run != "" {
		cfg.SpillDir = rundir.LinksDir(a.run)
		if err := os.MkdirAll(cfg.SpillDir, 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	e, err := assoc.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	for k, p := range a.monitors {
		if err := e.AddMonitor(int64(k+1), p[0], p[1]); err != nil {
			e.Close()
			return nil, fmt.Errorf("pipeline: monitor %d: %w", k+1, err)
		}
	}
	return e, nil
}

// closeEngine closes e (nil: none), keeping the first error in *err.
func closeEngine(e *assoc.Engine, err *error) {
	if e == nil {
		return
	}
	if cerr := e.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("pipeline: %w", cerr)
	}
}

// addImages registers the images of timestep ts with e (their quality
// follows, image by image: setQuality).
func (a *assocRun) addImages(e *assoc.Engine, ts []int) error {
	for _, i := range ts {
		img := a.plan.Image(i)
		b, r, err := e.AddImage(imageInfo(img))
		if err != nil {
			return fmt.Errorf("pipeline: %s: %w", img.Path, err)
		}
		if b != img.Band || r != img.Region {
			return fmt.Errorf("pipeline: %s: band %d, region %d differ from the plan's %d, %d", img.Path, b, r, img.Band, img.Region)
		}
	}
	return nil
}

// setQuality gives e image i's quality-control and extraction values
// from its images row (once every rank has it: gatherRows, applyHistory).
func (a *assocRun) setQuality(e *assoc.Engine, i int) error {
	row := a.row(i)
	q := assoc.Quality{Rejected: row.Rejected, RMSMin: row.RMSMin, RMSMax: row.RMSMax, DetectionThresh: row.DetectionThresh}
	if err := e.SetQuality(a.plan.Image(i).ID, q); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// accepted returns the indices of ts whose images passed quality control.
func (a *assocRun) accepted(ts []int) []int {
	var out []int
	for _, i := range ts {
		if !a.row(i).Rejected {
			out = append(out, i)
		}
	}
	return out
}

// write prepares image i's measurements of one type (assoc.Prepare) and
// hands them to w.
func (a *assocRun) write(w func([]catalog.Measurement) error, i int, typ int32, ms []catalog.Measurement) error {
	kept, _, err := assoc.Prepare(a.cfg, a.plan.Image(i).ID, typ, ms)
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", a.plan.Image(i).Path, err)
	}
	return w(kept)
}

// associateFits associates the forced and monitor fits of the timestep's
// accepted images acc with e, in order: fits[i] are those of image i
// whose runcats e holds.
func (a *assocRun) associateFits(e *assoc.Engine, acc []int, reqs map[int]*imageRequests, fits map[int]*forcedFits) error {
	for _, i := range acc {
		img := a.plan.Image(i)
		f := fits[i]
		if f == nil {
			if !reqs[i].empty() {
				return fmt.Errorf("pipeline: rank %d: %s: forced fits not received from rank %d", a.me, img.Path, a.owner[i])
			}
			f = &forcedFits{}
		}
		if _, err := e.AssociateForced(img.ID, f.null, f.outside); err != nil {
			return fmt.Errorf("pipeline: rank %d: %s: %w", a.me, img.Path, err)
		}
		if _, err := e.AssociateMonitor(img.ID, f.mon); err != nil {
			return fmt.Errorf("pipeline: rank %d: %s: %w", a.me, img.Path, err)
		}
	}
	return nil
}
