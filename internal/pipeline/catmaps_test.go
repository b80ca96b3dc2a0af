package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/testutil"
)

// TestCataloguesSelavyMaps: the real Selavy catalogue's image with its
// noise and mean maps beside it (epoch01.noiseMap.fits, .meanMap.fits)
// is measured with them: images.parquet's rms range lies within the
// noise map's values and differs from the run without the maps, whose
// rms range is gotrap's own estimate; forced fits use the maps (the same
// fits as a worker given them as supplied maps, other than without);
// an image with one map of the two, or a map of another size, is
// rejected naming the map.
func TestCataloguesSelavyMaps(t *testing.T) {
	src := filepath.Join(testutil.SharedData(t), "selavy")
	copyTo := func(dir string, names ...string) {
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(dir string) *pipetest.Catalogue {
		img := filepath.Join(dir, "epoch01.fits")
		out := filepath.Join(t.TempDir(), "run")
		if _, err := Run(context.Background(), Options{Run: out, Inputs: []string{img}, Config: testConfig(), Workers: 1,
			Catalogues: map[string]string{img: filepath.Join(dir, "epoch01.selavy.components.txt")}}); err != nil {
			t.Fatal(err)
		}
		return pipetest.ReadCatalogue(t, out)
	}
	with, without := t.TempDir(), t.TempDir()
	copyTo(with, "epoch01.fits", "epoch01.selavy.components.txt", "epoch01.noiseMap.fits", "epoch01.meanMap.fits")
	copyTo(without, "epoch01.fits", "epoch01.selavy.components.txt")
	a, b := run(with).Images[0], run(without).Images[0]
	noise, _, err := fitsimg.ReadImage(filepath.Join(src, "epoch01.noiseMap.fits"), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range noise.Pix {
		if v == v {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
	}
	if a.Rejected || b.Rejected || !(a.RMSMin >= lo && a.RMSMax <= hi) || a.RMSMin == b.RMSMin {
		t.Errorf("rms range with the maps [%v, %v] (noise map [%v, %v]), without [%v, %v]; rejected %v %v",
			a.RMSMin, a.RMSMax, lo, hi, b.RMSMin, b.RMSMax, a.Rejected, b.Rejected)
	}
	t.Logf("rms range with Selavy's maps [%.6g, %.6g] Jy/beam (noise map [%.6g, %.6g]); gotrap's own [%.6g, %.6g]", a.RMSMin, a.RMSMax, lo, hi, b.RMSMin, b.RMSMax)

	// Forced fits: fitPositions with the maps is a worker given them.
	img := filepath.Join(with, "epoch01.fits")
	meta, err := fitsimg.ReadMeta(img, fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pimg := &Image{ID: 1, Path: img, Meta: meta, Catalogue: filepath.Join(with, "epoch01.selavy.components.txt")}
	xopt := extract.Default()
	pos := [][2]float64{{149.983319, -30.016111}, {meta.CentreRA, meta.CentreDec}}
	var pool sync.Pool
	got, err := fitPositions(t.TempDir(), xopt, fitsimg.Options{}, &pool, pimg, pos, "test")
	if err != nil {
		t.Fatal(err)
	}
	o, err := pimg.withMaps(xopt)
	if err != nil {
		t.Fatal(err)
	}
	o.Positions = pos
	w, err := extract.NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	want, err := w.File(img)
	if err != nil {
		t.Fatal(err)
	}
	plain := *pimg
	plain.Catalogue = ""
	own, err := fitPositions(t.TempDir(), xopt, fitsimg.Options{}, &pool, &plain, pos, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Sources) != 2 || len(want.Sources) != 2 || len(own.Sources) != 2 {
		t.Fatalf("%d, %d and %d forced fits, want 2", len(got.Sources), len(want.Sources), len(own.Sources))
	}
	for k := range got.Sources {
		g, w, p := got.Sources[k], want.Sources[k], own.Sources[k]
		if g.Peak != w.Peak || g.PeakErr != w.PeakErr || g.PeakErr == p.PeakErr {
			t.Errorf("fit %d: peak %v +- %v with the maps, %v +- %v supplied, %v +- %v without", k, g.Peak, g.PeakErr, w.Peak, w.PeakErr, p.Peak, p.PeakErr)
		}
	}

	// One map of the two, and a map of another size: rejected.
	for _, c := range []struct {
		name, msg string
		setup     func(dir string)
	}{
		{"one map", "epoch01.meanMap.fits", func(dir string) { copyTo(dir, "epoch01.noiseMap.fits") }},
		{"size", "is 256 x 256 pixels, the image", func(dir string) {
			copyTo(dir, "epoch01.noiseMap.fits", "epoch01.meanMap.fits")
			// The image cropped to 255 x 256 would do; instead the map of
			// another image: the catalogue fixture's 64 x 64 field.
			b, err := os.ReadFile(filepath.Join(testutil.ProjectRoot(t), "internal", "catalogs", "testdata", "field.fits"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "epoch01.fits"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTo(dir, "epoch01.fits", "epoch01.selavy.components.txt")
			c.setup(dir)
			im := run(dir).Images[0]
			if !im.Rejected || !strings.Contains(im.RejectComment, c.msg) {
				t.Errorf("rejected %v: %q, want a rejection saying %q", im.Rejected, im.RejectComment, c.msg)
			}
		})
	}
}
