package main

import (
	"encoding/csv"
	"flag"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// readCSVTable reads a catalogue CSV into its header and float rows.
func readCSVTable(t *testing.T, path string) ([]string, [][]float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: empty", path)
	}
	var rows [][]float64
	for _, r := range recs[1:] {
		row := make([]float64, len(r))
		for i, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, s, err)
			}
			row[i] = v
		}
		rows = append(rows, row)
	}
	return recs[0], rows
}

// compareToReference checks one source row against a reference row with
// the acceptance tolerances of the extraction against PySE.
func compareToReference(t *testing.T, what string, cols []string, got, want []float64) {
	t.Helper()
	for j, name := range cols {
		g, w := got[j], want[j]
		var ok bool
		switch name {
		case "x", "y":
			ok = math.Abs(g-w) <= 0.01 // acceptance: positions within 0.01 px
		case "peak", "flux", "peak_err", "flux_err":
			ok = testutil.Close(g, w, 0, 0.005) // acceptance: within 0.5%
		case "ra", "dec":
			ok = math.Abs(g-w) <= 1e-6 // acceptance: 1e-6 deg
		default:
			// Every other column: PySE's own test tolerance (rtol
			// 1e-4), with 1e-9 absolute for the zero columns.
			ok = testutil.Close(g, w, 1e-9, 1e-4)
		}
		if !ok {
			t.Errorf("%s: %s = %.12g, reference %.12g", what, name, g, w)
		}
	}
}

// TestExtractGoldenPySE is the extraction's end-to-end acceptance test: the
// reference settings of data/README.md with background_edge = "pyse" and
// error_model = "pyse" give the reference catalogue.
func TestExtractGoldenPySE(t *testing.T) {
	img := testutil.SharedFile(t, "GRB120422A-120429.fits")
	refCols, ref := readCSVTable(t, testutil.SharedFile(t, "reference/GRB120422A-120429.det5-gaussian-forcebeam.csv"))
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "extract", "--detection", "5", "--analysis", "3", "--back-size", "50",
		"--margin", "10", "--radius", "250", "--force-beam", "--mode", "gaussian", "--background-edge", "pyse",
		"--error-model", "pyse", "--out", out, img)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Log(stdout)
	cols, got := readCSVTable(t, filepath.Join(out, "GRB120422A-120429.csv"))
	if strings.Join(cols, ",") != strings.Join(refCols, ",") {
		t.Fatalf("columns\n%v\nwant\n%v", cols, refCols)
	}
	if len(got) != len(ref) {
		t.Fatalf("%d sources, reference %d", len(got), len(ref))
	}
	for i := range ref {
		compareToReference(t, "source "+strconv.Itoa(i), cols, got[i], ref[i])
	}
	// The Parquet catalogue holds the same sources.
	f, err := os.Open(filepath.Join(out, "GRB120422A-120429.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := catalog.Read[catalog.Measurement](f)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(ref) {
		t.Fatalf("parquet: %d rows, want %d", len(rows), len(ref))
	}
	for i, m := range rows {
		// The CSV has 12 significant digits: 1e-11 relative.
		if !testutil.Close(m.XPix, got[i][5], 0, 1e-11) || !testutil.Close(m.RA, got[i][21], 0, 1e-11) || m.FitType != catalog.FitGaussian {
			t.Errorf("parquet row %d: x %v ra %v fit %d; csv x %v ra %v", i, m.XPix, m.RA, m.FitType, got[i][5], got[i][21])
		}
		// SPEC 5.1 with the default 10 arcsec systematic error.
		if want := math.Hypot(m.DeclFitErr, 10.0/3600); !testutil.Close(m.DeclErr, want, 0, 1e-12) {
			t.Errorf("decl_err %v, want %v", m.DeclErr, want)
		}
	}
	reg, err := os.ReadFile(filepath.Join(out, "GRB120422A-120429.reg"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(reg), "ellipse("); n != len(ref) {
		t.Errorf("region file has %d ellipses, want %d", n, len(ref))
	}
}

// TestExtractEdgeHold: in gotrap's default edge-hold mode the source
// inside the background frame (reference row 1, at (265.9, 258.8)) comes
// out unchanged; the two sources outside the frame that PySE's
// zero-background border produced are gone or moved. (PySE's error model,
// to compare the errors with the reference too.)
func TestExtractEdgeHold(t *testing.T) {
	img := testutil.SharedFile(t, "GRB120422A-120429.fits")
	cols, ref := readCSVTable(t, testutil.SharedFile(t, "reference/GRB120422A-120429.det5-gaussian-forcebeam.csv"))
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "extract", "--detection", "5", "--radius", "250", "--error-model", "pyse", "--out", out, img)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, got := readCSVTable(t, filepath.Join(out, "GRB120422A-120429.csv"))
	t.Logf("edge-hold: %d sources", len(got))
	found := false
	for _, g := range got {
		if math.Hypot(g[5]-ref[1][5], g[7]-ref[1][7]) < 1 {
			found = true
			g[0] = ref[1][0] // ids may differ
			compareToReference(t, "edge-hold source", cols, g, ref[1])
		}
	}
	if !found {
		t.Fatal("the source inside the background frame is not found with edge-hold maps")
	}
}

// TestExtractPySECLI is SPEC 10.2 item 8: PySE's CLI test with its
// config.toml (SPEC 10.1) and --detection-thr 6 --analysis-thr 5 gives
// exactly one row, and the forced fit at [[136.896, 14.0222]] with box
// 3 x 5.4243 px one row.
func TestExtractPySECLI(t *testing.T) {
	img := testutil.SharedFile(t, "GRB120422A-120429.fits")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfg, []byte(`# SPEC 10.1 config.toml (PySE's CLI test settings) in gotrap's keys
[extraction]
detection_threshold = 10
analysis_threshold = 3
mode = "gaussian"          # vectorized = false
back_size_x = 32
back_size_y = 32
margin = 0
extraction_radius_pix = 0
deblend_nthresh = 0
force_beam = false
box_in_beampix = 3.0
rms_filter = 0.001
deblend_mincont = 0.005
eps_ra = 0
eps_dec = 0
ew_sys_err = 0
ns_sys_err = 0
background_edge = "pyse"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "blind")
	code, stdout, stderr := runCmd(t, "extract", "--config", cfg, img, "--detection", "6", "--analysis", "5", "--out", out, "--maps")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, rows := readCSVTable(t, filepath.Join(out, "GRB120422A-120429.csv"))
	if len(rows) != 1 {
		t.Errorf("blind: %d rows, want 1 (PySE's CLI test)", len(rows))
	}
	for _, suffix := range []string{".parquet", ".reg", ".bkg.fits", ".rms.fits", ".sig.fits"} {
		if _, err := os.Stat(filepath.Join(out, "GRB120422A-120429"+suffix)); err != nil {
			t.Errorf("output %s: %v", suffix, err)
		}
	}
	// The rms map written matches the one the extraction used: at the
	// source's peak pixel sig * rms = D > 6 rms.
	sig, _, err := fitsimg.ReadImage(filepath.Join(out, "GRB120422A-120429.sig.fits"), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s := sig.At(int(math.Round(rows[0][5])), int(math.Round(rows[0][7]))); !(s > 6) {
		t.Errorf("significance map at the source %v, want > 6", s)
	}

	out = filepath.Join(dir, "forced")
	code, stdout, stderr = runCmd(t, "extract", "--config", cfg, "--detection", "6", "--analysis", "5",
		"--fixed-positions", "[[136.896, 14.0222]]", "--out", out, img)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, rows = readCSVTable(t, filepath.Join(out, "GRB120422A-120429.csv"))
	if len(rows) != 1 {
		t.Fatalf("forced: %d rows, want 1", len(rows))
	}
	// Decision 5: the model is centred on the requested position, so
	// ra, dec come back as given (1e-9 deg: the WCS round trip).
	if math.Abs(rows[0][21]-136.896) > 1e-9 || math.Abs(rows[0][23]-14.0222) > 1e-9 {
		t.Errorf("forced fit at (%v, %v), want (136.896, 14.0222)", rows[0][21], rows[0][23])
	}
}

// writeTestFITS writes img with a small SIN header (GRB120422A's WCS and
// beam) to dir/name.
func writeTestFITS(t *testing.T, dir, name string, img *kernels.Image) string {
	t.Helper()
	h := fitsimg.NewHeader()
	for _, c := range []struct {
		k string
		v any
	}{
		{"CTYPE1", "RA---SIN"}, {"CRVAL1", 136.91025}, {"CRPIX1", float64(img.Rect.Dx()/2 + 1)}, {"CDELT1", -0.00138888889}, {"CUNIT1", "deg"},
		{"CTYPE2", "DEC--SIN"}, {"CRVAL2", 14.018222}, {"CRPIX2", float64(img.Rect.Dy()/2 + 1)}, {"CDELT2", 0.00138888889}, {"CUNIT2", "deg"},
		{"BMAJ", 0.0150675}, {"BMIN", 0.006848}, {"BPA", 5.0145}, {"RESTFRQ", 1.6505187505e10}, {"DATE-OBS", "2012-04-29T17:19:23"},
	} {
		h.Set(c.k, c.v, "")
	}
	p := filepath.Join(dir, name)
	if err := fitsimg.WriteFile(p, img, h); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExtractDegenerate: all-NaN, constant, tiny and negative-only images
// give no crash, no sources, a reason on stderr and exit status 0; a
// broken file gives an error line naming it, the others are still
// processed, and the exit status is 1.
func TestExtractDegenerate(t *testing.T) {
	dir := t.TempDir()
	mk := func(w, h int, f func(x, y int) float32) *kernels.Image {
		img, err := kernels.NewImage(image.Rect(0, 0, w, h))
		if err != nil {
			t.Fatal(err)
		}
		for y := range h {
			for x := range w {
				img.Pix[y*w+x] = f(x, y)
			}
		}
		return img
	}
	nan := float32(math.NaN())
	cases := []struct {
		name    string
		img     *kernels.Image
		outcome kernels.Outcome
	}{
		{"nan.fits", mk(128, 128, func(x, y int) float32 { return nan }), kernels.OutcomeAllMasked},
		{"const.fits", mk(128, 128, func(x, y int) float32 { return 1.5 }), kernels.OutcomeNoBackground},
		{"tiny.fits", mk(30, 20, func(x, y int) float32 { return float32(x ^ y) }), kernels.OutcomeAllMasked},
		{"small.fits", mk(60, 60, func(x, y int) float32 { return float32((x * 7) ^ (y * 13)) }), kernels.OutcomeTooSmall},
		// Negative-only: a smooth negative ramp with a negative "source"
		// has no pixel above the analysis threshold.
		{"negative.fits", mk(200, 200, func(x, y int) float32 {
			v := -1 - 0.001*float32(x+y) - 0.1*float32((x*31+y*17)%7)
			if math.Hypot(float64(x-100), float64(y-100)) < 4 {
				v -= 50
			}
			return v
		}), kernels.OutcomeNoCandidates},
	}
	var paths []string
	for _, c := range cases {
		paths = append(paths, writeTestFITS(t, dir, c.name, c.img))
	}
	bad := filepath.Join(dir, "broken.fits")
	if err := os.WriteFile(bad, []byte("SIMPLE  = this is not FITS"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.fits")
	args := append([]string{"extract", "--out", filepath.Join(dir, "out"), bad}, paths...)
	args = append(args, missing)
	code, stdout, stderr := runCmd(t, args...)
	t.Logf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	if code != 1 {
		t.Errorf("exit %d, want 1 (one file failed)", code)
	}
	for _, p := range []string{bad, missing} {
		if !strings.Contains(stderr, "gotrap extract: "+p+": ") {
			t.Errorf("stderr does not name %s", p)
		}
	}
	for i, c := range cases {
		want := paths[i] + ": 0 sources (" + c.outcome.String() + ")"
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
		if !strings.Contains(stderr, paths[i]+": no sources: "+c.outcome.String()) {
			t.Errorf("stderr lacks the reason for %s", c.name)
		}
		_, rows := readCSVTable(t, filepath.Join(dir, "out", strings.TrimSuffix(c.name, ".fits")+".csv"))
		if len(rows) != 0 {
			t.Errorf("%s: %d rows", c.name, len(rows))
		}
	}
}

// TestExtractFlags checks the flag handling: --help lists every setting
// with its default; flags override --config; bad values are usage errors.
func TestExtractFlags(t *testing.T) {
	code, out, _ := runCmd(t, "extract", "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, f := range []string{"-detection", "-analysis", "-back-size", "-margin", "-radius", "-deblend", "-force-beam",
		"-mode", "-fdr", "-background-edge", "-fixed-positions", "-ffbox", "-threads", "-out", "-maps", "-config",
		"(default 8)", `(default "50")`, `(default "hold")`, `(default "gaussian")`} {
		if !strings.Contains(out, f) {
			t.Errorf("help lacks %q", f)
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "job.toml")
	os.WriteFile(cfg, []byte("[extraction]\nmargin = 3\ndetection_threshold = 9\n"), 0o644)
	extractFlags = extractFlagValues{}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--mode", "fit", "x.fits"}, 2, "extraction.mode"},
		{[]string{"--back-size", "0", "x.fits"}, 2, "--back-size"},
		{[]string{"--fixed-positions", "1,2,3", "x.fits"}, 2, "pairs"},
		{[]string{"--config", filepath.Join(dir, "nope.toml"), "x.fits"}, 2, "nope.toml"},
		{[]string{}, 2, "no FITS file"},
	} {
		code, _, errs := runCmd(t, append([]string{"extract"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d containing %q", tc.args, code, errs, tc.code, tc.want)
		}
	}
	// Precedence: defaults < --config < flags.
	var fs = newExtractFlagSet(t, "--config", cfg, "--detection", "7", "--back-size", "40,30")
	c, err := extractSettings(fs)
	if err != nil {
		t.Fatal(err)
	}
	e := c.Extraction
	if e.Margin != 3 || e.DetectionThreshold != 7 || e.BackSizeX != 40 || e.BackSizeY != 30 || e.AnalysisThreshold != 3 {
		t.Errorf("settings %+v", e)
	}
	pos, err := parseFixedPositions("10.5,-20; 30,40.25")
	if err != nil || len(pos) != 2 || pos[0] != [2]float64{10.5, -20} || pos[1] != [2]float64{30, 40.25} {
		t.Errorf("positions %v %v", pos, err)
	}
	pf := filepath.Join(dir, "pos.txt")
	os.WriteFile(pf, []byte("# ra dec\n10 20\n30 -40 # second\n"), 0o644)
	pos, err = parseFixedPositions(pf)
	if err != nil || len(pos) != 2 || pos[1] != [2]float64{30, -40} {
		t.Errorf("positions file %v %v", pos, err)
	}
}

// newExtractFlagSet parses args with extract's flags, as run does.
func newExtractFlagSet(t *testing.T, args ...string) *extractFlagValues {
	t.Helper()
	c := commands["extract"]
	fs := flagSetFor(c)
	if _, err := parseInterspersed(fs, args); err != nil {
		t.Fatal(err)
	}
	return &extractFlags
}

// TestExtractDeterministic: the outputs do not depend on --threads.
func TestExtractDeterministic(t *testing.T) {
	img := testutil.SharedFile(t, "GRB120422A-120429.fits")
	swift := testutil.SharedFile(t, "SWIFT_554620-130504.fits")
	var csvs [2][]byte
	for k, th := range []string{"1", "2"} {
		out := t.TempDir()
		if code, o, e := runCmd(t, "extract", "--detection", "5", "--threads", th, "--out", out, img, swift); code != 0 {
			t.Fatalf("exit %d %s %s", code, o, e)
		}
		for _, n := range []string{"GRB120422A-120429.csv", "SWIFT_554620-130504.csv"} {
			b, err := os.ReadFile(filepath.Join(out, n))
			if err != nil {
				t.Fatal(err)
			}
			csvs[k] = append(csvs[k], b...)
		}
	}
	if string(csvs[0]) != string(csvs[1]) {
		t.Error("CSV output differs between --threads 1 and 2")
	}
}

// flagSetFor returns c's flag set, as run builds it.
func flagSetFor(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("gotrap "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.setFlags(fs)
	return fs
}
