package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func fixtureFile(t *testing.T, name string) string {
	return filepath.Join(testutil.ProjectRoot(t), "testdata", "fits", name)
}

// TestInfoJSON runs gotrap info --json on the real images, one of which
// cannot be read: the others print, the bad one gets a stderr line, the
// exit status is 1.
func TestInfoJSON(t *testing.T) {
	grb := testutil.SharedFile(t, "GRB120422A-120429.fits")
	cut := testutil.SharedFile(t, "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits")
	bad := testutil.SharedFile(t, "missing_metadata.fits")
	code, out, errs := runCmd(t, "info", "--json", grb, bad, cut)
	if code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if want := "gotrap info: " + bad + ": no frequency"; !strings.HasPrefix(errs, want) || strings.Count(errs, "\n") != 1 {
		t.Errorf("stderr %q, want one line starting %q", errs, want)
	}
	var objs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		objs = append(objs, m)
	}
	if len(objs) != 2 {
		t.Fatalf("%d JSON lines, want 2:\n%s", len(objs), out)
	}
	g := objs[0]
	num := func(k string) float64 { f, _ := g[k].(float64); return f }
	if g["path"] != grb || num("naxis1") != 512 || num("naxis2") != 512 || num("freq_eff_hz") != 1.6505187505e10 ||
		num("freq_bw_hz") != 1e6 || g["taustart"] != "2012-04-29T17:19:23.001599Z" || num("tau_time_s") != 0 ||
		g["telescope"] != "AMI-LA" {
		t.Errorf("GRB120422A: %v", g)
	}
	bd := g["beam_deg"].(map[string]any)
	bp := g["beam_px"].(map[string]any)
	// SPEC 0.3: 5.42431, 2.46528, 0.0875200 (half a unit of the last
	// printed digit).
	if bd["bmaj"] != 1.506752332052e-02 || bd["bpa"] != 5.014526367188 ||
		math.Abs(bp["smaj"].(float64)-5.42431) > 5e-6 || math.Abs(bp["smin"].(float64)-2.46528) > 5e-6 ||
		math.Abs(bp["theta_rad"].(float64)-0.08752) > 5e-8 {
		t.Errorf("beam %v %v", bd, bp)
	}
	// CRPIX 257 is the centre pixel: the centre is CRVAL (1e-9 deg).
	if math.Abs(num("centre_ra")-136.91025) > 1e-9 || math.Abs(num("centre_dec")-14.01822222) > 1e-9 ||
		num("pixel_scale_deg") != 1.388888888889e-03 {
		t.Errorf("centre %v %v scale %v", g["centre_ra"], g["centre_dec"], g["pixel_scale_deg"])
	}
	c := objs[1]
	if c["naxis1"] != 256.0 || c["freq_bw_hz"] != 46.875e6 || c["taustart"] != "2020-10-06T01:26:36.8Z" || c["lofar"] != false {
		t.Errorf("cutout: %v", c)
	}
}

func TestInfoText(t *testing.T) {
	lofar := fixtureFile(t, "lofar.fits")
	code, out, errs := runCmd(t, "info", lofar, fixtureFile(t, "cube.fits"))
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		lofar + "\n",
		"  size            8 x 6 pixels (BITPIX -32, axes 8x6x1x1, plane 0 of 1, Stokes I)",
		"  frequency       150.000000 MHz, bandwidth 1.953125 MHz (from CTYPE3)",
		"  integration     660.5 s (from TAU_TIME)",
		"  beam (pixels)   semi-axes 1.500000 x 1.000000 px, theta 1.3089969 rad",
		"  LOFAR           antenna set HBA_DUAL_INNER, stations 24 core + 14 remote + 0 international, 10 subbands of 195312.5 Hz",
		"plane 0 of 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestInfoOptions(t *testing.T) {
	cube := fixtureFile(t, "cube.fits")
	code, out, _ := runCmd(t, "info", "--json", "--plane", "1", cube)
	if code != 0 || !strings.Contains(out, `"freq_eff_hz":140200000`) || !strings.Contains(out, `"plane":1`) {
		t.Errorf("--plane 1: exit %d\n%s", code, out)
	}
	code, _, errs := runCmd(t, "info", "--plane", "2", cube)
	if code != 1 || !strings.Contains(errs, "no such image plane") {
		t.Errorf("--plane 2: exit %d, %q", code, errs)
	}
	// --beam overrides; missing_metadata.fits still lacks a frequency.
	code, out, _ = runCmd(t, "info", "--json", "--beam", "0.02,0.01,-30", fixtureFile(t, "history_beam.fits"))
	if code != 0 || !strings.Contains(out, `"beam_deg":{"bmaj":0.02,"bmin":0.01,"bpa":-30}`) || !strings.Contains(out, `"beam_from":"override"`) {
		t.Errorf("--beam: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"info"},
		{"info", "--beam", "1,2", cube},
		{"info", "--beam", "0,1,2", cube},
		{"info", "--plane", "-1", cube},
	} {
		if code, _, errs := runCmd(t, args...); code != 2 || !strings.Contains(errs, "usage: gotrap info") {
			t.Errorf("%q: exit %d, stderr %q", args, code, errs)
		}
	}
	// A failure first: the text of the next file starts the output.
	code, out, errs = runCmd(t, "info", filepath.Join(t.TempDir(), "nope.fits"), cube)
	if code != 1 || !strings.HasPrefix(out, cube+"\n") {
		t.Errorf("bad file then cube: exit %d, stdout %q", code, out)
	}
	code, _, errs = runCmd(t, "info", filepath.Join(t.TempDir(), "nope.fits"))
	if code != 1 || !strings.Contains(errs, "nope.fits: cannot open: no such file or directory") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
	if code, out, _ := runCmd(t, "info", "--help"); code != 0 || !strings.Contains(out, "JSON Lines") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

// TestInfoAllFixtures: every committed fixture has full metadata, so
// "make demo" can fall back to them.
func TestInfoAllFixtures(t *testing.T) {
	files, err := filepath.Glob(fixtureFile(t, "*.fits"))
	if err != nil || len(files) < 10 {
		t.Fatalf("%d fixtures, %v", len(files), err)
	}
	code, out, errs := runCmd(t, append([]string{"info", "--json"}, files...)...)
	if code != 0 || errs != "" || strings.Count(out, "\n") != len(files) {
		t.Errorf("exit %d, %d lines for %d files, stderr %q", code, strings.Count(out, "\n"), len(files), errs)
	}
}
