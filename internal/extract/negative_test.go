package extract

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/extract/extracttest"
	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// TestNegativeSources: a field with a grid of 3 x 3 positive and a grid
// of 3 x 3 negative point sources (peaks +-20 in correlated noise of rms
// 1, as a Stokes V image with both hands of circular polarisation). A
// plain extraction finds the positive ones only; with Negative, every
// source is found once, with the sign of its truth, its peak within 5
// of its own error bars of the truth (the statistical tests of this
// package check the error bars themselves), and nothing else.
func TestNegativeSources(t *testing.T) {
	psf, pm, err := fitsimg.Read(testutil.SharedFile(t, "psf.fits"), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	beam := kernels.Beam{A: pm.BeamPx.SMaj, B: pm.BeamPx.SMin, Theta: pm.BeamPx.Theta}
	const size = 256
	rng := rand.New(rand.NewPCG(19, 1))
	img, err := kernels.NewImage(image.Rect(0, 0, size, size))
	if err != nil {
		t.Fatal(err)
	}
	extracttest.PSFNoise(img, psf, rng)
	truth := extracttest.PaintGrid(img, 3, 40, 70, 20, beam, rng)
	truth = append(truth, extracttest.PaintGrid(img, 3, 75, 70, -20, beam, rng)...)
	meta, err := extracttest.SINMeta(size, size, pm.PixelScale, 150, 50, beam)
	if err != nil {
		t.Fatal(err)
	}
	run := func(neg bool) *Result {
		o := Default()
		o.Negative = neg
		w, err := NewWorker(o)
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := kernels.NewImage(img.Rect)
		copy(cp.Pix, img.Pix)
		r, err := w.Image(cp, meta)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	match := func(r *Result, want int) {
		t.Helper()
		seen := make([]int, len(truth))
		for _, s := range r.Sources {
			best, bd := -1, 2.0 // px: a source farther than 2 px from every truth is spurious
			for k, tr := range truth {
				if d := math.Hypot(s.X-tr.X, s.Y-tr.Y); d < bd {
					best, bd = k, d
				}
			}
			if best < 0 {
				t.Errorf("spurious source at (%.1f, %.1f) peak %.2f", s.X, s.Y, s.Peak)
				continue
			}
			seen[best]++
			tr := truth[best]
			if math.Signbit(s.Peak) != math.Signbit(tr.Peak) || math.Signbit(s.Flux) != math.Signbit(tr.Peak) {
				t.Errorf("source at (%.1f, %.1f): peak %.2f flux %.2f, truth peak %.0f", s.X, s.Y, s.Peak, s.Flux, tr.Peak)
			}
			if math.Abs(s.Peak-tr.Peak) > 5*s.PeakErr {
				t.Errorf("source at (%.1f, %.1f): peak %.2f +- %.2f, truth %.0f", s.X, s.Y, s.Peak, s.PeakErr, tr.Peak)
			}
		}
		found := 0
		for k, n := range seen {
			if n > 1 {
				t.Errorf("truth %d found %d times", k, n)
			}
			if n > 0 {
				found++
			}
		}
		if found != want || len(r.Sources) != want {
			t.Errorf("%d sources matching %d truths, want %d", len(r.Sources), found, want)
		}
	}
	pos := run(false)
	match(pos, 9)
	for _, s := range pos.Sources {
		if s.Peak < 0 {
			t.Errorf("plain extraction found a negative source at (%.1f, %.1f)", s.X, s.Y)
		}
	}
	all := run(true)
	match(all, 18)
	for i, s := range all.Sources {
		if s.ID != i {
			t.Errorf("source %d has id %d", i, s.ID)
		}
	}
}
