package catalog

import (
	"encoding/csv"
	"encoding/gob"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The files in testdata/arrowgo were written by gotrap before it had a
// Parquet writer of its own (arrow-go's pqarrow: dictionary-encoded
// strings, several data pages, zstd); testdata/arrowgo/gen.go says how.
// Runs resumed or appended across the upgrade read such files.

func readFixture[T any](t *testing.T, name string) []T {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "arrowgo", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := Read[T](f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rows
}

func readGob[T any](t *testing.T, name string) []T {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "arrowgo", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []T
	if err := gob.NewDecoder(f).Decode(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestReadArrowGoFiles reads arrow-go's files: the generated ones (5 row
// groups, every column kind, NaN, infinities, nulls, repeated strings)
// give exactly the records gen.go wrote; ReadEach gives them too, in
// batches that cross row groups; the binary's files read whole.
func TestReadArrowGoFiles(t *testing.T) {
	t.Run("images", func(t *testing.T) {
		got, want := readFixture[Image](t, "images.parquet"), readGob[Image](t, "images.gob")
		if d := diffRecords(got, want); d != "" {
			t.Error(d)
		}
	})
	t.Run("varmetric", func(t *testing.T) {
		got, want := readFixture[VarMetric](t, "varmetric.parquet"), readGob[VarMetric](t, "varmetric.gob")
		if d := diffRecords(got, want); d != "" {
			t.Error(d)
		}
		f, err := os.Open(filepath.Join("testdata", "arrowgo", "varmetric.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var each []VarMetric
		if err := ReadEach(f, 7, func(b []VarMetric) error { each = append(each, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		if d := diffRecords(each, want); d != "" {
			t.Errorf("ReadEach: %s", d)
		}
	})
	t.Run("run", func(t *testing.T) {
		ims := readFixture[Image](t, "run-images.parquet")
		if len(ims) != 3 || !strings.HasSuffix(ims[0].URL, "GRB120422A-120429.fits") || ims[0].NX != 512 {
			t.Errorf("images: %d rows, first %+v", len(ims), ims[0])
		}
		vm := readFixture[VarMetric](t, "run-varmetric.parquet")
		if len(vm) != 2 || vm[0].NPoints != 1 || vm[0].SigmaRMSMin.Valid {
			t.Errorf("varmetric: %+v", vm)
		}
	})
	t.Run("extract", func(t *testing.T) {
		ms := readFixture[Measurement](t, "extract.parquet")
		// The CSV the same run wrote: 12 significant digits, so a
		// relative difference of at most 5e-12.
		f, err := os.Open(filepath.Join("testdata", "arrowgo", "extract.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(recs)-1 {
			t.Fatalf("%d measurements, the CSV has %d", len(ms), len(recs)-1)
		}
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		for i, m := range ms {
			for name, v := range map[string]float64{"peak": m.FPeak, "flux": m.FInt, "x": m.XPix, "ra": m.RA, "dec": m.Decl, "error_radius": m.ErrRadius} {
				c, err := strconv.ParseFloat(recs[i+1][col[name]], 64)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(c-v) > 5e-12*math.Abs(v) {
					t.Errorf("source %d %s: parquet %.17g, CSV %.17g", i, name, v, c)
				}
			}
		}
	})
}
