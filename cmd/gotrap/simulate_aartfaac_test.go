package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/kernels/sphere"
)

// TestAARTFAACMiniPreset checks that the aartfaac-mini images are what
// docs/simulate.md says (256x256 px of 270" in SIN projection around the
// zenith, 4 sub-bands per snapshot, 20 snapshots 1 s apart, TELESCOP
// AARTFAAC) and that "gotrap run" on them finds every isolated steady
// source of at least 10 sigma as one runcat, and each such transient as
// a new source.
func TestAARTFAACMiniPreset(t *testing.T) {
	data := filepath.Join(t.TempDir(), "sim")
	if code, out, errOut := simRun(t, "simulate", "--preset", "aartfaac-mini", "--quiet", data); code != 0 {
		t.Fatalf("simulate: exit %d\n%s%s", code, out, errOut)
	}
	paths, err := filepath.Glob(filepath.Join(data, "images", "*.fits"))
	if err != nil || len(paths) != 80 {
		t.Fatalf("%d images (%v), want 80", len(paths), err)
	}
	starts := map[time.Time][]float64{} // start -> frequencies
	for _, p := range paths {
		m, err := fitsimg.ReadMeta(p, fitsimg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := fitsimg.ReadHeader(p)
		if err != nil {
			t.Fatal(err)
		}
		c1, _ := h.String("CTYPE1")
		c2, _ := h.String("CTYPE2")
		// 270" pixels: the header's CDELT is written from the same value.
		if m.Naxis1 != 256 || m.Naxis2 != 256 || c1 != "RA---SIN" || c2 != "DEC--SIN" ||
			math.Abs(m.PixelScale*3600-270) > 1e-6 || m.Telescope != "AARTFAAC" || m.TauTime != 1 {
			t.Fatalf("%s: %dx%d %s/%s %.3f\"/px %s tau %g: want 256x256 RA---SIN/DEC--SIN 270\"/px AARTFAAC tau 1",
				filepath.Base(p), m.Naxis1, m.Naxis2, c1, c2, m.PixelScale*3600, m.Telescope, m.TauTime)
		}
		starts[m.TauStart] = append(starts[m.TauStart], m.FreqEff)
	}
	times := make([]time.Time, 0, len(starts))
	for s, fr := range starts {
		times = append(times, s)
		slices.Sort(fr)
		if len(fr) != 4 || fr[0] != 57e6 || fr[3] != 60e6 {
			t.Errorf("snapshot %v: frequencies %v, want 4 sub-bands 57-60 MHz", s, fr)
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	if len(times) != 20 {
		t.Fatalf("%d snapshots, want 20", len(times))
	}
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d != time.Second {
			t.Errorf("snapshot %d starts %v after the one before, want 1 s", i, d)
		}
	}

	// Timesteps 1 s apart need a tolerance below 1 s (docs/live.md).
	job := filepath.Join(t.TempDir(), "job.toml")
	if err := os.WriteFile(job, []byte("[pipeline]\ntimestep_tolerance = 0.5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runDir := filepath.Join(t.TempDir(), "run")
	if code, out, errOut := simRun(t, "run", "--out", runDir, "-c", job, filepath.Join(data, "images")); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	truth, c := pipetest.ReadTruth(t, data), pipetest.ReadCatalogue(t, runDir)
	// A third of the smallest beam axis in these sub-bands (1500" FWHM
	// minor axis at 60 MHz, wider below): at 10 sigma the position error
	// is about FWHM/(2*10) = 75", so 500" is over 6 sigma, while the
	// transients lie 120' from other bright sources.
	const matchArcsec = 500.0
	// Left out: sources within 20 px of an edge (the 10 px margin plus
	// about a beam: islands touching it are removed), and pairs closer
	// than 3 beam FWHM (5400"), which blend.
	const edgePx, blendArcsec = 20.0, 5400.0
	snr, atEdge := map[int]float64{}, map[int]bool{}
	for _, f := range truth.Fluxes {
		snr[f.Source] = max(snr[f.Source], f.SNR)
		if f.X < edgePx || f.Y < edgePx || f.X > 256-edgePx || f.Y > 256-edgePx {
			atEdge[f.Source] = true
		}
	}
	blended := func(id int) bool {
		s := truth.Sources[id]
		for _, o := range truth.Sources {
			if o.ID != id && sphere.Sep(s.RA, s.Dec, o.RA, o.Dec)*3600 < blendArcsec {
				return true
			}
		}
		return false
	}
	steady, transients := 0, 0
	for _, s := range truth.Sources {
		if snr[s.ID] < 10 || atEdge[s.ID] || blended(s.ID) {
			continue
		}
		var near []int64
		for _, r := range c.Runcats {
			if sphere.Sep(s.RA, s.Dec, r.WmRA, r.WmDecl)*3600 < matchArcsec {
				near = append(near, r.ID)
			}
		}
		switch s.Class {
		case "steady":
			steady++
			if len(near) != 1 {
				t.Errorf("steady source %d (%.1f sigma) has %d runcats within %g\", want 1", s.ID, snr[s.ID], len(near), matchArcsec)
			}
		case "transient":
			transients++
			found := false
			for _, n := range c.NewSources {
				found = found || slices.Contains(near, n.Runcat)
			}
			if !found {
				t.Errorf("transient %d (%.1f sigma) is not a new source", s.ID, snr[s.ID])
			}
		}
	}
	t.Logf("%d steady sources and %d transients of at least 10 sigma; %d runcats, %d new sources", steady, transients, len(c.Runcats), len(c.NewSources))
	if steady < 8 || transients < 2 {
		t.Errorf("%d isolated steady sources and %d transients above 10 sigma: the preset should hold at least 8 and 2", steady, transients)
	}
}
