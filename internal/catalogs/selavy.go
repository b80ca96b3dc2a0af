package catalogs

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// Selavy's component columns (CASDA continuum_component_description; the
// same names in the text, CSV and VOTable layouts). Required: position,
// fluxes, shape. The others are read when present.
var selavyRequired = []string{
	"ra_deg_cont", "dec_deg_cont", "ra_err", "dec_err",
	"flux_peak", "flux_peak_err", "flux_int", "flux_int_err",
	"maj_axis", "min_axis", "pos_ang",
}

// Unit kinds and their conversions to gotrap's units.
var (
	fluxBeamUnits = map[string]float64{"Jy/beam": 1, "mJy/beam": 1e-3, "uJy/beam": 1e-6, "µJy/beam": 1e-6}
	fluxUnits     = map[string]float64{"Jy": 1, "mJy": 1e-3, "uJy": 1e-6, "µJy": 1e-6}
	arcsecUnits   = map[string]float64{"arcsec": 1, "arcmin": 60, "deg": 3600}
	degUnits      = map[string]float64{"deg": 1}
)

// selavyUnits gives each Selavy column read its kind and the unit the
// CASDA CSV layout (which declares none) uses.
var selavyUnits = map[string]struct {
	kind map[string]float64
	def  string
}{
	"ra_deg_cont": {degUnits, "deg"}, "dec_deg_cont": {degUnits, "deg"},
	"ra_err": {arcsecUnits, "arcsec"}, "dec_err": {arcsecUnits, "arcsec"},
	"flux_peak": {fluxBeamUnits, "mJy/beam"}, "flux_peak_err": {fluxBeamUnits, "mJy/beam"},
	"rms_image": {fluxBeamUnits, "mJy/beam"},
	"flux_int":  {fluxUnits, "mJy"}, "flux_int_err": {fluxUnits, "mJy"},
	"maj_axis": {arcsecUnits, "arcsec"}, "min_axis": {arcsecUnits, "arcsec"},
	"maj_axis_err": {arcsecUnits, "arcsec"}, "min_axis_err": {arcsecUnits, "arcsec"},
	"maj_axis_deconv": {arcsecUnits, "arcsec"}, "min_axis_deconv": {arcsecUnits, "arcsec"},
	"maj_axis_deconv_err": {arcsecUnits, "arcsec"}, "min_axis_deconv_err": {arcsecUnits, "arcsec"},
	"pos_ang": {degUnits, "deg"}, "pos_ang_err": {degUnits, "deg"},
	"pos_ang_deconv": {degUnits, "deg"}, "pos_ang_deconv_err": {degUnits, "deg"},
	"chi_squared_fit": {nil, ""},
}

// selavyRows interprets a Selavy components table.
func selavyRows(t *table) ([]Row, error) {
	for _, c := range selavyRequired {
		if t.index(c) < 0 {
			return nil, errFile(t.name, "missing column %q (Selavy components need %s)", c, strings.Join(selavyRequired, ", "))
		}
	}
	// Column index and scale to gotrap's units.
	type col struct {
		i     int
		scale float64
	}
	cols := map[string]col{}
	for name, u := range selavyUnits {
		i := t.index(name)
		if i < 0 {
			continue
		}
		scale := 1.0
		if u.kind != nil {
			unit, declared := t.units[name]
			if !declared {
				if t.units != nil && len(t.units) > 0 {
					return nil, errFile(t.name, "column %s: no unit declared (expected one of %s)", name, unitList(u.kind))
				}
				unit = u.def // CASDA CSV: fixed units
			}
			s, ok := u.kind[unit]
			if !ok {
				return nil, errFile(t.name, "column %s: unit %q not understood (expected one of %s)", name, unit, unitList(u.kind))
			}
			scale = s
		}
		cols[name] = col{i, scale}
	}
	iIsland, iComp, iSib, iEst := t.index("island_id"), t.index("component_id"), t.index("has_siblings"), t.index("fit_is_estimate")
	rows := make([]Row, 0, len(t.rows))
	for k := range t.rows {
		r := &t.rows[k]
		var err error
		get := func(name string) float64 {
			c, ok := cols[name]
			if !ok || err != nil {
				return 0
			}
			s := strings.TrimSpace(r.vals[c.i])
			x, e := strconv.ParseFloat(s, 64)
			if e != nil || !finite(x) {
				err = t.errAt(r, name, "%q is not a finite number", s)
				return 0
			}
			return x * c.scale
		}
		flag := func(i int, name string) bool {
			if i < 0 || err != nil {
				return false
			}
			switch s := strings.TrimSpace(r.vals[i]); s {
			case "0", "", "false", "F":
				return false
			case "1", "true", "T":
				return true
			default:
				err = t.errAt(r, name, "%q is not a flag (0 or 1)", s)
				return false
			}
		}
		row := Row{Line: r.line}
		s := &row.Src
		s.ID = k
		s.RA, s.Dec = get("ra_deg_cont"), get("dec_deg_cont")
		s.RAErr, s.DecErr = get("ra_err")/3600, get("dec_err")/3600
		s.Peak, s.PeakErr = get("flux_peak"), get("flux_peak_err")
		s.Flux, s.FluxErr = get("flux_int"), get("flux_int_err")
		// Selavy's axes are full widths at half maximum; gotrap's are
		// half widths (PySE's semi-axes).
		s.SmajAsec, s.SminAsec = get("maj_axis")/2, get("min_axis")/2
		s.SmajAsecErr, s.SminAsecErr = get("maj_axis_err")/2, get("min_axis_err")/2
		s.ThetaCeles, s.ThetaCelesErr = pyMod(get("pos_ang"), 180), get("pos_ang_err")
		dcMaj, dcMin := get("maj_axis_deconv")/2, get("min_axis_deconv")/2
		dcMajErr, dcMinErr := get("maj_axis_deconv_err")/2, get("min_axis_deconv_err")/2
		s.ThetaDCCeles, s.ThetaDCCelesErr = pyMod(get("pos_ang_deconv"), 180), get("pos_ang_deconv_err")
		s.Chisq = get("chi_squared_fit")
		row.RMS = get("rms_image")
		s.Deblended = flag(iSib, "has_siblings")
		s.Gaussian = !flag(iEst, "fit_is_estimate")
		if err != nil {
			return nil, err
		}
		if s.Dec < -90 || s.Dec > 90 {
			return nil, t.errAt(r, "dec_deg_cont", "%v is not a declination", s.Dec)
		}
		if s.SmajAsec <= 0 || s.SminAsec <= 0 {
			return nil, t.errAt(r, "maj_axis/min_axis", "axes (%v, %v) arcsec are not positive", 2*s.SmajAsec, 2*s.SminAsec)
		}
		if row.RMS > 0 {
			s.Sig = s.Peak / row.RMS
		}
		// Positional error radius (arcsec): the larger axis error, as
		// Selavy gives no error ellipse.
		s.ErrorRadius = math.Max(s.RAErr, s.DecErr) * 3600
		// Deconvolved semi-axes are kept in arcsec here; Place turns
		// them into pixels (kernels.Source has no arcsec field for them).
		row.dcAsec = [4]float64{dcMaj, dcMajErr, dcMin, dcMinErr}
		if iIsland >= 0 {
			row.Island = strings.TrimSpace(r.vals[iIsland])
		}
		if iComp >= 0 {
			row.Component = strings.TrimSpace(r.vals[iComp])
		}
		rows = append(rows, row)
	}
	sortSky(rows)
	return rows, nil
}

func unitList(m map[string]float64) string {
	var s []string
	for u := range m {
		s = append(s, u)
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// pyMod is Python's x % m for m > 0: the result has m's sign.
func pyMod(x, m float64) float64 {
	r := math.Mod(x, m)
	if r < 0 {
		r += m
	}
	return r
}
