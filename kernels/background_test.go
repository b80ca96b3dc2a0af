package kernels

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBackgroundFrame(t *testing.T) {
	for _, c := range []struct {
		chunk      image.Rectangle
		cx, cy     int
		want       image.Rectangle
		wantNX, NY int
	}{
		// The golden image: unmasked x, y in [10, 502) (margin 10 is
		// tighter than the radius), r = 42, 21 in from each side.
		{image.Rect(10, 10, 502, 502), 50, 50, image.Rect(31, 31, 481, 481), 9, 9},
		// r = 25: 12 in at the start, 13 at the end; one cell is not
		// strictly larger than a cell, so no grid.
		{image.Rect(0, 0, 75, 200), 50, 50, image.Rect(12, 0, 62, 200), 0, 0},
		// r = 1: the end moves in by one.
		{image.Rect(0, 0, 101, 101), 50, 50, image.Rect(0, 0, 100, 100), 2, 2},
		{image.Rect(3, 4, 103, 64), 50, 20, image.Rect(3, 4, 103, 64), 2, 3},
		{image.Rectangle{}, 50, 50, image.Rectangle{}, 0, 0},
	} {
		fr, nx, ny := BackgroundFrame(c.chunk, c.cx, c.cy)
		if fr != c.want || nx != c.wantNX || ny != c.NY {
			t.Errorf("BackgroundFrame(%v, %d, %d) = %v %dx%d, want %v %dx%d", c.chunk, c.cx, c.cy, fr, nx, ny, c.want, c.wantNX, c.NY)
		}
	}
}

func TestFillNearestMatchesRef(t *testing.T) {
	const seed = 4
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, nx := range []int{1, 2, 3, 7, 20} {
		for _, ny := range []int{1, 2, 5, 13} {
			for _, frac := range []float64{0, 0.2, 0.6, 0.95, 1} {
				var a, b BackgroundGrids
				a.setSize(nx, ny)
				for i := range a.Mean {
					a.Mean[i], a.RMS[i] = float64(i), float64(i)+0.5
					a.Filled[i] = rng.Float64() < frac
				}
				b.setSize(nx, ny)
				copy(b.Mean, a.Mean)
				copy(b.RMS, a.RMS)
				copy(b.Filled, a.Filled)
				okA, okB := fillNearest(&a), fillNearestRef(&b)
				if okA != okB || !slices.Equal(a.Mean, b.Mean) || !slices.Equal(a.RMS, b.RMS) {
					t.Fatalf("%dx%d frac %v: fill differs (ok %v %v)\n got %v\nwant %v", nx, ny, frac, okA, okB, a.Mean, b.Mean)
				}
			}
		}
	}
}

// detNoise returns a w x h image of seeded Gaussian noise of std sigma.
func detNoise(w, h int, sigma float64, seed uint64) *Image {
	rng := rand.New(rand.NewPCG(seed, 0))
	img, _ := NewImage(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = float32(sigma * rng.NormFloat64())
	}
	return img
}

func TestComputeBackgroundThreadsAndMask(t *testing.T) {
	const seed = 5
	t.Logf("seed %d", seed)
	img := detNoise(230, 170, 2, seed)
	// A gradient, so that cells differ.
	for y := range 170 {
		for x := range 230 {
			img.Pix[y*230+x] += float32(x) * 0.01
		}
	}
	img.Pix[75*230+120] = float32(math.NaN()) // inside cell (2, 1) of the frame below
	mask, chunk := MaskTo(nil, img, 0, 0, nil)
	var ref BackgroundGrids
	ComputeBackground(&ref, img, mask, chunk, 50, 50, 1)
	// chunk 230x170: r = 30, 20 -> frame [15, 215) x [10, 160), 4x3 cells.
	if ref.Frame != image.Rect(15, 10, 215, 160) || ref.NX != 4 || ref.NY != 3 {
		t.Fatalf("frame %v %dx%d", ref.Frame, ref.NX, ref.NY)
	}
	// Pixel (120, 75) is in cell ((120-15)/50, (75-10)/50) = (2, 1).
	for i, f := range ref.Filled {
		if f != (i == 1*4+2) {
			t.Errorf("cell %d filled %v", i, f)
		}
	}
	// The filled cell copies its nearest usable neighbour: (2, 0) at
	// distance 1 ties with (1, 1), (3, 1) and (2, 2); the lowest index wins.
	if ref.RMS[6] != ref.RMS[2] || ref.Mean[6] != ref.Mean[2] {
		t.Errorf("filled cell has (%v, %v), want cell 2's (%v, %v)", ref.Mean[6], ref.RMS[6], ref.Mean[2], ref.RMS[2])
	}
	for _, threads := range []int{0, 2, 3, 8} {
		var g BackgroundGrids
		ComputeBackground(&g, img, mask, chunk, 50, 50, threads)
		if !slices.Equal(g.Mean, ref.Mean) || !slices.Equal(g.RMS, ref.RMS) || !slices.Equal(g.Filled, ref.Filled) {
			t.Errorf("threads %d: grids differ from 1 thread", threads)
		}
	}
	// The noise is 2 and the gradient adds 0.01*50/sqrt(12) = 0.14 in
	// quadrature: rms within 10% of 2 (the clip's statistical error for
	// 2500 values is ~3%).
	for i, r := range ref.RMS {
		if math.Abs(r/2-1) > 0.1 {
			t.Errorf("cell %d rms %v, want about 2", i, r)
		}
	}
}

func TestReflectIndex(t *testing.T) {
	// d c b a | a b c d | d c b a
	want := map[int]int{-4: 3, -3: 2, -2: 1, -1: 0, 0: 0, 3: 3, 4: 3, 5: 2, 7: 0, 8: 0, 9: 1}
	for i, w := range want {
		if got := reflectIndex(i, 4); got != w {
			t.Errorf("reflectIndex(%d, 4) = %d, want %d", i, got, w)
		}
	}
}

func TestMedianFilter(t *testing.T) {
	const seed = 6
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, size := range []int{2, 3, 4} {
		for _, thr := range []float64{0, 0.5} {
			var g BackgroundGrids
			g.setSize(5, 4)
			for i := range g.Mean {
				g.Mean[i], g.RMS[i] = rng.NormFloat64(), rng.Float64()
			}
			raw := slices.Clone(g.Mean)
			g.MedianFilter(size, thr)
			for cy := range 4 {
				for cx := range 5 {
					var win []float64
					for dy := range size {
						for dx := range size {
							win = append(win, raw[reflectIndex(cy+dy-size/2, 4)*5+reflectIndex(cx+dx-size/2, 5)])
						}
					}
					want := medianSortRef(win)
					if thr > 0 && math.Abs(want-raw[cy*5+cx]) <= thr {
						want = raw[cy*5+cx]
					}
					if got := g.Mean[cy*5+cx]; got != want {
						t.Errorf("size %d thr %v node (%d,%d): %v, want %v", size, thr, cx, cy, got, want)
					}
				}
			}
		}
	}
}
