//go:build ignore

// gen writes the fixtures of the Aegean and PyBDSF readers into
// internal/catalogs/testdata (run from the repository root:
// go run ./internal/catalogs/testdata/gen.go): field.fits, a 64 x 64 image
// (10" pixels, SIN at RA 150, Dec -30, beam 40" x 30" at 20 deg, 150 MHz)
// of seeded white noise (rms 1 mJy/beam) and five Gaussian sources, one of
// them resolved; then gotrap's extraction of it written in Aegean's
// component table (field_comp.csv, field_comp.fits) and PyBDSF's source
// list (field.pybdsf.srl.csv, field.pybdsf.srl.fits) with the columns and
// units the finders document (internal/catalogs/catalogstest). The files
// are written by gotrap, not by Aegean or PyBDSF.
package main

import (
	"bytes"
	"image"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"gotrap/internal/catalogs/catalogstest"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/kernels"
)

func main() {
	dir := filepath.Join("internal", "catalogs", "testdata")
	const n, pix, rms = 64, 10.0 / 3600, 0.001
	img, err := kernels.NewImage(image.Rect(0, 0, n, n))
	if err != nil {
		log.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(19, 3))
	for i := range img.Pix {
		img.Pix[i] = float32(rms * rng.NormFloat64())
	}
	// The beam in pixels: FWHM 40" x 30" -> half widths 2 x 1.5 px.
	beam := kernels.Beam{A: 2, B: 1.5, Theta: 20 * math.Pi / 180}
	for _, s := range []struct{ x, y, peak, a, b float64 }{
		{15.3, 18.7, 0.05, 2, 1.5}, {44.1, 12.2, 0.02, 2, 1.5}, {30.6, 33.4, 0.1, 3.5, 2.2},
		{12.8, 50.5, 0.015, 2, 1.5}, {50.2, 47.9, 0.03, 2, 1.5},
	} {
		shape := beam
		shape.A, shape.B = s.a, s.b
		sim.PaintGaussian(img, s.x, s.y, s.peak, shape)
	}
	h := fitsimg.NewHeader()
	for _, c := range []struct {
		k string
		v any
	}{
		{"CTYPE1", "RA---SIN"}, {"CRVAL1", 150.0}, {"CRPIX1", 33.0}, {"CDELT1", -pix}, {"CUNIT1", "deg"},
		{"CTYPE2", "DEC--SIN"}, {"CRVAL2", -30.0}, {"CRPIX2", 33.0}, {"CDELT2", pix}, {"CUNIT2", "deg"},
		{"CTYPE3", "FREQ"}, {"CRVAL3", 150e6}, {"CDELT3", 1e6}, {"CRPIX3", 1.0}, {"CUNIT3", "Hz"},
		{"BMAJ", 40.0 / 3600}, {"BMIN", 30.0 / 3600}, {"BPA", 20.0}, {"BUNIT", "JY/BEAM"},
		{"DATE-OBS", "2020-01-01T00:00:00"}, {"TELESCOP", "gotrap-test"},
		{"EQUINOX", 2000.0}, {"RADESYS", "FK5"},
	} {
		h.Set(c.k, c.v, "")
	}
	path := filepath.Join(dir, "field.fits")
	if err := fitsimg.WriteFile(path, img, h); err != nil {
		log.Fatal(err)
	}
	// The extraction settings of TestFinderFixtures: background cells of
	// 16 px (two along each axis at least), no masked margin.
	o := extract.Default()
	o.Detect.BackSizeX, o.Detect.BackSizeY, o.Detect.Margin = 16, 16, 0
	w, err := extract.NewWorker(o)
	if err != nil {
		log.Fatal(err)
	}
	r, err := w.File(path)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d sources (%v)", len(r.Sources), r.Outcome)
	aeg := catalogstest.AegeanColumns(r.Sources)
	pyb := catalogstest.PyBDSFColumns(r.Sources, pix)
	var b bytes.Buffer
	if err := catalogstest.WriteAegeanCSV(&b, aeg); err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(dir, "field_comp.csv"), b.Bytes())
	write(filepath.Join(dir, "field_comp.fits"), catalogstest.EncodeFITSTable(aeg))
	b.Reset()
	if err := catalogstest.WritePyBDSFCSV(&b, pyb, 150e6); err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(dir, "field.pybdsf.srl.csv"), b.Bytes())
	write(filepath.Join(dir, "field.pybdsf.srl.fits"), catalogstest.EncodeFITSTable(pyb, "FREQ0", 150e6, "EQUINOX", 2000.0))
}

func write(path string, b []byte) {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		log.Fatal(err)
	}
}
