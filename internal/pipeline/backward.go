package pipeline

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/decomp"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
	"gotrap/internal/wire"
	"gotrap/kernels"
	"gotrap/reduce"
)

// Backward forced fits ([forced_fits] backward = true;
// docs/pipeline.md "Backward forced fits"): after the association has
// written the catalogue tables, every running-catalogue source that is
// not a monitor source is fitted at its final weighted position (wm_ra,
// wm_decl) in every accepted image, of any band, whose timestep comes
// before the timestep of its earliest association and whose usable area
// holds the position. The fits are a stage over images distributed like
// the forced stage (the same LPT rule over the images' pixel counts,
// staged per image in RUN/work/backward with a completion mark, resumable)
// and are recorded as measurements of extract_type catalog.ExtractBackward
// linked to their runcat by associations of type catalog.AssocBackward.
// They do not enter the running flux statistics (runcat_flux, the
// associations' v_int, eta_int, f_datapoints) nor varmetric.

// StageBackward is the manifest name of the backward forced-fit stage.
const StageBackward = "backward"

// backwardIndex is the first measurement index (catalog.MeasurementID) of
// an image's backward fits: the k-th backward request of an image takes
// index backwardIndex + k. The association stage numbers an image's blind
// sources, null-detection and monitor requests from 0 up, so the two
// ranges cannot meet while an image has fewer than 2^23 of those
// (finalRuncats checks every associated id).
const backwardIndex = 1 << 23

// backwardStage fits the backward requests of the images assigned to
// this rank and writes their catalogue rows.
type backwardStage struct {
	run   string
	opt   extract.Options
	read  fitsimg.Options
	copts []catalog.Option
	cfg   assoc.Config // for assoc.Prepare (SPEC 5.1's insert-time columns)
	plan  *Plan
	rows  []catalog.Image // after quality control
	comm  reduce.Comm
	pix   sync.Pool // *kernels.Image storage reused across images
}

// backSource is a running-catalogue source to fit backwards: its id, its
// final position and the timestep of its earliest association.
type backSource struct {
	runcat  int64
	ra, dec float64
	first   int64
}

// backwardMark is the content of RUN/work/backward/ID.json, the image's
// completion mark: the requests' hash and the fits made, as (runcat,
// measurement id) pairs in id order.
type backwardMark struct {
	Image    int64      `json:"image"`
	Requests string     `json:"requests_sha256"`
	Fits     [][2]int64 `json:"fits"`
}

// backwardAssocFile is the file of the backward associations, a part of
// the associations table next to RUN/associations.parquet (the DuckDB
// view reads both; docs/catalog.md "Layout").
func backwardAssocFile(run string) string {
	return rundir.TablePartPath(run, catalog.TableAssociations, StageBackward)
}

// finalRuncats is the one place the stage reads the association's
// result: RUN/runcat.parquet and RUN/associations.parquet as the
// association stage wrote them. It returns the runcats that are not
// monitor sources, by id, each with the timestep of its earliest
// association (image timesteps from plan).
func finalRuncats(run string, plan *Plan) ([]backSource, error) {
	rcs, err := readStaged[catalog.Runcat](rundir.TablePath(run, catalog.TableRuncat))
	if err != nil {
		return nil, err
	}
	// The associations are read a batch at a time: a long run has
	// millions (a 30-minute live run at 8 images/s: 10 M).
	first := make(map[int64]int64, len(rcs))
	path := rundir.TablePath(run, catalog.TableAssociations)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	var bad error // an association the plan cannot hold
	err = catalog.ReadEach(f, 1<<16, func(as []catalog.Association) error {
		for _, a := range as {
			img, idx := catalog.SplitMeasurementID(a.Xtrsrc)
			if img < 1 || img > int64(plan.Len()) {
				bad = fmt.Errorf("pipeline: backward fits: association of runcat %d with measurement %d of unknown image %d", a.Runcat, a.Xtrsrc, img)
				return bad
			}
			if idx >= backwardIndex {
				bad = fmt.Errorf("pipeline: backward fits: %s: measurement index %d reaches the backward-fit ids (%d)", plan.Image(int(img-1)).Path, idx, backwardIndex)
				return bad
			}
			ts := plan.Image(int(img - 1)).Timestep
			if f, ok := first[a.Runcat]; !ok || ts < f {
				first[a.Runcat] = ts
			}
		}
		return nil
	})
	switch {
	case bad != nil:
		return nil, bad
	case err != nil:
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	out := make([]backSource, 0, len(rcs))
	for _, r := range rcs {
		if r.MonSrc {
			continue
		}
		f, ok := first[r.ID]
		if !ok {
			return nil, fmt.Errorf("pipeline: backward fits: runcat %d has no association", r.ID)
		}
		out = append(out, backSource{runcat: r.ID, ra: r.WmRA, dec: r.WmDecl, first: f})
	}
	slices.SortFunc(out, func(a, b backSource) int { return cmp.Compare(a.runcat, b.runcat) })
	return out, nil
}

// encodeSources encodes srcs for a Bcast: their number, then per source
// runcat, RA, Dec and first timestep (package wire).
func encodeSources(srcs []backSource) []byte {
	e := wire.NewEncoder(make([]byte, 0, 8+32*len(srcs)))
	e.Count(len(srcs))
	for _, s := range srcs {
		e.Int64(s.runcat)
		e.Float64(s.ra)
		e.Float64(s.dec)
		e.Int64(s.first)
	}
	return e.Data()
}

// decodeSources is the inverse of encodeSources.
func decodeSources(b []byte) ([]backSource, error) {
	d := wire.NewDecoder(b)
	out := make([]backSource, d.Count(32))
	for i := range out {
		out[i] = backSource{runcat: d.Int64(), ra: d.Float64(), dec: d.Float64(), first: d.Int64()}
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("pipeline: backward-fit sources from rank 0: %w", err)
	}
	return out, nil
}

// backwardRequests returns every image's backward requests (in the null
// list of imageRequests, by runcat id): for an accepted image with a WCS,
// the sources whose first timestep is after the image's and whose
// position lies in the image's usable area: the forced fitter's inside
// test (imageInfo's Usable, the test the association uses to count
// null-detection requests) and, with [extraction] extraction_radius_pix
// set, inside the image's sky-region circle (SPEC 2.4), which bounds the
// null-detection requests too. Every rank computes the same lists.
func backwardRequests(ctx context.Context, plan *Plan, rows []catalog.Image, srcs []backSource, radiusPix float64, workers int) ([]imageRequests, error) {
	reqs := make([]imageRequests, plan.Len())
	err := forEach(ctx, plan.Len(), workers, func(i int) error {
		img := plan.Image(i)
		if rows[i].Rejected || !img.hasHeader() || img.HeaderErr != "" {
			return nil
		}
		usable := imageInfo(img).Usable
		if usable == nil {
			return nil
		}
		inCircle := func(ra, dec float64) bool { return true }
		if radiusPix > 0 {
			dx, _ := img.deltas()
			lim := 2 * math.Sin(radiusPix*math.Abs(dx)*math.Pi/180/2)
			g := img.geo()
			cx, cy, cz := unitVector(g.centreRA, g.centreDec)
			inCircle = func(ra, dec float64) bool {
				x, y, z := unitVector(ra, dec)
				return math.Sqrt((x-cx)*(x-cx)+(y-cy)*(y-cy)+(z-cz)*(z-cz)) < lim
			}
		}
		var null []assoc.Request
		for _, s := range srcs {
			if s.first > img.Timestep && inCircle(s.ra, s.dec) && usable(s.ra, s.dec) {
				null = append(null, assoc.Request{Runcat: s.runcat, RA: s.ra, Dec: s.dec})
			}
		}
		if len(null) >= 1<<24-backwardIndex {
			return fmt.Errorf("pipeline: backward fits: %s: %d requests, more than the ids allow", img.Path, len(null))
		}
		reqs[i] = imageRequests{null: null}
		return nil
	})
	return reqs, err
}

// unitVector returns the unit vector of (ra, dec) in degrees.
func unitVector(ra, dec float64) (x, y, z float64) {
	r, d := ra*math.Pi/180, dec*math.Pi/180
	return math.Cos(d) * math.Cos(r), math.Cos(d) * math.Sin(r), math.Sin(d)
}

// mark returns the completion mark of image id, or nil.
func (s *backwardStage) mark(id int64) *backwardMark {
	b, err := os.ReadFile(rundir.StagedPath(s.run, StageBackward, id, "json"))
	if err != nil {
		return nil
	}
	var m backwardMark
	if json.Unmarshal(b, &m) != nil || m.Image != id {
		return nil
	}
	return &m
}

// image fits the backward requests of img: request k takes the id
// MeasurementID(image, backwardIndex+k); failed fits (masked pixels) and
// fits with non-finite flux errors (assoc.Prepare) leave no measurement.
// It writes RUN/work/backward/ID.fits.parquet, the catalogue rows, then
// ID.json, the completion mark.
func (s *backwardStage) image(img *Image, req *imageRequests) (err error) {
	defer recoverImage(img, StageBackward, &err)
	if testHookImage != nil {
		testHookImage(StageBackward, img)
	}
	r, err := fitPositions(s.run, s.opt, s.read, &s.pix, img, req.positions(), "backward fits")
	if err != nil {
		return err
	}
	fits := make([]catalog.Measurement, 0, len(r.Sources))
	for _, src := range r.Sources {
		k := src.ID
		m := extract.Measurements(nil, img.ID, []kernels.Source{src}, catalog.ExtractBackward)[0]
		m.ID = catalog.MeasurementID(img.ID, backwardIndex+k)
		m.FFRuncat = sql.NullInt64{Int64: req.null[k].Runcat, Valid: true}
		fits = append(fits, m)
	}
	kept, _, err := assoc.Prepare(s.cfg, img.ID, catalog.ExtractBackward, fits)
	if err != nil {
		return fmt.Errorf("pipeline: backward fits of %s: %w", img.Path, err)
	}
	mk := backwardMark{Image: img.ID, Requests: req.hash(), Fits: make([][2]int64, 0, len(kept))}
	for _, m := range kept {
		mk.Fits = append(mk.Fits, [2]int64{m.FFRuncat.Int64, m.ID})
	}
	if err := catalog.WriteFile(rundir.StagedPath(s.run, StageBackward, img.ID, "fits.parquet"), kept, s.copts...); err != nil {
		return err
	}
	b, err := json.Marshal(mk)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return rundir.WriteFile(rundir.StagedPath(s.run, StageBackward, img.ID, "json"), b)
}

// runStage runs the stage on this rank (every rank calls it): rank 0
// reads the final runcats and broadcasts them, every rank derives the
// same requests and the same LPT assignment of the images with requests
// (decomp.AssignLPT over all of them at once), fits its own images (reusing
// staged fits whose mark holds the same requests), writes its
// measurement part measurements/rank=RRRR/backward-00000.parquet, and
// rank 0 writes the associations (backwardAssocFile) from every image's
// mark. It fills st's counts (images fitted now and reused, over all
// ranks) and sum.Backward.
func (s *backwardStage) runStage(ctx context.Context, st *rundir.Stage, workers int, prog *progress, log *logger, sum *Summary) error {
	me, size := s.comm.Rank(), s.comm.Size()
	var msg []byte
	if me == 0 {
		srcs, err := finalRuncats(s.run, s.plan)
		if err != nil {
			return err
		}
		msg = encodeSources(srcs)
	}
	if size > 1 {
		var err error
		if msg, err = s.comm.Bcast(msg, 0); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	srcs, err := decodeSources(msg)
	if err != nil {
		return err
	}
	reqs, err := backwardRequests(ctx, s.plan, s.rows, srcs, s.cfg.ExtractionRadiusPix, workers)
	if err != nil {
		return err
	}
	var acc []int
	nreq := 0
	for i := range reqs {
		if !reqs[i].empty() {
			acc = append(acc, i)
			nreq += len(reqs[i].null)
		}
	}
	costs := imageCosts(s.plan)
	c := make([]float64, len(acc))
	for k, i := range acc {
		c[k] = costs[i]
	}
	owner := map[int]int{}
	var todo []int
	for k, r := range decomp.AssignLPT(c, size) {
		owner[acc[k]] = r
		if r == me {
			todo = append(todo, acc[k])
		}
	}
	log.printf("backward fits: %d sources, %d requests in %d images, %d of them on this rank", len(srcs), nreq, len(acc), len(todo))

	// Fit this rank's images; an image that fails stops the stage (those
	// in flight finish and stay staged for --resume).
	var left []int
	skipped := 0
	for _, i := range todo {
		if m := s.mark(s.plan.Image(i).ID); m != nil && m.Requests == reqs[i].hash() {
			skipped++
			continue
		}
		left = append(left, i)
	}
	prog.start(StageBackward, len(left))
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	err = forEach(fctx, len(left), workers, func(k int) error {
		i := left[k]
		if err := s.image(s.plan.Image(i), &reqs[i]); err != nil {
			cancel()
			return err
		}
		prog.add(1)
		return nil
	})
	prog.finish()
	if err != nil {
		return err
	}
	done := len(left)
	if err := sumInts(s.comm, &done, &skipped); err != nil {
		return err
	}
	st.Items, st.Skipped = done, skipped

	// The catalogue rows. Rank 0 first removes what an earlier attempt
	// (perhaps on more ranks) left.
	if me == 0 {
		if err := removeBackwardParts(s.run); err != nil {
			return err
		}
	}
	if err := s.comm.Barrier(); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	n, err := s.writePart(todo)
	if err != nil {
		return err
	}
	markPath := func(i, _ int) string { return rundir.StagedPath(s.run, StageBackward, s.plan.Image(i).ID, "json") }
	got, err := gatherFiles(s.comm, todo, 1, markPath, true)
	if err != nil {
		return err
	}
	if me == 0 {
		var as []catalog.Association
		for _, i := range acc {
			b, ok := got[i]
			if !ok {
				return fmt.Errorf("pipeline: %s: backward fits not received from rank %d", s.plan.Image(i).Path, owner[i])
			}
			var m backwardMark
			if err := json.Unmarshal(b[0], &m); err != nil || m.Image != s.plan.Image(i).ID {
				return fmt.Errorf("pipeline: %s: bad backward-fit mark %s", s.plan.Image(i).Path, markPath(i, 0))
			}
			for _, f := range m.Fits {
				as = append(as, catalog.Association{Runcat: f[0], Xtrsrc: f[1], Type: catalog.AssocBackward})
			}
		}
		slices.SortFunc(as, func(a, b catalog.Association) int {
			if c := cmp.Compare(a.Runcat, b.Runcat); c != 0 {
				return c
			}
			return cmp.Compare(a.Xtrsrc, b.Xtrsrc)
		})
		if err := catalog.WriteFile(backwardAssocFile(s.run), as, s.copts...); err != nil {
			return err
		}
	}
	// Every part is complete after this collective.
	if err := sumInts(s.comm, &n); err != nil {
		return err
	}
	sum.Backward = n
	return nil
}

// writePart writes this rank's measurement part from the staged fits of
// its images (idx, in plan order) and returns its rows.
func (s *backwardStage) writePart(idx []int) (int, error) {
	w, err := catalog.Create[catalog.Measurement](rundir.PartPath(s.run, catalog.TableMeasurements, s.comm.Rank(), StageBackward, 0), s.copts...)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, i := range idx {
		ms, err := readStaged[catalog.Measurement](rundir.StagedPath(s.run, StageBackward, s.plan.Image(i).ID, "fits.parquet"))
		if err == nil {
			err = w.Write(ms...)
		}
		if err != nil {
			w.Abort()
			return 0, err
		}
		n += len(ms)
	}
	return n, w.Close()
}

// removeBackwardParts removes the stage's catalogue files: every rank's
// measurement part and the associations file.
func removeBackwardParts(run string) error {
	if err := removeParts(run, StageBackward); err != nil {
		return err
	}
	if err := os.Remove(backwardAssocFile(run)); err != nil && !isNotExist(err) {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// countBackward sets sum.Backward from the measurement parts of a
// finished stage (a resumed run that skips it).
func countBackward(run string, sum *Summary) error {
	parts, err := filepath.Glob(rundir.PartGlob(run, catalog.TableMeasurements, StageBackward))
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	sum.Backward = 0
	for _, p := range parts {
		ms, err := readStaged[catalog.Measurement](p)
		if err != nil {
			return err
		}
		sum.Backward += len(ms)
	}
	return nil
}
