package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLabelFlagsMatchesRef(t *testing.T) {
	const seed = 8
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var s labelScratch
	var runs []labelRun
	sizes := []int{0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 64}
	for _, w := range sizes {
		for _, h := range sizes {
			for _, density := range []float64{0.05, 0.3, 0.5, 0.8, 1} {
				flags := make([]uint8, w*h)
				for i := range flags {
					if rng.Float64() < density {
						flags[i] = flagCand
						if rng.IntN(10) == 0 {
							flags[i] = flagMasked
						}
					}
				}
				got, want := make([]int32, w*h), make([]int32, w*h)
				var n int
				n, runs = labelFlags(got, flags, w, h, &s, runs)
				nRef := labelRef(want, flags, w, h)
				if n != nRef || !slices.Equal(got, want) {
					t.Fatalf("%dx%d density %v: %d components, want %d; labels differ", w, h, density, n, nRef)
				}
			}
		}
	}
}

// TestLabelConnectivity pins 8-connectivity: diagonal neighbours join,
// a knight's move does not.
func TestLabelConnectivity(t *testing.T) {
	var s labelScratch
	for _, c := range []struct {
		rows []string
		want int
	}{
		{[]string{"x..", ".x.", "..x"}, 1},
		{[]string{"..x", ".x.", "x.."}, 1},
		{[]string{"x..", "..x"}, 2},
		{[]string{"x.x", ".x.", "x.x"}, 1},
		{[]string{"xx.xx", "...x.", "xx..."}, 3},
		{[]string{"x.x.x", "xxxxx"}, 1},
	} {
		h, w := len(c.rows), len(c.rows[0])
		flags := make([]uint8, w*h)
		for y, r := range c.rows {
			for x := range r {
				if r[x] == 'x' {
					flags[y*w+x] = flagCand
				}
			}
		}
		got := make([]int32, w*h)
		if n, _ := labelFlags(got, flags, w, h, &s, nil); n != c.want {
			t.Errorf("%v: %d components, want %d (labels %v)", c.rows, n, c.want, got)
		}
	}
}
