package main

import (
	"fmt"
	"os"
	"testing"

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
	f := pipetest.Score(t, pipetest.ReadTruth(t, data), pipetest.ReadCatalogue(t, run), nil)
	t1, t0 := falseRates(f)
	fmt.Printf("%s\nfalse new sources per 10,000 measurements: %.2f type 1 (%d), %.2f type 0 (%d), in %d measurements\n",
		f, t1, f.FalseNew, t0, f.FalsePossible, f.Measurements)
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
