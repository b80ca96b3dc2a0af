package pipeline

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gotrap/catalog"

	"gotrap/internal/extract"
	"gotrap/internal/pipeline/pipetest"
)

// TestLimitsMatchRMSMap checks limits.parquet of the tiny run against the
// rms map the extraction itself computes (extract Options.Maps, the full
// interpolation of SPEC 4.4): each limit's rms is the map's value at the
// forced fitter's pixel of its position, to the map's float32 rounding,
// its image is accepted and earlier than the runcat's first detection,
// and f_peak_limit = detection_thresh x rms.
func TestLimitsMatchRMSMap(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	run := runDir(t, data, cfg, 1)
	c := pipetest.ReadCatalogue(t, run)
	if len(c.Limits) == 0 {
		t.Fatal("no limits")
	}
	first := map[int64]int64{} // runcat -> earliest timestep
	for _, a := range c.Associations {
		img := c.Images[(a.Xtrsrc>>24)-1]
		if f, ok := first[a.Runcat]; !ok || img.Timestep < f {
			first[a.Runcat] = img.Timestep
		}
	}
	xopt, err := extract.FromConfig(cfg.Extraction)
	if err != nil {
		t.Fatal(err)
	}
	xopt.Maps = true
	w, err := extract.NewWorker(xopt)
	if err != nil {
		t.Fatal(err)
	}
	maps := map[int64]*extract.Maps{}
	for _, l := range c.Limits {
		img := c.Images[l.Image-1]
		if img.Rejected || img.Timestep >= first[l.Runcat] {
			t.Fatalf("limit of runcat %d in image %d (timestep %d, rejected %v): first detection at timestep %d",
				l.Runcat, l.Image, img.Timestep, img.Rejected, first[l.Runcat])
		}
		if !l.RMSFromMap {
			t.Errorf("limit of runcat %d in image %d: rms not from the map", l.Runcat, l.Image)
		}
		m, ok := maps[l.Image]
		if !ok {
			r, err := w.File(img.URL)
			if err != nil {
				t.Fatal(err)
			}
			m = r.Maps
			maps[l.Image] = m
		}
		ix, iy := int(l.XPix), int(l.YPix)
		want := float64(m.RMS.Pix[iy*m.RMS.Stride+ix])
		// The map holds float32: 2^-24 relative.
		if math.Abs(l.RMS-want) > 1e-7*want {
			t.Errorf("limit of runcat %d in image %d at (%d, %d): rms %v, map %v", l.Runcat, l.Image, ix, iy, l.RMS, want)
		}
		if l.FPeakLimit != img.DetectionThresh*l.RMS || l.SigmaMargin != cfg.TransientSearch.NewSourceSigmaMargin {
			t.Errorf("limit of runcat %d in image %d: f_peak_limit %v, margin %v", l.Runcat, l.Image, l.FPeakLimit, l.SigmaMargin)
		}
	}
	t.Logf("%d limits in %d images checked", len(c.Limits), len(maps))
}

// TestMergeLimits: the images' limits (each in runcat order) come out in
// (runcat, image) order, all of them, as sorting their concatenation
// gives.
func TestMergeLimits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	per := make([][]catalog.Limit, 300)
	var want []catalog.Limit
	for i := range per {
		rc := int64(0)
		for range rng.IntN(40) {
			rc += 1 + rng.Int64N(5)
			per[i] = append(per[i], catalog.Limit{Runcat: rc, Image: int64(i + 1), RMS: rng.Float64()})
		}
		want = append(want, per[i]...)
	}
	slices.SortFunc(want, func(a, b catalog.Limit) int {
		return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Image, b.Image))
	})
	var got []catalog.Limit
	if err := mergeLimits(per, func(l *catalog.Limit) error { got = append(got, *l); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("merged %d limits out of order or differing from the %d sorted", len(got), len(want))
	}
	for i, p := range per {
		if p != nil {
			t.Fatalf("image %d's rows kept after the merge", i)
		}
	}
}
