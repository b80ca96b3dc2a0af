package kernels

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// detGuardedImage returns a w x h image at origin (ox, oy) whose rows are
// padded to stride w+pad, with NaN in the padding and after the last row
// (STYLE 16 guard borders), filled by fill(x, y) in local coordinates.
func detGuardedImage(w, h, pad, ox, oy int, fill func(x, y int) float32) *Image {
	stride := w + pad
	pix := make([]float32, stride*h+pad+3)
	for i := range pix {
		pix[i] = float32(math.NaN())
	}
	for y := range h {
		for x := range w {
			pix[y*stride+x] = fill(x, y)
		}
	}
	return &Image{Pix: pix, Stride: stride, Rect: image.Rect(ox, oy, ox+w, oy+h)}
}

func TestMaskToMatchesRef(t *testing.T) {
	const seed = 3
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for _, w := range []int{0, 1, 2, 3, 8, 17} {
		for _, h := range []int{0, 1, 2, 3, 9, 16} {
			for _, pad := range []int{0, 3} {
				img := detGuardedImage(w, h, pad, 5, -7, func(x, y int) float32 {
					if rng.IntN(10) == 0 {
						return float32(math.NaN())
					}
					return float32(rng.NormFloat64())
				})
				var extra []bool
				if rng.IntN(2) == 0 {
					extra = make([]bool, w*h)
					for i := range extra {
						extra[i] = rng.IntN(8) == 0
					}
				}
				for _, margin := range []int{0, 1, 4} {
					for _, radius := range []float64{0, 0.5, 1, 2.5, 4, 100} {
						got, box := MaskTo(nil, img, margin, radius, extra)
						want := maskRef(img, margin, radius, extra)
						if !slices.Equal(got, want) {
							t.Fatalf("%dx%d pad %d margin %d radius %v: mask differs\n got %v\nwant %v", w, h, pad, margin, radius, got, want)
						}
						// GeometryMasked is the mask of a pixel that is
						// not NaN and not in extra.
						for i, m := range want {
							x, y := i%w, i/w
							if v := img.Pix[y*img.Stride+x]; v == v && (extra == nil || !extra[i]) && GeometryMasked(w, h, x, y, margin, radius) != m {
								t.Fatalf("%dx%d margin %d radius %v: GeometryMasked(%d, %d) = %v, mask %v", w, h, margin, radius, x, y, !m, m)
							}
						}
						wantBox := image.Rectangle{}
						for i, m := range want {
							if !m {
								p := image.Pt(i%w, i/w).Add(img.Rect.Min)
								wantBox = wantBox.Union(image.Rectangle{p, p.Add(image.Pt(1, 1))})
							}
						}
						if box != wantBox {
							t.Fatalf("%dx%d margin %d radius %v: box %v, want %v", w, h, margin, radius, box, wantBox)
						}
					}
				}
			}
		}
	}
}

// TestMaskCircular checks PySE's circular_mask examples of SPEC 10.2:
// (5, 1, r=2) -> [T F F F T] and (1, 4, r=1) -> [T F F T].
func TestMaskCircular(t *testing.T) {
	for _, c := range []struct {
		w, h   int
		radius float64
		want   []bool
	}{
		{5, 1, 2, []bool{true, false, false, false, true}},
		{1, 4, 1, []bool{true, false, false, true}},
	} {
		img, _ := NewImage(image.Rect(0, 0, c.w, c.h))
		got, _ := MaskTo(nil, img, 0, c.radius, nil)
		if !slices.Equal(got, c.want) {
			t.Errorf("circular mask %dx%d r=%v: %v, want %v", c.w, c.h, c.radius, got, c.want)
		}
	}
}

func TestMaskToPanicsOnBadMask(t *testing.T) {
	defer func() {
		if r := recover(); r != badMaskLength {
			t.Errorf("recovered %v, want %q", r, badMaskLength)
		}
	}()
	img, _ := NewImage(image.Rect(0, 0, 4, 4))
	MaskTo(nil, img, 0, 0, make([]bool, 3))
}

// TestHasNaNMatchesRef checks hasNaN (hasNaNGo, or the vector version in
// the GOEXPERIMENT=simd build) against hasNaNRef on every length up
// to 40 with a NaN (quiet, signalling, negative) or an infinity, a
// largest finite value or nothing special at every position.
func TestHasNaNMatchesRef(t *testing.T) {
	const seed = 41
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	specials := []uint32{0x7fc00000, 0x7f800001, 0xffc00000, 0xffffffff, 0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff, 0}
	for n := range 41 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		if got, want := hasNaN(v), hasNaNRef(v); got != want {
			t.Fatalf("n %d plain: %v, want %v", n, got, want)
		}
		for p := range n {
			for _, sp := range specials {
				old := v[p]
				v[p] = math.Float32frombits(sp)
				if got, want := hasNaN(v), hasNaNRef(v); got != want {
					t.Fatalf("n %d, %#x at %d: %v, want %v", n, sp, p, got, want)
				}
				v[p] = old
			}
		}
	}
}
