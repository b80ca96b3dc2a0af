package assoc

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gotrap/catalog"
)

// TestVariabilityIncrementalVsBatch: the v_int and eta_int on each
// association row of a random light curve (blind, forced and a band
// change mixed) equal the textbook batch formulas of SPEC 7.1 over the
// band's points so far: V = s/mean with the sample standard deviation,
// eta = sum((I - I*)^2/sigma^2)/(M-1) about the weighted mean I*.
func TestVariabilityIncrementalVsBatch(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		t.Logf("seed %d", seed)
		rng := rand.New(rand.NewPCG(seed, 9))
		e := newEngine(t, DefaultConfig())
		const n = 40
		var fluxes, errs [2][]float64
		for i := 1; i <= n; i++ {
			freq := 150e6
			if i%3 == 0 {
				freq = 180e6
			}
			addImage(t, e, imageAt(int64(i), i, freq, 10, 30))
		}
		src := catalog.MeasurementID(1, 0)
		for i := 1; i <= n; i++ {
			img := int64(i)
			band := 0
			if i%3 == 0 {
				band = 1
			}
			f := 1 + 0.3*rng.NormFloat64()
			fe := 0.05 + 0.1*rng.Float64()
			detect := i == 1 || rng.Float64() < 0.6
			var ms []catalog.Measurement
			if detect {
				ms = append(ms, meas(img, 0, 10, 30+2*arcsec*rng.NormFloat64(), f, fe))
			}
			res := blind(t, e, img, ms...)
			var fits []catalog.Measurement
			if !detect && len(res.Requests) == 1 {
				fits = append(fits, forcedFit(img, 1, src, res.Requests[0].RA, res.Requests[0].Dec, f, fe))
			}
			fr, err := e.AssociateForced(img, fits, nil)
			if err != nil {
				t.Fatal(err)
			}
			links := append(res.Associations, fr.Associations...)
			if len(links) == 0 {
				continue // expired
			}
			if len(links) != 1 || links[0].Runcat != src {
				t.Fatalf("image %d: links %+v", i, links)
			}
			fluxes[band] = append(fluxes[band], f)
			errs[band] = append(errs[band], fe)
			l := links[0]
			v, eta := batchVarEta(fluxes[band], errs[band])
			if l.FDatapoints != int64(len(fluxes[band])) {
				t.Fatalf("image %d: f_datapoints %d, want %d", i, l.FDatapoints, len(fluxes[band]))
			}
			// 1e-12 relative: the running means lose about log10(M) +
			// log10(Q/(Q - mean^2)) ~ 1.6 + 1.1 digits to rounding and
			// cancellation (relative scatter 0.3), far from 1e-12.
			if !near(l.VInt, v, 1e-12) || !near(l.EtaInt, eta, 1e-12) {
				t.Errorf("image %d (M=%d): v %.17g eta %.17g, batch %.17g %.17g", i, l.FDatapoints, l.VInt, l.EtaInt, v, eta)
			}
		}
	}
}

// batchVarEta is the textbook definition: V = s/mean (N-1 sample
// standard deviation, two-pass), eta = reduced chi^2 about the weighted
// mean.
func batchVarEta(f, s []float64) (v, eta float64) {
	n := float64(len(f))
	if len(f) < 2 {
		return 0, 0
	}
	var sum, sw, swf float64
	for i, x := range f {
		sum += x
		w := 1 / (s[i] * s[i])
		sw += w
		swf += w * x
	}
	mean, wmean := sum/n, swf/sw
	var ss, chi float64
	for i, x := range f {
		ss += (x - mean) * (x - mean)
		chi += (x - wmean) * (x - wmean) / (s[i] * s[i])
	}
	return math.Sqrt(ss/(n-1)) / mean, chi / (n - 1)
}

// TestBands: SPEC 2.3 with decision 10. Band 1 = [145, 155] MHz, band 2
// = [155, 165] (touching is not overlapping: 20 < 20 is false).
func TestBands(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	for i, tc := range []struct {
		freq float64
		want int64
	}{
		{150, 1},
		{160, 2},
		{153, 1}, // [148, 158] overlaps both; |150-153| = 3 < 7
		{156, 2}, // |160-156| = 4 < 6
		{155, 1}, // a tie at 5: the lowest id
		{175, 3}, // [170, 180]: no overlap
	} {
		im := imageAt(int64(i+1), i, tc.freq*1e6, 10, 30)
		im.FreqBW = 10e6
		if b, _ := addImage(t, e, im); b != tc.want {
			t.Errorf("%g MHz: band %d, want %d", tc.freq, b, tc.want)
		}
	}
	bs := e.Bands()
	if len(bs) != 3 || bs[1] != (catalog.Band{ID: 2, FreqCentral: 160e6, FreqLow: 155e6, FreqHigh: 165e6}) {
		t.Errorf("bands %+v", bs)
	}
	cfg := DefaultConfig()
	cfg.BandwidthMax = 1e6 // [149.5, 150.5] and [150.5, 151.5] only touch
	e = newEngine(t, cfg)
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	if b, _ := addImage(t, e, imageAt(2, 0, 151e6, 10, 30)); b != 2 {
		t.Errorf("bandwidth_max: band %d, want 2", b)
	}
}

// TestRegions: SPEC 2.4 with decision 11. Pixels are 0.01 deg; the
// half-diagonal of 512x512 px is 0.5*hypot(5.12, 5.12) = 3.6204 deg.
func TestRegions(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	_, r1 := addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	// A source at the centre and one 3 deg north, inside region 1.
	a := meas(1, 0, 10, 30, 1, 1)
	b := meas(1, 1, 10, 33, 1, 1)
	blind(t, e, 1, a, b)
	// 0.5 px away in dec: the same region.
	if _, r := addImage(t, e, imageAt(2, 1, 150e6, 10, 30.005)); r != r1 {
		t.Errorf("0.5 px shift: region %d, want %d", r, r1)
	}
	// 3.5 deg north: a new region 2; a (3.5 deg away) and b (0.5 deg) are
	// both inside its 3.6204 deg radius.
	_, r2 := addImage(t, e, imageAt(3, 1, 150e6, 10, 33.5))
	if r2 != 2 {
		t.Fatalf("region %d, want 2", r2)
	}
	regs := e.SkyRegions()
	checkNear(t, "xtr_radius", regs[0].XtrRadius, 0.5*math.Hypot(5.12, 5.12), ulpTol)
	got := e.AssocSkyRegions()
	// a: region 1 (null), region 2 at 3.5 deg; b: region 1 (null),
	// region 2 at 0.5 deg.
	if len(got) != 4 || got[0].DistanceDeg.Valid || !got[1].DistanceDeg.Valid || got[1].SkyRegion != 2 {
		t.Fatalf("assocskyrgn %+v", got)
	}
	checkNear(t, "distance a", got[1].DistanceDeg.Float64, 3.5, 1e-9) // chord -> angle: ~1e-15 rad
	checkNear(t, "distance b", got[3].DistanceDeg.Float64, 0.5, 1e-9)
	// A new source in region 2's image at 36.5 deg is 3 deg from region
	// 2 and 6.5 from region 1: only region 2.
	c := meas(3, 0, 10, 36.5, 1, 1)
	blind(t, e, 2)
	blind(t, e, 3, c)
	var cr []AssocSkyRegion
	for _, x := range e.AssocSkyRegions() {
		if x.Runcat == c.ID {
			cr = append(cr, x)
		}
	}
	if len(cr) != 1 || cr[0].SkyRegion != 2 || cr[0].DistanceDeg.Valid {
		t.Errorf("new source regions %+v", cr)
	}
	// With extraction_radius_pix = 250 the radius is 2.5 deg.
	cfg := DefaultConfig()
	cfg.ExtractionRadiusPix = 250
	e = newEngine(t, cfg)
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	checkNear(t, "xtr_radius 250 px", e.SkyRegions()[0].XtrRadius, 2.5, ulpTol)
	// 1.5 px away: a new region.
	if _, r := addImage(t, e, imageAt(2, 0, 150e6, 10, 30.015)); r != 2 {
		t.Errorf("1.5 px shift: region %d, want 2", r)
	}
}

// TestFactsMerge: merging per-rank facts in any order gives the same
// result, ties of r going to the lowest runcat id (decision 13).
func TestFactsMerge(t *testing.T) {
	parts := []Facts{
		{NCand: 1, MinR: 2, MinRuncat: 30},
		{NCand: 2, MinR: 1.5, MinRuncat: 20},
		{NCand: 1, MinR: 1.5, MinRuncat: 10},
		{NCand: 3}, // a rank with candidates but none restricted
	}
	want := Facts{NCand: 7, MinR: 1.5, MinRuncat: 10}
	perms := [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {1, 3, 0, 2}, {2, 0, 3, 1}}
	for _, p := range perms {
		var f Facts
		for _, i := range p {
			f.Merge(parts[i])
		}
		if f != want {
			t.Errorf("order %v: %+v, want %+v", p, f, want)
		}
	}
}

// TestFactsSplitRanks: pairs split between two "ranks" by runcat owner
// give, after merging NCand and then the minima, the same facts and
// active pairs as one rank.
func TestFactsSplitRanks(t *testing.T) {
	const seed = 11
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 4))
	e := newEngine(t, DefaultConfig())
	ms := randomSky(t, e, rng, 2000, 1000, 0, 0, 0.5)
	xs := make([]int64, len(ms))
	for i := range ms {
		xs[i] = ms[i].ID
	}
	pairs := e.findPairs(ms, 0.03)
	f := countFacts(xs, pairs)
	in := restricted(xs, pairs, f)
	minFacts(xs, pairs, in, f)
	act := activePairs(xs, pairs, in, f)
	var part [2][]Pair
	for _, p := range pairs {
		part[p.Runcat%2] = append(part[p.Runcat%2], p)
	}
	merged := make([]Facts, len(xs))
	for r := range part {
		for i, c := range countFacts(xs, part[r]) {
			merged[i].Merge(c)
		}
	}
	var mins [2][]Facts
	for r := range part {
		mins[r] = make([]Facts, len(xs))
		// The restricted set needs the global NCand.
		minFacts(xs, part[r], restricted(xs, part[r], merged), mins[r])
	}
	var nRestricted int
	for i := range xs {
		merged[i].Merge(mins[1][i])
		merged[i].Merge(mins[0][i])
		if merged[i] != f[i] {
			t.Fatalf("measurement %d: merged %+v, single rank %+v", xs[i], merged[i], f[i])
		}
		if f[i].MinRuncat != 0 {
			nRestricted++
		}
	}
	if nRestricted == 0 {
		t.Fatal("no restricted pairs: the test is too weak")
	}
	for r := range part {
		a := activePairs(xs, part[r], restricted(xs, part[r], merged), merged)
		for k, p := range part[r] {
			j, _ := slices.BinarySearchFunc(pairs, p, func(a, b Pair) int {
				if c := cmpInt(a.Runcat, b.Runcat); c != 0 {
					return c
				}
				return cmpInt(a.Xtrsrc, b.Xtrsrc)
			})
			if a[k] != act[j] {
				t.Fatalf("pair %+v active %v on its rank, %v on one rank", p, a[k], act[j])
			}
		}
	}
	t.Logf("%d pairs, %d measurements with restricted pairs", len(pairs), nRestricted)
}
