package main

import (
	"bytes"
	"gotrap/internal/testutil"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func simRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestSimulateDeterministic is the acceptance test: "gotrap simulate
// --preset tiny --seed 1 DIR" twice gives identical files, and so do 1 and
// 4 workers; another seed gives other images.
func TestSimulateDeterministic(t *testing.T) {
	var trees []map[string]string
	for _, args := range [][]string{
		{"--preset", "tiny", "--seed", "1"},
		{"--preset", "tiny", "--seed", "1"},
		{"--preset", "tiny", "--seed", "1", "--workers", "1"},
		{"--preset", "tiny", "--seed", "1", "--workers", "4", "--quiet"},
		{"--preset", "tiny", "--seed", "2"},
	} {
		dir := t.TempDir()
		code, out, errOut := simRun(t, append([]string{"simulate", dir}, args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s%s", args, code, out, errOut)
		}
		if !strings.Contains(out, "wrote 16 images of 256x256 px") {
			t.Errorf("%v: unexpected report %q", args, out)
		}
		trees = append(trees, testutil.HashTree(t, dir))
	}
	ref := trees[0]
	if len(ref) != 16+4 {
		t.Fatalf("%d files, want 16 images and 4 truth tables", len(ref))
	}
	for i, tr := range trees[1:4] {
		if len(tr) != len(ref) {
			t.Errorf("run %d: %d files, want %d", i+2, len(tr), len(ref))
		}
		for k, h := range ref {
			if tr[k] != h {
				t.Errorf("run %d: %s differs", i+2, k)
			}
		}
	}
	if trees[4]["images/t0000_beam0_band0.fits"] == ref["images/t0000_beam0_band0.fits"] {
		t.Error("seed 2 gave the same image as seed 1")
	}
}

func TestSimulateCLI(t *testing.T) {
	code, out, _ := simRun(t, "simulate", "--help")
	if code != 0 {
		t.Fatalf("--help: exit %d", code)
	}
	for _, want := range []string{"tiny", "rsm-mini", "rsm ", "3408 images", "aartfaac-mini", "transient_max_steps", "--set", "steady_density", "rms_jy", "-workers"} {
		if !strings.Contains(out, want) {
			t.Errorf("--help does not mention %q", want)
		}
	}
	code, out, _ = simRun(t, "simulate", "--preset", "rsm", "--set", "bands=2", "--params")
	if code != 0 || !strings.Contains(out, "timesteps=142\n") || !strings.Contains(out, "rms_jy=0.053,0.038\n") {
		t.Errorf("--params: exit %d\n%s", code, out)
	}
	code, out, _ = simRun(t, "simulate", "--preset", "rsm", "--timesteps", "5", "--params")
	if code != 0 || !strings.Contains(out, "timesteps=5\n") {
		t.Errorf("--timesteps: exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"simulate", "--preset", "huge", t.TempDir()},
		{"simulate", "--set", "nope=1", t.TempDir()},
		{"simulate", "--set", "timesteps", t.TempDir()},
		{"simulate", "--set", "beams=9", t.TempDir()},
		{"simulate"},
	} {
		if code, _, errOut := simRun(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errOut)
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644)
	if code, _, errOut := simRun(t, "simulate", "--set", "timesteps=1", "--set", "bad_images=0", dir); code != 1 || !strings.Contains(errOut, "not empty") {
		t.Errorf("non-empty DIR: exit %d, %s", code, errOut)
	}
	if code, _, errOut := simRun(t, "simulate", "--set", "timesteps=1", "--set", "bad_images=0", "--force", dir); code != 0 {
		t.Errorf("--force: exit %d, %s", code, errOut)
	}
	// User sources from a file.
	src := filepath.Join(t.TempDir(), "src.csv")
	os.WriteFile(src, []byte("ra,dec,flux_jy,onset_step\n150,52.91,4,1\n"), 0o644)
	out2 := t.TempDir()
	if code, _, errOut := simRun(t, "simulate", "--quiet", "--sources", src, out2); code != 0 {
		t.Fatalf("--sources: exit %d, %s", code, errOut)
	}
	b, _ := os.ReadFile(filepath.Join(out2, "truth", "sources.csv"))
	if !strings.Contains(string(b), ",150.00000000,52.91000000,4,150000000,0.000000,2012-01-24T00:15:00Z,,") {
		t.Errorf("user transient not in sources.csv:\n%s", b)
	}
}

// TestSimulateCheck: "gotrap simulate --check" on source-free images
// with the Gaussian and the LOFAR-PSF noise reports their noise
// autocorrelation at 1 beam FWHM: 0.061 and 0.136 expected (sim's
// TestPSFNoise), within 0.035 (4 standard errors of a 512² image,
// sqrt(Σρ²/N) = 0.0085 for the PSF's wider correlation). A real image,
// when ../shared/data is present, gets a row too.
func TestSimulateCheck(t *testing.T) {
	rho := map[string]float64{}
	var files []string
	for _, psf := range []string{"gaussian", "lofar"} {
		dir := t.TempDir()
		code, out, errOut := simRun(t, "simulate", "--quiet", "--set", "noise_psf="+psf, "--set", "size=512", "--set", "bands=1",
			"--set", "timesteps=1", "--set", "steady_density=0", "--set", "variables=0", "--set", "transients=0",
			"--set", "bad_images=0", dir)
		if code != 0 {
			t.Fatalf("simulate: exit %d\n%s%s", code, out, errOut)
		}
		files = append(files, filepath.Join(dir, "images", "t0000_beam0_band0.fits"))
	}
	real := filepath.Join("..", "..", "..", "shared", "data", "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits")
	haveReal := false
	if _, err := os.Stat(real); err == nil {
		haveReal = true
		files = append(files, real)
	} else {
		t.Logf("no real image (%v): checking simulated images only", err)
	}
	code, out, errOut := simRun(t, append([]string{"simulate", "--check"}, files...)...)
	if code != 0 {
		t.Fatalf("--check: exit %d\n%s%s", code, out, errOut)
	}
	t.Logf("\n%s", out)
	for _, line := range strings.Split(out, "\n") {
		fs := strings.Fields(line)
		if len(fs) < 3 {
			continue
		}
		for i, f := range files {
			if strings.HasSuffix(f, strings.TrimPrefix(fs[0], "…")) {
				v, err := strconv.ParseFloat(fs[2], 64)
				if err != nil {
					t.Fatalf("rho1 %q: %v", fs[2], err)
				}
				rho[[]string{"gaussian", "lofar", "real"}[i]] = v
			}
		}
	}
	for k, want := range map[string]float64{"gaussian": 0.061, "lofar": 0.136} {
		if got, ok := rho[k]; !ok || math.Abs(got-want) > 0.035 {
			t.Errorf("%s noise: rho1 %v (found %v), want %.3f within 0.035", k, got, ok, want)
		}
	}
	if _, ok := rho["real"]; haveReal && !ok {
		t.Errorf("no row for the real image")
	}
}
