package assoc

import (
	"database/sql"
	"fmt"
	"math"
	"slices"

	"gotrap/catalog"
)

// AssociateBlind associates the blind measurements ms of an accepted,
// registered image (SPEC 5), then decides the image's forced-fit requests
// (SPEC 6.1, 6.2). Images must be associated once each, in non-decreasing
// taustart order (the pipeline's time, then frequency order); ms may come
// in any order and must have unique ids, Image = image and ExtractType =
// catalog.ExtractBlind. ms is not modified. On error the engine is
// unchanged.
func (e *Engine) AssociateBlind(image int64, ms []catalog.Measurement) (*Result, error) {
	st, err := e.checkBlind(image)
	if err != nil {
		return nil, err
	}
	kept, dropped, err := e.prepareAll(image, catalog.ExtractBlind, ms)
	if err != nil {
		return nil, fmt.Errorf("assoc: image %d: %w", image, err)
	}
	// (a) candidate pairs, (b) facts, (c) resolution: the stages of a
	// distributed Step, run here with every fact local.
	s := e.beginBlind(st, kept)
	s.Restrict()
	res, err := s.Finish()
	if err != nil {
		return nil, err
	}
	res.Dropped = dropped
	return res, nil
}

// checkBlind is AssociateBlind's check of the image and of the order.
func (e *Engine) checkBlind(image int64) (*imageState, error) {
	st, ok := e.images[image]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: image %d not registered", ErrImage, image)
	case st.info.Rejected:
		return nil, fmt.Errorf("%w: image %d is rejected", ErrImage, image)
	case st.seq != 0:
		return nil, fmt.Errorf("%w: image %d associated twice", ErrOrder, image)
	case e.lastBlind != nil && st.info.TauStart.Before(e.lastBlind.info.TauStart):
		return nil, fmt.Errorf("%w: image %d starts before image %d", ErrOrder, image, e.lastBlind.info.ID)
	case !(st.info.RBSmaj > 0) || math.IsInf(st.info.RBSmaj, 1):
		return nil, fmt.Errorf("%w: image %d has rb_smaj %v", ErrImage, image, st.info.RBSmaj)
	}
	return st, nil
}

// beginBlind is stage (a) and (b1) for the prepared measurements ms
// (sorted by id) of image st.
func (e *Engine) beginBlind(st *imageState, ms []catalog.Measurement) *Step {
	xs := make([]int64, len(ms))
	for i := range ms {
		xs[i] = ms[i].ID
	}
	rad := e.cfg.BeamwidthsLimit * st.info.RBSmaj
	pairs := e.findPairs(ms, rad)
	return &Step{e: e, st: st, ms: ms, xs: xs, pairs: pairs, facts: countFacts(xs, pairs)}
}

// Finish is stage (c) of a Step: the trimming of SPEC 5.4.1 with the
// merged facts, then forks, one-to-one and many-to-one links of this
// engine's runcats and the new sources of the measurements this engine
// owns (SetOwnership), and the image's null-detection requests of this
// engine's runcats and the monitor requests. Call it after Restrict and
// after merging every other rank's minima into Facts. On error the
// engine is unchanged; a Step is finished once.
func (s *Step) Finish() (*Result, error) {
	e, st := s.e, s.st
	if s.done {
		return nil, fmt.Errorf("%w: image %d: step finished twice", ErrOrder, st.info.ID)
	}
	if s.in == nil {
		return nil, fmt.Errorf("%w: image %d: step finished before Restrict", ErrOrder, st.info.ID)
	}
	act := activePairs(s.xs, s.pairs, s.in, s.facts)
	plan, err := e.plan(s.ms, s.pairs, act, s.facts)
	if err != nil {
		return nil, fmt.Errorf("assoc: image %d: %w", st.info.ID, err)
	}
	s.done = true
	e.seq++
	st.seq = e.seq
	e.lastBlind = st
	res := &Result{Image: st.info.ID}
	for i := range s.ms {
		if e.owned(s.ms[i].RA, s.ms[i].Decl) {
			res.Measurements = append(res.Measurements, s.ms[i])
		}
	}
	e.apply(st, s.ms, s.xs, s.pairs, plan, res)
	if err := e.storeErr("association", st.info.ID); err != nil {
		return nil, err
	}
	res.Requests = e.nullRequests(st)
	res.MonitorRequests = e.monitorRequests()
	slices.Sort(res.Changed)
	slices.Sort(res.Deleted)
	sortAssocs(res.Associations)
	slices.SortFunc(res.NewSources, func(a, b catalog.NewSource) int { return cmpInt(a.Runcat, b.Runcat) })
	return res, nil
}

// resolution is the outcome of SPEC 5.4 for one image, before it is
// applied: per runcat group of pairs, its active pairs.
type resolution struct {
	forks  [][]Pair // per forked runcat (ascending id), its active pairs
	ones   []Pair   // 1-to-1 and many-to-1 pairs
	newSrc []int    // indices into the measurements of new sources
}

// plan is stage (c) without side effects: SPEC 5.4.2-5.4.4 sorted into
// forks, one-to-one / many-to-one pairs and new sources. It fails only on
// an id collision (never expected; see the package documentation).
func (e *Engine) plan(ms []catalog.Measurement, pairs []Pair, act []bool, f []Facts) (resolution, error) {
	var res resolution
	used := map[int64]bool{}
	claim := func(id int64) error {
		if _, ok := e.src[id]; ok || used[id] {
			return fmt.Errorf("%w: %d", ErrIDCollision, id)
		}
		used[id] = true
		return nil
	}
	for _, g := range runcatGroups(pairs) {
		var a []Pair
		for k := g[0]; k < g[1]; k++ {
			if act[k] {
				a = append(a, pairs[k])
			}
		}
		switch {
		case len(a) > 1:
			for _, p := range a {
				if err := claim(p.Xtrsrc); err != nil {
					return res, err
				}
			}
			res.forks = append(res.forks, a)
		case len(a) == 1:
			res.ones = append(res.ones, a[0])
		}
	}
	for i := range ms {
		if f[i].NCand == 0 && e.owned(ms[i].RA, ms[i].Decl) {
			if err := claim(ms[i].ID); err != nil {
				return res, err
			}
			res.newSrc = append(res.newSrc, i)
		}
	}
	return res, nil
}

// apply carries out a resolution on the engine's state for image st.
func (e *Engine) apply(st *imageState, ms []catalog.Measurement, xs []int64, pairs []Pair, rs resolution, res *Result) {
	meas := func(id int64) *catalog.Measurement {
		i, _ := slices.BinarySearch(xs, id)
		return &ms[i]
	}
	// SPEC 5.4.2: one-to-many forks.
	for _, a := range rs.forks {
		old := e.src[a[0].Runcat]
		ids := make([]int64, 0, len(a))
		for _, p := range a {
			m := meas(p.Xtrsrc)
			ns := &source{first: st.info.TauStart, blindSeq: st.seq, stokes: old.stokes,
				ancestors: append(slices.Clone(old.ancestors), old.rc.ID)}
			ns.rc = updatedPosition(old.rc, m)
			ns.rc.ID, ns.rc.Xtrsrc, ns.rc.ForcedFitsCount = m.ID, m.ID, 0
			// Decision 4: the flux history of every band is copied.
			ns.flux = slices.Clone(old.flux)
			v, eta, n := ns.addFlux(st.band, m)
			start := len(res.Associations)
			var err error
			res.Associations, err = e.links.read(res.Associations, &old.links)
			if err != nil {
				return // the store's sticky error fails the call
			}
			res.Associations = append(res.Associations, catalog.Association{Runcat: m.ID, Xtrsrc: m.ID,
				Type: catalog.AssocForkBase, Distance: p.Distance, R: p.R, VInt: v, EtaInt: eta, FDatapoints: n})
			for k := start; k < len(res.Associations); k++ {
				l := &res.Associations[k]
				if k < len(res.Associations)-1 {
					l.Runcat, l.Type = m.ID, catalog.AssocForkCopy
				}
				e.links.add(&ns.links, *l)
			}
			ns.regions = slices.Clone(old.regions)
			for i := range ns.regions {
				ns.regions[i].Runcat = m.ID
			}
			if old.newsrc != nil {
				c := *old.newsrc
				c.ID, c.Runcat = m.ID, m.ID
				ns.newsrc = &c
				res.NewSources = append(res.NewSources, c)
			}
			e.src[m.ID] = ns
			ids = append(ids, m.ID)
			res.Changed = append(res.Changed, m.ID)
		}
		e.links.release(old.rc.ID, &old.links)
		delete(e.src, old.rc.ID)
		e.forkedInto[old.rc.ID] = ids
		res.Deleted = append(res.Deleted, old.rc.ID)
	}
	// SPEC 5.4.3: one-to-one and many-to-one.
	for _, p := range rs.ones {
		s := e.src[p.Runcat]
		m := meas(p.Xtrsrc)
		s.rc = updatedPosition(s.rc, m)
		s.rc.ForcedFitsCount = 0
		s.blindSeq = st.seq
		v, eta, n := s.addFlux(st.band, m)
		l := catalog.Association{Runcat: p.Runcat, Xtrsrc: m.ID, Type: catalog.AssocOneToOne,
			Distance: p.Distance, R: p.R, VInt: v, EtaInt: eta, FDatapoints: n}
		e.links.add(&s.links, l)
		res.Associations = append(res.Associations, l)
		res.Changed = append(res.Changed, p.Runcat)
	}
	// SPEC 5.4.4: new sources.
	prev := map[int64]prevLimit{}
	for _, i := range rs.newSrc {
		m := &ms[i]
		ns := &source{rc: newRuncat(m), first: st.info.TauStart, blindSeq: st.seq, stokes: st.info.Stokes}
		_, _, n := ns.addFlux(st.band, m)
		l := catalog.Association{Runcat: m.ID, Xtrsrc: m.ID, Type: catalog.AssocNewSource, FDatapoints: n}
		e.links.add(&ns.links, l)
		ns.regions = e.newSourceRegions(m, st.region)
		if nsr, ok := e.newSourceRow(st, ns, m, prev); ok {
			ns.newsrc = &nsr
			res.NewSources = append(res.NewSources, nsr)
		}
		e.src[m.ID] = ns
		res.Associations = append(res.Associations, l)
		res.Changed = append(res.Changed, m.ID)
	}
}

// newSourceRegions is SPEC 5.4.4's assocskyrgn of a new source: the
// current region (distance null), plus every other region whose centre
// is closer than that region's own xtr_radius (the test SPEC 2.4 applies
// when a region is created), sorted by region id.
func (e *Engine) newSourceRegions(m *catalog.Measurement, current int64) []AssocSkyRegion {
	var out []AssocSkyRegion
	for _, r := range e.regions {
		if r.ID == current {
			out = append(out, AssocSkyRegion{Runcat: m.ID, SkyRegion: r.ID})
			continue
		}
		if math.Abs(m.Decl-r.CentreDec) > r.XtrRadius {
			continue
		}
		d, chord := chordDeg(m.X, m.Y, m.Z, r.X, r.Y, r.Z)
		if chord < 2*math.Sin(r.XtrRadius*deg2rad/2) {
			out = append(out, AssocSkyRegion{Runcat: m.ID, SkyRegion: r.ID,
				DistanceDeg: sql.NullFloat64{Float64: d, Valid: true}})
		}
	}
	return out
}

// prevLimit is the best previous image of one region for SPEC 8.1.
type prevLimit struct {
	ok        bool
	low, high float64
	image     int64
}

// better reports whether a is preferred to b: smaller low, then smaller
// high, then lower image id (decision 13).
func (a prevLimit) better(b prevLimit) bool {
	if !b.ok {
		return a.ok
	}
	if !a.ok {
		return false
	}
	if a.low != b.low {
		return a.low < b.low
	}
	if a.high != b.high {
		return a.high < b.high
	}
	return a.image < b.image
}

// prevLimit is image id's (with info im) limits as a previous image.
func (e *Engine) prevLimit(id int64, im ImageInfo) prevLimit {
	mg := e.cfg.NewSourceSigmaMargin
	return prevLimit{ok: true, low: im.RMSMin * (im.DetectionThresh + mg), high: im.RMSMax * (im.DetectionThresh + mg), image: id}
}

// bestPrev returns the best previous image of region for the current
// image st (same band, strictly earlier, not rejected), memoised in cache.
func (e *Engine) bestPrev(st *imageState, region int64, cache map[int64]prevLimit) prevLimit {
	if p, ok := cache[region]; ok {
		return p
	}
	// The images Retire forgot all start before st.
	best := e.retired[[2]int64{st.band, region}]
	for _, id := range e.byBandRegion[[2]int64{st.band, region}] {
		im := e.images[id].info
		if im.Rejected || !im.TauStart.Before(st.info.TauStart) {
			continue
		}
		if c := e.prevLimit(id, im); c.better(best) {
			best = c
		}
	}
	cache[region] = best
	return best
}

// newSourceRow is SPEC 8.1 for a new blind source ns made from m.
func (e *Engine) newSourceRow(st *imageState, ns *source, m *catalog.Measurement, cache map[int64]prevLimit) (catalog.NewSource, bool) {
	var best prevLimit
	for _, r := range ns.regions {
		if c := e.bestPrev(st, r.SkyRegion, cache); c.better(best) {
			best = c
		}
	}
	// |f_peak|: a negative source of a Stokes V image (extract.Options
	// NegativeStokesV) is new as a positive one is; blind Stokes I peaks
	// are positive.
	peak := math.Abs(m.FPeak)
	if !best.ok || !(peak > best.low) {
		return catalog.NewSource{}, false
	}
	typ := int32(catalog.NewSourcePossible)
	if peak > best.high {
		typ = catalog.NewSourceLikely
	}
	return catalog.NewSource{ID: m.ID, Runcat: m.ID, TriggerXtrsrc: m.ID,
		PreviousLimitsImage: best.image, Type: typ}, true
}

// nullRequests is SPEC 6.1's request list for image st, made right after
// its blind association: live runcats linked to st's region, with
// forcedfits_count < expiration, first detected strictly before st, and
// no link to a measurement of st. Monitor runcats are left out (their
// positions are fitted by the monitor requests anyway, and SPEC 6.1's
// association skips them). With st.info.Usable set, each request inside
// the usable area counts towards the expiration now.
func (e *Engine) nullRequests(st *imageState) []Request {
	var out []Request
	for _, s := range e.src {
		rc := &s.rc
		if rc.MonSrc || rc.ForcedFitsCount >= e.cfg.Expiration || !s.first.Before(st.info.TauStart) ||
			s.blindSeq == st.seq || !s.hasRegion(st.region) {
			continue
		}
		out = append(out, Request{Runcat: rc.ID, RA: rc.WmRA, Dec: rc.WmDecl})
	}
	slices.SortFunc(out, func(a, b Request) int { return cmpInt(a.Runcat, b.Runcat) })
	st.requests = make(map[int64]*request, len(out))
	for _, r := range out {
		q := &request{Request: r}
		if st.info.Usable != nil && st.info.Usable(r.RA, r.Dec) {
			e.src[r.Runcat].rc.ForcedFitsCount++
			q.counted = true
		}
		st.requests[r.Runcat] = q
	}
	return out
}

// monitorRequests lists every monitor position (SPEC 6.2), by id.
func (e *Engine) monitorRequests() []Request {
	out := make([]Request, len(e.monitors))
	for i, m := range e.monitors {
		out[i] = Request{Runcat: m.runcat, Monitor: m.id, RA: m.ra, Dec: m.dec}
	}
	return out
}

func sortAssocs(a []catalog.Association) {
	slices.SortFunc(a, func(x, y catalog.Association) int {
		if c := cmpInt(x.Runcat, y.Runcat); c != 0 {
			return c
		}
		return cmpInt(x.Xtrsrc, y.Xtrsrc)
	})
}
