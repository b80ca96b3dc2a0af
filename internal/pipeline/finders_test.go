package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/catalogs/catalogstest"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/testutil"
	"gotrap/kernels/sphere"
)

// TestCataloguesFinders runs the tiny preset on Aegean and PyBDSF
// catalogues: gotrap's extraction of each image written as Aegean's CSV
// component table (STEM_comp.csv) for even images and PyBDSF's FITS
// source list (STEM.pybdsf.srl.fits) for odd ones, paired by
// CataloguesBeside's names. The run gives the extracting run's catalogue
// up to the order of each image's rows (the finders' rows are sorted by
// sky position, so measurement ids are permuted): the same images
// accepted and rejected, the same blind measurements (sky quantities to
// 1e-12 relative: every digit was written, then a few unit conversions),
// and the same runcats and new sources. The runcats' positions are
// weighted means whose weights come from each measurement's error radius,
// which neither finder gives: the readers take the larger position error
// (docs/inputs.md), where the extractor computes PySE's error ellipse; so
// positions move, by at most a tenth of the runcat's position uncertainty
// (measured: 0.064).
func TestCataloguesFinders(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	ref := runDir(t, data, cfg, 1)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	xopt, err := extract.FromConfig(cfg.Extraction)
	if err != nil {
		t.Fatal(err)
	}
	w, err := extract.NewWorker(xopt)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var links []string
	for i, in := range inputs {
		link := filepath.Join(dir, filepath.Base(in))
		if err := os.Symlink(in, link); err != nil {
			t.Fatal(err)
		}
		links = append(links, link)
		pix, meta, err := fitsimg.Read(in, fitsimg.Options{})
		if err != nil {
			continue // rejected in both runs
		}
		r, err := w.Image(pix, meta)
		if err != nil {
			continue
		}
		stem := strings.TrimSuffix(link, ".fits")
		var b []byte
		if i%2 == 0 {
			var buf bytes.Buffer
			if err := catalogstest.WriteAegeanCSV(&buf, catalogstest.AegeanColumns(r.Sources)); err != nil {
				t.Fatal(err)
			}
			b, stem = buf.Bytes(), stem+"_comp.csv"
		} else {
			b, stem = catalogstest.EncodeFITSTable(catalogstest.PyBDSFColumns(r.Sources, meta.PixelScale)), stem+".pybdsf.srl.fits"
		}
		if err := os.WriteFile(stem, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cats := CataloguesBeside(links)
	if len(cats) < len(links)-1 {
		t.Fatalf("CataloguesBeside paired %d of %d images", len(cats), len(links))
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: links, Config: cfg, Workers: 1, Catalogues: cats}); err != nil {
		t.Fatal(err)
	}
	ca, cb := pipetest.ReadCatalogue(t, ref), pipetest.ReadCatalogue(t, run)
	if len(ca.Images) != len(cb.Images) {
		t.Fatalf("%d images vs %d", len(ca.Images), len(cb.Images))
	}
	for i := range ca.Images {
		if a, b := ca.Images[i], cb.Images[i]; a.Rejected != b.Rejected {
			t.Errorf("image %d: rejected %v extracting, %v from its catalogue (%s)", a.ID, a.Rejected, b.Rejected, b.RejectComment)
		}
	}
	blind := func(c *pipetest.Catalogue) map[int64][]catalog.Measurement {
		out := map[int64][]catalog.Measurement{}
		for _, m := range c.Measurements {
			if m.ExtractType == catalog.ExtractBlind {
				out[m.Image] = append(out[m.Image], m)
			}
		}
		for _, ms := range out {
			slices.SortFunc(ms, func(a, b catalog.Measurement) int {
				return cmp.Or(cmp.Compare(a.RA, b.RA), cmp.Compare(a.Decl, b.Decl))
			})
		}
		return out
	}
	ba, bb := blind(ca), blind(cb)
	n := 0
	for img, ms := range ba {
		if len(bb[img]) != len(ms) {
			t.Errorf("image %d: %d blind measurements extracted, %d from the catalogue", img, len(ms), len(bb[img]))
			continue
		}
		for k, a := range ms {
			b := bb[img][k]
			for name, v := range map[string][2]float64{"ra": {a.RA, b.RA}, "decl": {a.Decl, b.Decl}, "f_peak": {a.FPeak, b.FPeak},
				"f_int": {a.FInt, b.FInt}, "f_peak_err": {a.FPeakErr, b.FPeakErr}, "ra_err": {a.RAErr, b.RAErr}, "semimajor": {a.SemiMajor, b.SemiMajor}} {
				if !testutil.Close(v[0], v[1], 1e-300, 1e-12) {
					t.Errorf("image %d row %d: %s %.17g vs %.17g", img, k, name, v[0], v[1])
				}
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no blind measurements compared")
	}
	rc := func(c *pipetest.Catalogue) []catalog.Runcat {
		r := slices.Clone(c.Runcats)
		slices.SortFunc(r, func(a, b catalog.Runcat) int {
			return cmp.Or(cmp.Compare(a.WmRA, b.WmRA), cmp.Compare(a.WmDecl, b.WmDecl))
		})
		return r
	}
	ra, rb := rc(ca), rc(cb)
	if len(ra) != len(rb) || len(ca.NewSources) != len(cb.NewSources) || len(ca.Measurements) != len(cb.Measurements) {
		t.Fatalf("runcats %d vs %d, new sources %d vs %d, measurements %d vs %d",
			len(ra), len(rb), len(ca.NewSources), len(cb.NewSources), len(ca.Measurements), len(cb.Measurements))
	}
	worst := 0.0
	for i := range ra {
		a, b := &ra[i], &rb[i]
		d := sphere.Sep(a.WmRA, a.WmDecl, b.WmRA, b.WmDecl) / math.Hypot(a.WmUncertEW, a.WmUncertNS)
		worst = max(worst, d)
		if d > 0.1 || a.Datapoints != b.Datapoints {
			t.Errorf("runcat %d: (%v, %v) %d points vs (%v, %v) %d: %.3g of the uncertainty apart", i, a.WmRA, a.WmDecl, a.Datapoints, b.WmRA, b.WmDecl, b.Datapoints, d)
		}
	}
	t.Logf("%d blind measurements, %d runcats (positions apart by at most %.3g of their uncertainty), %d new sources", n, len(rb), worst, len(cb.NewSources))
}
