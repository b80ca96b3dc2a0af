package pipeline

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/pipeline/pipetest"
)

// readAll reads a Parquet file of records T.
func readAll[T any](t *testing.T, path string) []T {
	t.Helper()
	rows, err := readStaged[T](path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCompareRuns compares the catalogues of pairs of run directories
// (every table, rows sorted; the measurement parts of any number of
// ranks): GOTRAP_COMPARE="A1=B1,A2=B2". It checks runs made outside the
// test binary, such as the same data run by two versions of gotrap (the
// engine's oracle, docs/pipeline.md "Engine"). With
// GOTRAP_COMPARE_RMSQC=REL, the images' rms_qc may differ by REL relative
// (a change of its summation order, which the QC's decisions then show if
// it mattered); every other column must still be equal.
func TestCompareRuns(t *testing.T) {
	v := os.Getenv("GOTRAP_COMPARE")
	if v == "" {
		t.Skip("set GOTRAP_COMPARE=RUN_A=RUN_B[,...] to compare run directories")
	}
	for _, pair := range strings.Split(v, ",") {
		a, b, ok := strings.Cut(pair, "=")
		if !ok {
			t.Fatalf("GOTRAP_COMPARE: %q is not RUN_A=RUN_B", pair)
		}
		t.Run(pair, func(t *testing.T) {
			ca, cb := sortedCatalogue(t, a), sortedCatalogue(t, b)
			if rel := os.Getenv("GOTRAP_COMPARE_RMSQC"); rel != "" && len(ca.Images) == len(cb.Images) {
				tol, err := strconv.ParseFloat(rel, 64)
				if err != nil {
					t.Fatalf("GOTRAP_COMPARE_RMSQC: %v", err)
				}
				var worst float64
				differ := 0
				for i := range ca.Images {
					x, y := ca.Images[i].RMSQC, cb.Images[i].RMSQC
					if x == y || math.IsNaN(x) && math.IsNaN(y) {
						continue
					}
					differ++
					d := math.Abs(x-y) / math.Abs(x)
					worst = max(worst, d)
					if !(d <= tol) {
						t.Errorf("%s: image %d: rms_qc %.17g and %.17g", pair, ca.Images[i].ID, x, y)
					}
					cb.Images[i].RMSQC = x
				}
				t.Logf("%s: rms_qc differs in %d of %d images, by at most %.3g relative", pair, differ, len(ca.Images), worst)
			}
			if tol, ok := floatTolerance(t); ok {
				closeTables(t, pair, ca, cb, tol)
			} else {
				equalTables(t, pair, ca, cb)
			}
			// The tables outside pipetest.Catalogue, where present.
			for _, f := range []struct {
				name string
				cmp  func(a, b string)
			}{
				{TableAssocSkyRegions + ".parquet", func(x, y string) {
					cmpOrClose(t, pair+": assocskyrgn", readAll[assoc.AssocSkyRegion](t, x), readAll[assoc.AssocSkyRegion](t, y))
				}},
				{catalog.TableVarMetric + ".parquet", func(x, y string) {
					cmpOrClose(t, pair+": varmetric", readAll[catalog.VarMetric](t, x), readAll[catalog.VarMetric](t, y))
				}},
				{filepath.Join(catalog.TableAssociations, "backward-00000.parquet"), func(x, y string) {
					cmpOrClose(t, pair+": backward associations", readAll[catalog.Association](t, x), readAll[catalog.Association](t, y))
				}},
			} {
				x, y := filepath.Join(a, f.name), filepath.Join(b, f.name)
				_, ex := os.Stat(x)
				_, ey := os.Stat(y)
				switch {
				case ex == nil && ey == nil:
					f.cmp(x, y)
				case (ex == nil) != (ey == nil):
					t.Errorf("%s: %s in one run only", pair, f.name)
				}
			}
		})
	}
}

// floatTolerance returns GOTRAP_COMPARE_FLOAT and whether it is set.
func floatTolerance(t *testing.T) (float64, bool) {
	rel := os.Getenv("GOTRAP_COMPARE_FLOAT")
	if rel == "" {
		return 0, false
	}
	tol, err := strconv.ParseFloat(rel, 64)
	if err != nil {
		t.Fatalf("GOTRAP_COMPARE_FLOAT: %v", err)
	}
	return tol, true
}

// cmpOrClose is cmpRows, or closeRows under GOTRAP_COMPARE_FLOAT.
func cmpOrClose[T any](t *testing.T, what string, a, b []T) {
	t.Helper()
	if tol, ok := floatTolerance(t); ok {
		closeRows(t, what, a, b, tol)
		return
	}
	cmpRows(t, what, a, b)
}

// closeTables is equalTables with float columns compared to within rel of
// the column's largest magnitude (NaN equal to NaN) and each
// measurement's value to within 1e-6 of its error bar.
func closeTables(t *testing.T, what string, a, b *pipetest.Catalogue, rel float64) {
	t.Helper()
	closeRows(t, what+": images", a.Images, b.Images, rel)
	closeRows(t, what+": measurements", a.Measurements, b.Measurements, rel)
	closeRows(t, what+": associations", a.Associations, b.Associations, rel)
	closeRows(t, what+": runcat", a.Runcats, b.Runcats, rel)
	closeRows(t, what+": runcat_flux", a.Fluxes, b.Fluxes, rel)
	closeRows(t, what+": newsources", a.NewSources, b.NewSources, rel)
	closeRows(t, what+": skyregions", a.SkyRegions, b.SkyRegions, rel)
	closeRows(t, what+": bands", a.Bands, b.Bands, rel)
	closeRows(t, what+": limits", a.Limits, b.Limits, rel)
	if len(a.Measurements) != len(b.Measurements) {
		return
	}
	// A change far below the 1-sigma error is no change a user can see
	// (issue 18's rule for a kernel change that moves rounding).
	const ofErr = 1e-6
	worst := 0.0
	for r := range a.Measurements {
		x, y := reflect.ValueOf(a.Measurements[r]), reflect.ValueOf(b.Measurements[r])
		for _, pe := range [][2]string{{"RA", "RAFitErr"}, {"Decl", "DeclFitErr"}, {"FPeak", "FPeakErr"}, {"FInt", "FIntErr"},
			{"XPix", "XPixErr"}, {"YPix", "YPixErr"}, {"Smaj", "SmajErr"}, {"Smin", "SminErr"}, {"Theta", "ThetaErr"}} {
			d := math.Abs(x.FieldByName(pe[0]).Float() - y.FieldByName(pe[0]).Float())
			e := x.FieldByName(pe[1]).Float()
			if d == 0 || math.IsNaN(d) && math.IsNaN(e) {
				continue
			}
			if !(d <= ofErr*e) {
				t.Errorf("%s: measurement %d: %s moved by %g, error %g", what, a.Measurements[r].ID, pe[0], d, e)
				continue
			}
			worst = max(worst, d/e)
		}
	}
	t.Logf("%s: measurements' values moved by at most %.3g of their error bars", what, worst)
}

// closeRows compares rows of a struct type: float fields to within rel of
// the column's largest magnitude over both tables, the others exactly.
func closeRows[T any](t *testing.T, what string, a, b []T, rel float64) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d rows vs %d", what, len(a), len(b))
		return
	}
	if len(a) == 0 {
		return
	}
	typ := reflect.TypeFor[T]()
	nullFloat := reflect.TypeFor[sql.NullFloat64]()
	// float returns field i of v as a float and whether it is one (a
	// float, or a valid sql.NullFloat64).
	float := func(v reflect.Value, i int) (float64, bool) {
		f := v.Field(i)
		switch {
		case f.Kind() == reflect.Float64 || f.Kind() == reflect.Float32:
			return f.Float(), true
		case f.Type() == nullFloat && f.Interface().(sql.NullFloat64).Valid:
			return f.Interface().(sql.NullFloat64).Float64, true
		}
		return 0, false
	}
	scale := make([]float64, typ.NumField())
	for _, rows := range [][]T{a, b} {
		for r := range rows {
			v := reflect.ValueOf(rows[r])
			for i := range typ.NumField() {
				if p, ok := float(v, i); ok && math.Abs(p) <= math.MaxFloat64 {
					scale[i] = max(scale[i], math.Abs(p))
				}
			}
		}
	}
	differ, worst := 0, 0.0
	for r := range a {
		x, y := reflect.ValueOf(a[r]), reflect.ValueOf(b[r])
		for i := range typ.NumField() {
			f := typ.Field(i)
			p, okp := float(x, i)
			q, okq := float(y, i)
			if !okp || !okq {
				// Not floats (or a null): %v of anything but a float is
				// equal text for equal values.
				if p, q := fmt.Sprintf("%+v", x.Field(i).Interface()), fmt.Sprintf("%+v", y.Field(i).Interface()); p != q {
					t.Errorf("%s row %d: %s %s vs %s", what, r, f.Name, p, q)
				}
				continue
			}
			if p == q || math.IsNaN(p) && math.IsNaN(q) {
				continue
			}
			differ++
			d := math.Abs(p-q) / scale[i]
			if !(d <= rel) {
				t.Errorf("%s row %d: %s %.17g vs %.17g (%.3g of the column's scale)", what, r, f.Name, p, q, d)
				continue
			}
			worst = max(worst, d)
		}
	}
	if differ > 0 {
		t.Logf("%s: %d float values differ, by at most %.3g of their column's scale", what, differ, worst)
	}
}
