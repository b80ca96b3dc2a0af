package catalogs

import (
	"bufio"
	"bytes"
	"math"
	"strconv"
	"strings"
)

// finder describes the columns of another source finder's catalogue
// (Aegean's or PyBDSF's) read by interpretFinder: each quantity's column
// (lower case), its unit kind, the finder's documented unit (used when
// the file declares none) and a factor applied after conversion.
type finder struct {
	name string
	// ra, dec, peak, flux and the axes are required; the rest optional.
	ra, dec, raErr, decErr, peak, peakErr, flux, fluxErr quantity
	maj, majErr, min, minErr, pa, paErr                  quantity
	dcMaj, dcMajErr, dcMin, dcMinErr, dcPA, dcPAErr      quantity
	rms                                                  quantity
	// island and component name the id columns ("" for none).
	island, component string
	// negErrUnknown: a negative error means "not measured" (Aegean's -1).
	negErrUnknown bool
	// shape sets the fit type and deblending from the row (nil: Gaussian,
	// not deblended).
	shape func(get func(col string) string) (gaussian, deblended bool, err string)
}

// quantity is one column of a finder and its conversion to gotrap's unit:
// value x unit scale (kind[unit]) x factor.
type quantity struct {
	col    string
	kind   map[string]float64
	def    string
	factor float64
}

func q(col string, kind map[string]float64, def string) quantity {
	return quantity{col: col, kind: kind, def: def, factor: 1}
}

// fwhm is a full-width column read as a half width (gotrap's semi-axes,
// PySE's).
func fwhm(col string, kind map[string]float64, def string) quantity {
	return quantity{col: col, kind: kind, def: def, factor: 0.5}
}

// Aegean's component table (AegeanTools "Output formats", --table
// out.csv/out.fits: out_comp.csv, out_comp.fits). Positions and their
// errors in degrees, fluxes in Jy/beam and Jy, a and b (the FWHM of the
// major and minor axes, arcsec: a point source has a = psf_a, the
// restoring beam's BMAJ) and pa (degrees east of north). Errors of -1
// are "not measured".
var aegean = finder{
	name: "Aegean",
	ra:   q("ra", degUnits, "deg"), dec: q("dec", degUnits, "deg"),
	raErr: q("err_ra", degUnits, "deg"), decErr: q("err_dec", degUnits, "deg"),
	peak: q("peak_flux", fluxBeamUnits, "Jy/beam"), peakErr: q("err_peak_flux", fluxBeamUnits, "Jy/beam"),
	flux: q("int_flux", fluxUnits, "Jy"), fluxErr: q("err_int_flux", fluxUnits, "Jy"),
	maj: fwhm("a", arcsecUnits, "arcsec"), majErr: fwhm("err_a", arcsecUnits, "arcsec"),
	min: fwhm("b", arcsecUnits, "arcsec"), minErr: fwhm("err_b", arcsecUnits, "arcsec"),
	pa: q("pa", degUnits, "deg"), paErr: q("err_pa", degUnits, "deg"),
	rms:    q("local_rms", fluxBeamUnits, "Jy/beam"),
	island: "island", component: "source",
	negErrUnknown: true,
	shape: func(get func(string) string) (bool, bool, string) {
		s := get("flags")
		if s == "" {
			return true, false, ""
		}
		f, err := strconv.ParseInt(s, 10, 64)
		if err != nil || f < 0 {
			return false, false, "flags: " + strconv.Quote(s) + " is not Aegean's flag sum"
		}
		// FITERRSMALL 1, FITERR 2, NOTFIT 16: no Gaussian fit (an
		// estimate), as Selavy's fit_is_estimate.
		return f&(1|2|16) == 0, false, ""
	},
}

// PyBDSF's source or Gaussian list (write_catalog format='csv' or 'fits',
// catalog_type 'srl' or 'gaul'): positions and errors in degrees, fluxes
// in Jy/beam and Jy, Maj, Min and their deconvolved DC_ forms (FWHM,
// degrees), PA and DC_PA (degrees east of north), Isl_rms (Jy/beam).
// S_Code M (several Gaussians) and C (one of several sources of an
// island) are deblended.
var pybdsf = finder{
	name: "PyBDSF",
	ra:   q("ra", degUnits, "deg"), dec: q("dec", degUnits, "deg"),
	raErr: q("e_ra", degUnits, "deg"), decErr: q("e_dec", degUnits, "deg"),
	peak: q("peak_flux", fluxBeamUnits, "Jy/beam"), peakErr: q("e_peak_flux", fluxBeamUnits, "Jy/beam"),
	flux: q("total_flux", fluxUnits, "Jy"), fluxErr: q("e_total_flux", fluxUnits, "Jy"),
	maj: fwhm("maj", arcsecUnits, "deg"), majErr: fwhm("e_maj", arcsecUnits, "deg"),
	min: fwhm("min", arcsecUnits, "deg"), minErr: fwhm("e_min", arcsecUnits, "deg"),
	pa: q("pa", degUnits, "deg"), paErr: q("e_pa", degUnits, "deg"),
	dcMaj: fwhm("dc_maj", arcsecUnits, "deg"), dcMajErr: fwhm("e_dc_maj", arcsecUnits, "deg"),
	dcMin: fwhm("dc_min", arcsecUnits, "deg"), dcMinErr: fwhm("e_dc_min", arcsecUnits, "deg"),
	dcPA: q("dc_pa", degUnits, "deg"), dcPAErr: q("e_dc_pa", degUnits, "deg"),
	rms:    q("isl_rms", fluxBeamUnits, "Jy/beam"),
	island: "isl_id", component: "source_id",
	shape: func(get func(string) string) (bool, bool, string) {
		switch s := strings.ToUpper(get("s_code")); s {
		case "", "S":
			return true, false, ""
		case "M", "C":
			return true, true, ""
		default:
			return false, false, "s_code: " + strconv.Quote(s) + " is not S, C or M"
		}
	},
}

// interpretFinder turns t's rows into measurements with f's columns.
// Required values must be finite numbers; an optional column that is
// absent, empty or not finite (PyBDSF and astropy write NaN for what was
// not measured) reads as 0. Rows are sorted by (ra, dec, line), as
// Selavy's, so a catalogue's CSV and FITS forms give the same order.
func interpretFinder(t *table, f *finder) ([]Row, error) {
	if f.component == "source_id" && t.index("source_id") < 0 {
		f2 := *f
		f2.component = "gaus_id" // a Gaussian list
		f = &f2
	}
	required := []quantity{f.ra, f.dec, f.peak, f.flux, f.maj, f.min}
	for _, c := range required {
		if t.index(c.col) < 0 {
			return nil, errFile(t.name, "missing column %q (%s catalogues need %s)", c.col, f.name, colNames(required))
		}
	}
	type col struct {
		i     int
		scale float64
	}
	cols := map[string]col{}
	all := []quantity{f.ra, f.dec, f.raErr, f.decErr, f.peak, f.peakErr, f.flux, f.fluxErr, f.maj, f.majErr,
		f.min, f.minErr, f.pa, f.paErr, f.dcMaj, f.dcMajErr, f.dcMin, f.dcMinErr, f.dcPA, f.dcPAErr, f.rms}
	for _, c := range all {
		if c.col == "" {
			continue
		}
		i := t.index(c.col)
		if i < 0 {
			continue
		}
		unit, declared := t.units[c.col]
		if !declared {
			unit = c.def
		}
		s, ok := unitScale(c.kind, unit)
		if !ok {
			return nil, errFile(t.name, "column %s: unit %q not understood (expected one of %s)", c.col, unit, unitList(c.kind))
		}
		cols[c.col] = col{i, s * c.factor}
	}
	isRequired := map[string]bool{}
	for _, c := range required {
		isRequired[c.col] = true
	}
	rows := make([]Row, 0, len(t.rows))
	for k := range t.rows {
		r := &t.rows[k]
		var err error
		text := func(name string) string {
			if i := t.index(name); i >= 0 && i < len(r.vals) {
				return strings.TrimSpace(r.vals[i])
			}
			return ""
		}
		get := func(c quantity) float64 {
			cl, ok := cols[c.col]
			if !ok || err != nil {
				return 0
			}
			s := strings.TrimSpace(r.vals[cl.i])
			x, e := strconv.ParseFloat(s, 64)
			switch {
			case isRequired[c.col] && (e != nil || !finite(x)):
				err = t.errAt(r, c.col, "%q is not a finite number", s)
				return 0
			case s == "" || (e == nil && !finite(x)):
				return 0
			case e != nil:
				err = t.errAt(r, c.col, "%q is not a number", s)
				return 0
			}
			return x * cl.scale
		}
		geterr := func(c quantity) float64 {
			v := get(c)
			if v < 0 && f.negErrUnknown {
				return 0
			}
			return v
		}
		row := Row{Line: r.line, Island: text(f.island), Component: text(f.component)}
		s := &row.Src
		s.ID = k
		s.RA, s.Dec = get(f.ra), get(f.dec)
		s.RAErr, s.DecErr = geterr(f.raErr), geterr(f.decErr)
		s.Peak, s.PeakErr = get(f.peak), geterr(f.peakErr)
		s.Flux, s.FluxErr = get(f.flux), geterr(f.fluxErr)
		s.SmajAsec, s.SminAsec = get(f.maj), get(f.min)
		s.SmajAsecErr, s.SminAsecErr = geterr(f.majErr), geterr(f.minErr)
		s.ThetaCeles, s.ThetaCelesErr = pyMod(get(f.pa), 180), geterr(f.paErr)
		row.dcAsec = [4]float64{get(f.dcMaj), geterr(f.dcMajErr), get(f.dcMin), geterr(f.dcMinErr)}
		s.ThetaDCCeles, s.ThetaDCCelesErr = pyMod(get(f.dcPA), 180), geterr(f.dcPAErr)
		row.RMS = get(f.rms)
		if err != nil {
			return nil, err
		}
		if s.Dec < -90 || s.Dec > 90 {
			return nil, t.errAt(r, f.dec.col, "%v is not a declination", s.Dec)
		}
		if s.SmajAsec <= 0 || s.SminAsec <= 0 {
			return nil, t.errAt(r, f.maj.col+"/"+f.min.col, "axes (%v, %v) arcsec are not positive", 2*s.SmajAsec, 2*s.SminAsec)
		}
		s.Gaussian = true
		if f.shape != nil {
			var problem string
			if s.Gaussian, s.Deblended, problem = f.shape(text); problem != "" {
				return nil, t.errAt(r, "", "%s", problem)
			}
		}
		if row.RMS > 0 {
			s.Sig = math.Abs(s.Peak) / row.RMS
		}
		s.ErrorRadius = math.Max(s.RAErr, s.DecErr) * 3600
		rows = append(rows, row)
	}
	sortSky(rows)
	return rows, nil
}

func colNames(qs []quantity) string {
	var s []string
	for _, c := range qs {
		s = append(s, c.col)
	}
	return strings.Join(s, ", ")
}

// isPyBDSFASCII reports whether data, starting with '#', is PyBDSF's
// ASCII catalogue: '#' header lines, the last of them the comma-separated
// column names starting with Gaus_id or Source_id.
func isPyBDSFASCII(data []byte) bool {
	_, ok := pybdsfHeader(data)
	return ok
}

// pybdsfHeader returns the index of the column-name line among data's
// leading '#' lines.
func pybdsfHeader(data []byte) (int, bool) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	found, n := -1, 0
	for ; sc.Scan(); n++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" {
			continue
		}
		if !strings.HasPrefix(s, "#") {
			break
		}
		first, _, comma := strings.Cut(strings.TrimSpace(strings.TrimPrefix(s, "#")), ",")
		if first = strings.ToLower(strings.TrimSpace(first)); comma && (first == "gaus_id" || first == "source_id") {
			found = n
		}
	}
	return found, found >= 0
}

// readPyBDSFASCII reads PyBDSF's ASCII (CSV) catalogue: the column line
// has its '#' removed, the other header lines are skipped; line numbers
// are the file's.
func readPyBDSFASCII(name string, data []byte) (*table, error) {
	head, _ := pybdsfHeader(data)
	lines := bytes.SplitAfter(data, []byte("\n"))
	var b bytes.Buffer
	for i, l := range lines {
		switch {
		case i < head:
			b.WriteString("\n")
		case i == head:
			b.Write(bytes.Replace(l, []byte("#"), []byte(" "), 1))
		default:
			b.Write(l)
		}
	}
	t, err := readCSV(name, b.Bytes())
	if err != nil {
		return nil, err
	}
	for k := range t.rows {
		for i, v := range t.rows[k].vals {
			t.rows[k].vals[i] = strings.TrimSpace(v)
		}
	}
	return t, nil
}

// Unit spellings the finders' FITS tables use besides Selavy's.
var unitAliases = map[string]string{
	"degree": "deg", "degrees": "deg", "arcsecond": "arcsec", "arcseconds": "arcsec",
	"arcminute": "arcmin", "arcminutes": "arcmin",
	"jy beam-1": "Jy/beam", "jy / beam": "Jy/beam", "jy/beam": "Jy/beam", "jy": "Jy",
	"mjy beam-1": "mJy/beam", "mjy / beam": "mJy/beam", "mjy/beam": "mJy/beam", "mjy": "mJy",
}

// unitScale returns the factor of unit in kind, also for unitAliases'
// spellings (in any case).
func unitScale(kind map[string]float64, unit string) (float64, bool) {
	if s, ok := kind[unit]; ok {
		return s, true
	}
	if a, ok := unitAliases[strings.ToLower(strings.TrimSpace(unit))]; ok {
		s, ok := kind[a]
		return s, ok
	}
	return 0, false
}
