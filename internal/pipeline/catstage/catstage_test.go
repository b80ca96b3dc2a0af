package catstage

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/internal/sim"
)

// flagged runs the named variables query (variables or variables_trap)
// with args on run and returns the runcats it lists.
func flagged(t *testing.T, run, query string, args ...string) map[int64]bool {
	t.Helper()
	db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1, MemoryLimit: "2GB"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Named(context.Background(), query, args)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := map[int64]bool{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out[vals[0].(int64)] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// score runs the pipeline and the catalogue stage over data and scores
// the result, variables included.
func score(t *testing.T, data string) *pipetest.Figures {
	t.Helper()
	f, _ := scoreRun(t, data)
	return f
}

// scoreRun is score, also returning the run directory.
func scoreRun(t *testing.T, data string) (*pipetest.Figures, string) {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	inputs, err := pipeline.ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := pipeline.Run(context.Background(), pipeline.Options{Run: run, Inputs: inputs, Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	n, dt, err := Run(context.Background(), run, Options{Threads: 1}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sum.Stages {
		t.Logf("stage %-9s %7.2f s  %d items", st.Name, st.Seconds, st.Items)
	}
	t.Logf("stage catalogue %7.2f s  %d varmetric rows", dt.Seconds(), n)
	return scoreCatalogue(t, data, run), run
}

// scoreCatalogue scores the finished run of data against its truth.
func scoreCatalogue(t *testing.T, data, run string) *pipetest.Figures {
	t.Helper()
	m, err := rundir.ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Done(pipeline.StageVarMetric) {
		t.Error("manifest does not record the catalogue stage")
	}
	if _, err := os.Stat(filepath.Join(run, "varmetric.parquet")); err != nil {
		t.Error(err)
	}
	truth, cat := pipetest.ReadTruth(t, data), pipetest.ReadCatalogue(t, run)
	for _, n := range []string{"2", "1.5"} {
		g := pipetest.Score(t, truth, cat, flagged(t, run, "variables_trap", n))
		t.Logf("variables_trap %s (TraP's): %d of %d variables, %d of %d steady sources", n, g.VarFound, g.Variables, g.SteadyFlaged, g.SteadyAll)
	}
	f := pipetest.Score(t, truth, cat, flagged(t, run, "variables"))
	t.Logf("%s", f)
	for _, p := range f.Problems {
		t.Log(p)
	}
	return f
}

// check applies the acceptance thresholds of the pipeline and of the
// variables query to f.
func check(t *testing.T, f *pipetest.Figures) {
	t.Helper()
	if f.BrightFound != f.Bright {
		t.Errorf("transients >= 10 sigma: %d of %d are new sources in their first image", f.BrightFound, f.Bright)
	}
	if f.StrongLikely != f.Strong {
		t.Errorf("transients >= %d sigma: %d of %d are type-1 new sources in their first image", pipetest.StrongSigma, f.StrongLikely, f.Strong)
	}
	// The acceptance figure: 95% at 8-10 sigma. With detection_threshold 8 a
	// transient at a true 8.5 sigma is detected only when its measured
	// peak, scattered by 1 sigma of noise, exceeds 8 local rms: about 69%
	// of the time. The test asserts half (reported in docs/pipeline.md).
	if f.Faint > 0 && float64(f.FaintFound) < 0.5*float64(f.Faint) {
		t.Errorf("transients 8-10 sigma: %d of %d found, want >= 50%%", f.FaintFound, f.Faint)
	}
	if float64(f.FalseNew) >= float64(f.Measurements)/1e4 {
		t.Errorf("%d false type-1 new sources in %d measurements, want < 1 per 10,000", f.FalseNew, f.Measurements)
	}
	if f.OneRuncat != f.Steady || f.Covered != f.Steady {
		t.Errorf("steady >= 10 sigma: %d, with one runcat %d, covered in every later image %d", f.Steady, f.OneRuncat, f.Covered)
	}
	checkVariables(t, f)
}

// checkVariables applies the variables query's acceptance thresholds to f.
func checkVariables(t *testing.T, f *pipetest.Figures) {
	t.Helper()
	// The default variables query (calibrated chi-square cut)
	// flags at most 1% of the steady sources (all with a runcat: stricter
	// than the required above 20 sigma) and finds at least 95% of the
	// variables with V >= 0.3 above 20 sigma (where the data set has
	// any: TestFaintTransients has none).
	if float64(f.SteadyFlaged) > 0.01*float64(f.SteadyAll) {
		t.Errorf("variables query flags %d of %d steady sources, want <= 1%%", f.SteadyFlaged, f.SteadyAll)
	}
	if float64(f.VarFound) < 0.95*float64(f.Variables) {
		t.Errorf("variables query finds %d of %d variables (V >= 0.3, >= 20 sigma), want >= 95%%", f.VarFound, f.Variables)
	}
}

// TestAcceptanceTiny scores the tiny preset (CI scale) with the catalogue
// stage and the variables query.
func TestAcceptanceTiny(t *testing.T) {
	data, run := tinyRun(t)
	f := scoreCatalogue(t, data, run)
	if f.Variables == 0 {
		t.Error("tiny has no variable with V >= 0.3 above 20 sigma to score")
	}
	check(t, f)
}

// TestAcceptanceRSMMini scores rsm-mini: set GOTRAP_RSMMINI to a data set
// made by "gotrap simulate --preset rsm-mini" (or to "sim" to make one,
// 945 MB). It takes minutes on 2 cores. With GOTRAP_SCORE_RUN=RUN it
// scores that finished run of the data set instead of running one.
func TestAcceptanceRSMMini(t *testing.T) {
	dir := os.Getenv("GOTRAP_RSMMINI")
	if dir == "" {
		t.Skip("set GOTRAP_RSMMINI=DIR (gotrap simulate --preset rsm-mini --seed 1 DIR) or =sim")
	}
	if dir == "sim" {
		dir = pipetest.Simulate(t, sim.PresetRSMMini, 1)
	}
	if run := os.Getenv("GOTRAP_SCORE_RUN"); run != "" {
		// A finished run of the data set (the RSM-scale run takes
		// minutes): scored without running the pipeline again.
		check(t, scoreCatalogue(t, dir, run))
		return
	}
	check(t, score(t, dir))
}

// TestFaintTransients: the tiny field with 12 transients of 0.35-0.6 Jy
// (about 7-11 sigma at 120 MHz, 10-19 at 160 MHz) and 16 timesteps, for
// the 8-10 sigma figure that the presets barely sample.
func TestFaintTransients(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates its own data")
	}
	data := pipetest.Simulate(t, sim.PresetTiny, 7, "transients", "12", "variables", "0", "timesteps", "16",
		"transient_flux_min", "0.35", "transient_flux_max", "0.6", "bad_images", "0")
	f := score(t, data)
	if f.Faint == 0 {
		t.Fatal("no transient at 8-10 sigma: change the seed")
	}
	check(t, f)
}

// TestVariablesTruth scores the default variables query on a
// tiny field 16 times larger, with 16 variables of modulation index
// 0.3-0.5 and 2.5 times the steady-source density, so that the figures
// rest on more than the few sources of the tiny preset: at least 95% of
// the variables above 20 sigma found, at most 1% of the steady sources
// flagged (checkVariables), and the steady sources' eta distributed as
// the chi-square. (Ten times the density makes the field confused: the
// rms maps then include the steady sources, and eta of steady sources
// drops to 0.85.) rsm-mini's figures are in docs/variability.md.
func TestVariablesTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates its own data")
	}
	data := pipetest.Simulate(t, sim.PresetTiny, 3, "width", "1024", "height", "1024", "variables", "16",
		"mod_index_min", "0.3", "mod_index_max", "0.5", "steady_density", "25", "transients", "0", "bad_images", "0")
	f, run := scoreRun(t, data)
	// 16 variables of 0.3-3 Jy: those above 20 sigma at both frequencies
	// are about half; fewer than 6 would make the 95% figure a coin toss.
	if f.Variables < 6 || f.SteadyAll < 100 {
		t.Fatalf("%d variables and %d steady sources to score: change the seed", f.Variables, f.SteadyAll)
	}
	// Only the variables figures: variables of modulation index 0.5 that
	// start faint are also new sources, which the transient figures of
	// check would count as false.
	checkVariables(t, f)

	// The flux errors are right: the eta of steady light curves above 20
	// sigma (truth class steady within 45" of the runcat, mean peak over
	// the band's median rms_qc) has the chi-square's mean 1. Its standard
	// error is sqrt(2/(dof n)), 0.043 here: 0.15 is over 3 of them,
	// while TraP's errors give 0.44 and Condon's peak error 1.33
	// (docs/variability.md).
	db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var mean, dof float64
	err = db.SQL().QueryRow(fmt.Sprintf(`WITH s AS (SELECT * FROM read_csv_auto('%s') WHERE class = 'steady'),
rms AS (SELECT band, median(rms_qc) AS rms FROM images GROUP BY band),
m AS (SELECT DISTINCT r.id FROM runcat r JOIN s
      ON abs(r.wm_decl - s.dec) < 45/3600.0 AND abs((r.wm_ra - s.ra) * cos(radians(s.dec))) < 45/3600.0)
SELECT count(*), avg(v.eta_int), avg(v.dof)
FROM varmetric v JOIN rms ON rms.band = v.band
WHERE v.runcat IN (SELECT id FROM m) AND v.dof >= 1 AND v.f_peak_mean / rms.rms >= 20`,
		filepath.Join(data, "truth", "sources.csv"))).Scan(&n, &mean, &dof)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("steady light curves above 20 sigma: %d, mean dof %.1f, mean eta %.3f", n, dof, mean)
	if n < 50 || math.Abs(mean-1) > 0.15 {
		t.Errorf("%d steady light curves above 20 sigma with mean eta %.3f, want at least 50 and 1 +- 0.15", n, mean)
	}
}
