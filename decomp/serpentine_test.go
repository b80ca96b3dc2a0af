package decomp

import "testing"

// TestSerpentine: Serpentine is a permutation of the tile ids that runs
// band by band from the south, by increasing RA in even bands and
// decreasing RA in odd ones, and AssignTiles' blocks are contiguous in
// it.
func TestSerpentine(t *testing.T) {
	for _, side := range []float64{0.7, 5, 30, 180} {
		tl, err := NewTiling(side, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		n := tl.NumTiles()
		at := make([]int, n) // at[position] = id
		seen := make([]bool, n)
		for id := range n {
			p := tl.Serpentine(id)
			if p < 0 || p >= n || seen[p] {
				t.Fatalf("side %g: tile %d at position %d (repeated or out of range)", side, id, p)
			}
			seen[p] = true
			at[p] = id
		}
		for p := 1; p < n; p++ {
			a, b := tl.Tile(at[p-1]), tl.Tile(at[p])
			switch {
			case b.Band < a.Band || b.Band > a.Band+1:
				t.Fatalf("side %g: positions %d, %d in bands %d, %d", side, p-1, p, a.Band, b.Band)
			case b.Band == a.Band && a.Band%2 == 0 && !(b.RA0 > a.RA0):
				t.Fatalf("side %g: even band %d not by increasing RA", side, a.Band)
			case b.Band == a.Band && a.Band%2 == 1 && !(b.RA0 < a.RA0):
				t.Fatalf("side %g: odd band %d not by decreasing RA", side, a.Band)
			}
		}
		area := make(map[int]float64, n)
		for id := range n {
			area[id] = tl.Tile(id).Area
		}
		owner := AssignTiles(tl, area, 4)
		for p := 1; p < n; p++ {
			if owner.Rank(at[p]) < owner.Rank(at[p-1]) {
				t.Fatalf("side %g: blocks not contiguous in the serpentine order at %d", side, p)
			}
		}
	}
}
