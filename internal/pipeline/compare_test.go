package pipeline

import (
	"os"
	"path/filepath"
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
// engine's oracle, docs/pipeline.md "Engine").
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
			equalTables(t, pair, sortedCatalogue(t, a), sortedCatalogue(t, b))
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
