package pipeline

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/pipeline/pipetest"
)

// stokesVSources are user sources of the Stokes V data set: bright
// circularly polarised sources of both signs (V = 0.75 to 1.2 Jy, S/N 14
// to 43 in the tiny preset's noise), beside the generated ones, half of
// which are polarised too; the last a negative transient from timestep 3.
const stokesVSources = `ra,dec,flux_jy,circ_pol,onset_step
149.7,52.75,2,0.5,
150.3,52.75,2,-0.5,
149.7,53.07,1.5,-0.8,
150.3,53.07,1.5,0.8,
150.0,52.91,2,-0.6,3
`

// simulateStokesV writes the Stokes V data set: the tiny preset, seed 1.
func simulateStokesV(t *testing.T) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "sources.csv")
	if err := os.WriteFile(src, []byte(stokesVSources), 0o644); err != nil {
		t.Fatal(err)
	}
	return pipetest.Simulate(t, "tiny", 1, "stokes", "V", "circular_frac", "0.5", "sources", src)
}

// TestStokesVRun: a run over the simulator's Stokes V planes (tiny preset,
// circularly polarised sources of both signs) finds, in every accepted
// image, each polarised source of |S/N| >= 15 with the sign of its truth,
// and no bright measurement without a polarised source of that sign; the
// sign is the sign of f_peak and f_int, kept in the runcat's mean flux;
// images and runcat fluxes carry Stokes 4 (V). The negative transient is
// a new source.
func TestStokesVRun(t *testing.T) {
	data := simulateStokesV(t)
	truth := pipetest.ReadTruth(t, data)
	run := runInputs(t, filepath.Join(data, "images"), testConfig())
	c := pipetest.ReadCatalogue(t, run)

	byURL := map[string]catalog.Image{}
	for _, im := range c.Images {
		if im.Stokes != 4 {
			t.Errorf("image %d (%s): stokes %d, want 4 (V)", im.ID, im.URL, im.Stokes)
		}
		rel, err := filepath.Rel(data, im.URL)
		if err != nil {
			t.Fatal(err)
		}
		byURL[filepath.ToSlash(rel)] = im
	}
	blind := map[int64][]catalog.Measurement{}
	for _, m := range c.Measurements {
		if m.ExtractType == catalog.ExtractBlind {
			blind[m.Image] = append(blind[m.Image], m)
		}
	}
	// 15 sigma: the peak's noise (1 sigma) cannot bring such a source
	// near the 8 sigma detection threshold, and its position error is
	// about a beam semi-axis (3 to 4.4 px) over S/N: 0.3 px, so 1.5 px is
	// 5 of those.
	const snrMin, matchPx = 15.0, 1.5
	found := map[int]int64{} // truth source -> a measurement id
	signs := map[float64]int{}
	for _, f := range truth.Fluxes {
		im, ok := byURL[f.Image]
		if !ok || im.Rejected || math.Abs(f.SNR) < snrMin {
			continue
		}
		var best *catalog.Measurement
		for i, m := range blind[im.ID] {
			if math.Hypot(m.XPix-f.X, m.YPix-f.Y) <= matchPx {
				best = &blind[im.ID][i]
			}
		}
		if best == nil {
			t.Errorf("%s: source %d (V %.3g Jy, S/N %.1f) at (%.1f, %.1f) not found", f.Image, f.Source, f.Flux, f.SNR, f.X, f.Y)
			continue
		}
		if math.Signbit(best.FPeak) != math.Signbit(f.Flux) || math.Signbit(best.FInt) != math.Signbit(f.Flux) {
			t.Errorf("%s: source %d (V %.3g Jy): measured f_peak %.3g, f_int %.3g: another sign", f.Image, f.Source, f.Flux, best.FPeak, best.FInt)
		}
		found[f.Source] = best.ID
		signs[math.Copysign(1, f.Flux)]++
	}
	if signs[1] == 0 || signs[-1] == 0 {
		t.Fatalf("detections of positive and negative sources: %d and %d; the test needs both", signs[1], signs[-1])
	}
	t.Logf("%d polarised sources found: %d detections of positive ones, %d of negative ones", len(found), signs[1], signs[-1])

	// No bright measurement without a polarised source of its sign.
	for _, im := range c.Images {
		for _, m := range blind[im.ID] {
			if math.Abs(m.FPeak) < snrMin*math.Max(im.RMSMin, 0) {
				continue
			}
			ok := false
			for _, f := range truth.Fluxes {
				if byURL[f.Image].ID == im.ID && f.Flux != 0 && math.Signbit(f.Flux) == math.Signbit(m.FPeak) &&
					math.Hypot(m.XPix-f.X, m.YPix-f.Y) <= matchPx {
					ok = true
				}
			}
			if !ok {
				t.Errorf("image %d: measurement %d (f_peak %.3g at %.1f, %.1f) matches no polarised source of its sign", im.ID, m.ID, m.FPeak, m.XPix, m.YPix)
			}
		}
	}

	// The negative transient is a new source.
	tr := stokesVTransient(t, truth)
	mid, ok := found[tr]
	if !ok {
		t.Fatalf("the negative transient (source %d) was not found", tr)
	}
	isNew := false
	for _, ns := range c.NewSources {
		isNew = isNew || ns.Runcat == runcatOfMeasurement(c, mid)
	}
	if !isNew {
		t.Errorf("the negative transient (source %d, runcat %d) is not a new source: %+v", tr, runcatOfMeasurement(c, mid), c.NewSources)
	}

	// The runcats: Stokes V fluxes whose mean keeps the sign.
	runcatOf := map[int64]int64{}
	for _, a := range c.Associations {
		runcatOf[a.Xtrsrc] = a.Runcat
	}
	for _, fl := range c.Fluxes {
		if fl.Stokes != 4 {
			t.Fatalf("runcat %d band %d: stokes %d, want 4", fl.Runcat, fl.Band, fl.Stokes)
		}
	}
	for src, mid := range found {
		rc := runcatOf[mid]
		want := math.Copysign(1, truth.Sources[src].Flux)
		for _, f := range truth.Fluxes {
			if f.Source == src && f.Flux != 0 {
				want = math.Copysign(1, f.Flux)
			}
		}
		for _, fl := range c.Fluxes {
			if fl.Runcat == rc && math.Copysign(1, fl.AvgFInt) != want {
				t.Errorf("source %d, runcat %d band %d: mean f_int %.3g, want the sign %v", src, rc, fl.Band, fl.AvgFInt, want)
			}
		}
	}
}

// stokesVTransient finds the truth id of stokesVSources' transient.
func stokesVTransient(t *testing.T, truth *pipetest.Truth) int {
	t.Helper()
	for id, s := range truth.Sources {
		if s.Class == "transient" && math.Abs(s.RA-150) < 1e-6 && math.Abs(s.Dec-52.91) < 1e-6 {
			return id
		}
	}
	t.Fatal("the negative transient is not in the truth")
	return 0
}

// runcatOfMeasurement returns the runcat measurement id is associated with.
func runcatOfMeasurement(c *pipetest.Catalogue, id int64) int64 {
	for _, a := range c.Associations {
		if a.Xtrsrc == id {
			return a.Runcat
		}
	}
	return 0
}
