package pipeline

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
)

// TestCataloguesPySERoundTrip: the PySE CSV gotrap extract writes for
// each image, given back with --catalogues, gives the catalogue that
// extracting gives, table by table. The CSV keeps 12 significant digits
// (extract.WriteCSV), so floats agree to a relative 1e-9 (12 digits less
// the few the running means and variability sums lose) and 1e-12 absolute
// near zero; ids, links, types and counts are equal. Deblended and
// Blended are not CSV columns and are skipped.
func TestCataloguesPySERoundTrip(t *testing.T) {
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
	cats := map[string]string{}
	for i, in := range inputs {
		pix, meta, err := fitsimg.Read(in, fitsimg.Options{})
		if err != nil {
			continue // rejected (unreadable) in both runs
		}
		r, err := w.Image(pix, meta)
		if err != nil {
			continue // rejected in both runs
		}
		p := filepath.Join(dir, fmt.Sprintf("%d.csv", i))
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := extract.WriteCSV(f, r.Sources); err != nil {
			t.Fatal(err)
		}
		f.Close()
		cats[in] = p
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: 1, Catalogues: cats}); err != nil {
		t.Fatal(err)
	}
	ca, cb := pipetest.ReadCatalogue(t, ref), pipetest.ReadCatalogue(t, run)
	if len(ca.Measurements) == 0 {
		t.Fatal("the reference run has no measurements")
	}
	va, vb := reflect.ValueOf(*ca), reflect.ValueOf(*cb)
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Len() != fb.Len() {
			t.Errorf("%s: %d rows extracted, %d from the CSVs", name, fa.Len(), fb.Len())
			continue
		}
		for r := range fa.Len() {
			// Blind rows come from the CSV: 1e-10. Everything fitted
			// or averaged from them: 1e-6 (see the doc comment).
			rel := 1e-6
			if name == "Measurements" && fa.Index(r).FieldByName("ExtractType").Int() == catalog.ExtractBlind {
				rel = 1e-10
			}
			if d := rowDiff(fa.Index(r), fb.Index(r), rel, true); d != "" {
				t.Errorf("%s row %d: %s", name, r, d)
				break
			}
		}
	}
}

// TestCataloguesParquetRoundTrip: gotrap's own measurements Parquet (the
// extract stage's ID.blind.parquet, the layout of gotrap extract's
// STEM.parquet) given back with --catalogues gives the extracted
// catalogue. Parquet keeps every bit, but the deconvolved position angle
// is stored in radians and converted back to degrees and again to
// radians, so floats get 1e-12 relative (a few ulps of that conversion,
// then what forced fits from unchanged positions make of it: nothing).
func TestCataloguesParquetRoundTrip(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	ref := runDir(t, data, cfg, 1)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	cats := map[string]string{}
	for _, im := range pipetest.ReadCatalogue(t, ref).Images {
		if p := rundir.StagedPath(ref, StepExtract, im.ID, "blind.parquet"); !im.Rejected {
			cats[im.URL] = p
		}
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: 1, Catalogues: cats}); err != nil {
		t.Fatal(err)
	}
	ca, cb := pipetest.ReadCatalogue(t, ref), pipetest.ReadCatalogue(t, run)
	va, vb := reflect.ValueOf(*ca), reflect.ValueOf(*cb)
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Len() != fb.Len() {
			t.Errorf("%s: %d rows extracted, %d from the Parquet files", name, fa.Len(), fb.Len())
			continue
		}
		for r := range fa.Len() {
			if d := rowDiff(fa.Index(r), fb.Index(r), 1e-12, false); d != "" {
				t.Errorf("%s row %d: %s", name, r, d)
				break
			}
		}
	}
}

// rowDiff compares two records field by field (floats within the round
// trip's tolerance, see above); "" when equal.
func rowDiff(a, b reflect.Value, rel float64, skipFlags bool) string {
	for i := range a.NumField() {
		name := a.Type().Field(i).Name
		if skipFlags && (name == "Deblended" || name == "Blended") {
			continue
		}
		x, y := a.Field(i), b.Field(i)
		if x.Kind() == reflect.Float64 {
			p, q := x.Float(), y.Float()
			if !(p == q || math.IsNaN(p) && math.IsNaN(q) || testutil.Close(p, q, rel*1e-2, rel)) {
				return fmt.Sprintf("%s %v vs %v", name, p, q)
			}
			continue
		}
		if !reflect.DeepEqual(x.Interface(), y.Interface()) {
			return fmt.Sprintf("%s %v vs %v", name, x.Interface(), y.Interface())
		}
	}
	return ""
}

// TestCataloguesSelavy runs the real Selavy catalogue (CASDA CSV, with a
// row from another field) with its image: four blind measurements with
// the catalogue's fluxes in Jy, the other field's row listed in
// work/extract/ID.dropped.csv; then a broken copy of the catalogue
// rejects the image with a reason naming the file, line and column, and
// the run still finishes.
func TestCataloguesSelavy(t *testing.T) {
	dir := testutil.SharedData(t)
	img := filepath.Join(dir, "selavy", "epoch01.fits")
	cat := filepath.Join(dir, "selavy", "epoch01.selavy.components.csv")
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: []string{img}, Config: testConfig(), Workers: 1,
		Catalogues: map[string]string{img: cat}}); err != nil {
		t.Fatal(err)
	}
	c := pipetest.ReadCatalogue(t, run)
	var blind []catalog.Measurement
	for _, m := range c.Measurements {
		if m.ExtractType == catalog.ExtractBlind {
			blind = append(blind, m)
		}
	}
	if len(c.Images) != 1 || c.Images[0].Rejected || len(blind) != 4 {
		t.Fatalf("%d images (rejected %v), %d blind measurements; want 1 accepted, 4", len(c.Images), c.Images[0].Rejected, len(blind))
	}
	// Sorted by RA: island_3 first (flux_peak 1998.241478 mJy/beam).
	// 1e-12 relative: the mJy -> Jy scaling's rounding.
	if m := blind[0]; !testutil.Close(m.FPeak, 1.998241478, 0, 1e-12) || !testutil.Close(m.RA, 149.983319, 0, 1e-12) ||
		m.ID != catalog.MeasurementID(1, 0) {
		t.Errorf("first measurement id %d ra %v f_peak %v, want id %d, 149.983319, 1.998241478", m.ID, m.RA, m.FPeak, catalog.MeasurementID(1, 0))
	}
	// Selavy against gotrap's own extraction of the same image: the same
	// four sources at the same positions (1e-5 deg: the catalogue's 1e-6
	// deg digits plus two fits of the same pixels), peaks within 0.5%
	// (observed 0.16%: the finders' background estimates differ) and
	// semi-axes within 0.05" (Selavy's FWHM halved; 0.01" digits).
	ext := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: ext, Inputs: []string{img}, Config: testConfig(), Workers: 1}); err != nil {
		t.Fatal(err)
	}
	var own []catalog.Measurement
	for _, m := range pipetest.ReadCatalogue(t, ext).Measurements {
		if m.ExtractType == catalog.ExtractBlind {
			own = append(own, m)
		}
	}
	slices.SortFunc(own, func(a, b catalog.Measurement) int { return cmp.Compare(a.RA, b.RA) })
	if len(own) != len(blind) {
		t.Fatalf("gotrap extracts %d sources, Selavy lists %d", len(own), len(blind))
	}
	for i, m := range blind {
		o := own[i]
		if !testutil.Close(m.RA, o.RA, 1e-5, 0) || !testutil.Close(m.Decl, o.Decl, 1e-5, 0) ||
			!testutil.Close(m.FPeak, o.FPeak, 0, 5e-3) || !testutil.Close(m.SemiMajor, o.SemiMajor, 0.05, 0) ||
			!testutil.Close(m.SemiMinor, o.SemiMinor, 0.05, 0) {
			t.Errorf("source %d: Selavy (%v, %v) %v Jy/beam %v\" x %v\", gotrap (%v, %v) %v Jy/beam %v\" x %v\"", i,
				m.RA, m.Decl, m.FPeak, m.SemiMajor, m.SemiMinor, o.RA, o.Decl, o.FPeak, o.SemiMajor, o.SemiMinor)
		}
	}

	f, err := os.Open(rundir.StagedPath(run, StepExtract, 1, droppedSuffix))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][1] != "2" || rows[1][2] != "SB11711_component_9b" || !strings.HasPrefix(rows[1][5], "outside the image") {
		t.Errorf("dropped.csv %q, want the header and line 2 SB11711_component_9b outside the image", rows)
	}

	// A broken copy: a flux that is not a number on line 3.
	b, err := os.ReadFile(cat)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(b), "2002.257017", "2002.2x7017", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	run2 := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run2, Inputs: []string{img}, Config: testConfig(), Workers: 1,
		Catalogues: map[string]string{img: bad}}); err != nil {
		t.Fatal(err)
	}
	c2 := pipetest.ReadCatalogue(t, run2)
	want := bad + ": line 3, column flux_peak"
	if im := c2.Images[0]; !im.Rejected || im.RejectReason.Int64 != catalog.RejectReadError || !strings.Contains(im.RejectComment, want) {
		t.Errorf("image rejected %v reason %v %q, want reason %d containing %q", im.Rejected, im.RejectReason, im.RejectComment, catalog.RejectReadError, want)
	}
}
