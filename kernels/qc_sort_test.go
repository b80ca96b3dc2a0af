package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/testutil"
)

// TestQCScratchMatchesRef checks the radix-sorted rms_qc against RMSQC,
// its reference twin, on padded images of many sizes (subregions of 0 to
// thousands of values) with NaN holes, outliers, ties, negative values,
// constant images and a reused scratch. The sums run in another order, so
// the results agree to rounding: 1e-13 relative (measured below 1e-15).
func TestQCScratchMatchesRef(t *testing.T) {
	const seed = 43
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 3))
	var q QCScratch
	for trial := range 300 {
		w, h := rng.IntN(200), rng.IntN(200)
		if trial < 20 {
			w, h = trial%5, trial/5+1
		}
		img := detGuardedImage(w, h, rng.IntN(3), rng.IntN(9)-4, rng.IntN(9)-4, func(int, int) float32 { return 0 })
		kind := trial % 6
		for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
			for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
				var v float64
				switch kind {
				case 0, 1:
					v = 3 + 2*rng.NormFloat64()
				case 2: // ties
					v = math.Round(4 * rng.NormFloat64())
				case 3: // constant
					v = -1.5
				case 4: // heavy tail
					v = rng.NormFloat64() / (0.05 + rng.Float64())
				case 5: // tiny values around zero with signed zeros
					v = 1e-30 * math.Round(rng.NormFloat64())
					if rng.IntN(2) == 0 && v == 0 {
						v = math.Copysign(0, -1)
					}
				}
				if rng.IntN(50) == 0 {
					v = math.NaN()
				}
				if rng.IntN(300) == 0 {
					v = 1e6 * rng.NormFloat64()
				}
				img.Pix[img.PixOffset(x, y)] = float32(v)
			}
		}
		for _, kappa := range []float64{4, 1, 0.3} {
			fraction := 1 + rng.IntN(8)
			want, _ := RMSQC(img, fraction, kappa, nil)
			got := q.RMSQC(img, fraction, kappa)
			if math.IsNaN(want) != math.IsNaN(got) || !math.IsNaN(want) && !testutil.Close(got, want, 0, 1e-13) {
				t.Fatalf("trial %d (%dx%d, kind %d, fraction %d, kappa %v): %.17g, want %.17g", trial, w, h, kind, fraction, kappa, got, want)
			}
		}
	}
}
