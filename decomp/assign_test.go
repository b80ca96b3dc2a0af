package decomp_test

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gotrap/decomp"
)

func TestAssignLPTKnown(t *testing.T) {
	// Graham's example: LPT gives 7 where 6 is optimal (ratio 7/6 within
	// the 4/3 bound); the order of ties is by index, then by rank.
	got := decomp.AssignLPT([]float64{3, 3, 2, 2, 2}, 2)
	if want := []int{0, 1, 0, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("AssignLPT = %v, want %v", got, want)
	}
	// Equal costs go round-robin in index order.
	got = decomp.AssignLPT([]float64{1, 1, 1, 1, 1}, 3)
	if want := []int{0, 1, 2, 0, 1}; !slices.Equal(got, want) {
		t.Errorf("AssignLPT(equal) = %v, want %v", got, want)
	}
	if got := decomp.AssignLPT(nil, 4); len(got) != 0 {
		t.Errorf("AssignLPT(nil) = %v", got)
	}
}

func TestAssignLPTRandom(t *testing.T) {
	const seed = 5
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	for range 50 {
		m, n := g.IntN(300), 1+g.IntN(40)
		costs := make([]float64, m)
		for i := range costs {
			costs[i] = math.Exp(g.NormFloat64()) // RSM-like spread of image costs
			if g.IntN(10) == 0 {
				costs[i] = 0
			}
		}
		own := decomp.AssignLPT(costs, n)
		if !slices.Equal(own, decomp.AssignLPT(slices.Clone(costs), n)) {
			t.Fatal("not deterministic")
		}
		loads := decomp.Loads(costs, own, n)
		total, biggest := 0.0, 0.0
		for _, c := range costs {
			total += c
			biggest = math.Max(biggest, c)
		}
		// Greedy list scheduling never exceeds mean + largest item.
		for r, l := range loads {
			if l > total/float64(n)+biggest+1e-9*total {
				t.Errorf("m=%d n=%d: rank %d load %v > mean %v + largest %v", m, n, r, l, total/float64(n), biggest)
			}
		}
	}
}

// TestAssignLPTBound checks Graham's LPT bound, max load <= (4/3 -
// 1/(3n)) x optimum, against the optimum found by exhaustive search on
// small random instances.
func TestAssignLPTBound(t *testing.T) {
	const seed = 8
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	for range 40 {
		m, n := 1+g.IntN(8), 2+g.IntN(2)
		costs := make([]float64, m)
		for i := range costs {
			costs[i] = float64(1 + g.IntN(20))
		}
		opt := math.Inf(1)
		own := make([]int, m)
		var search func(i int)
		search = func(i int) {
			if i == m {
				opt = math.Min(opt, slices.Max(decomp.Loads(costs, own, n)))
				return
			}
			for r := range n {
				own[i] = r
				search(i + 1)
			}
		}
		search(0)
		lpt := slices.Max(decomp.Loads(costs, decomp.AssignLPT(costs, n), n))
		// Integer costs: the loads are exact.
		if bound := (4.0/3 - 1/(3*float64(n))) * opt; lpt > bound {
			t.Errorf("costs %v on %d ranks: LPT %v > bound %v (optimum %v)", costs, n, lpt, bound, opt)
		}
	}
}

func TestAssignBlocks(t *testing.T) {
	const seed = 6
	t.Logf("seed %d", seed)
	g := rand.New(rand.NewPCG(seed, 0))
	for range 50 {
		m, n := g.IntN(200), 1+g.IntN(20)
		w := make([]float64, m)
		for i := range w {
			w[i] = g.Float64() * 10
		}
		own := decomp.AssignBlocks(w, n)
		if !slices.IsSorted(own) {
			t.Fatalf("owners not contiguous: %v", own)
		}
		loads := decomp.Loads(w, own, n)
		total, biggest := 0.0, 0.0
		for _, x := range w {
			total += x
			biggest = math.Max(biggest, x)
		}
		for r, l := range loads {
			if math.Abs(l-total/float64(n)) > biggest*(1+1e-9) {
				t.Errorf("m=%d n=%d: rank %d load %v, mean %v, largest %v", m, n, r, l, total/float64(n), biggest)
			}
		}
	}
	if got, want := decomp.AssignBlocks([]float64{0, 0, 0, 0}, 2), []int{0, 0, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("zero weights: %v, want %v", got, want)
	}
}

func TestAssignPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"lpt ranks":  func() { decomp.AssignLPT([]float64{1}, 0) },
		"lpt nan":    func() { decomp.AssignLPT([]float64{math.NaN()}, 1) },
		"lpt neg":    func() { decomp.AssignLPT([]float64{-1}, 1) },
		"blocks inf": func() { decomp.AssignBlocks([]float64{math.Inf(1)}, 1) },
		"pixel size": func() { decomp.PixelTiles(image.Rect(0, 0, 4, 4), 0, 1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestPixelTiles: cores partition the image, each pixel in one core; halos
// are cores grown by the overlap and clipped to the image.
func TestPixelTiles(t *testing.T) {
	for _, c := range []struct {
		b             image.Rectangle
		size, overlap int
	}{
		{image.Rect(0, 0, 10, 7), 3, 2},
		{image.Rect(-5, 3, 17, 4), 4, 0},
		{image.Rect(2, 2, 3, 3), 8, 5},
		{image.Rect(0, 0, 64, 64), 16, 16},
	} {
		tiles := decomp.PixelTiles(c.b, c.size, c.overlap)
		for y := c.b.Min.Y; y < c.b.Max.Y; y++ {
			for x := c.b.Min.X; x < c.b.Max.X; x++ {
				n := 0
				for _, tl := range tiles {
					if image.Pt(x, y).In(tl.Core) {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("%v: pixel (%d,%d) in %d cores", c.b, x, y, n)
				}
			}
		}
		for _, tl := range tiles {
			want := tl.Core.Inset(-c.overlap).Intersect(c.b)
			if tl.Core.Empty() || !tl.Core.In(tl.Halo) || tl.Halo != want || tl.Core.Dx() > c.size || tl.Core.Dy() > c.size {
				t.Errorf("%v: tile %+v", c.b, tl)
			}
		}
	}
	if decomp.PixelTiles(image.Rectangle{}, 4, 1) != nil {
		t.Error("empty bounds gave tiles")
	}
}
