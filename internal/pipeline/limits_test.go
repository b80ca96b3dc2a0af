package pipeline

import (
	"math"
	"testing"

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
