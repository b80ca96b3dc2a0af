package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/testutil"
)

func TestFDRHarmonic(t *testing.T) {
	// a = b = 1: pi + 1 = 4.14 rounds to 4, K = 3: C = 1 + 1/2 + 1/3.
	if got, want := FDRHarmonic(Beam{A: 1, B: 1}), 1+0.5+1.0/3; !testutil.Close(got, want, 0, 1e-15) {
		t.Errorf("C_n(1, 1) = %v, want %v", got, want)
	}
	// A sub-pixel beam still counts one pixel.
	if got := FDRHarmonic(Beam{A: 0.1, B: 0.1}); got != 1 {
		t.Errorf("C_n(0.1, 0.1) = %v, want 1", got)
	}
	for _, z := range []float64{-2, 0, 1, 3.5, 8, 30} {
		// erfc/erfcinv round trip: a few ulps relative to z, and
		// 1e-9 absolute where the tail is close to 1 (z <= 0).
		if got := GaussTailInv(GaussTail(z)); !testutil.Close(got, z, 1e-9, 1e-12) {
			t.Errorf("GaussTailInv(GaussTail(%v)) = %v", z, got)
		}
	}
}

func TestFDRThresholdMatchesRef(t *testing.T) {
	const seed = 16
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for trial := range 20 {
		n := 100 + rng.IntN(5000)
		d, r := make([]float32, n), make([]float32, n)
		for i := range d {
			d[i], r[i] = float32(rng.NormFloat64()), 1
			if rng.IntN(30) == 0 {
				d[i] += float32(3 + 10*rng.Float64())
			}
			if rng.IntN(50) == 0 {
				d[i] = float32(math.NaN())
			}
		}
		beam := Beam{A: 0.5 + 3*rng.Float64(), B: 0.5 + rng.Float64()}
		for _, alpha := range []float64{0.001, 0.01, 0.1} {
			z, ok, _ := FDRThreshold(nil, d, r, alpha, beam)
			zr, okr := fdrThresholdRef(d, r, alpha, beam)
			// The reference goes through p and back: 1e-9 (erfcinv).
			if ok != okr || (ok && !testutil.Close(z, zr, 1e-9, 1e-9)) {
				t.Fatalf("trial %d alpha %v: (%v, %v), reference (%v, %v)", trial, alpha, z, ok, zr, okr)
			}
		}
	}
}

func TestFDRNoiseAndSources(t *testing.T) {
	n := 1024
	if testing.Short() {
		n = 512
	}
	const seed = 17
	t.Logf("seed %d", seed)
	beam := Beam{A: 1, B: 1}
	cfg := DefaultDetectConfig()
	cfg.FDR, cfg.FDRAlpha, cfg.Beam = true, 0.01, beam
	cfg.BackSizeX, cfg.BackSizeY = 64, 64
	d, err := NewDetector(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Uncorrelated unit noise: any island is false.
	img := detNoise(n, n, 1, seed)
	det, rep := d.Detect(img, nil)
	t.Logf("noise %dx%d: outcome %v, z_FDR %v, %d islands", n, n, rep.Outcome, rep.DetectionThr, len(det.Islands))
	if len(det.Islands) != 0 {
		t.Errorf("pure noise: %d false detections", len(det.Islands))
	}
	// With point sources of 6 to 30 sigma, FDR sets a threshold; the
	// sources are found and the false ones are at most alpha of all.
	beamSrc := Beam{A: 1.5, B: 1.5}
	img, srcs := detSky(n, n, n/8, 6, 30, beamSrc, seed+1)
	det, rep = d.Detect(img, nil)
	near := func(x, y, r float64) bool {
		for _, s := range srcs {
			if math.Abs(x-s.x) <= r && math.Abs(y-s.y) <= r {
				return true
			}
		}
		return false
	}
	matched, falseIsl := 0, 0
	for _, s := range srcs {
		for _, is := range det.Islands {
			if math.Abs(float64(is.Peak.X)-s.x) <= 2 && math.Abs(float64(is.Peak.Y)-s.y) <= 2 {
				matched++
				break
			}
		}
	}
	for _, is := range det.Islands {
		if !near(float64(is.Peak.X), float64(is.Peak.Y), 2) {
			falseIsl++
		}
	}
	// Hopkins et al. bound the fraction of false *pixels* among the
	// pixels above z_FDR by alpha (expected value); a source's pixels lie
	// within 5 HWHM (7.5 px) of it, where it is above 1e-7 of its peak.
	var above, falsePix int
	w := det.D.Rect.Dx()
	for i, v := range det.D.Pix {
		if float64(v) > rep.DetectionThr*float64(det.RMS.Pix[i]) {
			above++
			if !near(float64(i%w), float64(i/w), 7.5) {
				falsePix++
			}
		}
	}
	t.Logf("sources: z_FDR %.3f, %d islands, %d of %d sources found, %d islands and %d of %d pixels false",
		rep.DetectionThr, len(det.Islands), matched, len(srcs), falseIsl, falsePix, above)
	if rep.Outcome != OutcomeOK || matched != len(srcs) {
		t.Errorf("found %d of %d sources (%v)", matched, len(srcs), rep.Outcome)
	}
	if float64(falsePix) > cfg.FDRAlpha*float64(above) {
		t.Errorf("%d false pixels of %d above z_FDR, more than alpha", falsePix, above)
	}
}
