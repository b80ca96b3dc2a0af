package decomp

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"gotrap/kernels/sphere"
)

// HaloSlack is added to the halo radius so that a point at exactly the
// radius from a core is in the halo despite rounding in the distance
// (about 1e-13 degrees here): 1e-9 degrees, 3.6 micro-arcseconds.
const HaloSlack = 1e-9

// ErrTiling marks an invalid tiling configuration.
var ErrTiling = errors.New("decomp: invalid sky tiling")

// Tiling divides the celestial sphere into tiles of similar area: a polar
// cap at each pole and, between them, declination bands of equal height,
// each split into equal right-ascension ranges (see the package doc, #
// Sky tiling). Tile ids run band by band from the south pole, and by
// increasing RA inside a band. A Tiling is immutable and safe for
// concurrent use.
type Tiling struct {
	side, radius float64
	decEdges     []float64 // band b spans [decEdges[b], decEdges[b+1]); the last band includes +90
	nra          []int     // tiles in band b
	first        []int     // id of band b's first tile; first[len] = number of tiles
}

// Tile is one tile's core: RA in [RA0, RA1) and Dec in [Dec0, Dec1), in
// degrees, except that the northern cap includes Dec = 90. A band with one
// tile spans all RA (RA0 = 0, RA1 = 360). Area is in steradians.
type Tile struct {
	ID, Band   int
	RA0, RA1   float64
	Dec0, Dec1 float64
	Area       float64
}

// NewTiling returns a tiling with tiles of about side×side degrees (area
// side² square degrees) whose halos reach radius degrees beyond their
// cores. Use the association search radius (SPEC 5.2: beamwidths_limit
// times the largest beam semi-major axis of the run) or more. side must be
// in (0, 180] and radius in [0, 90).
func NewTiling(side, radius float64) (*Tiling, error) {
	if !(side > 0 && side <= 180) {
		return nil, fmt.Errorf("%w: tile side %v degrees is not in (0, 180]", ErrTiling, side)
	}
	if !(radius >= 0 && radius < 90) {
		return nil, fmt.Errorf("%w: halo radius %v degrees is not in [0, 90)", ErrTiling, radius)
	}
	area := rad(side) * rad(side) // target tile area, sr
	// Polar caps of the target area: 2π(1 - cos c) = area.
	capDeg := 90.0
	if area < 2*math.Pi {
		capDeg = deg(math.Acos(1 - area/(2*math.Pi)))
	}
	span := 180 - 2*capDeg
	nb := 0
	if span > 0 {
		nb = max(1, int(math.Round(span/side)))
	}
	edges := []float64{-90}
	if span > 0 {
		lo := -90 + capDeg
		h := span / float64(nb)
		for b := range nb + 1 {
			edges = append(edges, lo+float64(b)*h)
		}
		edges[len(edges)-1] = 90 - capDeg // exact, whatever the rounding of h
	} else {
		edges = append(edges, 0)
	}
	edges = append(edges, 90)
	t := &Tiling{side: side, radius: radius, decEdges: edges}
	nbands := len(edges) - 1
	t.nra = make([]int, nbands)
	t.first = make([]int, nbands+1)
	for b := range nbands {
		n := 1
		if b != 0 && b != nbands-1 { // caps stay whole: no tile corner at a pole
			bandArea := 2 * math.Pi * (math.Sin(rad(edges[b+1])) - math.Sin(rad(edges[b])))
			n = max(1, int(math.Round(bandArea/area)))
		}
		t.nra[b] = n
		t.first[b+1] = t.first[b] + n
	}
	return t, nil
}

// NumTiles is the number of tiles.
func (t *Tiling) NumTiles() int { return t.first[len(t.nra)] }

// Radius is the halo radius in degrees.
func (t *Tiling) Radius() float64 { return t.radius }

// NumBands is the number of declination bands, caps included.
func (t *Tiling) NumBands() int { return len(t.nra) }

// Tile returns tile id's core. It panics if id is out of range.
func (t *Tiling) Tile(id int) Tile {
	b, k := t.bandOf(id)
	n := t.nra[b]
	d0, d1 := t.decEdges[b], t.decEdges[b+1]
	return Tile{
		ID: id, Band: b,
		RA0: raEdge(k, n), RA1: raEdge(k+1, n),
		Dec0: d0, Dec1: d1,
		Area: 2 * math.Pi * (math.Sin(rad(d1)) - math.Sin(rad(d0))) / float64(n),
	}
}

func (t *Tiling) bandOf(id int) (band, k int) {
	if id < 0 || id >= t.NumTiles() {
		panic(badTile)
	}
	b := sort.Search(len(t.nra), func(b int) bool { return t.first[b+1] > id })
	return b, id - t.first[b]
}

// raEdge is the k-th of n RA edges: exactly 0 and 360 at the ends.
func raEdge(k, n int) float64 { return float64(k) * 360 / float64(n) }

// Normalize returns ra in [0, 360) and dec, after checking the position:
// it panics on NaN or infinite values and on |dec| > 90 + 1e-9 (larger
// than rounding can explain); dec within that slack is clamped to ±90.
func Normalize(ra, dec float64) (float64, float64) {
	if math.IsNaN(ra) || math.IsInf(ra, 0) || !(math.Abs(dec) <= 90+1e-9) {
		panic(badPosition)
	}
	dec = math.Max(-90, math.Min(90, dec))
	ra = math.Mod(ra, 360)
	if ra < 0 {
		ra += 360
	}
	if ra >= 360 { // -tiny + 360 rounds to 360
		ra = 0
	}
	return ra, dec
}

// Owner returns the tile whose core holds (ra, dec) in degrees: exactly one
// tile for every position, RA taken modulo 360. A source belongs to the
// owner of its position. It panics on positions that [Normalize] rejects.
func (t *Tiling) Owner(ra, dec float64) int {
	ra, dec = Normalize(ra, dec)
	b := t.band(dec)
	return t.first[b] + raCell(ra, t.nra[b])
}

// band is the band holding dec in [-90, 90].
func (t *Tiling) band(dec float64) int {
	nb := len(t.nra)
	b := sort.Search(nb, func(b int) bool { return t.decEdges[b+1] > dec })
	return min(b, nb-1) // dec = 90 falls in the northern cap
}

// raCell is the cell k of n with raEdge(k) <= ra < raEdge(k+1), for ra in
// [0, 360): a first guess from division, corrected against the edges so
// that ownership agrees with Tile's bounds bit for bit.
func raCell(ra float64, n int) int {
	k := min(int(ra*float64(n)/360), n-1)
	for k > 0 && ra < raEdge(k, n) {
		k--
	}
	for k < n-1 && ra >= raEdge(k+1, n) {
		k++
	}
	return k
}

// Distance returns the angular distance in degrees from (ra, dec) to the
// nearest point of tile id's core (0 inside it). It panics on an invalid
// id or position.
func (t *Tiling) Distance(id int, ra, dec float64) float64 {
	ra, dec = Normalize(ra, dec)
	b, k := t.bandOf(id)
	n := t.nra[b]
	d0, d1 := t.decEdges[b], t.decEdges[b+1]
	ra0, ra1 := raEdge(k, n), raEdge(k+1, n)
	inRA := n == 1 || (ra >= ra0 && ra <= ra1)
	if inRA && dec >= d0 && dec <= d1 {
		return 0
	}
	p := sphere.Unit(ra, dec)
	best := math.Inf(1)
	try := func(r, d float64) {
		best = math.Min(best, sphere.Angle(p, sphere.Unit(r, d)))
	}
	if inRA {
		// The nearest point of a declination edge lies on P's meridian.
		try(ra, math.Max(d0, math.Min(d1, dec)))
	}
	if n > 1 {
		// Outside the RA range the nearest point lies on an RA edge:
		// either P's projection on that meridian (when it falls inside
		// the declination range) or a corner.
		for _, m := range [2]float64{ra0, ra1} {
			try(m, d0)
			try(m, d1)
			u := [3]float64{math.Cos(rad(m)), math.Sin(rad(m)), 0}
			th := deg(math.Atan2(p[2], p[0]*u[0]+p[1]*u[1]))
			if th >= d0 && th <= d1 {
				try(m, th)
			}
		}
	}
	return best
}

// InHalo reports whether (ra, dec) lies within the halo radius (plus
// HaloSlack) of tile id's core; the core itself is in its halo.
func (t *Tiling) InHalo(id int, ra, dec float64) bool {
	return t.Distance(id, ra, dec) <= t.radius+HaloSlack
}

// HaloTiles appends to dst, in increasing order, every tile whose halo
// holds (ra, dec), the owner included, and returns the extended slice.
// The association stage routes a measurement to these tiles: to the owner
// as the measurement and to the others as halo copies.
func (t *Tiling) HaloTiles(dst []int, ra, dec float64) []int {
	ra, dec = Normalize(ra, dec)
	r := t.radius + HaloSlack
	for b := range t.nra {
		if t.decEdges[b] > dec+r || t.decEdges[b+1] < dec-r {
			continue
		}
		n := t.nra[b]
		// Points within r of P differ from it in RA by at most
		// alpha(r, dec) (SPEC 0.5); a slack of 1e-6 degrees covers the
		// rounding of alpha itself, and Distance decides.
		// A window longer than 360° less one cell could start and end in
		// the same cell after wrapping: scan the whole band then.
		a := alpha(r, dec) + 1e-6
		if n == 1 || 2*a >= 360-360/float64(n) {
			for k := range n {
				if t.InHalo(t.first[b]+k, ra, dec) {
					dst = append(dst, t.first[b]+k)
				}
			}
			continue
		}
		lo, _ := Normalize(ra-a, 0)
		hi, _ := Normalize(ra+a, 0)
		k0, k1 := raCell(lo, n), raCell(hi, n)
		start := len(dst)
		for k := k0; ; k = (k + 1) % n {
			if t.InHalo(t.first[b]+k, ra, dec) {
				dst = append(dst, t.first[b]+k)
			}
			if k == k1 {
				break
			}
		}
		// A window across RA 0 visits the band's last tiles first.
		sort.Ints(dst[start:])
	}
	return dst
}

// alpha is SPEC 0.5's RA half-width, in degrees, of a circle of radius
// theta degrees at declination dec: 180 when the circle reaches a pole.
func alpha(theta, dec float64) float64 {
	if math.Abs(dec)+theta > 89.9 {
		return 180
	}
	th, d := rad(theta), rad(dec)
	return deg(math.Abs(math.Atan(math.Sin(th) / math.Sqrt(math.Abs(math.Cos(d-th)*math.Cos(d+th))))))
}

// TileRanks is an assignment of sky tiles to ranks, made by [AssignTiles].
// It is read-only and safe for concurrent use.
type TileRanks struct {
	rank   map[int]int
	nranks int
}

// AssignTiles assigns the tiles that carry work to nranks ranks in
// contiguous blocks of similar weight ([AssignBlocks]) along the
// serpentine order ([Tiling.Serpentine]: bands from south to north, RA
// alternately increasing and decreasing), so that a rank's tiles are
// mostly neighbours. weights[id] is the expected work of tile id, for
// example the number of images covering it or the tile's area; only the
// tiles listed are placed in blocks, so a field that covers a small part
// of a fine tiling costs memory for its own tiles only. A tile not listed
// (no work is expected there) goes to rank id mod nranks. The result
// depends only on the tiling, the weights and nranks. It panics if
// nranks < 1, a tile id is invalid or a weight is negative, infinite or
// NaN.
func AssignTiles(t *Tiling, weights map[int]float64, nranks int) *TileRanks {
	if nranks < 1 {
		panic(badRanks)
	}
	ids := make([]int, 0, len(weights))
	pos := make(map[int]int, len(weights))
	for id := range weights {
		ids = append(ids, id)
		pos[id] = t.Serpentine(id)
	}
	slices.SortFunc(ids, func(a, b int) int { return pos[a] - pos[b] })
	w := make([]float64, len(ids))
	for k, id := range ids {
		w[k] = weights[id]
	}
	a := &TileRanks{rank: make(map[int]int, len(ids)), nranks: nranks}
	for k, r := range AssignBlocks(w, nranks) {
		a.rank[ids[k]] = r
	}
	return a
}

// Rank returns the rank of tile id.
func (a *TileRanks) Rank(id int) int {
	if r, ok := a.rank[id]; ok {
		return r
	}
	return id % a.nranks
}

// Len returns the number of tiles placed by weight.
func (a *TileRanks) Len() int { return len(a.rank) }

// Count returns the number of tiles placed by weight on rank r.
func (a *TileRanks) Count(r int) int {
	n := 0
	for _, q := range a.rank {
		if q == r {
			n++
		}
	}
	return n
}

// Serpentine returns tile id's position in the serpentine order of
// [AssignTiles]: bands from south to north, RA increasing in even bands
// and decreasing in odd ones. Sorting a subset of tiles by it and
// splitting the result with [AssignBlocks] assigns only the tiles that
// carry work (a field that covers a small part of the sky). It panics on
// an invalid id.
func (t *Tiling) Serpentine(id int) int {
	b, k := t.bandOf(id)
	if b%2 == 1 {
		k = t.nra[b] - 1 - k
	}
	return t.first[b] + k
}

func rad(d float64) float64 { return d * (math.Pi / 180) }
func deg(r float64) float64 { return r * (180 / math.Pi) }
