package sim

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/kernels"
)

// guarded returns a view of size w x h at offset (3, 5) inside a larger
// buffer whose other pixels are NaN, so that a write outside the view
// shows; the view has Stride > width and Rect.Min != 0.
func guarded(w, h int) (*kernels.Image, *kernels.Image) {
	big, _ := kernels.NewImage(image.Rect(-4, -2, w+6, h+7))
	for i := range big.Pix {
		big.Pix[i] = float32(math.NaN())
	}
	v := big.SubImage(image.Rect(-1, 3, w-1, h+3))
	for y := v.Rect.Min.Y; y < v.Rect.Max.Y; y++ {
		row := v.Row(y)
		for i := range row {
			row[i] = 0
		}
	}
	return big, v
}

// TestPaintGaussianCross checks the factored painter against the plain
// reference loop: sources inside, on and beyond every edge, tiny images,
// rotated beams, padded rows, and no writes outside the view.
func TestPaintGaussianCross(t *testing.T) {
	const seed = 99
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var gx []float64
	for _, size := range [][2]int{{1, 1}, {2, 3}, {3, 2}, {17, 16}, {64, 40}} {
		for k := range 40 {
			w, h := size[0], size[1]
			bm := beamFromAxes(1+4*rng.Float64(), 0.6+2*rng.Float64(), 2*math.Pi*rng.Float64())
			if bm.a < bm.b {
				bm = beamFromAxes(bm.b, bm.a, bm.theta)
			}
			hx, hy := paintBox(&bm)
			bigA, a := guarded(w, h)
			bigB, b := guarded(w, h)
			// Centres from 20 px beyond one edge to 20 px beyond the other.
			x0 := float64(a.Rect.Min.X) - 20 + (float64(w)+40)*rng.Float64()
			y0 := float64(a.Rect.Min.Y) - 20 + (float64(h)+40)*rng.Float64()
			peak := math.Exp(4 * rng.NormFloat64())
			paintGaussianRef(a, x0, y0, peak, &bm, hx, hy)
			gx = paintGaussian(b, x0, y0, peak, &bm, hx, hy, gx)
			for i := range bigA.Pix {
				va, vb := bigA.Pix[i], bigB.Pix[i]
				if math.IsNaN(float64(va)) != math.IsNaN(float64(vb)) {
					t.Fatalf("size %v case %d: pixel %d written by one painter only", size, k, i)
				}
				if math.IsNaN(float64(va)) {
					continue
				}
				// Both round the same float64 sum to float32; the sums
				// differ by ~1e-13 relative, so results agree to 1 ulp
				// of float32 (6e-8 relative) or 1e-30 absolute (underflow).
				if d := math.Abs(float64(va - vb)); d > 1.2e-7*math.Abs(float64(va))+1e-30 {
					t.Fatalf("size %v case %d: pixel %d: ref %g, fast %g", size, k, i, va, vb)
				}
			}
			// Nothing outside the view was touched.
			n := 0
			for _, v := range bigA.Pix {
				if !math.IsNaN(float64(v)) {
					n++
				}
			}
			if n != w*h {
				t.Fatalf("size %v case %d: %d non-NaN pixels, want %d", size, k, n, w*h)
			}
		}
	}
}

// TestPaintFlux: a painted point source has its peak at the source pixel
// when centred on one, and its pixel sum is the Gaussian's integral
// 2π σa σb · peak = π a b/ln 2 · peak (a, b HWHM).
func TestPaintFlux(t *testing.T) {
	img, _ := kernels.NewImage(image.Rect(0, 0, 80, 80))
	bm := beamFromAxes(3.75, 3, 30*deg2rad)
	hx, hy := paintBox(&bm)
	paintGaussian(img, 40, 41, 2.5, &bm, hx, hy, nil)
	if got := img.At(40, 41); got != 2.5 {
		t.Errorf("peak pixel = %g, want 2.5", got)
	}
	var sum float64
	for _, v := range img.Pix {
		sum += float64(v)
	}
	// Sampled at unit spacing, a Gaussian of σ >= 2.5 px sums to its
	// integral within 1e-9 (Poisson summation); the 6σ box loses 1.5e-8.
	want := 2.5 * math.Pi * bm.a * bm.b / math.Ln2
	if math.Abs(sum/want-1) > 1e-6 {
		t.Errorf("pixel sum %g, want %g", sum, want)
	}
}

func BenchmarkPaint(b *testing.B) {
	bm := newPixBeam(140.0/3600, 112.0/3600, 30, 20.0/3600)
	hx, hy := paintBox(&bm)
	img, _ := kernels.NewImage(image.Rect(0, 0, 256, 256))
	// Bytes: the float32 pixels one call paints (the box, clipped to
	// the image).
	xa, xb, ya, yb, _ := paintRange(img, 100.3, 120.7, hx, hy)
	px := int64(4 * (xb - xa) * (yb - ya))
	b.Run("impl=ref", func(b *testing.B) {
		b.SetBytes(px)
		b.ReportAllocs()
		for b.Loop() {
			paintGaussianRef(img, 100.3, 120.7, 1, &bm, hx, hy)
		}
	})
	b.Run("impl=factored", func(b *testing.B) {
		b.SetBytes(px)
		b.ReportAllocs()
		var gx []float64
		for b.Loop() {
			gx = paintGaussian(img, 100.3, 120.7, 1, &bm, hx, hy, gx)
		}
	})
}

// TestPaintGaussianShape checks PaintGaussian's reading of a kernels.Beam
// (SPEC 0.2: half widths at half maximum, angle from +y towards -x): every
// pixel equals peak·exp(-ln2·((u/b)² + (v/a)²)), u and v the offsets
// along the minor axis (cos θ, sin θ) and the major axis (-sin θ, cos θ),
// out to 6σ along each axis, and nothing is painted beyond.
func TestPaintGaussianShape(t *testing.T) {
	for _, c := range []struct {
		name  string
		shape kernels.Beam
	}{
		{"round", kernels.Beam{A: 3, B: 3}},
		{"north-south", kernels.Beam{A: 5, B: 2}},
		{"rotated", kernels.Beam{A: 5, B: 2, Theta: 0.6}},
		{"east-west", kernels.Beam{A: 4, B: 1.5, Theta: math.Pi / 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, _ := kernels.NewImage(image.Rect(0, 0, 80, 80))
			const x0, y0, peak = 40.3, 38.7, 20.0
			PaintGaussian(img, x0, y0, peak, c.shape)
			s, co := math.Sincos(c.shape.Theta)
			sig := 2 * fwhmToSigma // σ per HWHM
			// 6σ box along x and y: extent of the Gaussian's covariance.
			hx := 6 * sig * math.Sqrt(c.shape.A*c.shape.A*s*s+c.shape.B*c.shape.B*co*co)
			hy := 6 * sig * math.Sqrt(c.shape.A*c.shape.A*co*co+c.shape.B*c.shape.B*s*s)
			for y := range 80 {
				for x := range 80 {
					dx, dy := float64(x)-x0, float64(y)-y0
					u := (co*dx + s*dy) / c.shape.B
					v := (co*dy - s*dx) / c.shape.A
					want := peak * math.Exp(-math.Ln2*(u*u+v*v))
					got := float64(img.Pix[y*img.Stride+x])
					switch {
					case math.Abs(dx) > hx+2 || math.Abs(dy) > hy+2: // ceil of the box and of x0
						if got != 0 {
							t.Fatalf("(%d, %d) beyond the box: %g", x, y, got)
						}
					case math.Abs(dx) < hx-1 && math.Abs(dy) < hy-1:
						// float32 rounding of the pixel: 6e-8 of its value,
						// plus the factored exponentials' 1e-13.
						if math.Abs(got-want) > 1e-7*want+1e-12 {
							t.Fatalf("(%d, %d): %.9g, want %.9g", x, y, got, want)
						}
					}
				}
			}
		})
	}
}
