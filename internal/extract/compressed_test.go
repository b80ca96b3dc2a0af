package extract

import (
	"bytes"
	"compress/gzip"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"

	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// extractPath extracts path with o.
func extractPath(t *testing.T, o Options, path string) *Result {
	t.Helper()
	w, err := NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.File(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sameSources reports whether two catalogues are identical, field by
// field (NaN equal to NaN).
func sameSources(a, b []kernels.Source) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := reflect.ValueOf(a[i]), reflect.ValueOf(b[i])
		for k := range x.NumField() {
			if x.Field(k).Kind() == reflect.Float64 {
				if math.Float64bits(x.Field(k).Float()) != math.Float64bits(y.Field(k).Float()) {
					return false
				}
			} else if !reflect.DeepEqual(x.Field(k).Interface(), y.Field(k).Interface()) {
				return false
			}
		}
	}
	return true
}

// TestCompressedLosslessCatalogue: a gzip copy and a lossless
// tile-compressed copy give exactly the catalogue of the uncompressed
// file (same pixels, same header, so every field is equal).
func TestCompressedLosslessCatalogue(t *testing.T) {
	fz := filepath.Join(testutil.ProjectRoot(t), "testdata", "fz")
	o := pyseOptions(5, 16) // a 60 x 44 image: small background cells
	want := extractPath(t, o, filepath.Join(fz, "noise.fits"))
	if len(want.Sources) == 0 {
		t.Fatal("noise.fits: no source")
	}
	for _, p := range []string{"noise.fits.gz", "f32-lossless.fits.fz"} {
		got := extractPath(t, o, filepath.Join(fz, p))
		if !sameSources(got.Sources, want.Sources) {
			t.Errorf("%s: catalogue differs:\n%+v\nwant\n%+v", p, got.Sources, want.Sources)
		}
	}
	// The real SWIFT image, gzipped here.
	src := testutil.SharedFile(t, "SWIFT_554620-130504.fits")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	gz := filepath.Join(t.TempDir(), "swift.fits.gz")
	if err := os.WriteFile(gz, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	o = pyseOptions(5, 32)
	if got, want := extractPath(t, o, gz), extractPath(t, o, src); len(want.Sources) != 3 || !sameSources(got.Sources, want.Sources) {
		t.Errorf("SWIFT.gz: %d sources, FITS %d (want 3, identical)", len(got.Sources), len(want.Sources))
	}
}

// quantTol is the agreement required between the catalogues of a float
// image and its quantised copy, in units of each value's own error bar.
// fpack's default quantisation (q = 4) spaces the levels by a quarter of
// the background noise sigma, and dithering makes the quantisation error
// uniform and independent: its rms is sigma / (4 sqrt 12) = 0.072 sigma,
// 7% of the pixel noise. A fitted value moves by about 7% of its error
// bar; half its error bar is a bound about 7 times that typical shift.
const quantTol = 0.5

// compareQuantised requires the same sources within quantTol of their
// error bars.
func compareQuantised(t *testing.T, name string, got, want *Result) {
	t.Helper()
	if len(got.Sources) != len(want.Sources) || len(want.Sources) == 0 {
		t.Fatalf("%s: %d sources, uncompressed %d", name, len(got.Sources), len(want.Sources))
	}
	worst := 0.0
	for i := range want.Sources {
		g, w := got.Sources[i], want.Sources[i]
		cosd := math.Cos(w.Dec * math.Pi / 180)
		for _, c := range []struct {
			what      string
			diff, err float64
		}{
			{"peak", g.Peak - w.Peak, w.PeakErr},
			{"flux", g.Flux - w.Flux, w.FluxErr},
			{"ra", math.Remainder(g.RA-w.RA, 360) * cosd, w.RAErr * cosd},
			{"dec", g.Dec - w.Dec, w.DecErr},
			{"smaj", g.Smaj - w.Smaj, w.SmajErr},
		} {
			r := math.Abs(c.diff) / c.err
			worst = math.Max(worst, r)
			if !(r <= quantTol) {
				t.Errorf("%s source %d %s: differs by %.3g of its error", name, i, c.what, r)
			}
		}
	}
	t.Logf("%s: %d sources; largest difference %.3g of the error bar", name, len(want.Sources), worst)
}

// TestQuantisedCatalogue: fpack-quantised copies (RICE, q 4,
// SUBTRACTIVE_DITHER_1) give the catalogue of the original within
// quantTol: the committed copy of the GRB201006A cutout, and, when fpack
// is installed, the SWIFT image packed here.
func TestQuantisedCatalogue(t *testing.T) {
	data := testutil.SharedData(t)
	fz := filepath.Join(testutil.ProjectRoot(t), "testdata", "fz", "grb-rice.fits.fz")
	o := Default()
	compareQuantised(t, "GRB201006A cutout", extractPath(t, o, fz),
		extractPath(t, o, filepath.Join(data, "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits")))
	fpack, err := exec.LookPath("fpack")
	if err != nil {
		t.Log("fpack not installed (Debian libcfitsio-bin): SWIFT not packed here; the committed fixture was compared")
		return
	}
	out := filepath.Join(t.TempDir(), "swift.fits.fz")
	src := filepath.Join(data, "SWIFT_554620-130504.fits")
	if b, err := exec.Command(fpack, "-r", "-q11", "4", "-O", out, src).CombinedOutput(); err != nil {
		t.Fatalf("fpack: %v: %s", err, b)
	}
	compareQuantised(t, "SWIFT", extractPath(t, pyseOptions(5, 32), out), extractPath(t, pyseOptions(5, 32), src))
}
