package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/sim"
)

// falseRates returns the false new sources of type 1 and type 0 per
// 10,000 measurements of figures f (pipetest.Score against the truth).
func falseRates(f *pipetest.Figures) (type1, type0 float64) {
	if f.Measurements == 0 {
		return 0, 0
	}
	n := float64(f.Measurements) / 1e4
	return float64(f.FalseNew) / n, float64(f.FalsePossible) / n
}

// TestScoreRun is a tool, not a check: it scores an existing run
// directory against the truth of the simulated data set it was run on
// (docs/simulate.md "False new sources"), as
//
//	GOTRAP_SCORE_RUN=RUN GOTRAP_SCORE_DATA=DIR go test ./cmd/gotrap -run TestScoreRun -v
//
// It skips when the two variables are not set.
func TestScoreRun(t *testing.T) {
	run, data := os.Getenv("GOTRAP_SCORE_RUN"), os.Getenv("GOTRAP_SCORE_DATA")
	if run == "" || data == "" {
		t.Skip("a tool: set GOTRAP_SCORE_RUN (run directory) and GOTRAP_SCORE_DATA (simulated data set) to score a run")
	}
	truth, c := pipetest.ReadTruth(t, data), pipetest.ReadCatalogue(t, run)
	f := pipetest.Score(t, truth, c, nil)
	t1, t0 := falseRates(f)
	fmt.Printf("%s\nfalse new sources per 10,000 measurements: %.2f type 1 (%d), %.2f type 0 (%d), in %d measurements\n",
		f, t1, f.FalseNew, t0, f.FalsePossible, f.Measurements)
	b := whereFalse(t, truth, c)
	fmt.Printf("false new sources (type 1 + type 0): %d within %g beam FWHM of a source above %g sigma, %d in the outer ring (beyond %.0f%% of the half-width from the centre), %d elsewhere\n",
		b.nearBright, nearBeams, brightSigma, b.edge, 100*edgeFrac, b.other)
}

// Where false new sources lie: near a bright source (artefacts,
// sidelobes), near the edge (where primary-beam-corrected noise is
// highest), or elsewhere.
const (
	nearBeams   = 5.0  // beam FWHM (major axis) from a bright truth source
	brightSigma = 50.0 // truth snr of a bright source in the trigger image
	edgeFrac    = 0.7  // outer ring: beyond this fraction of the half-width from the centre
)

type falseWhere struct{ nearBright, edge, other int }

// whereFalse classifies the new sources of c that match no injected
// transient (pipetest.MatchArcsec) by the trigger measurement's pixel
// position in its image.
func whereFalse(tb testing.TB, truth *pipetest.Truth, c *pipetest.Catalogue) falseWhere {
	tb.Helper()
	meas := map[int64]catalog.Measurement{}
	for _, m := range c.Measurements {
		meas[m.ID] = m
	}
	images := map[int64]catalog.Image{}
	for _, im := range c.Images {
		images[im.ID] = im
	}
	byImage := map[string][]pipetest.Flux{}
	for _, fl := range truth.Fluxes {
		byImage[fl.Image] = append(byImage[fl.Image], fl)
	}
	metas := map[string]*fitsimg.Meta{}
	var out falseWhere
	for _, ns := range c.NewSources {
		m := meas[ns.TriggerXtrsrc]
		hit := false
		for _, s := range truth.Sources {
			if s.Class == "transient" && pipetest.SepArcsec(s.RA, s.Dec, m.RA, m.Decl) < pipetest.MatchArcsec {
				hit = true
			}
		}
		if hit {
			continue
		}
		im := images[m.Image]
		abs, err := filepath.Abs(im.URL)
		if err != nil {
			tb.Fatal(err)
		}
		rel := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(abs)), filepath.Base(abs)))
		meta, ok := metas[abs]
		if !ok {
			meta, err = fitsimg.ReadMeta(abs, fitsimg.Options{})
			if err != nil {
				tb.Fatal(err)
			}
			metas[abs] = meta
		}
		fw := 2 * meta.BeamPx.SMaj
		near := false
		for _, fl := range byImage[rel] {
			if fl.SNR >= brightSigma && math.Hypot(fl.X-m.XPix, fl.Y-m.YPix) <= nearBeams*fw {
				near = true
			}
		}
		hx, hy := float64(meta.Naxis1)/2, float64(meta.Naxis2)/2
		r := math.Max(math.Abs(m.XPix-hx)/hx, math.Abs(m.YPix-hy)/hy)
		switch {
		case near:
			out.nearBright++
		case r > edgeFrac:
			out.edge++
		default:
			out.other++
		}
	}
	return out
}

// TestFalseRatesRealistic runs the pipeline on a small realistic data set
// (the realistic preset, 1 beam of 384x384 px, 4 timesteps) and checks that the
// scoring finds its injected transients and counts false new sources per
// 10,000 measurements consistently with the catalogue.
func TestFalseRatesRealistic(t *testing.T) {
	data := pipetest.Simulate(t, sim.PresetRealistic, 1, "beams", "1", "size", "384", "timesteps", "4",
		"bad_images", "0", "variables", "2", "transients", "4", "isolation_arcmin", "5")
	out := t.TempDir()
	if code, o, e := simRun(t, "run", "--quiet", "--out", out, data+"/images"); code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, o, e)
	}
	c := pipetest.ReadCatalogue(t, out)
	f := pipetest.Score(t, pipetest.ReadTruth(t, data), c, nil)
	t.Logf("%s", f)
	if f.Measurements != len(c.Measurements) || f.Measurements == 0 {
		t.Fatalf("%d measurements scored, catalogue has %d", f.Measurements, len(c.Measurements))
	}
	if f.FalseNew+f.FalsePossible > len(c.NewSources) {
		t.Errorf("%d false new sources of %d", f.FalseNew+f.FalsePossible, len(c.NewSources))
	}
	t1, t0 := falseRates(f)
	if want := float64(f.FalseNew) * 1e4 / float64(f.Measurements); t1 != want {
		t.Errorf("type 1 rate %g, want %g", t1, want)
	}
	t.Logf("false new sources per 10,000 measurements: %.1f type 1, %.1f type 0", t1, t0)
	if f.Bright > 0 && f.BrightFound == 0 {
		t.Errorf("none of %d bright transients found: %v", f.Bright, f.Problems)
	}
}
