package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"runtime/trace"
	"slices"
	"sync"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/qc"
	"gotrap/internal/wire"
	"gotrap/kernels"
)

// The timesteps stage: TraP's order of operations (docs/pipeline.md
// "Engine"), one timestep after another, every rank taking part in the
// same collectives in the same order:
//
//  1. the images of the timestep are extracted by the ranks that own
//     them (or, when an earlier call staged them, loaded from RUN/work:
//     --resume and --append), each read once, ahead of the association
//     (prefetch); an extracted image that passes quality control stays in
//     memory with its background grids until its forced fits are done;
//  2. the images are registered with the association engines; then image
//     by image, in plan order: its images row reaches every rank and the
//     rms-history check is applied (gatherRows, applyHistory); if
//     accepted, its blind measurements are associated over sky tiles
//     (distImage) and its null-detection requests merged
//     (gatherRequests);
//  3. the image's owner fits its requests on the pixels in memory (or
//     takes the fits an earlier call staged), stages them and frees the
//     pixels, in the background while the next images are associated;
//  4. after the last image, the fits go to the ranks holding their
//     runcats (routeFits), which associate them (TraP associates the
//     forced fits after every blind measurement of the timestep);
//  5. each rank writes the measurements of its images; the timestep is
//     committed: every file it needs is staged, so a later call replays
//     it from RUN/work without reading an image. The staged files are
//     made durable by one sync per rank, in the background of the next
//     timestep, at whose end rank 0 records the commit (staging).
//
// So a rank holds the image being associated, the images extracted ahead
// of it ([pipeline] lookahead) and those being fitted ([pipeline]
// workers), whatever the number of images in a timestep.

// held is one of this rank's images in the timesteps stage.
type held struct {
	row   catalog.Image         // images row of the extraction (before the rms history)
	blind []catalog.Measurement // blind measurements, PySE order
	// pix, meta and grids are the image as read, its metadata and its
	// background grids, kept for the forced fits of its timestep; nil
	// for an image loaded from staged files or rejected.
	pix   *kernels.Image
	meta  *fitsimg.Meta
	grids *kernels.BackgroundGrids
	// extracted is true when this call extracted the image (false: its
	// staged results were reused).
	extracted bool
	// xxh64 is the file's hash, made on the read that extracted it.
	xxh64 string
}

// prefetch extracts this rank's images in plan order, at most limit of
// them held at once (the timestep being associated and those extracted
// ahead of it).
type prefetch struct {
	order []int       // this rank's images, plan order
	pos   map[int]int // position in order of each image (read only)
	items []*slot     // by position; nil once released
	slots chan struct{}
	stop  context.CancelFunc
	wg    sync.WaitGroup
	raw   *rawPool // the read-ahead's buffers (freed by close)
	log   *logger
}

// slot is one image's result, ready when done is closed.
type slot struct {
	h    *held
	err  error
	done chan struct{}
}

// startPrefetch starts extracting (or loading) the images order of plan
// on workers goroutines, limit held at once; limit must be at least the
// largest number of them in one timestep.
func (s *stream) startPrefetch(ctx context.Context, order []int, limit int) (*prefetch, error) {
	ctx, cancel := context.WithCancel(ctx)
	p := &prefetch{order: order, pos: make(map[int]int, len(order)), items: make([]*slot, len(order)),
		slots: make(chan struct{}, limit), stop: cancel}
	for k, i := range order {
		p.pos[i] = k
		p.items[k] = &slot{done: make(chan struct{})}
	}
	nw := max(1, min(s.workers, len(order)))
	pool, err := s.ex.workerPool(nw, max(1, s.workers))
	if err != nil {
		cancel()
		return nil, err
	}
	type job struct {
		i     int
		sl    *slot
		ahead *aheadRead
	}
	jobs := make(chan job)
	// The images to be read next are read ahead of their extraction
	// (readahead.go): into buffers of the process while the workers
	// compute, or announced to the operating system. Image k is read
	// once image k-ahead is handed to a worker.
	streams, ahead, buffers := readAheadDepth(nw)
	var raw *rawPool
	if s.directReads {
		raw = newRawPool(s.a.plan, order, buffers)
	}
	p.raw, p.log = raw, s.a.log
	// Not in the slots: the read-ahead and the hand-out keep these
	// until the prefetch closes, and a slot holds its image's results.
	aheads := make([]aheadRead, len(order))
	for k := range aheads {
		aheads[k] = newAheadRead()
	}
	p.wg.Go(func() {
		s.readAheadLoop(ctx, order, aheads, ahead, streams, raw)
	})
	p.wg.Go(func() {
		defer close(jobs)
		for k, i := range order {
			select {
			case p.slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, p.items[k], &aheads[k]}:
				close(aheads[k].taken)
			case <-ctx.Done():
				return
			}
		}
	})
	for range nw {
		p.wg.Go(func() {
			w := <-pool.free
			defer func() { pool.free <- w }() // for the next prefetch
			for j := range jobs {
				i, sl := j.i, j.sl
				if ctx.Err() != nil {
					sl.err = ctx.Err()
					close(sl.done)
					continue
				}
				img := s.a.plan.Image(i)
				f, err := j.ahead.wait(ctx)
				if err != nil {
					sl.err = err
					close(sl.done)
					continue
				}
				if s.ex.done(img) {
					f.free() // none: readAheadImage reads no such image
					sl.h, sl.err = s.ex.load(img)
				} else {
					sl.h, sl.err = s.ex.extract(w, img, true, f)
					if errors.Is(sl.err, ErrImageFailed) {
						// A panic may have left the worker's buffers
						// inconsistent: replace it.
						if ex, nerr := extract.NewWorker(s.ex.opt); nerr == nil {
							w = &worker{ex: ex}
						}
					}
				}
				close(sl.done)
			}
		})
	}
	return p, nil
}

// wait returns image i's result, its staged files written. It is called
// once per image, by the rank's goroutine.
func (p *prefetch) wait(ctx context.Context, i int) (*held, error) {
	sl := p.items[p.pos[i]]
	select {
	case <-sl.done:
		return sl.h, sl.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// release frees image i's slot (after its timestep).
func (p *prefetch) release(i int) {
	p.items[p.pos[i]] = nil
	<-p.slots
}

// close stops the extraction and waits for the images in flight (their
// staged files written).
func (p *prefetch) close() {
	p.stop()
	p.wg.Wait()
	if r := p.raw; r != nil {
		if testHookReadAhead != nil {
			testHookReadAhead(r)
		}
		p.log.printf("read ahead: %d images read with O_DIRECT into %d buffers of %.1f MB, %d found in the page cache, %d announced (read by path)",
			r.direct, r.made, float64(r.size)/1e6, r.cached, r.announced)
	}
	p.raw.close()
}

// heldGCPercent is the GOGC of the timesteps stage (unless lower
// already).
const heldGCPercent = 25

// gcMu guards gcUsers and gcSaved: in-process ranks share the runtime,
// so the first rank to enter the stage lowers GOGC and the last to leave
// restores it.
var (
	gcMu    sync.Mutex
	gcUsers int
	gcSaved int
)

// lowGC lowers GOGC to heldGCPercent (unless lower) and returns the
// function that undoes it.
func lowGC() func() {
	gcMu.Lock()
	defer gcMu.Unlock()
	if gcUsers == 0 {
		gcSaved = debug.SetGCPercent(heldGCPercent)
		if gcSaved >= 0 && gcSaved < heldGCPercent {
			debug.SetGCPercent(gcSaved)
		}
	}
	gcUsers++
	return func() {
		gcMu.Lock()
		defer gcMu.Unlock()
		if gcUsers--; gcUsers == 0 {
			debug.SetGCPercent(gcSaved)
		}
	}
}

// stream is one rank's timesteps stage.
type stream struct {
	a       *assocRun
	ex      *extractStage
	fs      *forcedStage
	qc      qc.Config
	workers int
	// lookahead is the number of images extracted ahead of the
	// timestep being associated (besides its own).
	lookahead int
	// directReads: the read-ahead reads images with O_DIRECT
	// (readahead.go, runner.useDirect).
	directReads bool
	prog        *progress
	// stage writes the staged files and makes them durable per timestep.
	stage *staging
	// commit, when not nil, is called on rank 0 after each timestep t
	// (0-based) is done on every rank, its staged files durable: it
	// records the commit.
	commit func(t int) error
	// live, when not nil, feeds the stage timesteps after the plan's
	// (live.go).
	live *live
	// Counts of this rank.
	extracted, reused, fitted, fitsReused int
	// hashes are the files' xxHash64 of the images, by plan index, as
	// their owners report them (gatherRows; every rank has them all).
	hashes map[int]string
	// sentRows is the bytes of images rows this rank sent to the others
	// (gatherRows), for distStats.
	sentRows int
}

// run runs the stage over every timestep of the plan and writes this
// rank's measurement parts to out. It returns the association engine
// (every rank has one; the caller writes the tables and closes it).
func (s *stream) run(ctx context.Context, out *measurementSink) (_ *assoc.Engine, err error) {
	a := s.a
	a.tiles, err = newTileMap(a.plan, a.cfg, a.tileDeg, a.size)
	if err != nil {
		return nil, err
	}
	e, err := a.newEngine()
	if err != nil {
		return nil, err
	}
	if s.live != nil {
		e.Journal() // the associations are published as parts
	}
	defer func() {
		if err != nil {
			closeEngine(e, &err)
		}
	}()
	if s.live != nil {
		// The packing, the parts' merges and the last commit's
		// AfterCommit in the background end before the stage does (the run's end unpacks
		// every rank's packs and writes the events whole), on an error
		// too; before the engine is closed on an error (deferred above).
		defer func() {
			if perr := s.live.packWait(); err == nil && perr != nil {
				err = perr
			}
			if merr := s.live.mergeStop(); err == nil && merr != nil {
				err = merr
			}
			// The run's end reads every image of the plan.
			if rerr := a.plan.restore(); err == nil && rerr != nil {
				err = rerr
			}
			if aerr := s.live.afterWait(); err == nil && aerr != nil {
				err = aerr
			}
		}()
	}
	d := newDistAssoc(a, e, a.tiles)
	hist := qc.NewHistory(s.qc.RMSEstHistory)

	// The held images are pointer-free pixel buffers, which a garbage
	// collection need not scan: a lower GOGC keeps the heap near what is
	// live for little CPU (docs/performance.md).
	defer lowGC()()
	nimg := 0
	for _, ts := range a.plan.Timesteps {
		nimg += len(ts)
	}
	s.prog.start(StageTimesteps, nimg)
	defer s.prog.finish()
	comm0 := commNow(a.comm)
	var ahead *prefetch // the next batch's extraction, started before the publish
	defer func() {
		if ahead != nil {
			ahead.close()
		}
	}()
	for from := 0; ; {
		err := s.timesteps(ctx, e, d, hist, from, out, ahead)
		ahead = nil // closed by timesteps
		if err != nil {
			return nil, err
		}
		if s.live == nil {
			break
		}
		// The timesteps closed by now are taken without waiting, and
		// their extraction runs while this batch is published: neither
		// the cores nor the next batch wait for the publish.
		committed := len(a.plan.Timesteps)
		if _, err := s.live.next(ctx, s, false); err != nil {
			return nil, err
		}
		if len(a.plan.Timesteps) > committed {
			if ahead, err = s.prefetchFrom(ctx, committed); err != nil {
				return nil, err
			}
		}
		if err := s.live.publish(s, e, committed); err != nil {
			return nil, err
		}
		from = committed
		if ahead != nil {
			continue
		}
		more, err := s.live.next(ctx, s, true)
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
	}
	d.stats.sentRows, d.stats.timesteps, d.stats.comm = s.sentRows, len(a.plan.Timesteps), commNow(a.comm).since(comm0)
	d.report(a)
	return e, nil
}

// timesteps runs the plan's timesteps from index from on, their images
// taken from pf (nil: started here; closed on return either way).
func (s *stream) timesteps(ctx context.Context, e *assoc.Engine, d *distAssoc, hist *qc.History, from int, out *measurementSink, pf *prefetch) error {
	a := s.a
	if pf == nil {
		var err error
		if pf, err = s.prefetchFrom(ctx, from); err != nil {
			return err
		}
	}
	defer pf.close()
	// The commit of a timestep lags by one: its staged files are made
	// durable (one sync per rank) while the next timestep runs, and it is
	// recorded at the next one's end, or at the end of the loop.
	var synced chan error
	last := -1
	commit := func() error {
		if synced == nil {
			return nil
		}
		err := <-synced
		synced = nil
		if err != nil {
			return err
		}
		if s.commit == nil {
			return nil
		}
		if a.size > 1 {
			// Every rank's staged files of the timestep are durable
			// before rank 0 records the commit.
			if err := a.comm.Barrier(); err != nil {
				return fmt.Errorf("pipeline: %w", err)
			}
		}
		if a.me == 0 {
			return s.commit(last)
		}
		return nil
	}
	for t := from; t < len(a.plan.Timesteps); t++ {
		ts := a.plan.Timesteps[t]
		if err := ctx.Err(); err != nil {
			return err
		}
		// A mark in gotrap run --trace's execution trace (nothing
		// when not tracing): where each rank's timestep starts.
		trace.Logf(ctx, "timestep", "rank %d timestep %d", a.me, t)
		if s.live != nil {
			if err := s.live.addMonitors(e, a, t); err != nil {
				return err
			}
		}
		if err := s.timestep(ctx, e, d, hist, ts, pf, out); err != nil {
			return err
		}
		// The timestep's association is complete: the engine keeps of
		// its images only what later new sources need (a live run's
		// memory does not grow with its images).
		ids := make([]int64, len(ts))
		for k, i := range ts {
			ids[k] = a.plan.Image(i).ID
		}
		e.Retire(ids...)
		if err := commit(); err != nil {
			return err
		}
		if s.live != nil && t+1 < len(a.plan.Timesteps) {
			// A live run's batch (the timesteps that arrived while the
			// last one was processed) is made durable as a whole, after
			// its last timestep: one sync per rank instead of one per
			// timestep, which a watch that fell behind paid sixteen
			// times per commit (and each waits for the whole file
			// system's dirty pages).
			s.prog.add(len(ts))
			continue
		}
		// Every staged file of the timestep's images on this rank is
		// written (timestep waited for them).
		ch := make(chan error, 1)
		go func() { ch <- s.stage.sync() }()
		synced, last = ch, t
		s.prog.add(len(ts))
	}
	return commit()
}

// prefetchFrom starts extracting this rank's images of the plan's
// timesteps from index from on (startPrefetch), holding as many at once
// as the timesteps stage needs.
func (s *stream) prefetchFrom(ctx context.Context, from int) (*prefetch, error) {
	a := s.a
	// This rank's images, and the most of them that a timestep holds at
	// once while gathering rows ahead (rowsNeeded).
	var order []int
	span := 0
	for _, ts := range a.plan.Timesteps[from:] {
		need := rowsNeeded(a.plan, ts)
		for k, i := range ts {
			if a.owner[i] == a.me {
				order = append(order, i)
			}
			n := 0
			for _, j := range ts[k : need[k]+1] {
				if a.owner[j] == a.me {
					n++
				}
			}
			span = max(span, n)
		}
	}
	// Held at once: the image being associated, those extracted ahead of
	// it (lookahead) and those being fitted (workers).
	limit := max(1+max(1, s.lookahead)+s.workers, span)
	s.ex.maxFree = limit
	return s.startPrefetch(ctx, order, limit)
}

// rowsNeeded returns, for each position k of timestep ts, the position
// up to which the images rows must be known before image ts[k] is
// associated: k itself, or a later position m holding an image of the
// same band that started strictly earlier (the timestep is ordered by
// frequency first, and such an image is one that a new source of ts[k]
// may take as its previous image, assoc.Engine.bestPrev: its quality is
// needed).
func rowsNeeded(plan *Plan, ts []int) []int {
	need := make([]int, len(ts))
	for k, i := range ts {
		need[k] = k
		a := plan.Image(i)
		for m := len(ts) - 1; m > k; m-- {
			b := plan.Image(ts[m])
			if b.Band == a.Band && b.Meta.TauStart.Before(a.Meta.TauStart) {
				need[k] = m
				break
			}
		}
	}
	return need
}

// timestep runs steps 2 to 5 of one timestep ts, taking this rank's
// images from pf. Image by image, in plan order: the images rows are
// gathered (as far as rowsNeeded asks), the rms history applied, each
// accepted image associated and its requests merged; the owner then
// fits them in the background (fitter) and frees the pixels, so that
// only the images extracted ahead and those being fitted are held.
func (s *stream) timestep(ctx context.Context, e *assoc.Engine, d *distAssoc, hist *qc.History, ts []int, pf *prefetch, out *measurementSink) (err error) {
	a := s.a
	if err := a.addImages(e, ts); err != nil {
		return err
	}
	hs := map[int]*held{}
	ft := s.newFitter(ctx, pf)
	defer func() {
		if ferr := ft.wait(); err == nil {
			err = ferr
		}
	}()
	reqs := map[int]*imageRequests{}
	null := map[int][]assoc.Request{}
	nBlind := map[int]int{}
	need := rowsNeeded(a.plan, ts)
	var acc, withReq []int
	known := 0
	for k, i := range ts {
		if need[k] >= known {
			batch := ts[known : need[k]+1]
			for _, j := range batch {
				if a.owner[j] != a.me {
					continue
				}
				h, err := pf.wait(ctx, j)
				if err != nil {
					return err
				}
				hs[j] = h
				if h.extracted {
					s.extracted++
				} else {
					s.reused++
				}
			}
			if err := s.gatherRows(batch, hs); err != nil {
				return err
			}
			applyHistory(a, batch, hist, s.qc)
			for _, j := range batch {
				if err := a.setQuality(e, j); err != nil {
					return err
				}
				if h := hs[j]; h != nil && a.row(j).Rejected {
					ft.release(j, h)
				}
			}
			known = need[k] + 1
		}
		if a.row(i).Rejected {
			continue
		}
		acc = append(acc, i)
		img := a.plan.Image(i)
		var raw []catalog.Measurement
		h := hs[i]
		if h != nil {
			raw = h.blind
			nBlind[i] = len(raw)
		}
		q, mon, err := d.distImage(img, raw, a.owner[i] == a.me, a.cfg)
		if err != nil {
			return err
		}
		null[i], reqs[i] = q, &imageRequests{mon: mon}
		if err := d.gatherRequests(a, []int{i}, null, reqs, nBlind); err != nil {
			return err
		}
		if !reqs[i].empty() {
			withReq = append(withReq, i)
		}
		if h != nil {
			ft.fit(i, h, reqs[i], nBlind[i])
		}
	}
	if err := ft.wait(); err != nil {
		return err
	}
	if len(withReq) == 0 {
		return s.writeMeasurements(acc, hs, nil, out)
	}
	here, err := d.routeFits(a, withReq, reqs, ft.own)
	if err != nil {
		return err
	}
	if err := a.associateFits(e, acc, reqs, here); err != nil {
		return err
	}
	return s.writeMeasurements(acc, hs, ft.own, out)
}

// fitter fits the requests of one timestep's images in the background,
// at most workers at a time, on the pixels in memory (or from staged
// fits of the same requests, or reading the image again when neither is
// there: forcedStage.fit), and frees each image's pixels and prefetch
// slot once done with it.
type fitter struct {
	s    *stream
	ctx  context.Context
	pf   *prefetch
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	own  map[int]*forcedFits // fits by image (read after wait)
	errs []error
}

func (s *stream) newFitter(ctx context.Context, pf *prefetch) *fitter {
	return &fitter{s: s, ctx: ctx, pf: pf, sem: make(chan struct{}, max(1, s.workers)), own: map[int]*forcedFits{}}
}

// fit starts fitting image i's requests req (if any) and then releases h.
func (f *fitter) fit(i int, h *held, req *imageRequests, nBlind int) {
	if req.empty() {
		f.release(i, h)
		return
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		select {
		case f.sem <- struct{}{}:
		case <-f.ctx.Done():
			f.fail(f.ctx.Err())
			f.release(i, h)
			return
		}
		img := f.s.a.plan.Image(i)
		res, reused, stage, err := f.s.fs.fit(img, h, req, nBlind)
		<-f.sem
		f.release(i, h)
		if err == nil && stage != nil {
			// Out of the fit slot and without the pixels: the writes'
			// fsyncs hold neither a worker nor an image buffer.
			func() {
				defer recoverImage(img, StepForced, &err)
				err = stage()
			}()
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("pipeline: rank %d: %w", f.s.a.me, err))
			return
		}
		f.own[i] = res
		if reused {
			f.s.fitsReused++
		} else {
			f.s.fitted++
		}
	}()
}

func (f *fitter) fail(err error) {
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

// release frees h's pixels and image i's prefetch slot.
func (f *fitter) release(i int, h *held) {
	f.s.ex.release(h)
	f.pf.release(i)
}

// wait waits for the fits started and returns the first error.
func (f *fitter) wait() error {
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.errs) > 0 {
		return f.errs[0]
	}
	return nil
}

// writeMeasurements writes the measurements of this rank's images of
// acc: blind, then forced and monitor fits (own).
func (s *stream) writeMeasurements(acc []int, hs map[int]*held, own map[int]*forcedFits, out *measurementSink) error {
	a := s.a
	for _, i := range acc {
		h := hs[i]
		if h == nil {
			continue
		}
		if err := a.write(out.blind, i, catalog.ExtractBlind, h.blind); err != nil {
			return err
		}
	}
	for _, i := range acc {
		f := own[i]
		if f == nil {
			continue
		}
		if err := a.write(out.forced, i, catalog.ExtractForced, f.null); err != nil {
			return err
		}
		if err := a.write(out.monitor, i, catalog.ExtractMonitor, f.mon); err != nil {
			return err
		}
	}
	return nil
}

// gatherRows is a collective: the images rows of timestep ts from their
// owners (hs on this rank) reach every rank, into a.rows (Allgatherv).
func (s *stream) gatherRows(ts []int, hs map[int]*held) error {
	a := s.a
	mine := make([]qcRow, 0, len(hs))
	for _, i := range ts {
		if h := hs[i]; h != nil {
			q := toQCRow(i, &h.row)
			q.XXH64 = h.xxh64
			mine = append(mine, q)
		}
	}
	e := wire.NewEncoder(nil)
	e.Count(len(mine))
	for k := range mine {
		mine[k].encode(e)
	}
	if a.size > 1 {
		s.sentRows += e.Len()
	}
	parts, err := a.comm.Allgatherv(e.Data())
	if err != nil {
		return fmt.Errorf("pipeline: gathering images rows: %w", err)
	}
	seen := map[int]bool{}
	for r, p := range parts {
		got, err := decodeQCRows(p)
		if err != nil {
			return fmt.Errorf("pipeline: images rows from rank %d: %w", r, err)
		}
		for _, q := range got {
			if !slices.Contains(ts, q.Index) || seen[q.Index] {
				return fmt.Errorf("pipeline: images rows from rank %d: bad or repeated image index %d", r, q.Index)
			}
			seen[q.Index] = true
			q.apply(a.row(q.Index))
			if q.XXH64 != "" {
				s.hashes[q.Index] = q.XXH64
			}
		}
	}
	if len(seen) != len(ts) {
		return fmt.Errorf("pipeline: images rows of timestep %d: %d of %d received", a.plan.Image(ts[0]).Timestep, len(seen), len(ts))
	}
	return nil
}
