package kernels

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/testutil"
)

func TestBackgroundMapsMatchRef(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, c := range []struct {
		w, h  int
		frame image.Rectangle
		nx    int
		ny    int
	}{
		{40, 30, image.Rect(5, 3, 35, 27), 3, 2},
		{64, 64, image.Rect(0, 0, 64, 64), 4, 4},
		{25, 90, image.Rect(2, 10, 22, 90), 2, 8},
		{7, 5, image.Rect(1, 1, 5, 4), 2, 3},
	} {
		for _, edge := range []EdgeMode{EdgeHold, EdgePySE} {
			for _, pad := range []int{0, 5} {
				origin := image.Pt(100, -20)
				var g BackgroundGrids
				g.Frame = c.frame.Add(origin)
				g.setSize(c.nx, c.ny)
				for i := range g.Mean {
					g.Mean[i], g.RMS[i] = rng.NormFloat64(), 1+rng.Float64()
				}
				mask := make([]bool, c.w*c.h)
				for i := range mask {
					mask[i] = rng.IntN(7) == 0
				}
				bkg := detGuardedImage(c.w, c.h, pad, origin.X, origin.Y, func(int, int) float32 { return 0 })
				rms := detGuardedImage(c.w, c.h, 0, origin.X, origin.Y, func(int, int) float32 { return 0 })
				BackgroundMapsTo(bkg, rms, &g, mask, edge, 2)
				wb, wr := backgroundMapsRef(&g, bkg.Rect, mask, edge)
				for y := range c.h {
					for x := range c.w {
						i := y*c.w + x
						gb, gr := float64(bkg.Pix[y*bkg.Stride+x]), float64(rms.Pix[y*rms.Stride+x])
						if mask[i] {
							if !math.IsNaN(gb) || !math.IsNaN(gr) {
								t.Fatalf("masked pixel (%d,%d) not NaN", x, y)
							}
							continue
						}
						// float32 storage: 2^-24 relative, of values of
						// order 1 (grid values are O(1)): 1e-6 absolute.
						if !testutil.Close(gb, wb[i], 1e-6, 0) || !testutil.Close(gr, wr[i], 1e-6, 0) {
							t.Fatalf("%dx%d %v pixel (%d,%d): (%v, %v), want (%v, %v)", c.w, c.h, edge, x, y, gb, gr, wb[i], wr[i])
						}
					}
				}
				// RMSAt is the same map, one pixel at a time (same
				// 1e-6: the map's float32 storage).
				for y := range c.h {
					for x := range c.w {
						i := y*c.w + x
						if mask[i] {
							continue
						}
						got := g.RMSAt(bkg.Rect, origin.X+x, origin.Y+y, edge)
						if !testutil.Close(got, float64(rms.Pix[y*rms.Stride+x]), 1e-6, 0) {
							t.Fatalf("%dx%d %v: RMSAt(%d,%d) = %v, map %v", c.w, c.h, edge, x, y, got, rms.Pix[y*rms.Stride+x])
						}
					}
				}
				if v := g.RMSAt(bkg.Rect, origin.X-1, origin.Y, edge); !math.IsNaN(v) {
					t.Errorf("RMSAt off the image = %v, want NaN", v)
				}
				// The guard padding must be untouched.
				for y := range c.h {
					for x := c.w; x < bkg.Stride && y*bkg.Stride+x < len(bkg.Pix); x++ {
						if !math.IsNaN(float64(bkg.Pix[y*bkg.Stride+x])) {
							t.Fatalf("write into padding at (%d,%d)", x, y)
						}
					}
				}
			}
		}
	}
}

// TestInterpolationLinear checks the node placement of SPEC 4.4: a grid
// linear in the cell index gives a map linear in the pixel index, equal
// to the node value at a cell centre, held beyond the end nodes.
func TestInterpolationLinear(t *testing.T) {
	var g BackgroundGrids
	// 3 cells of 10 px along x: nodes at c = 0, 1, 2; pixel i at
	// c = -0.5 + i*3/29.
	g.Frame = image.Rect(0, 0, 30, 20)
	g.setSize(3, 2)
	for cy := range 2 {
		for cx := range 3 {
			g.Mean[cy*3+cx] = float64(cx)
			g.RMS[cy*3+cx] = 1
		}
	}
	var ip interpolator
	ip.setup(&g, image.Point{}, 40, 20, EdgeHold)
	gm, gr := make([]float64, 5), make([]float64, 5)
	ip.nodes(gm, gr, 7)
	b, r := make([]float32, 40), make([]float32, 40)
	ip.rowTo(b, r, gm, gr)
	for x := range 40 {
		c := -0.5 + float64(min(x, 29))*3/29
		want := math.Min(math.Max(c, 0), 2)
		if !testutil.Close(float64(b[x]), want, 1e-6, 0) { // float32 storage
			t.Errorf("x=%d: %v, want %v", x, b[x], want)
		}
		if r[x] != 1 {
			t.Errorf("x=%d: rms %v, want 1", x, r[x])
		}
	}
	// EdgePySE: 0 and min(rms grid) beyond the frame.
	ip.setup(&g, image.Point{}, 40, 25, EdgePySE)
	ip.nodes(gm, gr, 22)
	ip.rowTo(b, r, gm, gr)
	for x := range 40 {
		if b[x] != 0 || r[x] != 1 {
			t.Fatalf("row outside frame x=%d: (%v, %v), want (0, 1)", x, b[x], r[x])
		}
	}
	ip.nodes(gm, gr, 5)
	ip.rowTo(b, r, gm, gr)
	if b[35] != 0 || b[29] != 2 {
		t.Errorf("EdgePySE row: b[29]=%v b[35]=%v, want 2 and 0", b[29], b[35])
	}
}
