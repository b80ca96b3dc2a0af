package pipeline

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
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
			equalTables(t, pair, ca, cb)
			// The tables outside pipetest.Catalogue, where present.
			for _, f := range []struct {
				name string
				cmp  func(a, b string)
			}{
				{TableAssocSkyRegions + ".parquet", func(x, y string) {
					cmpRows(t, pair+": assocskyrgn", readAll[assoc.AssocSkyRegion](t, x), readAll[assoc.AssocSkyRegion](t, y))
				}},
				{catalog.TableVarMetric + ".parquet", func(x, y string) {
					cmpRows(t, pair+": varmetric", readAll[catalog.VarMetric](t, x), readAll[catalog.VarMetric](t, y))
				}},
				{filepath.Join(catalog.TableAssociations, "backward-00000.parquet"), func(x, y string) {
					cmpRows(t, pair+": backward associations", readAll[catalog.Association](t, x), readAll[catalog.Association](t, y))
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
