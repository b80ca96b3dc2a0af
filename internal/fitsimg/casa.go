package fitsimg

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gotrap/internal/casatable"
)

// ErrBadCASA: a directory given as an image is not a readable CASA image:
// not a casacore table, a table that is not an image, or a corrupt or
// unsupported table (the message names the file and the problem).
var ErrBadCASA = errors.New("not a readable CASA image")

// IsCASAImage reports whether path is a CASA image: a directory holding a
// casacore table (table.dat) whose table.info says Type = Image. Input
// listing treats such a directory as one image and does not descend into
// it.
func IsCASAImage(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir() && casatable.IsTable(path) && casatable.InfoType(path) == "Image"
}

// casaColumn is the pixel column of a casacore PagedImage table, and
// casaMaskColumn that of its mask tables (PagedArray<Bool>).
const (
	casaColumn     = "map"
	casaMaskColumn = "PagedArray"
)

// openCASA opens the CASA image in directory dir: its pixels, its default
// mask (masked pixels read as NaN) and a FITS header made from its
// coordinates, image info and units, the header casacore's own FITS
// conversion writes for the metadata fitsimg reads.
func openCASA(dir string) (*source, error) {
	if !casatable.IsTable(dir) {
		return nil, fmt.Errorf("%w: not a regular file (a directory without table.dat: neither a FITS file nor a CASA image)", ErrNotFITS)
	}
	t, err := casatable.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCASA, err)
	}
	if typ := casatable.InfoType(dir); typ != "Image" {
		return nil, fmt.Errorf("%w: table.info gives the table type %q, not Image", ErrBadCASA, typ)
	}
	if t.Rows != 1 {
		return nil, fmt.Errorf("%w: the image table has %d rows (a CASA image has one)", ErrBadCASA, t.Rows)
	}
	cube, err := t.Cube(casaColumn, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCASA, err)
	}
	shape := cube.CellShape()
	if len(shape) > 999 {
		return nil, fmt.Errorf("%w: %d axes", ErrBadCASA, len(shape))
	}
	h := NewHeader()
	h.Set("SIMPLE", true, "made by gotrap from a CASA image")
	h.Set("BITPIX", -32, "")
	h.Set("NAXIS", len(shape), "")
	for i, n := range shape {
		h.Set("NAXIS"+strconv.Itoa(i+1), n, "")
	}
	src := &source{h: h}
	if err := casaCoords(h, src, t.Keywords.Sub("coords")); err != nil {
		return nil, err
	}
	if err := casaInfo(h, src, t.Keywords); err != nil {
		return nil, err
	}
	lay, err := layoutOf(h, 0, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	lay.hdrLen = 0
	src.lay = lay
	mask, err := casaMask(t, shape)
	if err != nil {
		return nil, err
	}
	src.read = func(dst []float32, plane int) error {
		idx := lay.planeIndex(plane)
		if err := cube.ReadPlane(dst, idx); err != nil {
			return fmt.Errorf("%w: %w", ErrBadCASA, err)
		}
		if mask == nil {
			return nil
		}
		good := make([]float32, len(dst))
		if err := mask.ReadPlane(good, idx); err != nil {
			return fmt.Errorf("%w: the mask: %w", ErrBadCASA, err)
		}
		for i, g := range good {
			if g == 0 {
				dst[i] = float32(math.NaN())
			}
		}
		return nil
	}
	src.close = func() error { return nil }
	return src, nil
}

// casaMask opens the default mask of t (keyword Image_defaultmask naming
// one of the regions in keyword masks), or returns nil when it has none.
func casaMask(t *casatable.Table, shape []int) (*casatable.Cube, error) {
	name, _ := t.Keywords.String("Image_defaultmask")
	if name == "" {
		return nil, nil
	}
	region := t.Keywords.Sub("masks").Sub(name)
	kind, _ := region.String("name")
	ref, isTable := func() (casatable.TableRef, bool) {
		v, _ := region.Get("mask")
		r, ok := v.(casatable.TableRef)
		return r, ok
	}()
	if kind != "LCPagedMask" || !isTable {
		return nil, fmt.Errorf("%w: the default mask %q is a %q region; only stored masks (LCPagedMask) are read", ErrBadCASA, name, kind)
	}
	mt, err := casatable.Open(t.Subtable(ref))
	if err != nil {
		return nil, fmt.Errorf("%w: the default mask %q: %w", ErrBadCASA, name, err)
	}
	mc, err := mt.Cube(casaMaskColumn, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: the default mask %q: %w", ErrBadCASA, name, err)
	}
	if !equalInts(mc.CellShape(), shape) {
		return nil, fmt.Errorf("%w: the default mask %q has shape %v, the image %v", ErrBadCASA, name, mc.CellShape(), shape)
	}
	return mc, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// angleUnits are the angle units of casacore quantities, in degrees.
var angleUnits = map[string]float64{
	"rad": 180 / math.Pi, "deg": 1, "arcmin": 1.0 / 60, "'": 1.0 / 60,
	"arcsec": 1.0 / 3600, `"`: 1.0 / 3600, "mas": 1.0 / 3600e3,
}

// quantity returns a casacore quantity record {value, unit} in the units
// of table (to degrees for angles).
func quantity(r *casatable.Record, table map[string]float64) (float64, bool) {
	v, ok := r.Float("value")
	u, _ := r.String("unit")
	f, known := table[strings.TrimSpace(u)]
	if !ok || !known {
		return 0, false
	}
	return v * f, true
}

// coordinate axes in a CoordinateSystem record: each coordinate k has a
// record named after its type and k, and pixelmap<k> giving the image
// axis of each of its pixel axes (-1 for an axis removed from the image).
func coordAxes(coords *casatable.Record, k string, n int) ([]int, bool) {
	pm, ok := coords.Ints("pixelmap" + k)
	if !ok || len(pm) != n {
		return nil, false
	}
	out := make([]int, n)
	for i, a := range pm {
		out[i] = int(a)
	}
	return out, true
}

// celestial maps casacore direction systems to FITS CTYPE prefixes,
// RADESYS and EQUINOX (0: none).
var celestial = map[string]struct {
	lon, lat, radesys string
	equinox           float64
}{
	"J2000":    {"RA--", "DEC-", "FK5", 2000},
	"JMEAN":    {"RA--", "DEC-", "FK5", 2000},
	"B1950":    {"RA--", "DEC-", "FK4", 1950},
	"BMEAN":    {"RA--", "DEC-", "FK4", 1950},
	"ICRS":     {"RA--", "DEC-", "ICRS", 0},
	"GALACTIC": {"GLON", "GLAT", "", 0},
}

// specsys maps casacore spectral frames to FITS SPECSYS values.
var specsys = map[string]string{
	"TOPO": "TOPOCENT", "GEO": "GEOCENTR", "BARY": "BARYCENT", "LSRK": "LSRK",
	"LSRD": "LSRD", "GALACTO": "GALACTOC", "LGROUP": "LOCALGRP", "CMB": "CMBDIPOL",
	"REST": "SOURCE",
}

// stokesCodes are the FITS codes of casacore's Stokes names (FITS 4.0
// table 29).
var stokesCodes = map[string]int{
	"I": 1, "Q": 2, "U": 3, "V": 4,
	"RR": -1, "LL": -2, "RL": -3, "LR": -4, "XX": -5, "YY": -6, "XY": -7, "YX": -8,
}

// casaCoords writes the FITS WCS, frequency and time cards of the
// coordinate system record coords into h.
func casaCoords(h *Header, src *source, coords *casatable.Record) error {
	if coords == nil {
		return nil // no coordinates: the metadata will say what is missing
	}
	for _, f := range coords.Fields {
		rec, _ := f.Value.(*casatable.Record)
		if rec == nil {
			continue
		}
		switch {
		case strings.HasPrefix(f.Name, "direction"):
			if err := casaDirection(h, coords, f.Name[len("direction"):], rec); err != nil {
				return err
			}
		case strings.HasPrefix(f.Name, "stokes"):
			casaStokes(h, src, coords, f.Name[len("stokes"):], rec)
		case strings.HasPrefix(f.Name, "spectral"):
			casaSpectral(h, coords, f.Name[len("spectral"):], rec)
		}
	}
	if s, ok := coords.String("telescope"); ok && s != "" {
		h.Set("TELESCOP", s, "")
	}
	if s, ok := coords.String("observer"); ok && s != "" {
		h.Set("OBSERVER", s, "")
	}
	if d := coords.Sub("obsdate"); d != nil {
		if err := casaObsDate(h, d); err != nil {
			return err
		}
	}
	return nil
}

// casaDirection writes the celestial axes of direction coordinate k.
func casaDirection(h *Header, coords *casatable.Record, k string, d *casatable.Record) error {
	axes, ok := coordAxes(coords, k, 2)
	if !ok || axes[0] < 0 || axes[1] < 0 {
		return nil // a direction without both pixel axes is no image WCS
	}
	sys, _ := d.String("system")
	c, known := celestial[strings.ToUpper(strings.TrimSpace(sys))]
	if !known {
		return fmt.Errorf("%w: the direction system %q (read: J2000, B1950, ICRS, GALACTIC)", ErrNoWCS, sys)
	}
	proj, _ := d.String("projection")
	proj = strings.ToUpper(strings.TrimSpace(proj))
	units, _ := d.Strings("units")
	crval, _ := d.Floats("crval")
	cdelt, _ := d.Floats("cdelt")
	crpix, _ := d.Floats("crpix")
	if len(units) != 2 || len(crval) != 2 || len(cdelt) != 2 || len(crpix) != 2 {
		return fmt.Errorf("%w: the direction coordinate lacks crval, cdelt, crpix or units for its two axes", ErrNoWCS)
	}
	names := [2]string{c.lon, c.lat}
	for i, a := range axes {
		f, ok := angleUnits[strings.TrimSpace(units[i])]
		if !ok {
			return fmt.Errorf("%w: the direction axis unit %q", ErrNoWCS, units[i])
		}
		n := strconv.Itoa(a + 1)
		ct := names[i]
		for len(ct) < 4 {
			ct += "-"
		}
		h.Set("CTYPE"+n, ct+"-"+proj, "")
		h.Set("CRVAL"+n, crval[i]*f, "")
		h.Set("CDELT"+n, cdelt[i]*f, "")
		h.Set("CRPIX"+n, crpix[i]+1, "casacore's 0-based reference pixel + 1")
		h.Set("CUNIT"+n, "deg", "")
	}
	if pc, ok := d.Floats("pc"); ok && len(pc) == 4 {
		// pc is a 2 x 2 matrix in Fortran order: pc(i, j) = pc[i + 2j].
		for i := range 2 {
			for j := range 2 {
				h.Set(fmt.Sprintf("PC%d_%d", axes[i]+1, axes[j]+1), pc[i+2*j], "")
			}
		}
	}
	if pv, ok := d.Floats("projection_parameters"); ok {
		nonzero := false
		for _, v := range pv {
			nonzero = nonzero || v != 0
		}
		for m, v := range pv {
			if nonzero {
				h.Set(fmt.Sprintf("PV%d_%d", axes[1]+1, m+1), v, "")
			}
		}
	}
	if v, ok := d.Float("longpole"); ok {
		h.Set("LONPOLE", v, "")
	}
	if v, ok := d.Float("latpole"); ok {
		h.Set("LATPOLE", v, "")
	}
	if c.radesys != "" {
		h.Set("RADESYS", c.radesys, "")
	}
	if c.equinox != 0 {
		h.Set("EQUINOX", c.equinox, "")
	}
	return nil
}

// casaStokes writes the Stokes axis of stokes coordinate k: a linear FITS
// axis when the codes allow, and the names in src.stokes otherwise.
func casaStokes(h *Header, src *source, coords *casatable.Record, k string, s *casatable.Record) {
	axes, ok := coordAxes(coords, k, 1)
	names, _ := s.Strings("stokes")
	if !ok || axes[0] < 0 || len(names) == 0 {
		return
	}
	codes := make([]int, len(names))
	for i, nm := range names {
		c, ok := stokesCodes[strings.ToUpper(strings.TrimSpace(nm))]
		if !ok {
			c = 1000 + i // not a FITS polarization: named below
		}
		codes[i] = c
	}
	step := 1
	if len(codes) > 1 {
		step = codes[1] - codes[0]
	}
	linear := step != 0
	for i := range codes {
		linear = linear && codes[i] == codes[0]+i*step && codes[i] < 1000
	}
	n := strconv.Itoa(axes[0] + 1)
	h.Set("CTYPE"+n, "STOKES", "")
	h.Set("CRPIX"+n, 1.0, "")
	h.Set("CRVAL"+n, float64(codes[0]), "")
	h.Set("CDELT"+n, float64(step), "")
	if !linear {
		src.stokes = make([]string, len(names))
		for i, nm := range names {
			src.stokes[i] = strings.ToUpper(strings.TrimSpace(nm))
		}
		src.stokesAxis = axes[0]
	}
}

// casaSpectral writes the frequency axis of spectral coordinate k, its
// rest frequency and frame.
func casaSpectral(h *Header, coords *casatable.Record, k string, s *casatable.Record) {
	restfreq, _ := s.Float("restfreq")
	if restfreq > 0 {
		h.Set("RESTFRQ", restfreq, "")
	}
	if sys, ok := s.String("system"); ok {
		if v, known := specsys[strings.ToUpper(strings.TrimSpace(sys))]; known {
			h.Set("SPECSYS", v, "")
		}
	}
	axes, ok := coordAxes(coords, k, 1)
	w := s.Sub("wcs")
	if !ok || axes[0] < 0 || w == nil {
		return
	}
	crval, ok1 := w.Float("crval")
	cdelt, ok2 := w.Float("cdelt")
	crpix, ok3 := w.Float("crpix")
	if !ok1 || !ok2 || !ok3 {
		return
	}
	ct, _ := w.String("ctype")
	ct = strings.TrimSpace(strings.Trim(ct, "\x00"))
	if ct == "" {
		ct = "FREQ"
	}
	n := strconv.Itoa(axes[0] + 1)
	h.Set("CTYPE"+n, ct, "")
	h.Set("CRVAL"+n, crval, "")
	h.Set("CDELT"+n, cdelt, "")
	h.Set("CRPIX"+n, crpix+1, "casacore's 0-based reference pixel + 1")
	h.Set("CUNIT"+n, "Hz", "")
	if restfreq > 0 && cdelt != 0 {
		// TraP's CASA accessor takes the frequency from restfreq and the
		// bandwidth from the channel width (SPEC 10.4).
		h.Set("RESTBW", math.Abs(cdelt), "the spectral axis' channel width")
	}
}

// timeScales maps casacore epoch references to FITS TIMESYS values;
// sidereal times (LAST, LMST, GMST, GAST) are not dates.
var timeScales = map[string]string{
	"UTC": "UTC", "TAI": "TAI", "IAT": "TAI", "TT": "TT", "TDT": "TT", "ET": "TT",
	"TDB": "TDB", "TCG": "TCG", "TCB": "TCB", "UT1": "UT1", "UT": "UT1", "UT2": "UT1",
}

// mjd0 is MJD 0.
var mjd0 = time.Date(1858, 11, 17, 0, 0, 0, 0, time.UTC)

// casaObsDate writes DATE-OBS and TIMESYS from the epoch measure obsdate.
func casaObsDate(h *Header, d *casatable.Record) error {
	m := d.Sub("m0")
	v, ok := m.Float("value")
	unit, _ := m.String("unit")
	refer, _ := d.String("refer")
	scale, known := timeScales[strings.ToUpper(strings.TrimSpace(refer))]
	switch {
	case !ok || v == 0:
		return nil // MJD 0 is casacore's default for an unknown date
	case !known:
		return fmt.Errorf("%w: the observation date has the reference %q (read: UTC, TAI, TT, TDB, UT1)", ErrBadTime, refer)
	case unit == "s":
		v /= 86400
	case unit != "d":
		return fmt.Errorf("%w: the observation date has the unit %q (read: d, s)", ErrBadTime, unit)
	}
	if !(v > 0 && v < 1e6) {
		return fmt.Errorf("%w: the observation date MJD %g", ErrBadTime, v)
	}
	days := math.Floor(v)
	ns := math.Round((v - days) * 86400e9)
	t := mjd0.AddDate(0, 0, int(days)).Add(time.Duration(ns))
	h.Set("DATE-OBS", t.Format("2006-01-02T15:04:05.000000"), "from the CASA obsdate")
	h.Set("TIMESYS", scale, "")
	return nil
}

// casaInfo writes the beam, object, image type and units of the image
// table's keywords into h, and keeps per-plane beams in src.
func casaInfo(h *Header, src *source, kw *casatable.Record) error {
	info := kw.Sub("imageinfo")
	if pb := info.Sub("perplanebeams"); pb != nil && info.Sub("restoringbeam") == nil {
		if err := casaPlaneBeams(src, pb); err != nil {
			return err
		}
	}
	if b := info.Sub("restoringbeam"); b != nil {
		maj, ok1 := quantity(b.Sub("major"), angleUnits)
		mn, ok2 := quantity(b.Sub("minor"), angleUnits)
		pa, ok3 := quantity(b.Sub("positionangle"), angleUnits)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: the restoring beam's major or minor axis is not an angle", ErrNoBeam)
		}
		if !ok3 {
			pa = 0
		}
		h.Set("BMAJ", maj, "")
		h.Set("BMIN", mn, "")
		h.Set("BPA", pa, "")
	}
	if s, ok := info.String("objectname"); ok && s != "" {
		h.Set("OBJECT", s, "")
	}
	if s, ok := info.String("imagetype"); ok && s != "" {
		h.Set("BTYPE", s, "")
	}
	if s, ok := kw.String("units"); ok && s != "" {
		h.Set("BUNIT", s, "")
	}
	return nil
}

// casaPlaneBeams reads imageinfo.perplanebeams: nChannels x nStokes beams
// in fields "*k", k counting channels fastest (casacore's
// ImageBeamSet::fromRecord; a count of 0 or 1 means one beam for every
// channel or Stokes parameter).
func casaPlaneBeams(src *source, pb *casatable.Record) error {
	nc, _ := pb.Float("nChannels")
	ns, _ := pb.Float("nStokes")
	nchan, nstokes := max(int(nc), 1), max(int(ns), 1)
	if nchan*nstokes > 1<<20 {
		return fmt.Errorf("%w: %d x %d per-plane beams", ErrBadCASA, nchan, nstokes)
	}
	beams := make([]Beam, nchan*nstokes)
	for k := range beams {
		b := pb.Sub("*" + strconv.Itoa(k))
		maj, ok1 := quantity(b.Sub("major"), angleUnits)
		mn, ok2 := quantity(b.Sub("minor"), angleUnits)
		pa, ok3 := quantity(b.Sub("positionangle"), angleUnits)
		if !ok1 || !ok2 {
			return fmt.Errorf("%w: per-plane beam %d has no major or minor axis", ErrNoBeam, k)
		}
		if !ok3 {
			pa = 0
		}
		beams[k] = Beam{BMaj: maj, BMin: mn, BPA: pa}
	}
	src.planeBeams = &planeBeams{nchan: nchan, nstokes: nstokes, beams: beams}
	return nil
}

// planeBeams are a CASA cube's per-plane restoring beams.
type planeBeams struct {
	nchan, nstokes int
	beams          []Beam // channel fastest
}

// beam returns the beam of the plane at idx (indices along axes 3...),
// given the 1-based FITS axes of the frequency and Stokes axes (0: none).
func (p *planeBeams) beam(idx []int, freqAxis, stokesAxis int) Beam {
	c, s := 0, 0
	if freqAxis >= 3 && p.nchan > 1 {
		c = min(idx[freqAxis-3], p.nchan-1)
	}
	if stokesAxis >= 3 && p.nstokes > 1 {
		s = min(idx[stokesAxis-3], p.nstokes-1)
	}
	return p.beams[c+p.nchan*s]
}
