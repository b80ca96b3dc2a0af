package pipeline

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/decomp"
	"gotrap/internal/config"
	"gotrap/internal/wire"
	"gotrap/reduce"
)

// The association distributed over sky tiles (docs/pipeline.md "Ranks",
// DESIGN step 3). Every rank runs an assoc.Engine that holds the runcats
// of its tiles; images, bands, regions and monitors are registered on
// every rank alike. Per accepted image, in plan order, every rank takes
// part in one to three collectives (distImage):
//
//  1. Alltoallv: the runcats that left the rank's tiles at the previous
//     image (their whole state), and the image's prepared blind
//     measurements, which the image's extraction owner sends to the rank
//     of every tile whose halo holds them;
//  2. only if the image has a boundary measurement (one sent to several
//     ranks), Allgatherv: per boundary measurement, the number of
//     candidate pairs of each rank's runcats;
//  3. only if two ranks may have restricted pairs of boundary
//     measurements, Allgatherv: each rank's minimum (r, runcat) over
//     them.
//
// Per timestep, one Allgatherv merges the null-detection requests
// (gatherRequests) and two more route the forced fits to the ranks
// holding their runcats (routeFits). At the end each rank sends its
// tables to rank 0 (Alltoallv), which merges them in the canonical order
// (distcat.go). With one rank, or tile_deg = 0, there is one tile, rank
// 0's: the same protocol, where every collective is between the images'
// owners and rank 0.

// tileMap is the sky tiling of a distributed association and the rank of
// each tile: decomp.AssignTiles over the tiles covered by an image,
// weighted by the number of images covering them (any other tile goes to
// rank id mod size; no measurement is expected there). A map with t nil
// is one tile, rank 0's: one rank, or tile_deg = 0.
type tileMap struct {
	t     *decomp.Tiling
	ranks *decomp.TileRanks
	size  int
}

// maxCoverTiles bounds the sky tiles that one image's field and halo may
// cover (checkTiles): the tile map holds a weight per covered tile, so
// its memory grows with it. 2^18 tiles are a few MB.
const maxCoverTiles = 1 << 18

// checkTiles refuses, in the plan stage and before any tile exists, a
// tile side so small for the images that the tile map would grow without
// bound: the tiles covering one image's field plus the search radius,
// about pi (r + radius + side)^2 / side^2, must not exceed maxCoverTiles.
// The images are those of the plan with a header (a superset of those
// newTileMap weighs).
func checkTiles(plan *Plan, cfg assoc.Config, side float64) error {
	smaj, r := 0.0, 0.0
	for i := range plan.Len() {
		img := plan.Image(i)
		if !img.hasHeader() {
			continue
		}
		info := imageInfo(img)
		smaj = max(smaj, info.RBSmaj)
		r = max(r, 0.5*math.Hypot(float64(info.NX)*info.DeltaX, float64(info.NY)*info.DeltaY))
	}
	reach := min(r+cfg.BeamwidthsLimit*smaj, 180)
	n := math.Pi * (reach + side) * (reach + side) / (side * side)
	if n <= maxCoverTiles {
		return nil
	}
	// The side at which the count meets the limit: reach/side = sqrt(L/pi) - 1.
	need := reach / (math.Sqrt(maxCoverTiles/math.Pi) - 1)
	return fmt.Errorf("%w: pipeline.tile_deg = %v: an image field of radius %.3g degrees (with the search radius) covers about %.2g tiles of that side, more than %d; use tile_deg >= %.2g, or 0 to associate on rank 0",
		config.ErrInvalid, side, reach, n, maxCoverTiles, need)
}

// newTileMap builds the tiling of side degrees with a halo radius of the
// run's largest search radius (beamwidths_limit times the largest rb_smaj
// of the images) plus slack, identically on every rank; one tile when
// size is 1 or side 0.
func newTileMap(plan *Plan, cfg assoc.Config, side float64, size int) (*tileMap, error) {
	if size < 2 || side <= 0 {
		return &tileMap{size: size}, nil
	}
	smaj := 0.0
	type disc struct {
		ra, dec, r float64
		n          int
	}
	discs := map[int64]*disc{}
	var order []int64
	for i := range plan.Len() {
		img := plan.Image(i)
		if !img.hasHeader() || img.Timestep < 0 {
			continue
		}
		info := imageInfo(img)
		smaj = max(smaj, info.RBSmaj)
		d := discs[img.Region]
		if d == nil {
			d = &disc{ra: info.CentreRA, dec: info.CentreDec,
				r: 0.5 * math.Hypot(float64(info.NX)*info.DeltaX, float64(info.NY)*info.DeltaY)}
			discs[img.Region] = d
			order = append(order, img.Region)
		}
		d.n++
	}
	// Relative and absolute slack: the association's own distance test
	// rounds differently from the tiling's (both to ~1e-13 degrees).
	radius := cfg.BeamwidthsLimit*smaj*(1+1e-6) + 1e-6
	if !(radius < 90) {
		return nil, fmt.Errorf("pipeline: association search radius %v degrees: too large for sky tiles", radius)
	}
	t, err := decomp.NewTiling(side, radius)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	weight := map[int]float64{}
	for _, reg := range order {
		d := discs[reg]
		cover, err := decomp.NewTiling(side, min(d.r+radius, 89))
		if err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		for _, id := range cover.HaloTiles(nil, d.ra, d.dec) {
			weight[id] += float64(d.n)
		}
	}
	return &tileMap{t: t, ranks: decomp.AssignTiles(t, weight, size), size: size}, nil
}

// testScatterTiles, when set, assigns every tile to rank id mod size
// instead of in blocks: every tile edge is then a rank boundary (a test
// of the protocol, not of the balance).
var testScatterTiles bool

// tileRank is the rank of tile id.
func (m *tileMap) tileRank(id int) int {
	if m.t == nil {
		return 0
	}
	if testScatterTiles {
		return id % m.size
	}
	return m.ranks.Rank(id)
}

// home is the rank owning the tile core that holds (ra, dec).
func (m *tileMap) home(ra, dec float64) int {
	if m.t == nil {
		return 0
	}
	return m.tileRank(m.t.Owner(ra, dec))
}

// haloRanks returns the ranks, ascending and distinct, of the tiles whose
// halo holds (ra, dec): the home rank and those of halo copies. dst and
// tiles are scratch space, reused; the tiles are returned too.
func (m *tileMap) haloRanks(dst []int, tiles []int, ra, dec float64) ([]int, []int) {
	if m.t == nil {
		return append(dst[:0], 0), tiles
	}
	tiles = m.t.HaloTiles(tiles[:0], ra, dec)
	dst = dst[:0]
	for _, id := range tiles {
		dst = append(dst, m.tileRank(id))
	}
	slices.Sort(dst)
	return slices.Compact(dst), tiles
}

// distAssoc is one rank's engine of a distributed association pass.
type distAssoc struct {
	comm     reduce.Comm
	me, size int
	tm       *tileMap
	e        *assoc.Engine
	// changed are the runcats created or moved by the last blind
	// association: they leave at the next exchange if their tile is
	// another rank's.
	changed []int64
	stats   distStats
}

// testHookDist, when set, receives each rank's counts at the end of
// the association.
var testHookDist func(rank int, st distStats)

// report logs the counts and hands them to testHookDist.
func (d *distAssoc) report(a *assocRun) {
	tiles := "one tile"
	d.stats.tiles = 1
	if d.tm.t != nil {
		d.stats.tiles = d.tm.ranks.Len()
		tiles = fmt.Sprintf("sky tiles of %g deg (halo %.6g deg, %d tiles with images, %d of them here)",
			a.tileDeg, d.tm.t.Radius(), d.tm.ranks.Len(), d.tm.ranks.Count(d.me))
	}
	a.log.printf("association over %s: "+
		"%d blind measurements received (%d also sent to another rank), %d runcats sent to other ranks, minima exchanged for %d images; "+
		"bytes sent to other ranks: %d blind measurements, %d runcats, %d facts, %d requests and holders, %d forced fits, %d images rows; "+
		"%d timesteps: %s",
		tiles, d.stats.received, d.stats.boundary, d.stats.emigrants, d.stats.minRounds,
		d.stats.sentMeas, d.stats.sentRuncats, d.stats.sentFacts, d.stats.sentReqs, d.stats.sentFits, d.stats.sentRows,
		d.stats.timesteps, d.stats.comm)
	if testHookDist != nil {
		testHookDist(d.me, d.stats)
	}
}

// distStats count one rank's share of the association.
type distStats struct {
	received  int // blind measurements received (own tiles and halo copies)
	boundary  int // of which sent to several ranks
	emigrants int // runcats sent to another rank
	minRounds int // images whose restricted minima were exchanged
	// Bytes this rank sent to other ranks, by purpose: blind
	// measurements and runcats (step 1), facts (steps 2 and 3),
	// requests, holders and forced fits, and the images rows
	// (stream.gatherRows). An Allgatherv's part counts once, as
	// reduce.Counting counts it; nothing counts on one rank.
	sentMeas, sentRuncats, sentFacts, sentReqs, sentFits, sentRows int
	// timesteps is the number of timesteps of the stage, and comm the
	// collectives this rank took part in during it (every collective of
	// the timesteps stage, the bytes above and the messages' headers).
	timesteps int
	comm      commUse
	// tiles is the number of sky tiles with images (one, rank 0's, when
	// the sky is not tiled).
	tiles int
}

// commUse counts the collectives one rank took part in over a part of a
// run, by kind (Allgatherv, Alltoallv, the others): calls, and the
// payload bytes sent to and received from other ranks as
// reduce.Counting counts them.
type commUse struct {
	allgatherv, alltoallv, other commCount
}

// commCount is one kind of collective of a commUse.
type commCount struct {
	calls, sent, recv int64
}

// commNow returns the counts of c so far: zero unless c is the
// *reduce.Counting that Run wraps its Comm in.
func commNow(c reduce.Comm) commUse {
	var u commUse
	cc, ok := c.(*reduce.Counting)
	if !ok {
		return u
	}
	for _, s := range cc.Stats() {
		k := &u.other
		switch s.Op {
		case "Allgatherv":
			k = &u.allgatherv
		case "Alltoallv":
			k = &u.alltoallv
		}
		k.calls += s.Calls
		k.sent += s.Sent
		k.recv += s.Recv
	}
	return u
}

// since returns the counts of u less those of an earlier snapshot v.
func (u commUse) since(v commUse) commUse {
	sub := func(a, b commCount) commCount {
		return commCount{calls: a.calls - b.calls, sent: a.sent - b.sent, recv: a.recv - b.recv}
	}
	return commUse{allgatherv: sub(u.allgatherv, v.allgatherv), alltoallv: sub(u.alltoallv, v.alltoallv), other: sub(u.other, v.other)}
}

// total is the counts of every kind together.
func (u commUse) total() commCount {
	return commCount{calls: u.allgatherv.calls + u.alltoallv.calls + u.other.calls,
		sent: u.allgatherv.sent + u.alltoallv.sent + u.other.sent,
		recv: u.allgatherv.recv + u.alltoallv.recv + u.other.recv}
}

func (u commUse) String() string {
	t := u.total()
	return fmt.Sprintf("%d collectives (%d Allgatherv, %d Alltoallv, %d other), %d B sent, %d B received",
		t.calls, u.allgatherv.calls, u.alltoallv.calls, u.other.calls, t.sent, t.recv)
}

func newDistAssoc(a *assocRun, e *assoc.Engine, tm *tileMap) *distAssoc {
	d := &distAssoc{comm: a.comm, me: a.me, size: a.size, tm: tm, e: e}
	e.SetOwnership(func(ra, dec float64) bool { return tm.home(ra, dec) == d.me })
	return d
}

// distImage associates one accepted image's blind measurements over the
// ranks (a collective: every rank calls it for every accepted image, in
// plan order). raw are the image's staged blind measurements on the rank
// that extracted it (owner), nil elsewhere. It returns this rank's
// null-detection requests of the image and the monitor requests; the
// timestep's requests are merged by gatherRequests.
func (d *distAssoc) distImage(img *Image, raw []catalog.Measurement, owner bool, cfg assoc.Config) (null, mon []assoc.Request, err error) {
	fail := func(err error) ([]assoc.Request, []assoc.Request, error) {
		return nil, nil, fmt.Errorf("pipeline: rank %d: %s: %w", d.me, img.Path, err)
	}
	// 1. Emigrants and routed measurements. The owner's message to every
	// rank says whether any measurement went to several ranks: if none
	// did, every fact is local and steps 2 and 3 are skipped everywhere.
	emig, nem, err := d.e.Emigrate(d.changed, d.tm.home, d.me, d.size)
	if err != nil {
		return fail(err)
	}
	d.stats.emigrants += nem
	d.changed = nil
	per := make([][]catalog.Measurement, d.size)
	flags := make([][]byte, d.size)
	anyB := byte(0)
	if owner {
		kept, _, err := assoc.Prepare(cfg, img.ID, catalog.ExtractBlind, raw)
		if err != nil {
			return fail(err)
		}
		var ranks, tiles []int
		for k := range kept {
			m := &kept[k]
			ranks, tiles = d.tm.haloRanks(ranks, tiles, m.RA, m.Decl)
			b := byte(0)
			if len(ranks) > 1 {
				b, anyB = 1, 1
			}
			for _, r := range ranks {
				per[r] = append(per[r], *m)
				flags[r] = append(flags[r], b)
			}
		}
	}
	send := make([][]byte, d.size)
	for r := range send {
		if r != d.me {
			d.stats.sentRuncats += len(emig[r])
			d.stats.sentMeas += len(per[r])*assoc.WireSize() + len(flags[r])
		}
		e := wire.NewEncoder(nil)
		e.Bytes(emig[r])
		e.Uint8(anyB)
		assoc.PutForAssociation(e, per[r])
		e.Raw(flags[r]) // one per measurement
		send[r] = e.Data()
	}
	recv, err := d.comm.Alltoallv(send)
	if err != nil {
		return fail(err)
	}
	var ms []catalog.Measurement
	boundary := map[int64]bool{}
	shared := false
	for r, b := range recv {
		dec := wire.NewDecoder(b)
		emigrants := dec.Bytes()
		flag := dec.Uint8()
		start := len(ms)
		ms = assoc.ReadForAssociation(dec, ms)
		fl := dec.Raw(len(ms) - start)
		if err := dec.Done(); err != nil {
			return fail(fmt.Errorf("measurements from rank %d: %w", r, err))
		}
		if _, err := d.e.Immigrate(emigrants); err != nil {
			return fail(fmt.Errorf("runcats from rank %d: %w", r, err))
		}
		shared = shared || flag == 1
		for k, f := range fl {
			if f == 1 {
				boundary[ms[start+k].ID] = true
			}
		}
	}
	d.stats.received += len(ms)
	d.stats.boundary += len(boundary)
	step, err := d.e.BeginBlind(img.ID, ms)
	if err != nil {
		return fail(err)
	}
	ids, facts := step.IDs(), step.Facts()
	if shared {
		// 2. NCand of boundary measurements, summed over ranks; the
		// first byte says whether this rank may have restricted pairs of
		// boundary measurements (Step.Grouped).
		grouped := step.Grouped()
		flag := uint8(0)
		for k, id := range ids {
			if boundary[id] && facts[k].NCand > 0 && grouped[k] {
				flag = 1
			}
		}
		e := wire.NewEncoder(nil)
		e.Uint8(flag)
		for k, id := range ids {
			if boundary[id] && facts[k].NCand > 0 {
				e.Int64(id)
				e.Uint32(uint32(facts[k].NCand))
			}
		}
		d.stats.sentFacts += e.Len()
		nGrouped := 0
		if err := d.exchange(e.Data(), func(flag byte) {
			nGrouped += int(flag)
		}, func(rec *wire.Decoder) {
			id, n := rec.Int64(), int32(rec.Uint32())
			if k, ok := slices.BinarySearch(ids, id); ok {
				facts[k].NCand += n
			}
		}); err != nil {
			return fail(err)
		}
		step.Restrict()
		// 3. Minimum (r, runcat) of boundary measurements over ranks,
		// needed only where two ranks may have restricted pairs of them.
		if nGrouped >= 2 {
			d.stats.minRounds++
			e := wire.NewEncoder(nil)
			e.Uint8(0)
			for k, id := range ids {
				if boundary[id] && facts[k].MinRuncat != 0 {
					e.Int64(id)
					e.Float64(facts[k].MinR)
					e.Int64(facts[k].MinRuncat)
				}
			}
			d.stats.sentFacts += e.Len()
			if err := d.exchange(e.Data(), nil, func(rec *wire.Decoder) {
				id, f := rec.Int64(), assoc.Facts{MinR: rec.Float64(), MinRuncat: rec.Int64()}
				if k, ok := slices.BinarySearch(ids, id); ok {
					facts[k].Merge(f)
				}
			}); err != nil {
				return fail(err)
			}
		}
	} else {
		step.Restrict()
	}
	res, err := step.Finish()
	if err != nil {
		return fail(err)
	}
	d.changed = res.Changed
	return res.Requests, res.MonitorRequests, nil
}

// gatherRequests is a collective at the end of a timestep's blind
// association: every rank contributes, per accepted image of acc, its
// null-detection requests (null[i]) and, from the image's extraction
// owner, the image's number of blind sources. It sets reqs[i].null to
// the merged requests, by runcat id (forced-fit ids follow this order, so
// they do not depend on the ranks), and nBlind[i], on every rank, and
// gives each engine the image's whole request list (SetRequests).
func (d *distAssoc) gatherRequests(a *assocRun, acc []int, null map[int][]assoc.Request, reqs map[int]*imageRequests, nBlind map[int]int) error {
	e := wire.NewEncoder(nil)
	for _, i := range acc {
		// The image's number of blind sources plus one from its owner,
		// 0 (one byte) from the others.
		nb := uint64(0)
		if a.owner[i] == d.me {
			nb = uint64(nBlind[i]) + 1
		}
		e.Uvarint(nb)
		e.Count(len(null[i]))
		for _, q := range null[i] {
			e.Int64(q.Runcat)
			e.Float64(q.RA)
			e.Float64(q.Dec)
		}
	}
	if d.size > 1 {
		d.stats.sentReqs += e.Len()
	}
	parts, err := d.comm.Allgatherv(e.Data())
	if err != nil {
		return fmt.Errorf("pipeline: rank %d: gathering requests: %w", d.me, err)
	}
	merged := make([][]assoc.Request, len(acc))
	for r, p := range parts {
		dec := wire.NewDecoder(p)
		for k, i := range acc {
			if nb := dec.Uvarint(); nb > 0 {
				nBlind[i] = int(nb - 1)
			}
			for range dec.Count(24) {
				merged[k] = append(merged[k], assoc.Request{Runcat: dec.Int64(), RA: dec.Float64(), Dec: dec.Float64()})
			}
		}
		if err := dec.Done(); err != nil {
			return fmt.Errorf("pipeline: rank %d: requests from rank %d: %w", d.me, r, err)
		}
	}
	for k, i := range acc {
		l := merged[k]
		slices.SortFunc(l, func(x, y assoc.Request) int { return cmp.Compare(x.Runcat, y.Runcat) })
		reqs[i].null = l
		if err := d.e.SetRequests(a.plan.Image(i).ID, l); err != nil {
			return fmt.Errorf("pipeline: rank %d: %s: %w", d.me, a.plan.Image(i).Path, err)
		}
	}
	return nil
}

// exchange is an Allgatherv of a flag byte and records (package wire):
// head (if not nil) is called with every rank's flag, rec to read each
// record of the other ranks, in rank order.
func (d *distAssoc) exchange(b []byte, head func(flag byte), rec func(*wire.Decoder)) error {
	parts, err := d.comm.Allgatherv(b)
	if err != nil {
		return err
	}
	for r, p := range parts {
		dec := wire.NewDecoder(p)
		flag := dec.Uint8()
		if err := dec.Err(); err != nil {
			return fmt.Errorf("facts from rank %d: %w", r, err)
		}
		if head != nil {
			head(flag)
		}
		if r == d.me {
			continue
		}
		for dec.More() {
			rec(dec)
		}
		if err := dec.Done(); err != nil {
			return fmt.Errorf("facts from rank %d: %w", r, err)
		}
	}
	return nil
}

// routeFits is a collective at the end of a timestep: the fits of the
// images of withReq go to the ranks that associate them. First every
// rank reports which of the timestep's requested runcats it holds,
// itself or through forks (Allgatherv of their ids,
// assoc.Engine.Holders); then each image's owner sends each
// null-detection fit and "outside" answer of its fits own[i] to the
// holders of its runcat, and the monitor fits to every rank (Alltoallv).
// It returns, for every image of withReq, the fits this rank associates.
func (d *distAssoc) routeFits(a *assocRun, withReq []int, reqs map[int]*imageRequests, own map[int]*forcedFits) (here map[int]*forcedFits, err error) {
	fail := func(err error) (map[int]*forcedFits, error) {
		return nil, fmt.Errorf("pipeline: rank %d: routing forced fits: %w", d.me, err)
	}
	var ids []int64
	for _, i := range withReq {
		for _, q := range reqs[i].null {
			ids = append(ids, q.Runcat)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	e := wire.NewEncoder(nil)
	for _, id := range d.e.Holders(ids) {
		e.Int64(id)
	}
	if d.size > 1 {
		d.stats.sentReqs += e.Len()
	}
	parts, err := d.comm.Allgatherv(e.Data())
	if err != nil {
		return fail(err)
	}
	holders := map[int64][]int{}
	for r, p := range parts {
		dec := wire.NewDecoder(p)
		for dec.More() {
			id := dec.Int64()
			holders[id] = append(holders[id], r)
		}
		if err := dec.Done(); err != nil {
			return fail(fmt.Errorf("holders from rank %d: %w", r, err))
		}
	}
	var mine []int
	for _, i := range withReq {
		if own[i] != nil {
			mine = append(mine, i)
		}
	}
	enc := make([]wire.Encoder, d.size)
	for _, i := range mine {
		f := own[i]
		per := make([]forcedFits, d.size)
		for _, m := range f.null {
			for _, r := range holders[m.FFRuncat.Int64] {
				per[r].null = append(per[r].null, m)
			}
		}
		for _, id := range f.outside {
			for _, r := range holders[id] {
				per[r].outside = append(per[r].outside, id)
			}
		}
		for r := range enc {
			enc[r].Int(i)
			wire.PutRows(&enc[r], per[r].outside)
			wire.PutRows(&enc[r], per[r].null)
			wire.PutRows(&enc[r], f.mon)
		}
	}
	send := make([][]byte, d.size)
	for r := range enc {
		send[r] = enc[r].Data()
		if r != d.me {
			d.stats.sentFits += len(send[r])
		}
	}
	recv, err := d.comm.Alltoallv(send)
	if err != nil {
		return fail(err)
	}
	here = make(map[int]*forcedFits, len(withReq))
	for _, i := range withReq {
		here[i] = &forcedFits{}
	}
	for r, p := range recv {
		dec := wire.NewDecoder(p)
		for dec.More() {
			i := dec.Int()
			out := wire.Rows[int64](dec)
			null := wire.Rows[catalog.Measurement](dec)
			mon := wire.Rows[catalog.Measurement](dec)
			f := here[i]
			if dec.Err() != nil || f == nil {
				return fail(fmt.Errorf("forced fits from rank %d: image index %d: %v", r, i, dec.Err()))
			}
			f.outside = append(f.outside, out...)
			f.null = append(f.null, null...)
			f.mon = append(f.mon, mon...)
		}
		if err := dec.Done(); err != nil {
			return fail(fmt.Errorf("forced fits from rank %d: %w", r, err))
		}
	}
	return here, nil
}
