package assoc

import (
	"math"
	"slices"

	"gotrap/catalog"
)

// This file is stage (a) of blind association, candidate pairs (SPEC
// 5.2), and stage (b), the per-measurement facts (see doc.go,
// "Distribution seams").

// Pair is a candidate pair of SPEC 5.2: runcat Runcat and measurement
// Xtrsrc, their De Ruiter radius R and great-circle distance (arcsec).
type Pair struct {
	Runcat, Xtrsrc int64
	R, Distance    float64
}

// match is SPEC 5.2's filter for one (runcat, measurement) pair, with
// search radius rad (degrees) and cosRad = cos(rad). It returns the De
// Ruiter radius and the distance (arcsec). The RA box of SPEC 5.2 is not
// tested: it is implied by the dot-product test (a point closer than rad
// lies within alpha(rad, decl) in RA), and the index applies it, widened,
// as a prefilter. Δα is the wrapped difference (SPEC 5.2 "Go
// recommendation").
func match(rc *catalog.Runcat, m *catalog.Measurement, rad, cosRad, rmax float64) (r, dist float64, ok bool) {
	if rc.Zone < zoneOf(m.Decl-rad) || rc.Zone > zoneOf(m.Decl+rad) {
		return 0, 0, false
	}
	dd := rc.WmDecl - m.Decl
	if math.Abs(dd) > rad {
		return 0, 0, false
	}
	if rc.X*m.X+rc.Y*m.Y+rc.Z*m.Z <= cosRad {
		return 0, 0, false
	}
	da := wrap180(rc.WmRA-m.RA) * math.Cos((rc.WmDecl+m.Decl)/2*deg2rad)
	sew := rc.WmUncertEW*rc.WmUncertEW + m.UncertEW*m.UncertEW
	sns := rc.WmUncertNS*rc.WmUncertNS + m.UncertNS*m.UncertNS
	r = math.Sqrt(da*da/sew + dd*dd/sns)
	if !(r < rmax) {
		return 0, 0, false
	}
	d, _ := chordDeg(rc.X, rc.Y, rc.Z, m.X, m.Y, m.Z)
	return r, d * 3600, true
}

// index is the candidate search structure: live blind runcats bucketed by
// 1-degree zone (floor(wm_decl), zones -90..90), each bucket sorted by
// (wm_ra, id). A query scans the zones floor(decl-R)..floor(decl+R) and,
// in each, the RA interval ra ± raHalfWidth(R, decl) (wrapped at 0/360;
// the whole zone when the circle reaches a pole) by binary search, then
// applies match. It is rebuilt for each image, since positions move:
// O(N log N) for N runcats, and O(log N + k) per measurement.
type index struct {
	zones [181][]*catalog.Runcat
}

func (ix *index) build(src map[int64]*source) {
	for i := range ix.zones {
		clear(ix.zones[i])
		ix.zones[i] = ix.zones[i][:0]
	}
	for _, s := range src {
		if s.rc.MonSrc {
			continue
		}
		z := int(s.rc.Zone) + 90
		ix.zones[z] = append(ix.zones[z], &s.rc)
	}
	for i := range ix.zones {
		slices.SortFunc(ix.zones[i], func(a, b *catalog.Runcat) int {
			switch {
			case a.WmRA < b.WmRA:
				return -1
			case a.WmRA > b.WmRA:
				return 1
			}
			return cmpInt(a.ID, b.ID)
		})
	}
}

// raMargin widens the index's RA interval: raHalfWidth is accurate to a
// few ulps of its trigonometry (~1e-13 deg), so 1e-9 deg (relative and
// absolute) only absorbs rounding; match decides exactly.
const raMargin = 1e-9

// query calls fn for every runcat that passes match against m, in index
// order.
func (ix *index) query(m *catalog.Measurement, rad, cosRad, rmax float64, fn func(rc *catalog.Runcat, r, dist float64)) {
	zlo := max(int(zoneOf(m.Decl-rad)), -90)
	zhi := min(int(zoneOf(m.Decl+rad)), 90)
	a := raHalfWidth(rad, m.Decl)
	a = a*(1+raMargin) + raMargin
	full := a >= 180
	var ranges [2][2]float64
	nr := 1
	if !full {
		lo, hi := m.RA-a, m.RA+a
		switch {
		case lo < 0:
			ranges[0] = [2]float64{0, hi}
			ranges[1] = [2]float64{lo + 360, 360}
			nr = 2
		case hi >= 360:
			ranges[0] = [2]float64{lo, 360}
			ranges[1] = [2]float64{0, hi - 360}
			nr = 2
		default:
			ranges[0] = [2]float64{lo, hi}
		}
	}
	for z := zlo; z <= zhi; z++ {
		zone := ix.zones[z+90]
		if full {
			for _, rc := range zone {
				if r, d, ok := match(rc, m, rad, cosRad, rmax); ok {
					fn(rc, r, d)
				}
			}
			continue
		}
		for _, rg := range ranges[:nr] {
			i, _ := slices.BinarySearchFunc(zone, rg[0], func(rc *catalog.Runcat, ra float64) int {
				if rc.WmRA < ra {
					return -1
				}
				return 1
			})
			for ; i < len(zone) && zone[i].WmRA <= rg[1]; i++ {
				if r, d, ok := match(zone[i], m, rad, cosRad, rmax); ok {
					fn(zone[i], r, d)
				}
			}
		}
	}
}

// findPairs is stage (a): the candidate pairs of the blind measurements
// ms (prepared, sorted by id) of an image with search radius rad, sorted
// by (Runcat, Xtrsrc).
func (e *Engine) findPairs(ms []catalog.Measurement, rad float64) []Pair {
	e.idx.build(e.src)
	cosRad := math.Cos(rad * deg2rad)
	var pairs []Pair
	for i := range ms {
		m := &ms[i]
		e.idx.query(m, rad, cosRad, e.cfg.DeRuiterRadius, func(rc *catalog.Runcat, r, d float64) {
			pairs = append(pairs, Pair{Runcat: rc.ID, Xtrsrc: m.ID, R: r, Distance: d})
		})
	}
	sortPairs(pairs)
	return pairs
}

// findPairsRef is findPairs by brute force over every runcat: the
// reference twin of the index.
func (e *Engine) findPairsRef(ms []catalog.Measurement, rad float64) []Pair {
	cosRad := math.Cos(rad * deg2rad)
	var pairs []Pair
	for _, s := range e.src {
		if s.rc.MonSrc {
			continue
		}
		for i := range ms {
			if r, d, ok := match(&s.rc, &ms[i], rad, cosRad, e.cfg.DeRuiterRadius); ok {
				pairs = append(pairs, Pair{Runcat: s.rc.ID, Xtrsrc: ms[i].ID, R: r, Distance: d})
			}
		}
	}
	sortPairs(pairs)
	return pairs
}

func sortPairs(p []Pair) {
	slices.SortFunc(p, func(a, b Pair) int {
		if c := cmpInt(a.Runcat, b.Runcat); c != 0 {
			return c
		}
		return cmpInt(a.Xtrsrc, b.Xtrsrc)
	})
}

// Facts are the per-measurement facts that decide association types
// (stage b). NCand is the number of candidate pairs of the measurement;
// (MinR, MinRuncat) the lexicographically smallest (r, runcat id) over
// its pairs in SPEC 5.4.1's restricted set, MinRuncat 0 when there is
// none. Facts of one measurement computed on several ranks combine with
// Merge, in any order: NCand adds, the minimum is a lexicographic
// minimum. NCand must be combined over all ranks before the minimum is
// computed (the restricted set depends on it).
type Facts struct {
	NCand     int32
	MinR      float64
	MinRuncat int64
}

// Merge combines o into f.
func (f *Facts) Merge(o Facts) {
	f.NCand += o.NCand
	if o.MinRuncat != 0 && (f.MinRuncat == 0 || o.MinR < f.MinR || (o.MinR == f.MinR && o.MinRuncat < f.MinRuncat)) {
		f.MinR, f.MinRuncat = o.MinR, o.MinRuncat
	}
}

// countFacts is stage (b1): NCand per measurement. xs are the
// measurement ids, sorted; pairs sorted by (Runcat, Xtrsrc).
func countFacts(xs []int64, pairs []Pair) []Facts {
	f := make([]Facts, len(xs))
	for _, p := range pairs {
		i, _ := slices.BinarySearch(xs, p.Xtrsrc)
		f[i].NCand++
	}
	return f
}

// runcatGroups returns the [start, end) ranges of pairs with equal Runcat.
func runcatGroups(pairs []Pair) [][2]int {
	var g [][2]int
	for i := 0; i < len(pairs); {
		j := i + 1
		for j < len(pairs) && pairs[j].Runcat == pairs[i].Runcat {
			j++
		}
		g = append(g, [2]int{i, j})
		i = j
	}
	return g
}

// restricted reports, for each pair, whether it is in SPEC 5.4.1's
// restricted set: its measurement has more than one candidate (X_multi)
// and its runcat has more than one candidate with at least one in
// X_multi (R_multi). A runcat's pairs are all local (one owner), so only
// the measurements' NCand need to be global.
func restricted(xs []int64, pairs []Pair, f []Facts) []bool {
	in := make([]bool, len(pairs))
	multi := func(p Pair) bool {
		i, _ := slices.BinarySearch(xs, p.Xtrsrc)
		return f[i].NCand > 1
	}
	for _, g := range runcatGroups(pairs) {
		if g[1]-g[0] < 2 {
			continue
		}
		any := false
		for k := g[0]; k < g[1]; k++ {
			if multi(pairs[k]) {
				any = true
				break
			}
		}
		if !any {
			continue
		}
		for k := g[0]; k < g[1]; k++ {
			in[k] = multi(pairs[k])
		}
	}
	return in
}

// minFacts is stage (b2): the minimum (r, runcat) per measurement over the
// restricted pairs, merged into f.
func minFacts(xs []int64, pairs []Pair, in []bool, f []Facts) {
	for k, p := range pairs {
		if !in[k] {
			continue
		}
		i, _ := slices.BinarySearch(xs, p.Xtrsrc)
		f[i].Merge(Facts{MinR: p.R, MinRuncat: p.Runcat})
	}
}

// activePairs is the trimming of SPEC 5.4.1 (stage c, first step): a
// restricted pair stays active only if it is its measurement's minimum
// (r, runcat id). Decision 13 breaks ties of r by the lowest runcat id,
// which also guarantees that a measurement forks at most one runcat.
func activePairs(xs []int64, pairs []Pair, in []bool, f []Facts) []bool {
	act := make([]bool, len(pairs))
	for k, p := range pairs {
		if !in[k] {
			act[k] = true
			continue
		}
		i, _ := slices.BinarySearch(xs, p.Xtrsrc)
		act[k] = f[i].MinRuncat == p.Runcat
	}
	return act
}
