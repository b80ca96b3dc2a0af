package pipeline

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
)

// The two association passes on ranks (docs/pipeline.md "Ranks"). With
// more than one rank and tile_deg > 0, every rank runs an association
// engine over its sky tiles (dist.go); with tile_deg = 0, rank 0 runs the
// only one. Every rank takes part in the same collectives, in plan order,
// so the ranks advance together:
//
//	pass 1: per image, the blind measurements are routed to the ranks of
//	        their tiles and associated there (distImage), and per
//	        timestep the requests are merged (gatherRequests); or, with
//	        tile_deg = 0, the staged blind measurements go to rank 0
//	        (Alltoallv), which associates them and broadcasts the
//	        requests (Bcast). Each rank fits the requests assigned to it
//	        while pass 1 goes on with the next timesteps.
//	pass 2: the same blind association, then each staged fit goes to
//	        the ranks that hold its runcat (routeFits: Allgatherv of the
//	        holders, Alltoallv of the fits), or, with tile_deg = 0, to
//	        rank 0 (Alltoallv); each rank writes the measurements it produced
//	        (assoc.Prepare: the rows the engine returns, which do not
//	        depend on its state).
//
// A timestep without an accepted image (or, in pass 2, without requests)
// has no collective; which timesteps those are is known on every rank.

// accepted returns the indices of ts whose images passed quality control.
func (a *assocRun) accepted(ts []int) []int {
	var out []int
	for _, i := range ts {
		if !a.rows[i].Rejected {
			out = append(out, i)
		}
	}
	return out
}

// toRoot is a collective: each rank sends rank 0 the staged files
// path(i, k), k < nfiles, of the images i of idx it owns (own(i)); rank 0
// returns everything, by image index, the others nil.
func (a *assocRun) toRoot(idx []int, own func(i int) bool, nfiles int, path func(i, k int) string) (map[int][][]byte, error) {
	var mine []int
	for _, i := range idx {
		if own(i) {
			mine = append(mine, i)
		}
	}
	return gatherFiles(a.comm, mine, nfiles, path, true)
}

// pass1 runs the blind association (over sky tiles, or on rank 0) and,
// concurrently, this rank's forced fits of the requests as they become
// known. It returns
// every image's requests and number of blind sources (the same on every
// rank), and the fits done and reused on this rank. a.fowner is set.
func (a *assocRun) pass1(ctx context.Context, fs *forcedStage, workers int, prog *progress) (reqs []imageRequests, nBlind []int, done, skipped int, err error) {
	n := len(a.plan.Images)
	reqs = make([]imageRequests, n)
	nBlind = make([]int, n)
	a.fowner = make([]int, n)
	for i := range a.fowner {
		a.fowner[i] = -1
	}
	if err := a.initTiles(); err != nil {
		return nil, nil, 0, 0, err
	}
	var e *assoc.Engine
	var d *distAssoc
	if a.me == 0 || a.tiled() {
		if e, err = a.newEngine(); err != nil {
			return nil, nil, 0, 0, err
		}
		defer closeEngine(e, &err)
	}
	if a.tiled() {
		d = newDistAssoc(a, e, a.tiles)
	}

	// The fitting pool: images arrive in plan order on work.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan int, n)
	var mu sync.Mutex
	var fitErr error
	var wg sync.WaitGroup
	prog.start(StageForced, 0)
	for range max(1, workers) {
		wg.Go(func() {
			for i := range work {
				if fctx.Err() != nil {
					continue
				}
				img := &a.plan.Images[i]
				if m := fs.mark(img.ID); m != nil && m.Requests == reqs[i].hash() {
					mu.Lock()
					skipped++
					mu.Unlock()
					continue
				}
				if err := fs.image(img, &reqs[i], nBlind[i]); err != nil {
					mu.Lock()
					if fitErr == nil {
						fitErr = err
					}
					mu.Unlock()
					cancel()
					continue
				}
				mu.Lock()
				done++
				mu.Unlock()
				prog.add(1)
			}
		})
	}
	finish := func(err error) ([]imageRequests, []int, int, int, error) {
		close(work)
		wg.Wait()
		prog.finish()
		if fitErr != nil {
			err = fitErr
		}
		if err != nil {
			return nil, nil, done, skipped, err
		}
		return reqs, nBlind, done, skipped, nil
	}

	loads := make([]float64, a.size)
	costs := imageCosts(a.plan)
	blindPath := func(i, _ int) string {
		return stagedPath(a.run, StageExtract, a.plan.Images[i].ID, "blind.parquet")
	}
	for _, ts := range a.plan.Timesteps {
		if err := fctx.Err(); err != nil {
			return finish(err)
		}
		if e != nil {
			if err := a.register(e, ts); err != nil {
				return finish(err)
			}
		}
		acc := a.accepted(ts)
		if len(acc) == 0 {
			continue
		}
		if d != nil {
			// Distributed over sky tiles: every rank associates.
			blind, err := a.ownBlind(fctx, acc)
			if err != nil {
				return finish(err)
			}
			null := map[int][]assoc.Request{}
			for _, i := range acc {
				img := &a.plan.Images[i]
				nBlind[i] = len(blind[i])
				q, mon, err := d.distImage(img, blind[i], a.owner[i] == a.me, a.cfg)
				if err != nil {
					return finish(err)
				}
				null[i], reqs[i].mon = q, mon
			}
			if err := d.gatherRequests(a, acc, null, reqs, nBlind); err != nil {
				return finish(err)
			}
		} else if err := a.rootBlind(e, acc, reqs, nBlind, blindPath); err != nil {
			return finish(err)
		}
		if e != nil {
			// Pass 1 associates no fits: the engine's copies of the
			// requests (reqs has them) would grow with the images.
			for _, i := range acc {
				e.ForgetRequests(a.plan.Images[i].ID)
			}
		}
		assignOnline(acc, reqs, costs, loads, a.fowner)
		for _, i := range acc {
			if a.fowner[i] == a.me {
				prog.grow(1)
				work <- i
			}
		}
	}
	if d != nil {
		d.report(a, 1)
	}
	return finish(nil)
}

// rootBlind is pass 1's association of the accepted images acc of one
// timestep on rank 0 (tile_deg = 0): the owners send it the staged blind
// measurements, it associates them and broadcasts the requests.
func (a *assocRun) rootBlind(e *assoc.Engine, acc []int, reqs []imageRequests, nBlind []int, blindPath func(i, k int) string) error {
	got, err := a.toRoot(acc, func(i int) bool { return a.owner[i] == a.me }, 1, blindPath)
	if err != nil {
		return err
	}
	var msg []byte
	if e != nil {
		for _, i := range acc {
			b, ok := got[i]
			if !ok {
				return fmt.Errorf("pipeline: %s: blind measurements not received from rank %d", a.plan.Images[i].Path, a.owner[i])
			}
			ms, err := decodeRows[catalog.Measurement](b[0], blindPath(i, 0))
			if err != nil {
				return err
			}
			nBlind[i] = len(ms)
			res, err := e.AssociateBlind(a.plan.Images[i].ID, ms)
			if err != nil {
				return fmt.Errorf("pipeline: %s: %w", a.plan.Images[i].Path, err)
			}
			reqs[i] = imageRequests{null: res.Requests, mon: res.MonitorRequests}
		}
		msg = encodeRequests(acc, reqs, nBlind)
	}
	if a.size > 1 {
		if msg, err = a.comm.Bcast(msg, 0); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		if e == nil {
			if err := decodeRequests(msg, acc, reqs, nBlind); err != nil {
				return err
			}
		}
	}
	return nil
}

// assignOnline assigns the images of acc that have requests to ranks
// (owner[i]), the largest cost first (ties: lower index), each to the rank
// with the least load so far (ties: lower rank), adding its cost to loads:
// decomp.AssignLPT's rule applied timestep by timestep, as the requests
// become known. Every rank computes the same assignment.
func assignOnline(acc []int, reqs []imageRequests, costs, loads []float64, owner []int) {
	var todo []int
	for _, i := range acc {
		if !reqs[i].empty() {
			todo = append(todo, i)
		}
	}
	slices.SortStableFunc(todo, func(x, y int) int {
		switch {
		case costs[x] > costs[y]:
			return -1
		case costs[x] < costs[y]:
			return 1
		}
		return x - y
	})
	for _, i := range todo {
		r := 0
		for k := range loads {
			if loads[k] < loads[r] {
				r = k
			}
		}
		owner[i] = r
		loads[r] += costs[i]
	}
}

// encodeRequests encodes the requests and blind counts of the images acc:
// per image, uint64 nBlind, then the null-detection and the monitor
// requests, each list a uint32 count and per request runcat, monitor (int64)
// and RA, Dec (float64 bits), little endian.
func encodeRequests(acc []int, reqs []imageRequests, nBlind []int) []byte {
	var b []byte
	for _, i := range acc {
		b = binary.LittleEndian.AppendUint64(b, uint64(nBlind[i]))
		for _, l := range [][]assoc.Request{reqs[i].null, reqs[i].mon} {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(l)))
			for _, q := range l {
				b = binary.LittleEndian.AppendUint64(b, uint64(q.Runcat))
				b = binary.LittleEndian.AppendUint64(b, uint64(q.Monitor))
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(q.RA))
				b = binary.LittleEndian.AppendUint64(b, math.Float64bits(q.Dec))
			}
		}
	}
	return b
}

// decodeRequests is the inverse of encodeRequests, into reqs and nBlind.
func decodeRequests(b []byte, acc []int, reqs []imageRequests, nBlind []int) error {
	bad := fmt.Errorf("pipeline: corrupt forced-fit requests from rank 0")
	u64 := func() (uint64, bool) {
		if len(b) < 8 {
			return 0, false
		}
		v := binary.LittleEndian.Uint64(b)
		b = b[8:]
		return v, true
	}
	for _, i := range acc {
		v, ok := u64()
		if !ok {
			return bad
		}
		nBlind[i] = int(v)
		var lists [2][]assoc.Request
		for k := range lists {
			if len(b) < 4 {
				return bad
			}
			m := int(binary.LittleEndian.Uint32(b))
			b = b[4:]
			if len(b) < 32*m {
				return bad
			}
			for range m {
				var q assoc.Request
				r, _ := u64()
				mo, _ := u64()
				ra, _ := u64()
				de, _ := u64()
				q.Runcat, q.Monitor, q.RA, q.Dec = int64(r), int64(mo), math.Float64frombits(ra), math.Float64frombits(de)
				lists[k] = append(lists[k], q)
			}
		}
		reqs[i] = imageRequests{null: lists[0], mon: lists[1]}
	}
	if len(b) != 0 {
		return bad
	}
	return nil
}

// pass2 runs the final association, over sky tiles or on rank 0 (blind
// association per timestep, then the timestep's forced and monitor fits:
// TraP's order, SPEC 2.2 steps 8 to 10, checking that the requests are
// pass 1's), and
// writes to out the measurements this rank produced: the blind ones of
// the images it extracted, the forced and monitor ones of the images it
// fitted. It returns the engine: each rank's over sky tiles (the
// runcats of its tiles), else rank 0's, nil on the others.
func (a *assocRun) pass2(ctx context.Context, reqs []imageRequests, out sink) (_ *assoc.Engine, err error) {
	if err := a.initTiles(); err != nil {
		return nil, err
	}
	var e *assoc.Engine
	var d *distAssoc
	if a.me == 0 || a.tiled() {
		if e, err = a.newEngine(); err != nil {
			return nil, err
		}
	}
	defer func() {
		if err != nil {
			closeEngine(e, &err)
		}
	}()
	if a.tiled() {
		d = newDistAssoc(a, e, a.tiles)
	}
	blindPath := func(i, _ int) string {
		return stagedPath(a.run, StageExtract, a.plan.Images[i].ID, "blind.parquet")
	}
	fitPath := func(i, k int) string {
		if k == 0 {
			return stagedPath(a.run, StageForced, a.plan.Images[i].ID, "json")
		}
		return stagedPath(a.run, StageForced, a.plan.Images[i].ID, "fits.parquet")
	}
	for _, ts := range a.plan.Timesteps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if e != nil {
			if err := a.register(e, ts); err != nil {
				return nil, err
			}
		}
		acc := a.accepted(ts)
		if len(acc) == 0 {
			continue
		}
		// The timestep's blind measurements, read again rather than kept
		// from pass 1 (which would hold the whole run's): over sky tiles,
		// each rank reads its own images and associates what distImage
		// routes to it; with tile_deg = 0, rank 0 gets every image's and
		// associates alone.
		var blind map[int][]catalog.Measurement
		var err error
		if d != nil {
			// Distributed: each rank reads its own images only.
			if blind, err = a.ownBlind(ctx, acc); err != nil {
				return nil, err
			}
			null := map[int][]assoc.Request{}
			again := make([]imageRequests, len(reqs))
			nb := make([]int, len(reqs))
			for _, i := range acc {
				img := &a.plan.Images[i]
				nb[i] = len(blind[i])
				if null[i], again[i].mon, err = d.distImage(img, blind[i], a.owner[i] == a.me, a.cfg); err != nil {
					return nil, err
				}
			}
			if err := d.gatherRequests(a, acc, null, again, nb); err != nil {
				return nil, err
			}
			for _, i := range acc {
				if !sameRequests(&reqs[i], again[i].null, again[i].mon) {
					return nil, fmt.Errorf("pipeline: rank %d: %s: forced-fit requests differ between the association passes (a bug)", a.me, a.plan.Images[i].Path)
				}
			}
		} else if blind, err = a.rootBlind2(ctx, acc, blindPath); err != nil {
			return nil, err
		}
		var withReq []int
		for _, i := range acc {
			if !reqs[i].empty() {
				withReq = append(withReq, i)
			}
		}
		fits := map[int]*forcedFits{}
		if d != nil && len(withReq) > 0 {
			// Each fit goes to the ranks that hold its runcat.
			var here map[int]*forcedFits
			if fits, here, err = d.routeFits(a, withReq, reqs, fitPath); err != nil {
				return nil, err
			}
			if err := a.associateFits(e, acc, reqs, here); err != nil {
				return nil, err
			}
		} else if d != nil {
			if err := a.associateFits(e, acc, reqs, nil); err != nil {
				return nil, err
			}
		} else if len(withReq) > 0 {
			got, err := a.toRoot(withReq, func(i int) bool { return a.fowner[i] == a.me }, 2, fitPath)
			if err != nil {
				return nil, err
			}
			for i, b := range got {
				img := &a.plan.Images[i]
				var m forcedMark
				if err := json.Unmarshal(b[0], &m); err != nil || m.Image != img.ID {
					return nil, fmt.Errorf("pipeline: %s: bad forced-fit mark %s", img.Path, fitPath(i, 0))
				}
				all, err := decodeRows[catalog.Measurement](b[1], fitPath(i, 1))
				if err != nil {
					return nil, err
				}
				fits[i] = splitFits(&m, all)
			}
		}
		if d == nil && e != nil {
			for _, i := range acc {
				img := &a.plan.Images[i]
				ms, ok := blind[i]
				if !ok {
					return nil, fmt.Errorf("pipeline: %s: blind measurements not received from rank %d", img.Path, a.owner[i])
				}
				res, err := e.AssociateBlind(img.ID, ms)
				if err != nil {
					return nil, fmt.Errorf("pipeline: %s: %w", img.Path, err)
				}
				if !sameRequests(&reqs[i], res.Requests, res.MonitorRequests) {
					return nil, fmt.Errorf("pipeline: %s: forced-fit requests differ between the association passes (a bug)", img.Path)
				}
			}
			if err := a.associateFits(e, acc, reqs, fits); err != nil {
				return nil, err
			}
		}
		// This rank's measurements, as the engine returns them.
		for _, i := range acc {
			if a.owner[i] != a.me {
				continue
			}
			if err := a.write(out.blind, i, catalog.ExtractBlind, blind[i]); err != nil {
				return nil, err
			}
		}
		for _, i := range withReq {
			if a.fowner[i] != a.me {
				continue
			}
			f := fits[i]
			if f == nil {
				return nil, fmt.Errorf("pipeline: %s: own forced fits missing", a.plan.Images[i].Path)
			}
			if err := a.write(out.forced, i, catalog.ExtractForced, f.null); err != nil {
				return nil, err
			}
			if err := a.write(out.monitor, i, catalog.ExtractMonitor, f.mon); err != nil {
				return nil, err
			}
		}
	}
	if d != nil {
		d.report(a, 2)
	}
	return e, nil
}

// write prepares image i's measurements of one type (assoc.Prepare) and
// hands them to w.
func (a *assocRun) write(w func([]catalog.Measurement) error, i int, typ int32, ms []catalog.Measurement) error {
	kept, _, err := assoc.Prepare(a.cfg, a.plan.Images[i].ID, typ, ms)
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", a.plan.Images[i].Path, err)
	}
	return w(kept)
}

// rootBlind2 is pass 2's gathering of a timestep's blind measurements on
// rank 0 (tile_deg = 0): every image's on rank 0, its own on another
// rank, decoded concurrently (a few ms an image; the result does not
// depend on the order).
func (a *assocRun) rootBlind2(ctx context.Context, acc []int, blindPath func(i, k int) string) (map[int][]catalog.Measurement, error) {
	got, err := a.toRoot(acc, func(i int) bool { return a.owner[i] == a.me }, 1, blindPath)
	if err != nil {
		return nil, err
	}
	idx := make([]int, 0, len(got))
	for i := range got {
		idx = append(idx, i)
	}
	dec := make([][]catalog.Measurement, len(idx))
	if err := forEach(ctx, len(idx), 0, func(k int) error {
		var err error
		dec[k], err = decodeRows[catalog.Measurement](got[idx[k]][0], blindPath(idx[k], 0))
		return err
	}); err != nil {
		return nil, err
	}
	blind := make(map[int][]catalog.Measurement, len(idx))
	for k, i := range idx {
		blind[i] = dec[k]
	}
	return blind, nil
}

// ownBlind reads the staged blind measurements of the images of acc that
// this rank extracted, concurrently.
func (a *assocRun) ownBlind(ctx context.Context, acc []int) (map[int][]catalog.Measurement, error) {
	idx := a.filter(acc, func(i int) bool { return a.owner[i] == a.me })
	dec := make([][]catalog.Measurement, len(idx))
	if err := forEach(ctx, len(idx), 0, func(k int) error {
		var err error
		dec[k], err = readStaged[catalog.Measurement](stagedPath(a.run, StageExtract, a.plan.Images[idx[k]].ID, "blind.parquet"))
		if err != nil {
			err = fmt.Errorf("rank %d: %s: %w", a.me, a.plan.Images[idx[k]].Path, err)
		}
		return err
	}); err != nil {
		return nil, err
	}
	blind := make(map[int][]catalog.Measurement, len(idx))
	for k, i := range idx {
		blind[i] = dec[k]
	}
	return blind, nil
}

// filter returns the elements i of idx with keep(i), in order.
func (a *assocRun) filter(idx []int, keep func(i int) bool) []int {
	var out []int
	for _, i := range idx {
		if keep(i) {
			out = append(out, i)
		}
	}
	return out
}

// associateFits associates the forced and monitor fits of the timestep's
// accepted images acc with e, in order.
func (a *assocRun) associateFits(e *assoc.Engine, acc []int, reqs []imageRequests, fits map[int]*forcedFits) error {
	for _, i := range acc {
		img := &a.plan.Images[i]
		f := fits[i]
		if f == nil {
			if !reqs[i].empty() {
				return fmt.Errorf("pipeline: rank %d: %s: forced fits not received from rank %d", a.me, img.Path, a.fowner[i])
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

// tiled reports whether the association is distributed over sky tiles
// (more than one rank and tile_deg > 0); initTiles has built a.tiles.
func (a *assocRun) tiled() bool { return a.tiles != nil }

// initTiles builds the sky tiling of a run on several ranks with
// tile_deg > 0 (the same on every rank).
func (a *assocRun) initTiles() error {
	if a.tiles != nil || a.size < 2 || a.tileDeg <= 0 {
		return nil
	}
	tm, err := newTileMap(a.plan, a.rows, a.cfg, a.tileDeg, a.size)
	if err != nil {
		return err
	}
	a.tiles = tm
	return nil
}
