package catalogs

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gotrap/internal/catalogs/catalogstest"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// fieldSources extracts testdata/field.fits with the settings its
// generator used (testdata/gen.go) and returns the sources in the readers'
// order, (ra, dec), and the image's metadata.
func fieldSources(t *testing.T) ([]kernels.Source, *fitsimg.Meta) {
	t.Helper()
	o := extract.Default()
	o.Detect.BackSizeX, o.Detect.BackSizeY, o.Detect.Margin = 16, 16, 0
	w, err := extract.NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.File(filepath.Join("testdata", "field.fits"))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sources) != 5 {
		t.Fatalf("%d sources in field.fits, its generator found 5", len(r.Sources))
	}
	srcs := slices.Clone(r.Sources)
	slices.SortStableFunc(srcs, func(a, b kernels.Source) int {
		if a.RA != b.RA {
			return map[bool]int{true: -1, false: 1}[a.RA < b.RA]
		}
		return map[bool]int{true: -1, false: 1}[a.Dec < b.Dec]
	})
	return srcs, r.Meta
}

// TestFinderFixtures reads the Aegean and PyBDSF fixtures (CSV and FITS
// tables of gotrap's extraction of testdata/field.fits, written in the
// finders' documented columns and units by testdata/gen.go) and places
// them on the image: every row gives back the extracted source. The
// sky quantities were written with every digit (CSV: shortest exact
// decimal; FITS: IEEE doubles), so they agree to 1e-14 relative (a few
// roundings in the unit conversions, deg -> arcsec, FWHM -> HWHM); the
// pixel quantities Place computes with the image's WCS agree to 1e-6 px
// (the extraction's sky positions are themselves the WCS of its pixel
// positions: a round trip through SIN to float64 rounding, far below it).
// The pixel sizes and angles are not the extractor's own: Place turns the
// arcsec axes into pixels with the image's mean pixel size and the angle
// with the local north at the position, where the extractor converted
// the other way with PySE's local scale and north; over this 10' field
// at Dec -30 the SIN scale varies by ~1e-6 and north turns by
// dRA sin(dec) ~ 9e-4 rad, so sizes agree to 1e-5 relative and angles to
// 2e-3 rad (measured: 1.5e-6 and 1.1e-3).
func TestFinderFixtures(t *testing.T) {
	want, meta := fieldSources(t)
	for _, tc := range []struct {
		file   string
		format Format
	}{
		{"field_comp.csv", AegeanCSV},
		{"field_comp.fits", AegeanFITS},
		{"field.pybdsf.srl.csv", PyBDSFCSV},
		{"field.pybdsf.srl.fits", PyBDSFFITS},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c, err := Read(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != tc.format || len(c.Rows) != len(want) {
				t.Fatalf("format %s with %d rows, want %s with %d", c.Format, len(c.Rows), tc.format, len(want))
			}
			got, drops := Place(c, meta.WCS, meta.Naxis1, meta.Naxis2, meta.PixelScale)
			if len(drops) != 0 || len(got) != len(want) {
				t.Fatalf("%d placed, %d dropped (%+v), want %d placed", len(got), len(drops), drops, len(want))
			}
			for i := range got {
				g, w := &got[i], &want[i]
				sky := map[string][2]float64{
					"ra": {g.RA, w.RA}, "dec": {g.Dec, w.Dec}, "ra_err": {g.RAErr, w.RAErr}, "dec_err": {g.DecErr, w.DecErr},
					"peak": {g.Peak, w.Peak}, "peak_err": {g.PeakErr, w.PeakErr}, "flux": {g.Flux, w.Flux}, "flux_err": {g.FluxErr, w.FluxErr},
					"smaj_asec": {g.SmajAsec, w.SmajAsec}, "smin_asec": {g.SminAsec, w.SminAsec},
					"smaj_asec_err": {g.SmajAsecErr, w.SmajAsecErr}, "smin_asec_err": {g.SminAsecErr, w.SminAsecErr},
					"theta_celes": {g.ThetaCeles, w.ThetaCeles}, "theta_celes_err": {g.ThetaCelesErr, w.ThetaCelesErr},
					"sig": {g.Sig, w.Sig},
				}
				pixel := map[string][2]float64{"x": {g.X, w.X}, "y": {g.Y, w.Y}}
				sizes := map[string][2]float64{"smaj": {g.Smaj, w.Smaj}, "smin": {g.Smin, w.Smin}}
				if math.Abs(g.Theta-w.Theta) > 2e-3 {
					t.Errorf("row %d: theta = %.12g, extracted %.12g", i, g.Theta, w.Theta)
				}
				if tc.format == PyBDSFCSV || tc.format == PyBDSFFITS {
					sky["theta_dc_celes"] = [2]float64{g.ThetaDCCeles, w.ThetaDCCeles}
					sizes["smaj_dc"] = [2]float64{g.SmajDC, w.SmajDC}
					sizes["smin_dc"] = [2]float64{g.SminDC, w.SminDC}
				}
				for k, v := range sky {
					if !testutil.Close(v[0], v[1], 1e-300, 1e-14) {
						t.Errorf("row %d: %s = %.17g, extracted %.17g", i, k, v[0], v[1])
					}
				}
				for k, v := range pixel {
					if math.Abs(v[0]-v[1]) > 1e-6 {
						t.Errorf("row %d: %s = %.12g, extracted %.12g", i, k, v[0], v[1])
					}
				}
				for k, v := range sizes {
					if !testutil.Close(v[0], v[1], 1e-9, 1e-5) {
						t.Errorf("row %d: %s = %.12g, extracted %.12g", i, k, v[0], v[1])
					}
				}
				if g.Gaussian != w.Gaussian {
					t.Errorf("row %d: Gaussian %v, extracted %v", i, g.Gaussian, w.Gaussian)
				}
			}
		})
	}
}

// TestFinderRefusals: malformed Aegean and PyBDSF tables are refused with
// ErrFormat naming the file, the row and the column.
func TestFinderRefusals(t *testing.T) {
	want, _ := fieldSources(t)
	aeg := catalogstest.AegeanColumns(want[:2])
	pyb := catalogstest.PyBDSFColumns(want[:2], 10.0/3600)
	csvOf := func(cols []catalogstest.Column) string {
		var b bytes.Buffer
		if err := catalogstest.WriteAegeanCSV(&b, cols); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	edit := func(cols []catalogstest.Column, name string, f func(c *catalogstest.Column)) []catalogstest.Column {
		out := slices.Clone(cols)
		for i := range out {
			if out[i].Name == name {
				c := out[i]
				c.Floats, c.Strings = slices.Clone(c.Floats), slices.Clone(c.Strings)
				f(&c)
				out[i] = c
			}
		}
		return out
	}
	drop := func(cols []catalogstest.Column, name string) []catalogstest.Column {
		return slices.DeleteFunc(slices.Clone(cols), func(c catalogstest.Column) bool { return c.Name == name })
	}
	good := catalogstest.EncodeFITSTable(pyb)
	for _, tc := range []struct {
		name string
		data []byte
		msg  []string
	}{
		{"aegean-no-a", []byte(csvOf(drop(aeg, "a"))), []string{`missing column "a"`, "Aegean"}},
		{"aegean-nan-peak", []byte(csvOf(edit(aeg, "peak_flux", func(c *catalogstest.Column) { c.Floats[1] = math.NaN() }))), []string{"line 3, column peak_flux", "not a finite number"}},
		{"aegean-flags", []byte(strings.Replace(csvOf(aeg), ",0\n", ",x\n", 1)), []string{"line 2", "flags"}},
		{"aegean-axis", []byte(csvOf(edit(aeg, "b", func(c *catalogstest.Column) { c.Floats[0] = 0 }))), []string{"line 2, column a/b", "not positive"}},
		{"pybdsf-unit", catalogstest.EncodeFITSTable(edit(pyb, "Maj", func(c *catalogstest.Column) { c.Unit = "furlong" })), []string{"column maj", `unit "furlong"`}},
		{"pybdsf-code", catalogstest.EncodeFITSTable(edit(pyb, "S_Code", func(c *catalogstest.Column) { c.Strings[1] = "Q" })), []string{"row 2", "s_code"}},
		{"pybdsf-dec", catalogstest.EncodeFITSTable(edit(pyb, "DEC", func(c *catalogstest.Column) { c.Floats[0] = 91 })), []string{"row 1, column dec", "not a declination"}},
		{"pybdsf-truncated", good[:len(good)-2880], []string{"truncated"}},
		{"fits-image", mustRead(t, filepath.Join("testdata", "field.fits")), []string{"no binary table"}},
		{"fits-columns", catalogstest.EncodeFITSTable([]catalogstest.Column{{Name: "x", Floats: []float64{1}}}), []string{"neither Aegean's"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(tc.data), tc.name)
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v, want ErrFormat", err)
			}
			for _, m := range append(tc.msg, tc.name) {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFinderFixturesCurrent: the committed ASCII fixtures are what their
// generator (testdata/gen.go, through catalogstest's writers) writes from
// today's extraction of testdata/field.fits, byte for byte, so that a
// change of the extraction or of the writers that would change them is
// seen here rather than at the next regeneration.
func TestFinderFixturesCurrent(t *testing.T) {
	o := extract.Default()
	o.Detect.BackSizeX, o.Detect.BackSizeY, o.Detect.Margin = 16, 16, 0
	w, err := extract.NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	r, err := w.File(filepath.Join("testdata", "field.fits"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"field_comp.csv", func(b *bytes.Buffer) error {
			return catalogstest.WriteAegeanCSV(b, catalogstest.AegeanColumns(r.Sources))
		}},
		{"field.pybdsf.srl.csv", func(b *bytes.Buffer) error {
			return catalogstest.WritePyBDSFCSV(b, catalogstest.PyBDSFColumns(r.Sources, 10.0/3600), 150e6)
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("the generator would write %d bytes that differ from the committed %d; run go run ./internal/catalogs/testdata/gen.go and check the diff", b.Len(), len(want))
			}
		})
	}
}
