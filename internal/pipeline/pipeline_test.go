package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/sim"
)

// childEnv makes the test binary a "gotrap run" child process (resume
// test): GOTRAP_PIPELINE_CHILD=RUN:INPUTDIR.
const childEnv = "GOTRAP_PIPELINE_CHILD"

// childAppendEnv set makes the child append instead of resume.
const childAppendEnv = "GOTRAP_PIPELINE_CHILD_APPEND"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		os.Exit(child(v))
	}
	code := m.Run()
	if tinyDir != "" {
		os.RemoveAll(tinyDir)
	}
	os.Exit(code)
}

// child runs the pipeline with --resume semantics on RUN and the images
// of INPUTDIR, with 2 workers.
func child(v string) int {
	run, in, ok := cut(v)
	if !ok {
		return 2
	}
	inputs, err := ExpandInputs([]string{in})
	if err == nil {
		add := os.Getenv(childAppendEnv) != ""
		_, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Resume: !add, Append: add, Workers: 2})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func cut(v string) (a, b string, ok bool) {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == '|' {
			return v[:i], v[i+1:], true
		}
	}
	return "", "", false
}

// testConfig is the default configuration with two monitor positions:
// one on a blank patch of the tiny field, one off every image.
func testConfig() config.Config {
	c := config.Default()
	c.Monitor.Positions = [][2]float64{{150.2, 53.3}, {10, -30}}
	return c
}

var (
	tinyOnce sync.Once
	tinyDir  string
	tinyErr  error
)

// tiny returns the images of the tiny preset (seed 1), made once per test
// binary.
func tiny(t *testing.T) string {
	t.Helper()
	tinyOnce.Do(func() {
		tinyDir, tinyErr = os.MkdirTemp("", "gotrap-tiny-")
		if tinyErr != nil {
			return
		}
		cfg, err := sim.Preset(sim.PresetTiny)
		if err != nil {
			tinyErr = err
			return
		}
		cfg.Seed = 1
		_, tinyErr = sim.Generate(context.Background(), cfg, tinyDir, sim.Options{Workers: 2})
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyDir
}

func runDir(t *testing.T, data string, cfg config.Config, workers int) string {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: workers}); err != nil {
		t.Fatal(err)
	}
	return run
}

// equalCatalogues compares every table of two runs row by row.
func equalCatalogues(t *testing.T, a, b string) {
	t.Helper()
	equalCatalogueRows(t, pipetest.ReadCatalogue(t, a), pipetest.ReadCatalogue(t, b))
}

// equalCatalogueRows compares every table of two catalogues row by row.
func equalCatalogueRows(t *testing.T, ca, cb *pipetest.Catalogue) {
	t.Helper()
	va, vb := reflect.ValueOf(*ca), reflect.ValueOf(*cb)
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Len() != fb.Len() {
			t.Errorf("%s: %d rows vs %d", name, fa.Len(), fb.Len())
			continue
		}
		for r := range fa.Len() {
			// Rows hold NaN only where both runs computed the same NaN:
			// compare with DeepEqual after formatting (NaN != NaN).
			if x, y := fmt.Sprintf("%+v", fa.Index(r).Interface()), fmt.Sprintf("%+v", fb.Index(r).Interface()); x != y {
				t.Errorf("%s row %d differs:\n%s\n%s", name, r, x, y)
				break
			}
		}
	}
}

func TestExpandInputs(t *testing.T) {
	d := t.TempDir()
	for _, p := range []string{"a/x.fits", "a/b/y.FITS", "a/z.txt", "c.fits"} {
		p = filepath.Join(d, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	list := filepath.Join(d, "list.txt")
	if err := os.WriteFile(list, []byte("# images\nc.fits\n\na/x.fits\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ExpandInputs([]string{filepath.Join(d, "a"), "@" + list, filepath.Join(d, "*.fits")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(d, "a/b/y.FITS"), filepath.Join(d, "a/x.fits"), filepath.Join(d, "c.fits")}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	_, err = ExpandInputs([]string{filepath.Join(d, "nope1.fits"), filepath.Join(d, "c.fits"), filepath.Join(d, "q*.fits")})
	if !errors.Is(err, ErrMissingInput) {
		t.Fatalf("error %v, want ErrMissingInput", err)
	}
	for _, s := range []string{"nope1.fits", "q*.fits (no match)", "(2)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not list %q", err, s)
		}
	}
}

// TestRunTiny runs the tiny preset end to end and scores it against the
// simulator's truth (the pipeline's acceptance figures, tiny scale; the variables figures
// need DuckDB and are in catstage's tests).
func TestRunTiny(t *testing.T) {
	data := tiny(t)
	run := runDir(t, data, testConfig(), 1)
	c := pipetest.ReadCatalogue(t, run)
	f := pipetest.Score(t, pipetest.ReadTruth(t, data), c, nil)
	t.Logf("tiny seed 1: %s", f)
	for _, p := range f.Problems {
		t.Log(p)
	}
	if f.Bright == 0 || f.BrightFound != f.Bright {
		t.Errorf("transients >= 10 sigma: %d of %d are new sources in their first image", f.BrightFound, f.Bright)
	}
	if f.StrongLikely != f.Strong {
		t.Errorf("transients >= %d sigma: %d of %d are type-1 new sources", pipetest.StrongSigma, f.StrongLikely, f.Strong)
	}
	// Acceptance: at least 95% of 8-10 sigma transients.
	if f.Faint > 0 && float64(f.FaintFound) < 0.95*float64(f.Faint) {
		t.Errorf("transients 8-10 sigma: %d of %d found", f.FaintFound, f.Faint)
	}
	// Acceptance: fewer than 1 false (type 1) new source per 10,000
	// measurements.
	if float64(f.FalseNew) >= float64(f.Measurements)/1e4 {
		t.Errorf("%d false type-1 new sources in %d measurements", f.FalseNew, f.Measurements)
	}
	if f.Steady == 0 || f.OneRuncat != f.Steady || f.Covered != f.Steady {
		t.Errorf("steady >= 10 sigma: %d, with one runcat %d, covered in every later image %d", f.Steady, f.OneRuncat, f.Covered)
	}
	// The images table: 3 bad images, all rejected.
	rej := 0
	for _, r := range c.Images {
		if r.Rejected {
			rej++
		}
	}
	if len(c.Images) != 16 || rej != 3 {
		t.Errorf("%d images, %d rejected; want 16, 3", len(c.Images), rej)
	}
	// The blank monitor position is fitted in every accepted image (type
	// 8, then 9), the one off the field never.
	var mon []catalog.Association
	for _, a := range c.Associations {
		if a.Type == catalog.AssocMonitorNew || a.Type == catalog.AssocMonitorNext {
			mon = append(mon, a)
		}
	}
	if len(mon) != 16-rej || mon[0].Type != catalog.AssocMonitorNew {
		t.Errorf("%d monitor links, want one per accepted image (%d), the first type 8", len(mon), 16-rej)
	}
	for _, m := range c.Measurements {
		if m.ExtractType == catalog.ExtractMonitor && m.FFMonitor.Int64 != 1 {
			t.Errorf("monitor fit %d of monitor %d: the off-field monitor 2 was fitted", m.ID, m.FFMonitor.Int64)
		}
	}

	// Determinism: two workers give the same catalogue.
	equalCatalogues(t, run, runDir(t, data, testConfig(), 2))
}
