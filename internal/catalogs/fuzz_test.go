package catalogs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/extract"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// FuzzParse feeds arbitrary bytes to the catalogue reader: it must not
// panic, must fail only with ErrFormat, and every row it returns must have
// a position on the sky. Seeds: the real Selavy files when ../shared/data
// is present, a PySE CSV, a gotrap Parquet file and small hand-made tables.
func FuzzParse(f *testing.F) {
	dir := filepath.Join(testutil.ProjectRoot(f), "..", "shared", "data", "selavy")
	for _, n := range []string{"epoch01.selavy.components.txt", "epoch01.selavy.components.csv", "epoch01.selavy.components.xml"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b)
		}
	}
	var b bytes.Buffer
	if err := extract.WriteCSV(&b, []kernels.Source{{ID: 0, Peak: 1, RA: 10, Dec: -30, ReducedChisq: 1}, {ID: 1, RA: 359.9, Dec: 89}}); err != nil {
		f.Fatal(err)
	}
	f.Add(b.Bytes())
	pq := filepath.Join(f.TempDir(), "m.parquet")
	if err := catalog.WriteFile(pq, []catalog.Measurement{{ID: 1, RA: 150, Decl: -30}}); err != nil {
		f.Fatal(err)
	}
	if b, err := os.ReadFile(pq); err == nil {
		f.Add(b)
	}
	f.Add([]byte("ra_deg_cont,dec_deg_cont,ra_err,dec_err,flux_peak,flux_peak_err,flux_int,flux_int_err,maj_axis,min_axis,pos_ang\n150,-30,0,0,1,1,1,1,15,10,0\n"))
	f.Add([]byte(`<VOTABLE><RESOURCE><TABLE><FIELD name="ra_deg_cont" unit="deg"/><DATA><TABLEDATA><TR><TD>1</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`))
	f.Add([]byte("# island_id ra_deg_cont\n#        --       [deg]\n i 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		for _, r := range c.Rows {
			if !finite(r.Src.RA) || !finite(r.Src.Dec) || r.Src.Dec < -90 || r.Src.Dec > 90 {
				t.Fatalf("line %d: position (%v, %v) not on the sky", r.Line, r.Src.RA, r.Src.Dec)
			}
		}
	})
}

// fuzzParse is the property of every catalogue fuzz target: no panic, an
// error only with ErrFormat, and every row returned on the sky with
// positive axes.
func fuzzParse(t *testing.T, data []byte) {
	c, err := Parse(bytes.NewReader(data), "fuzz")
	if err != nil {
		if !errors.Is(err, ErrFormat) {
			t.Fatalf("error %v is not ErrFormat", err)
		}
		return
	}
	for _, r := range c.Rows {
		if !finite(r.Src.RA) || !finite(r.Src.Dec) || r.Src.Dec < -90 || r.Src.Dec > 90 {
			t.Fatalf("line %d: position (%v, %v) not on the sky", r.Line, r.Src.RA, r.Src.Dec)
		}
		if (c.Format != PySECSV && c.Format != GotrapParquet) && !(r.Src.SmajAsec > 0 && r.Src.SminAsec > 0) {
			t.Fatalf("line %d: axes %v, %v not positive", r.Line, r.Src.SmajAsec, r.Src.SminAsec)
		}
	}
}

// FuzzAegean feeds mutations of Aegean's component tables (the CSV and
// FITS fixtures) to the catalogue reader.
func FuzzAegean(f *testing.F) {
	for _, n := range []string{"field_comp.csv", "field_comp.fits"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(fuzzParse)
}

// FuzzPyBDSF feeds mutations of PyBDSF's source lists (the ASCII and FITS
// fixtures: also the FITS binary-table reader) to the catalogue reader.
func FuzzPyBDSF(f *testing.F) {
	for _, n := range []string{"field.pybdsf.srl.csv", "field.pybdsf.srl.fits"} {
		if b, err := os.ReadFile(filepath.Join("testdata", n)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(fuzzParse)
}
