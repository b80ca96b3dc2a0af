package extract

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/extract/extracttest"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
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
// NegativeStokesV does the same in a Stokes V plane only; forced fits at
// the sources keep their signs.
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
	sim.ConvolvedNoise(img, psf, rng)
	truth := extracttest.PaintGrid(img, 3, 40, 70, 20, beam, rng)
	truth = append(truth, extracttest.PaintGrid(img, 3, 75, 70, -20, beam, rng)...)
	meta, err := extracttest.SINMeta(size, size, pm.PixelScale, 150, 50, beam)
	if err != nil {
		t.Fatal(err)
	}
	metaNow := meta
	var runOpt func(Options) *Result
	run := func(neg bool) *Result {
		o := Default()
		o.Negative = neg
		return runOpt(o)
	}
	runOpt = func(o Options) *Result {
		w, err := NewWorker(o)
		if err != nil {
			t.Fatal(err)
		}
		cp, _ := kernels.NewImage(img.Rect)
		copy(cp.Pix, img.Pix)
		r, err := w.Image(cp, metaNow)
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
	// NegativeStokesV: both signs in a Stokes V plane, one in any other.
	for _, st := range []struct {
		stokes string
		want   int
	}{{"V", 18}, {"I", 9}} {
		o := Default()
		o.NegativeStokesV = true
		m := *meta
		m.Stokes = st.stokes
		metaNow = &m
		match(runOpt(o), st.want)
		metaNow = meta
	}
	match(pos, 9)
	for _, s := range pos.Sources {
		if s.Peak < 0 {
			t.Errorf("plain extraction found a negative source at (%.1f, %.1f)", s.X, s.Y)
		}
	}
	all := run(true)
	match(all, 18)
	// Forced fits at the 18 positions fit the amplitude freely: the
	// negative sources' forced peaks are negative, each within 5 of its
	// error bars of the truth (as the blind ones above).
	o := Default()
	for _, s := range all.Sources {
		o.Positions = append(o.Positions, [2]float64{s.RA, s.Dec})
	}
	forced := runOpt(o)
	if len(forced.Sources) != 18 {
		t.Fatalf("%d forced fits, want 18", len(forced.Sources))
	}
	for i, s := range forced.Sources {
		b := all.Sources[i]
		if math.Signbit(s.Peak) != math.Signbit(b.Peak) || math.Abs(s.Peak-b.Peak) > 5*s.PeakErr {
			t.Errorf("forced fit at (%.1f, %.1f): peak %.2f +- %.2f, blind %.2f", s.X, s.Y, s.Peak, s.PeakErr, b.Peak)
		}
	}
	for i, s := range all.Sources {
		if s.ID != i {
			t.Errorf("source %d has id %d", i, s.ID)
		}
	}
}
