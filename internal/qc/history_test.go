package qc

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestHistoryRing(t *testing.T) {
	h := NewHistory(3)
	for i := range 5 {
		h.Add(7, float64(i))
	}
	h.Add(8, 42)
	if got := h.Values(nil, 7); !slices.Equal(got, []float64{2, 3, 4}) {
		t.Errorf("band 7 = %v, want the last 3 oldest first", got)
	}
	if got := h.Values(nil, 8); !slices.Equal(got, []float64{42}) || h.Len(9) != 0 {
		t.Errorf("band 8 = %v, band 9 len %d", got, h.Len(9))
	}
	if h.Add(7, math.NaN()) || h.Add(7, math.Inf(1)) || h.Len(7) != 3 {
		t.Error("non-finite values entered the history")
	}
	expectPanic(t, "depth 0", func() { NewHistory(0) })
}

// TestRMSHistoryBoundaries uses a sample of 50 × 1 and 50 × 3: μ = 2 and
// σ = 1 exactly, so the limits are exactly −1 and 5 and strictness shows.
func TestRMSHistoryBoundaries(t *testing.T) {
	h := NewHistory(100)
	for i := range 100 {
		h.Add(0, float64(1+2*(i%2)))
	}
	cases := []struct {
		rms float64
		ok  bool
	}{
		{2, true}, {4.999999999, true}, {5, false}, {math.Nextafter(5, 0), true},
		{-1, false}, {math.NaN(), false},
	}
	for _, c := range cases {
		if ok, comment := CheckRMSHistory(c.rms, 0, h, 100, 3); ok != c.ok {
			t.Errorf("rms %g: ok = %v (%s), want %v", c.rms, ok, comment, c.ok)
		}
	}
	// Fewer than n values: accept anything.
	h2 := NewHistory(100)
	for range 99 {
		h2.Add(0, 1)
	}
	if ok, _ := CheckRMSHistory(1e6, 0, h2, 100, 3); !ok {
		t.Error("99 earlier images: outlier rejected, want accept")
	}
	h2.Add(0, 1)
	// σ = 0: strict limits reject even the mean (SPEC 3.2 item 6).
	if ok, c := CheckRMSHistory(1, 0, h2, 100, 3); ok || !strings.Contains(c, "band 0") {
		t.Errorf("σ = 0: ok = %v %q, want reject", ok, c)
	}
}

// TestRMSHistoryPipeline runs the checks as the pipeline does (Check, then
// Record) over a seeded stream of images: outliers are rejected and never
// enter the history, so a run of them stays rejected (with TraP's quirk 2
// they would drag the sample and eventually pass); other bands and the
// oldest values beyond the window do not count.
func TestRMSHistoryPipeline(t *testing.T) {
	const seed = 20240320
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	cfg := DefaultConfig()
	cfg.CheckBeam = false
	in := Input{Pixels: PixelStats{N: 4, Min: 0, Max: 1}, Band: 3}
	hist := NewHistory(cfg.RMSEstHistory)
	run := func(rms float64) Result {
		in.RMSQC = rms
		res := Check(in, hist, cfg)
		hist.Record(in, res)
		return res
	}
	// 100 good images: all accepted while the history fills.
	for i := range 100 {
		if res := run(0.010 + 0.0005*rng.NormFloat64()); !res.Accepted {
			t.Fatalf("image %d rejected during warm-up: %+v", i, res)
		}
	}
	// 30 images at 5 times the level: all rejected, the history unchanged.
	before := hist.Values(nil, 3)
	for i := range 30 {
		if res := run(0.05 * (1 + 0.01*rng.NormFloat64())); res.Accepted || res.Test != TestRMSHistory || res.Reason != ReasonRMS {
			t.Fatalf("outlier %d: %+v", i, res)
		}
	}
	if !slices.Equal(before, hist.Values(nil, 3)) {
		t.Fatal("rejected images entered the history")
	}
	// Normal images pass again; another band has its own (empty) history.
	if res := run(0.0101); !res.Accepted {
		t.Errorf("normal image after the outliers: %+v", res)
	}
	in.Band = 4
	if res := run(0.05); !res.Accepted || hist.Len(4) != 1 {
		t.Errorf("first image of band 4: %+v, len %d", res, hist.Len(4))
	}
	// The window is the most recent rms_est_history images: after 100 new
	// images at 0.05 in band 3, 0.05 is normal there and 0.01 an outlier.
	in.Band = 3
	hist2 := NewHistory(200)
	for range 100 {
		hist2.Add(3, 0.01+0.0005*rng.NormFloat64())
	}
	for range 100 {
		hist2.Add(3, 0.05+0.0005*rng.NormFloat64())
	}
	if ok, c := CheckRMSHistory(0.05, 3, hist2, 100, 3); !ok {
		t.Errorf("0.05 against the recent window: %s", c)
	}
	if ok, _ := CheckRMSHistory(0.01, 3, hist2, 100, 3); ok {
		t.Error("0.01 accepted: old values still in the window")
	}
}
