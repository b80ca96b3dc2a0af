package decomp_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gotrap/decomp"
)

// configs are (tile side, halo radius) pairs in degrees: halos smaller
// than, similar to and larger than the tiles, and a zero radius. They
// stay below about 700 tiles so that brute-force checks over all tiles
// are fast; fineConfig is used where the tests visit few tiles.
var configs = [][2]float64{{10, 0.5}, {8, 9}, {30, 2}, {60, 0}, {180, 1}, {20, 12}}

var fineConfig = [2]float64{1.5, 0.05}

// someTiles returns the tiles touching RA 0/360 or a pole and k others
// drawn at random.
func someTiles(tl *decomp.Tiling, g *rand.Rand, k int) []int {
	var ids []int
	for id := range tl.NumTiles() {
		tile := tl.Tile(id)
		if tile.RA0 == 0 || tile.RA1 == 360 || tile.Band == 0 || tile.Band == tl.NumBands()-1 {
			ids = append(ids, id)
		}
	}
	for range k {
		ids = append(ids, g.IntN(tl.NumTiles()))
	}
	return ids
}

func mustTiling(t testing.TB, side, radius float64) *decomp.Tiling {
	t.Helper()
	tl, err := decomp.NewTiling(side, radius)
	if err != nil {
		t.Fatal(err)
	}
	return tl
}

func TestNewTilingErrors(t *testing.T) {
	for _, c := range [][2]float64{{0, 1}, {-1, 1}, {181, 1}, {math.NaN(), 1}, {10, -1}, {10, 90}, {10, math.Inf(1)}} {
		if _, err := decomp.NewTiling(c[0], c[1]); err == nil {
			t.Errorf("NewTiling(%v, %v) succeeded", c[0], c[1])
		}
	}
}

// TestTileAreas: the tiles cover 4π sr and have similar areas.
func TestTileAreas(t *testing.T) {
	for _, c := range configs {
		tl := mustTiling(t, c[0], c[1])
		total, lo, hi := 0.0, math.Inf(1), 0.0
		for id := range tl.NumTiles() {
			a := tl.Tile(id).Area
			total += a
			lo, hi = math.Min(lo, a), math.Max(hi, a)
		}
		target := (c[0] * math.Pi / 180) * (c[0] * math.Pi / 180)
		t.Logf("side %v: %d tiles in %d bands, area %.3g..%.3g sr (target %.3g)", c[0], tl.NumTiles(), tl.NumBands(), lo, hi, target)
		// The areas are sums of sines of band edges: 1e-12 relative is
		// many roundings above their error.
		if math.Abs(total-4*math.Pi) > 1e-12*4*math.Pi {
			t.Errorf("side %v: areas sum to %v, want 4π", c[0], total)
		}
		// Rounding the tiles per band to an integer x ≥ 1.5 changes the
		// area by at most a factor 1.5 either way; the caps are exact.
		if c[0] <= 30 && (hi > 1.5*target || lo < target/1.5) {
			t.Errorf("side %v: tile areas %v..%v sr, want within 1.5x of %v", c[0], lo, hi, target)
		}
	}
}

// contains is an independent statement of the core's half-open bounds.
func contains(tile decomp.Tile, ra, dec float64) bool {
	inDec := tile.Dec0 <= dec && (dec < tile.Dec1 || (tile.Dec1 == 90 && dec == 90))
	return inDec && tile.RA0 <= ra && ra < tile.RA1
}

// edgePoints are positions on every tile edge and corner, just below
// them, and the special values of RA and Dec.
func edgePoints(tl *decomp.Tiling, ids []int) [][2]float64 {
	pts := [][2]float64{{0, 0}, {360 - 1e-12, 0}, {0, 90}, {0, -90}, {123, 90}, {359.9, -90},
		{math.Nextafter(360, 0), 45}, {360, 10}, {-1e-300, 10}, {720.5, -3}, {-0.5, 89.999}}
	for _, id := range ids {
		tile := tl.Tile(id)
		for _, ra := range []float64{tile.RA0, math.Nextafter(tile.RA0, -1), math.Nextafter(tile.RA1, -1)} {
			for _, dec := range []float64{tile.Dec0, math.Nextafter(tile.Dec0, -91), math.Nextafter(tile.Dec1, -91), tile.Dec1} {
				pts = append(pts, [2]float64{ra, math.Max(-90, math.Min(90, dec))})
			}
		}
	}
	return pts
}

func randomPoint(g *rand.Rand) (float64, float64) {
	// Uniform on the sphere: dec = asin(u), u uniform in [-1, 1].
	return 360 * g.Float64(), math.Asin(2*g.Float64()-1) * 180 / math.Pi
}

// TestOwnerExactlyOne: every position lies in exactly one core, the one
// Owner names, including positions on edges, at RA 0/360 and the poles.
func TestOwnerExactlyOne(t *testing.T) {
	const seed = 1
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	for _, c := range configs {
		tl := mustTiling(t, c[0], c[1])
		pts := edgePoints(tl, someTiles(tl, g, 30))
		for range 500 {
			ra, dec := randomPoint(g)
			pts = append(pts, [2]float64{ra, dec})
		}
		for _, p := range pts {
			nra, ndec := decomp.Normalize(p[0], p[1])
			if !(nra >= 0 && nra < 360) {
				t.Fatalf("Normalize(%v) RA = %v", p, nra)
			}
			var in []int
			for id := range tl.NumTiles() {
				if contains(tl.Tile(id), nra, ndec) {
					in = append(in, id)
				}
			}
			own := tl.Owner(p[0], p[1])
			if len(in) != 1 || in[0] != own {
				t.Fatalf("side %v: (%v, %v) is in cores %v, Owner says %d", c[0], p[0], p[1], in, own)
			}
			if d := tl.Distance(own, p[0], p[1]); d != 0 {
				t.Fatalf("side %v: (%v, %v) at distance %v from its own core", c[0], p[0], p[1], d)
			}
		}
	}
}

// offset returns the point at angular distance s degrees from (ra, dec)
// in direction bearing (radians from north towards east).
func offset(ra, dec, s, bearing float64) (float64, float64) {
	a, d, sr := ra*math.Pi/180, dec*math.Pi/180, s*math.Pi/180
	q := [3]float64{math.Cos(d) * math.Cos(a), math.Cos(d) * math.Sin(a), math.Sin(d)}
	e := [3]float64{-math.Sin(a), math.Cos(a), 0}
	n := [3]float64{-math.Sin(d) * math.Cos(a), -math.Sin(d) * math.Sin(a), math.Cos(d)}
	var p [3]float64
	for i := range p {
		p[i] = q[i]*math.Cos(sr) + (n[i]*math.Cos(bearing)+e[i]*math.Sin(bearing))*math.Sin(sr)
	}
	return math.Atan2(p[1], p[0]) * 180 / math.Pi, math.Atan2(p[2], math.Hypot(p[0], p[1])) * 180 / math.Pi
}

// TestHaloContainsNeighbourhood: every point within the radius of a core
// point is in that tile's halo and among HaloTiles, for core points drawn
// at random and on edges, corners, RA 0/360 and the poles.
func TestHaloContainsNeighbourhood(t *testing.T) {
	const seed = 2
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	for _, c := range append(configs, fineConfig) {
		tl := mustTiling(t, c[0], c[1])
		r := tl.Radius()
		var buf []int
		check := func(id int, qra, qdec float64) {
			for _, s := range []float64{r * g.Float64(), r, r * (1 - 1e-12)} {
				pra, pdec := offset(qra, qdec, s, 2*math.Pi*g.Float64())
				if !tl.InHalo(id, pra, pdec) {
					t.Fatalf("side %v radius %v: (%v, %v) is %v from core point (%v, %v) of tile %d but not in its halo (distance %v)",
						c[0], r, pra, pdec, s, qra, qdec, id, tl.Distance(id, pra, pdec))
				}
				buf = tl.HaloTiles(buf[:0], pra, pdec)
				if !slices.Contains(buf, id) {
					t.Fatalf("side %v: HaloTiles(%v, %v) = %v lacks tile %d", c[0], pra, pdec, buf, id)
				}
			}
		}
		for _, id := range someTiles(tl, g, 100) {
			tile := tl.Tile(id)
			top := math.Nextafter(tile.Dec1, -91)
			if tile.Dec1 == 90 {
				top = 90
			}
			right := math.Nextafter(tile.RA1, -1)
			for _, q := range [][2]float64{{tile.RA0, tile.Dec0}, {right, tile.Dec0}, {tile.RA0, top}, {right, top}} {
				check(id, q[0], q[1])
			}
			for range 20 {
				ra := tile.RA0 + (tile.RA1-tile.RA0)*g.Float64()
				sinD := math.Sin(tile.Dec0*math.Pi/180) + (math.Sin(tile.Dec1*math.Pi/180)-math.Sin(tile.Dec0*math.Pi/180))*g.Float64()
				check(id, ra, math.Asin(sinD)*180/math.Pi)
			}
		}
	}
}

// TestHaloTilesBruteForce: HaloTiles returns exactly the tiles InHalo
// accepts, sorted, for random positions and the edge positions.
func TestHaloTilesBruteForce(t *testing.T) {
	const seed = 3
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	for _, c := range configs {
		tl := mustTiling(t, c[0], c[1])
		// Every third edge point keeps the brute force fast.
		var pts [][2]float64
		for i, p := range edgePoints(tl, someTiles(tl, g, 10)) {
			if i%3 == 0 {
				pts = append(pts, p)
			}
		}
		for range 200 {
			ra, dec := randomPoint(g)
			pts = append(pts, [2]float64{ra, dec})
		}
		var got []int
		for _, p := range pts {
			var want []int
			for id := range tl.NumTiles() {
				if tl.InHalo(id, p[0], p[1]) {
					want = append(want, id)
				}
			}
			got = tl.HaloTiles(got[:0], p[0], p[1])
			if !slices.Equal(got, want) {
				t.Fatalf("side %v radius %v: HaloTiles(%v, %v) = %v, want %v", c[0], c[1], p[0], p[1], got, want)
			}
			if !slices.Contains(got, tl.Owner(p[0], p[1])) {
				t.Fatalf("HaloTiles(%v) lacks the owner", p)
			}
		}
	}
}

// TestDistanceBruteForce: Distance agrees with the minimum over dense
// samples of the core's boundary, so halos are not larger than stated.
func TestDistanceBruteForce(t *testing.T) {
	const seed = 4
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	const m = 2000 // samples per edge
	for _, c := range [][2]float64{{10, 1}, {30, 5}, {60, 0}} {
		tl := mustTiling(t, c[0], c[1])
		for range 40 {
			id := g.IntN(tl.NumTiles())
			tile := tl.Tile(id)
			ra, dec := randomPoint(g)
			if g.IntN(2) == 0 { // half the points near the tile
				ra, dec = offset(tile.RA0, tile.Dec0, 15*g.Float64(), 2*math.Pi*g.Float64())
				ra, dec = decomp.Normalize(ra, dec)
			}
			brute := math.Inf(1)
			sep := func(r, d float64) {
				a1, d1, a2, d2 := ra*math.Pi/180, dec*math.Pi/180, r*math.Pi/180, d*math.Pi/180
				// haversine: an independent formula from Distance's.
				h := math.Pow(math.Sin((d2-d1)/2), 2) + math.Cos(d1)*math.Cos(d2)*math.Pow(math.Sin((a2-a1)/2), 2)
				brute = math.Min(brute, 2*math.Asin(math.Sqrt(math.Min(1, h)))*180/math.Pi)
			}
			for i := range m + 1 {
				f := float64(i) / m
				sep(tile.RA0, tile.Dec0+f*(tile.Dec1-tile.Dec0))
				sep(tile.RA1, tile.Dec0+f*(tile.Dec1-tile.Dec0))
				sep(tile.RA0+f*(tile.RA1-tile.RA0), tile.Dec0)
				sep(tile.RA0+f*(tile.RA1-tile.RA0), tile.Dec1)
			}
			if contains(tile, ra, dec) {
				brute = 0
			}
			// Sampling misses the nearest point by at most half a step
			// along an edge: the longest edge is 360° of RA or 180° of
			// Dec, over m steps.
			step := 360.0 / m / 2
			d := tl.Distance(id, ra, dec)
			if d > brute+1e-9 || brute-d > step {
				t.Errorf("tile %d %+v, point (%v, %v): Distance %v, sampled %v", id, tile, ra, dec, d, brute)
			}
		}
	}
}

func TestAssignTiles(t *testing.T) {
	tl := mustTiling(t, 10, 1)
	nt := tl.NumTiles()
	area := make(map[int]float64, nt)
	for id := range nt {
		area[id] = tl.Tile(id).Area
	}
	for _, n := range []int{1, 2, 3, 7, 64} {
		t.Run(fmt.Sprintf("ranks=%d", n), func(t *testing.T) {
			own := decomp.AssignTiles(tl, area, n)
			again := decomp.AssignTiles(tl, area, n)
			loads := make([]float64, n)
			maxArea := 0.0
			for id := range nt {
				r := own.Rank(id)
				if r != again.Rank(id) {
					t.Fatal("AssignTiles is not deterministic")
				}
				if r < 0 || r >= n {
					t.Fatalf("tile %d on rank %d", id, r)
				}
				loads[r] += tl.Tile(id).Area
				maxArea = math.Max(maxArea, tl.Tile(id).Area)
			}
			for r, l := range loads {
				// AssignBlocks' bound: within one largest weight of the mean.
				if math.Abs(l-4*math.Pi/float64(n)) > maxArea*(1+1e-9) {
					t.Errorf("rank %d has %v sr, mean %v, largest tile %v", r, l, 4*math.Pi/float64(n), maxArea)
				}
			}
		})
	}
	// Weights concentrate the work: a hot band gets more ranks.
	w := make(map[int]float64, nt)
	for id := range nt {
		w[id] = 1
		if tl.Tile(id).Band == 9 {
			w[id] = 100
		}
	}
	own := decomp.AssignTiles(tl, w, 8)
	ranks := map[int]bool{}
	for id := range nt {
		if tl.Tile(id).Band == 9 {
			ranks[own.Rank(id)] = true
		}
	}
	if len(ranks) < 6 {
		t.Errorf("the hot band is on %d ranks, want at least 6 of 8", len(ranks))
	}
}

// TestAssignTilesSubset: weighting only the tiles under a field places
// them as the whole sky would with zero weight elsewhere (zero weights do
// not move the running sum of AssignBlocks), and unlisted tiles go to
// rank id mod nranks.
func TestAssignTilesSubset(t *testing.T) {
	tl := mustTiling(t, 1, 0.5)
	nt := tl.NumTiles()
	field := map[int]float64{}
	all := make(map[int]float64, nt)
	for id := range nt {
		all[id] = 0
	}
	for _, c := range [][3]float64{{359.5, 30, 3}, {0.5, 30, 1}, {120, -89.5, 2}} {
		for _, id := range tl.HaloTiles(nil, c[0], c[1]) {
			field[id] += c[2]
			all[id] += c[2]
		}
	}
	const n = 5
	sub, full := decomp.AssignTiles(tl, field, n), decomp.AssignTiles(tl, all, n)
	if sub.Len() != len(field) || full.Len() != nt {
		t.Fatalf("Len %d and %d, want %d and %d", sub.Len(), full.Len(), len(field), nt)
	}
	used := map[int]bool{}
	for id := range field {
		if sub.Rank(id) != full.Rank(id) {
			t.Errorf("tile %d: rank %d of the field, %d of the whole sky", id, sub.Rank(id), full.Rank(id))
		}
		used[sub.Rank(id)] = true
	}
	if len(used) != n {
		t.Errorf("the field's tiles use %d of %d ranks", len(used), n)
	}
	for r := range n {
		k := 0
		for id := range field {
			if sub.Rank(id) == r {
				k++
			}
		}
		if sub.Count(r) != k {
			t.Errorf("Count(%d) = %d, want %d", r, sub.Count(r), k)
		}
	}
	for _, id := range []int{0, nt / 2, nt - 1} {
		if _, ok := field[id]; !ok && sub.Rank(id) != id%n {
			t.Errorf("unlisted tile %d on rank %d, want %d", id, sub.Rank(id), id%n)
		}
	}
}

func TestPositionPanics(t *testing.T) {
	tl := mustTiling(t, 10, 1)
	for _, p := range [][2]float64{{math.NaN(), 0}, {0, math.NaN()}, {math.Inf(1), 0}, {0, 90.1}, {0, -91}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Owner(%v, %v) did not panic", p[0], p[1])
				}
			}()
			tl.Owner(p[0], p[1])
		}()
	}
}

func ExampleTiling_HaloTiles() {
	tl, err := decomp.NewTiling(10, 0.5) // 10° tiles, 0.5° search radius
	if err != nil {
		panic(err)
	}
	ra, dec := 359.8, 4.7 // near RA 0/360 and a band edge
	own := tl.Owner(ra, dec)
	fmt.Println("owner:", own)
	for _, id := range tl.HaloTiles(nil, ra, dec) {
		tile := tl.Tile(id)
		fmt.Printf("halo: %d RA [%.0f, %.0f) Dec [%.2f, %.2f) at %.3f deg\n", id, tile.RA0, tile.RA1, tile.Dec0, tile.Dec1, tl.Distance(id, ra, dec))
	}
	// Output:
	// owner: 224
	// halo: 189 RA [0, 10) Dec [-4.96, 4.96) at 0.199 deg
	// halo: 224 RA [350, 360) Dec [-4.96, 4.96) at 0.000 deg
	// halo: 225 RA [0, 10) Dec [4.96, 14.89) at 0.329 deg
	// halo: 259 RA [350, 360) Dec [4.96, 14.89) at 0.262 deg
}
