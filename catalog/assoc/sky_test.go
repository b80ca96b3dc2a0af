package assoc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"gotrap/catalog"
)

// TestRAWrap: a field at RA 0 with a source seen at RA -3.6" (359.999)
// and then at +1.8" (0.0005). The pair uses the wrapped difference; the
// mean, with equal weights, is -0.00025 deg, normalised to 359.99975
// (SPEC 5.2 Go recommendation), and avg_wra follows it.
func TestRAWrap(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	for i := 1; i <= 3; i++ {
		addImage(t, e, imageAt(int64(i), i, 150e6, 0, 0))
	}
	a := meas(1, 0, 359.999, 0, 1, 1)
	other := meas(1, 1, 0.05, 0, 1, 1) // 180" east of RA 0, beyond R = 108"
	blind(t, e, 1, a, other)
	b := meas(2, 0, 0.0005, 0, 1, 1)
	res := blind(t, e, 2, b)
	if len(res.Associations) != 1 || res.Associations[0].Runcat != a.ID {
		t.Fatalf("links %+v", res.Associations)
	}
	// dRA = 0.0015 deg = 5.4" at dec 0: r = 5.4/14.142.
	checkNear(t, "r", res.Associations[0].R, 5.4/math.Sqrt(200), 1e-9) // 5.4" from RAs near 360: ~1e-13/1.5e-3 relative
	rc := mustRuncat(t, e, a.ID)
	checkNear(t, "wm_ra", rc.WmRA, 359.99975, 1e-12) // RA sums near 360 round at ~1e-14 deg
	checkNear(t, "avg_wra/avg_weight_ra", rc.AvgWRA/rc.AvgWeightRA, rc.WmRA, 1e-12)
	// A third point at +3.6" pulls the mean across 0: (-0.001 +
	// 0.0005 + 0.001)/3 = 0.000166... deg.
	c := meas(3, 0, 0.001, 0, 1, 1)
	res3 := blind(t, e, 3, c)
	if len(res3.Associations) != 1 || res3.Associations[0].Runcat != a.ID {
		t.Fatalf("links %+v", res3.Associations)
	}
	rc = mustRuncat(t, e, a.ID)
	checkNear(t, "wm_ra", rc.WmRA, 0.0005/3, 1e-12)
	checkNear(t, "avg_wra/avg_weight_ra", rc.AvgWRA/rc.AvgWeightRA, rc.WmRA, 1e-12)
}

// TestNearPole: fields at dec 89.9 and at the pole. At dec 89.9 a point
// 5 deg of RA away is 5 cos(89.9) deg = 31.4" away: r = 31.4/14.142.
// Across the pole, (0, 89.995) and (180, 89.995) are 36" apart.
func TestNearPole(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	for i := 1; i <= 2; i++ {
		addImage(t, e, imageAt(int64(i), i, 150e6, 10, 89.9))
	}
	a := meas(1, 0, 10, 89.9, 1, 1)
	p := meas(1, 1, 0, 89.995, 1, 1)
	blind(t, e, 1, a, p)
	b := meas(2, 0, 15, 89.9, 1, 1)
	q := meas(2, 1, 180, 89.995, 1, 1)
	res := blind(t, e, 2, b, q)
	if len(res.Associations) != 2 || res.Associations[0].Runcat != a.ID || res.Associations[1].Runcat != p.ID {
		t.Fatalf("links %+v", res.Associations)
	}
	cosd := math.Cos((89.9) * deg2rad)
	checkNear(t, "r", res.Associations[0].R, 5*cosd*3600/math.Sqrt(200), 1e-9) // trig near the pole: ~1e-12 relative
	// Across the pole: the De Ruiter dRA term is wrap(180)*cos(89.995),
	// 180 * 8.7e-5 deg = 56.5", so r = 56.5/14.142 = 4.0 < 5.68, while
	// the true distance is 0.01 deg = 36".
	checkNear(t, "distance", res.Associations[1].Distance, 36, 1e-6) // 36" from unit vectors ~1e-16: 1e-9 relative, loose
	r := 180 * math.Cos(89.995*deg2rad) * 3600 / math.Sqrt(200)
	checkNear(t, "r pole", res.Associations[1].R, r, 1e-9)
}

// randomRuncats fills e with n random blind runcats in the cap of radius
// capR (degrees) around (ra, dec), with 1-4 datapoints' worth of
// uncertainty (5-20"), and returns n random prepared measurements in the
// same cap.
func randomSky(t testing.TB, e *Engine, rng *rand.Rand, n, nm int, ra, dec, capR float64) []catalog.Measurement {
	t.Helper()
	pos := func() (float64, float64) {
		// Uniform in a small cap is not needed; a box in (offset, angle)
		// around the centre covers both RA wrap and the pole.
		r := capR * math.Sqrt(rng.Float64())
		th := 2 * math.Pi * rng.Float64()
		return offset(ra, dec, r, th)
	}
	for i := range n {
		a, d := pos()
		m := meas(1, i, a, d, 1, 1)
		m.ErrRadius = 5 * rng.Float64()
		if _, err := e.prepare(&m); err != nil {
			t.Fatal(err)
		}
		s := &source{rc: newRuncat(&m), stokes: 1}
		s.rc.Datapoints = int64(1 + rng.IntN(4))
		u := (5 + 15*rng.Float64()) * arcsec
		s.rc.WmUncertEW, s.rc.WmUncertNS = u, u*(0.5+rng.Float64())
		e.src[m.ID] = s
	}
	ms := make([]catalog.Measurement, nm)
	for i := range ms {
		a, d := pos()
		ms[i] = meas(2, i, a, d, 1, 1)
		ms[i].ErrRadius = 10 * rng.Float64()
		if _, err := e.prepare(&ms[i]); err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

// offset returns the point at angular distance r (deg) from (ra, dec) in
// direction th (radians from north through east).
func offset(ra, dec, r, th float64) (float64, float64) {
	d0, a0, rr := dec*deg2rad, ra*deg2rad, r*deg2rad
	sd := math.Sin(d0)*math.Cos(rr) + math.Cos(d0)*math.Sin(rr)*math.Cos(th)
	d := math.Asin(math.Max(-1, math.Min(1, sd)))
	a := a0 + math.Atan2(math.Sin(th)*math.Sin(rr)*math.Cos(d0), math.Cos(rr)-math.Sin(d0)*sd)
	return normRA(a * rad2deg), d * rad2deg
}

// TestPairsMatchReference compares the indexed candidate search with the
// brute-force twin on random skies: ordinary fields, fields straddling
// RA 0/360, and fields at and near both poles.
func TestPairsMatchReference(t *testing.T) {
	for _, tc := range []struct {
		ra, dec, capR, rad float64
	}{
		{120, 20, 1, 0.05},
		{0, 0, 1, 0.05},
		{359.9, -45, 2, 0.1},
		{10, 89.9, 0.5, 0.03},
		{200, 89.99, 0.5, 0.05},
		{0, 90, 1, 0.1},
		{77, -89.95, 1, 0.2},
		{300, 60, 3, 1.5},
	} {
		name := fmt.Sprintf("ra=%g/dec=%g/rad=%g", tc.ra, tc.dec, tc.rad)
		t.Run(name, func(t *testing.T) {
			seed := uint64(tc.ra*1000 + tc.dec*10 + 7)
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			cfg := DefaultConfig()
			cfg.DeRuiterRadius = 40 // a large radius so that the cone, not r, limits the pairs
			e := newEngine(t, cfg)
			ms := randomSky(t, e, rng, 3000, 400, tc.ra, tc.dec, tc.capR)
			got := e.findPairs(ms, tc.rad)
			want := e.findPairsRef(ms, tc.rad)
			if len(want) < 50 {
				t.Fatalf("only %d reference pairs: the test is too weak", len(want))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("indexed %d pairs, reference %d", len(got), len(want))
			}
			t.Logf("%d pairs", len(got))
		})
	}
}

// runSky associates a random multi-image, two-band sky and returns every
// result. With shuffle, each image's measurements are shuffled.
func runSky(t *testing.T, seed uint64, shuffle bool) ([]any, *Engine) {
	return runSkyWith(t, seed, shuffle, DefaultConfig(), 0)
}

// runSkyWith is runSky with cfg and, when block > 0, that many links per
// block of the link store.
func runSkyWith(t *testing.T, seed uint64, shuffle bool, cfg Config, block int) ([]any, *Engine) {
	rng := rand.New(rand.NewPCG(seed, 2))
	shuf := rand.New(rand.NewPCG(seed, 3))
	e := newEngine(t, cfg)
	if block > 0 {
		e.links.block = block
	}
	if err := e.AddMonitor(1, 0.1, 0.1); err != nil {
		t.Fatal(err)
	}
	const nimg, nsrc = 8, 300
	type star struct{ ra, dec, f float64 }
	stars := make([]star, nsrc)
	for i := range stars {
		// A field straddling RA 0, 2 deg across, dense enough for
		// forks and many-to-one links at a 108" search radius.
		stars[i] = star{normRA(-1 + 2*rng.Float64()), -1 + 2*rng.Float64(), 0.01 + rng.Float64()}
	}
	var out []any
	id := int64(0)
	for k := range nimg {
		for _, freq := range []float64{150e6, 180e6} {
			id++
			addImage(t, e, imageAt(id, k, freq, 0, 0))
			var ms []catalog.Measurement
			for i, s := range stars {
				if rng.Float64() < 0.2 {
					continue
				}
				jit := 20 * arcsec
				m := meas(id, i, normRA(s.ra+jit*rng.NormFloat64()), s.dec+jit*rng.NormFloat64(),
					s.f*(1+0.2*rng.NormFloat64()), 0.05)
				m.ErrRadius = 5
				ms = append(ms, m)
			}
			if shuffle {
				shuf.Shuffle(len(ms), func(i, j int) { ms[i], ms[j] = ms[j], ms[i] })
			}
			res := blind(t, e, id, ms...)
			var fits []catalog.Measurement
			for j, q := range res.Requests {
				fits = append(fits, forcedFit(id, 10000+j, q.Runcat, q.RA, q.Dec, 0.02, 0.05))
			}
			if shuffle {
				shuf.Shuffle(len(fits), func(i, j int) { fits[i], fits[j] = fits[j], fits[i] })
			}
			fr, err := e.AssociateForced(id, fits, nil)
			if err != nil {
				t.Fatal(err)
			}
			mr, err := e.AssociateMonitor(id, []catalog.Measurement{monitorFit(id, 20000, 1, 0.1, 0.1, 0.3, 0.05)})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, res, fr, mr)
		}
	}
	out = append(out, e.Runcats(), e.Fluxes(), assocsOf(e), e.NewSources(), e.AssocSkyRegions())
	return out, e
}

// TestDeterminism: shuffling the measurements within each image gives
// identical results, and the random sky exercises every association type.
func TestDeterminism(t *testing.T) {
	const seed = 42
	t.Logf("seed %d", seed)
	a, e := runSky(t, seed, false)
	b, _ := runSky(t, seed, true)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("shuffled input changed the output")
	}
	types := map[int32]int{}
	for _, l := range assocsOf(e) {
		types[l.Type]++
	}
	for _, typ := range []int32{2, 3, 4, 6, 7, 8, 9} {
		if types[typ] == 0 {
			t.Errorf("no association of type %d: %v", typ, types)
		}
	}
	t.Logf("association types %v", types)
}
