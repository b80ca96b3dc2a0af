package pipeline

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gotrap/catalog"
	"gotrap/internal/catalogs"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

// droppedSuffix names the staged list of an image's catalogue rows left
// out of the run (RUN/work/extract/ID.dropped.csv; docs/inputs.md).
const droppedSuffix = "dropped.csv"

// catalogueMeasurements replaces detection and measurement of an image by
// its catalogue (gotrap run --catalogues): the rows of the file at path
// that lie on the image, in the reader's order, with the systematic
// errors of the extraction settings, as blind measurements with ids
// MeasurementID(image, row). The rows left out are returned as the
// contents of ID.dropped.csv (nil when none). A catalogue that cannot be
// read is an error naming the file, line and column: the image is then
// rejected.
func catalogueMeasurements(path string, id int64, meta *fitsimg.Meta, opt extract.Options) ([]catalog.Measurement, []byte, error) {
	c, err := catalogs.Read(path)
	if err != nil {
		return nil, nil, err
	}
	if meta.WCS == nil || len(meta.Axes) < 2 {
		return nil, nil, fmt.Errorf("pipeline: %s: the image has no celestial WCS to place the catalogue", meta.Path)
	}
	srcs, drops := catalogs.Place(c, meta.WCS, meta.Axes[0], meta.Axes[1], meta.PixelScale)
	for i := range srcs {
		setSysErr(&srcs[i], opt)
	}
	ms := extract.Measurements(nil, id, srcs, catalog.ExtractBlind)
	if len(drops) == 0 {
		return ms, nil, nil
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"catalogue", "line", "component", "ra", "dec", "reason"})
	for _, d := range drops {
		w.Write([]string{path, strconv.Itoa(d.Line), d.Component,
			strconv.FormatFloat(d.RA, 'g', -1, 64), strconv.FormatFloat(d.Dec, 'g', -1, 64), d.Reason})
	}
	w.Flush()
	return ms, b.Bytes(), w.Error()
}

// setSysErr gives a catalogue source the systematic position errors the
// extractor gives its own (SPEC 5.1).
func setSysErr(s *kernels.Source, opt extract.Options) {
	s.EwSysErr, s.NsSysErr = opt.Measure.EwSysErr, opt.Measure.NsSysErr
}

// ReadCatalogueList reads a --catalogues list: one "IMAGE CATALOGUE" pair
// a line, separated by white space (blank lines and lines starting with
// '#' skipped; relative paths relative to the list's directory). It
// returns the images in list order and the map image -> catalogue.
func ReadCatalogueList(path string) ([]string, map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: catalogue list: %w", err)
	}
	dir := filepath.Dir(path)
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var images []string
	cats := map[string]string{}
	for n, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, nil, fmt.Errorf("pipeline: catalogue list %s: line %d: %d fields, want IMAGE CATALOGUE", path, n+1, len(f))
		}
		img, cat := abs(f[0]), abs(f[1])
		if _, dup := cats[img]; dup {
			return nil, nil, fmt.Errorf("pipeline: catalogue list %s: line %d: image %s listed twice", path, n+1, img)
		}
		if _, err := os.Stat(cat); err != nil {
			return nil, nil, fmt.Errorf("pipeline: catalogue list %s: line %d: %w", path, n+1, err)
		}
		images = append(images, img)
		cats[img] = cat
	}
	if len(images) == 0 {
		return nil, nil, fmt.Errorf("pipeline: catalogue list %s: no IMAGE CATALOGUE lines", path)
	}
	return images, cats, nil
}

// catalogueSuffixes are the names CataloguesBeside tries after an image's
// stem, in order: Selavy's VOTable, text and CSV, Aegean's component
// tables (aegean --table STEM.fits,STEM.csv), PyBDSF's source lists
// (write_catalog's default names), then PySE's CSV as gotrap extract
// writes it.
var catalogueSuffixes = []string{".selavy.components.xml", ".selavy.components.txt", ".selavy.components.csv",
	"_comp.fits", "_comp.csv", ".pybdsf.srl.fits", ".pybdsf.srl.csv", ".csv"}

// CataloguesBeside finds each input's catalogue next to it by name: the
// image's name without .fits, .fits.gz or .fits.fz (any case), followed by
// the first of catalogueSuffixes that exists. Inputs without one are left
// out of the map (and rejected by the run).
func CataloguesBeside(inputs []string) map[string]string {
	cats := map[string]string{}
	for _, in := range inputs {
		stem := in
		for _, ext := range []string{".fits.gz", ".fits.fz", ".fits"} {
			if strings.HasSuffix(strings.ToLower(stem), ext) {
				stem = stem[:len(stem)-len(ext)]
				break
			}
		}
		for _, suf := range catalogueSuffixes {
			if st, err := os.Stat(stem + suf); err == nil && st.Mode().IsRegular() {
				cats[in] = stem + suf
				break
			}
		}
	}
	return cats
}
