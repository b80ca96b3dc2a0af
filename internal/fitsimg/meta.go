package fitsimg

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"gotrap/internal/wcs"
)

// SquareTolerance is the largest difference | |dx| - |dy| | in degrees
// between the pixel sizes along x and y of an image with square pixels
// (SPEC 0.1).
const SquareTolerance = 1e-7

// DefaultBandwidth is the bandwidth in Hz of an image whose header gives a
// frequency but no bandwidth (SPEC 10.4: 1 MHz).
const DefaultBandwidth = 1e6

// Beam is a restoring beam as FITS headers give it: full widths at half
// maximum of the major and minor axes and the position angle, all in
// degrees (BMAJ, BMIN, BPA).
type Beam struct {
	BMaj float64 `json:"bmaj"`
	BMin float64 `json:"bmin"`
	BPA  float64 `json:"bpa"`
}

// valid reports whether b has positive, finite axes and a finite angle.
func (b Beam) valid() bool {
	return positive(b.BMaj) && positive(b.BMin) && !math.IsNaN(b.BPA) && !math.IsInf(b.BPA, 0)
}

// BeamPx is a restoring beam in pixels (SPEC 0.3): semi-major and
// semi-minor axes (half widths at half maximum, a_beam and b_beam) in
// pixels, and the position angle in radians (from +y towards -x).
type BeamPx struct {
	SMaj  float64 `json:"smaj"`
	SMin  float64 `json:"smin"`
	Theta float64 `json:"theta_rad"`
}

// Pixels converts b to pixels of sizes dx, dy (degrees, signs ignored)
// with the formulas of SPEC 0.3:
//
//	a = (BMAJ/2)·sqrt( sin²(BPA)/dx² + cos²(BPA)/dy² )
//	b = (BMIN/2)·sqrt( cos²(BPA)/dx² + sin²(BPA)/dy² )
//	θ = BPA in radians
func (b Beam) Pixels(dx, dy float64) BeamPx {
	s, c := math.Sincos(b.BPA * math.Pi / 180)
	dx2, dy2 := dx*dx, dy*dy
	return BeamPx{
		SMaj:  b.BMaj / 2 * math.Sqrt(s*s/dx2+c*c/dy2),
		SMin:  b.BMin / 2 * math.Sqrt(c*c/dx2+s*s/dy2),
		Theta: b.BPA * math.Pi / 180,
	}
}

// Meta is the metadata of one image plane: what the pipeline needs to
// plan, group and measure it (SPEC 10.4), read from the primary header. It
// marshals to JSON with the keys in its field tags.
type Meta struct {
	Path   string `json:"path"`
	Naxis1 int    `json:"naxis1"` // pixels along x (FITS axis 1)
	Naxis2 int    `json:"naxis2"` // pixels along y (FITS axis 2)
	Bitpix int    `json:"bitpix"`
	Axes   []int  `json:"axes"`   // NAXIS1 ... NAXISn
	Plane  int    `json:"plane"`  // the plane read (Options.Plane)
	Planes int    `json:"planes"` // number of planes (product of NAXIS3 ...)
	Stokes string `json:"stokes"` // "I", "Q", "U", "V", "RR", ... of the plane; "I" without a STOKES axis
	// Channel is the plane's channel (1-based) along the first frequency
	// axis, Channels that axis' length: 1 and 1 without one.
	Channel  int `json:"channel"`
	Channels int `json:"channels"`

	FreqEff  float64 `json:"freq_eff_hz"` // effective frequency, Hz
	FreqBW   float64 `json:"freq_bw_hz"`  // bandwidth, Hz, > 0
	FreqFrom string  `json:"freq_from"`   // the keyword(s) it came from, e.g. "RESTFRQ", "CTYPE3"

	// TauStart is the start of the observation in UTC. When the header has
	// no start time, TauStart is the zero time and TimeKnown is false (never
	// "now").
	TauStart  time.Time `json:"taustart"`
	TimeKnown bool      `json:"taustart_known"`
	TimeFrom  string    `json:"taustart_from,omitempty"` // "DATE-OBS", "MJD-OBS", ...
	TimeSys   string    `json:"timesys"`                 // TIMESYS as read ("UTC" when absent)
	TauTime   float64   `json:"tau_time_s"`              // integration time, s (0 when unknown)
	TauFrom   string    `json:"tau_time_from,omitempty"` // "TAU_TIME", "END_UTC", ...

	Telescope string `json:"telescope"`
	Object    string `json:"object,omitempty"`
	BUnit     string `json:"bunit,omitempty"`

	Beam     Beam   `json:"beam_deg"`  // restoring beam, degrees
	BeamPx   BeamPx `json:"beam_px"`   // restoring beam, pixels and radians
	BeamFrom string `json:"beam_from"` // "BMAJ", "HISTORY", "CLEANBMJ" or "override"

	PixelScale float64 `json:"pixel_scale_deg"` // |dx| = |dy| within SquareTolerance, degrees
	CentreRA   float64 `json:"centre_ra"`       // degrees in [0, 360), at pixel (NAXIS1/2, NAXIS2/2)
	CentreDec  float64 `json:"centre_dec"`      // degrees

	// LOFAR is true when TELESCOP is 'LOFAR' and ANTENNA is present, the
	// test TraP uses to choose its LOFAR accessor. The LOFAR keywords are
	// recorded whenever present; nil means absent.
	LOFAR      bool     `json:"lofar"`
	AntennaSet string   `json:"antenna_set,omitempty"`
	NCore      *int     `json:"ncore,omitempty"`
	NRemote    *int     `json:"nremote,omitempty"`
	NIntl      *int     `json:"nintl,omitempty"`
	Subbands   *int     `json:"subbands,omitempty"`
	SubbandW   *float64 `json:"subbandw_hz,omitempty"`

	WCS    *wcs.WCS `json:"-"` // pixel <-> sky of the image
	Header *Header  `json:"-"` // the primary header, all cards
}

// NewMeta interprets the primary header h of the file path (used in error
// messages and stored in Meta.Path; it is not opened). h must describe a
// 2-D image, as the headers from ReadHeader and Decode do.
func NewMeta(path string, h *Header, opts Options) (*Meta, error) {
	lay, err := layoutOf(h, 0, math.MaxInt64)
	if err == nil {
		var m *Meta
		if m, err = newMeta(h, lay, opts); err == nil {
			m.Path = path
			return m, nil
		}
	}
	return nil, &Error{Path: path, Err: err}
}

func newMeta(h *Header, lay layout, opts Options) (*Meta, error) {
	if opts.Plane < 0 || opts.Plane >= lay.planes {
		return nil, fmt.Errorf("%w: plane %d requested, the image has %d (axes %v)", ErrNoPlane, opts.Plane, lay.planes, lay.axes)
	}
	m := &Meta{
		Naxis1: lay.axes[0],
		Naxis2: lay.axes[1],
		Bitpix: lay.scaling.Bitpix,
		Axes:   lay.axes,
		Plane:  opts.Plane,
		Planes: lay.planes,
		Header: h,
	}
	idx := lay.planeIndex(opts.Plane)
	m.Stokes = stokes(h, lay.axes, idx)
	m.Channel, m.Channels = 1, 1
	if _, fa := axesOf(h, lay.axes); fa > 0 {
		m.Channel, m.Channels = indexAlong(idx, fa)+1, lay.axes[fa-1]
	}
	m.Telescope, _ = h.String("TELESCOP")
	m.Object, _ = h.String("OBJECT")
	m.BUnit, _ = h.String("BUNIT")

	var err error
	if m.FreqEff, m.FreqBW, m.FreqFrom, err = frequency(h, lay.axes, idx); err != nil {
		return nil, err
	}
	if err = m.readTime(h); err != nil {
		return nil, err
	}
	if opts.Beam != nil {
		m.Beam, m.BeamFrom = *opts.Beam, "override"
		if !m.Beam.valid() {
			return nil, fmt.Errorf("%w: the beam override %+v is not a positive, finite beam", ErrNoBeam, m.Beam)
		}
	} else if m.Beam, m.BeamFrom, err = beam(h); err != nil {
		return nil, err
	}

	w, err := wcs.FromHeader(h)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoWCS, err)
	}
	m.WCS = w
	dx, dy := w.PixelScale()
	if !(math.Abs(dx-dy) <= SquareTolerance) {
		return nil, fmt.Errorf("%w: %g x %g degrees (tolerance %g)", ErrNonSquarePixels, dx, dy, SquareTolerance)
	}
	m.PixelScale = dx
	m.BeamPx = m.Beam.Pixels(dx, dy)
	ra, dec, err := w.PixToSky(float64(m.Naxis1)/2, float64(m.Naxis2)/2)
	if err != nil {
		return nil, fmt.Errorf("%w: the image centre has no sky position: %w", ErrNoWCS, err)
	}
	m.CentreRA, m.CentreDec = math.Mod(ra, 360), dec
	if m.CentreRA < 0 {
		m.CentreRA += 360
	}

	_, hasAntenna := h.Get("ANTENNA")
	m.LOFAR = strings.TrimSpace(m.Telescope) == "LOFAR" && hasAntenna
	m.AntennaSet, _ = h.String("ANTENNA")
	m.NCore = intPtr(h, "NCORE")
	m.NRemote = intPtr(h, "NREMOTE")
	m.NIntl = intPtr(h, "NINTL")
	m.Subbands = intPtr(h, "SUBBANDS")
	if f, ok := h.Float("SUBBANDW"); ok {
		m.SubbandW = &f
	}
	return m, nil
}

func intPtr(h *Header, key string) *int {
	if v, ok := h.Int(key); ok && v >= math.MinInt32 && v <= math.MaxInt32 {
		n := int(v)
		return &n
	}
	return nil
}

// axisValue returns the world coordinate of 0-based index i along FITS
// axis k (linear: CRVAL + (i + 1 - CRPIX) * CDELT) and whether CRVALk is
// present. A degenerate or absent axis (length <= 1) gives CRVAL itself,
// as PySE does.
func axisValue(h *Header, axes []int, k, i int) (float64, bool) {
	n := strconv.Itoa(k)
	crval, ok := h.Float("CRVAL" + n)
	if !ok {
		return 0, false
	}
	if k > len(axes) || axes[k-1] <= 1 {
		return crval, true
	}
	crpix, ok := h.Float("CRPIX" + n)
	if !ok {
		crpix = 1
	}
	cdelt, _ := h.Float("CDELT" + n)
	return crval + (float64(i)+1-crpix)*cdelt, true
}

// indexAlong returns the plane's index along FITS axis k (>= 3).
func indexAlong(idx []int, k int) int {
	if k-3 < len(idx) {
		return idx[k-3]
	}
	return 0
}

var stokesNames = map[int]string{
	1: "I", 2: "Q", 3: "U", 4: "V",
	-1: "RR", -2: "LL", -3: "RL", -4: "LR",
	-5: "XX", -6: "YY", -7: "XY", -8: "YX",
}

// StokesCode returns the FITS code (FITS 4.0 table 29: I 1, Q 2, U 3,
// V 4, RR -1 ... YX -8) of a polarisation name as Meta.Stokes gives it,
// 0 for an unknown name.
func StokesCode(name string) int {
	name = strings.ToUpper(strings.TrimSpace(name))
	for c, n := range stokesNames {
		if n == name {
			return c
		}
	}
	if c, err := strconv.Atoi(name); err == nil {
		return c
	}
	return 0
}

// stokes returns the polarization of the plane from a STOKES axis
// (FITS 4.0 table 29), "I" when there is none.
func stokes(h *Header, axes, idx []int) string {
	for k := 3; k <= max(4, len(axes)); k++ {
		ct, _ := h.String("CTYPE" + strconv.Itoa(k))
		if !strings.EqualFold(strings.TrimSpace(ct), "STOKES") {
			continue
		}
		v, ok := axisValue(h, axes, k, indexAlong(idx, k))
		if !ok || math.Abs(v) > 100 {
			return "I"
		}
		code := int(math.Round(v))
		if s, ok := stokesNames[code]; ok {
			return s
		}
		return strconv.Itoa(code)
	}
	return "I"
}

// isFreqType reports whether a CTYPE value names a frequency axis: FREQ,
// or FREQ-xxx with a frame or algorithm code (FREQ-OBS, FREQ-LSR, ...),
// in any case.
func isFreqType(ct string) bool {
	ct = strings.ToUpper(strings.TrimSpace(ct))
	return ct == "FREQ" || strings.HasPrefix(ct, "FREQ-")
}

// isVoptType reports whether a CTYPE value names an optical velocity axis.
func isVoptType(ct string) bool {
	ct = strings.ToUpper(strings.TrimSpace(ct))
	return ct == "VOPT" || strings.HasPrefix(ct, "VOPT-")
}

// freqUnit returns the factor to Hz of a frequency axis unit, case
// insensitive ("MHZ" is megahertz: radio headers never mean millihertz).
func freqUnit(u string) (float64, bool) {
	switch strings.ToUpper(strings.TrimSpace(u)) {
	case "", "HZ":
		return 1, true
	case "KHZ":
		return 1e3, true
	case "MHZ":
		return 1e6, true
	case "GHZ":
		return 1e9, true
	}
	return 0, false
}

// velocityUnit returns the factor to m/s of a velocity axis unit.
func velocityUnit(u string) (float64, bool) {
	switch strings.ToLower(strings.TrimSpace(u)) {
	case "", "m/s", "m s-1", "m.s-1":
		return 1, true
	case "km/s", "km s-1", "km.s-1":
		return 1e3, true
	}
	return 0, false
}

const speedOfLight = 299792458.0 // m/s

func positive(f float64) bool { return f > 0 && !math.IsInf(f, 0) }

// frequency finds the effective frequency and bandwidth (Hz) of the plane
// with axis indices idx, trying in order (SPEC 10.4, with the decisions
// documented in doc.go):
//
//  0. a frequency axis (CTYPE3 or CTYPE4) longer than 1: the plane's
//     channel, bandwidth |CDELT|;
//  1. RESTFRQ, bandwidth RESTBW or 1 MHz;
//  2. CTYPE3 FREQ (or FREQ-xxx): CRVAL3, bandwidth |CDELT3|; CTYPE3 VOPT:
//     RESTFREQ / (1 + v/c) with v = CRVAL3, bandwidth 1 MHz;
//  3. the same with CTYPE4;
//  4. RESTFREQ, bandwidth 1 MHz.
//
// Candidates that are not positive are skipped; a frequency axis whose
// CUNIT is not a frequency unit is an error.
func frequency(h *Header, axes, idx []int) (freq, bw float64, from string, err error) {
	axisFreq := func(k int) (float64, float64, bool, error) {
		n := strconv.Itoa(k)
		ct, _ := h.String("CTYPE" + n)
		cu, _ := h.String("CUNIT" + n)
		switch {
		case isFreqType(ct):
			f, ok := freqUnit(cu)
			if !ok {
				return 0, 0, false, fmt.Errorf("%w: CUNIT%s = '%s' is not a frequency unit (CTYPE%s = '%s')", ErrNoFrequency, n, cu, n, ct)
			}
			v, ok := axisValue(h, axes, k, indexAlong(idx, k))
			cdelt, _ := h.Float("CDELT" + n)
			bw := math.Abs(cdelt) * f
			if !positive(bw) {
				bw = DefaultBandwidth
			}
			return v * f, bw, ok && positive(v*f), nil
		case isVoptType(ct):
			rest, ok := h.Float("RESTFREQ")
			if r2, ok2 := h.Float("RESTFRQ"); ok2 {
				rest, ok = r2, true
			}
			vf, okUnit := velocityUnit(cu)
			v, okV := axisValue(h, axes, k, indexAlong(idx, k))
			if !ok || !okUnit || !okV {
				return 0, 0, false, nil
			}
			f := rest / (1 + v*vf/speedOfLight)
			return f, DefaultBandwidth, positive(f), nil
		}
		return 0, 0, false, nil
	}

	// 0: a cube's channel.
	for _, k := range []int{3, 4} {
		if k <= len(axes) && axes[k-1] > 1 {
			ct, _ := h.String("CTYPE" + strconv.Itoa(k))
			if !isFreqType(ct) {
				continue
			}
			f, b, ok, err := axisFreq(k)
			if err != nil {
				return 0, 0, "", err
			}
			if ok {
				return f, b, fmt.Sprintf("CTYPE%d channel %d", k, indexAlong(idx, k)+1), nil
			}
		}
	}
	// 1: RESTFRQ.
	if f, ok := h.Float("RESTFRQ"); ok && positive(f) {
		bw := DefaultBandwidth
		if b, ok := h.Float("RESTBW"); ok && positive(math.Abs(b)) {
			bw = math.Abs(b)
		}
		return f, bw, "RESTFRQ", nil
	}
	// 2, 3: CTYPE3, CTYPE4.
	for _, k := range []int{3, 4} {
		f, b, ok, err := axisFreq(k)
		if err != nil {
			return 0, 0, "", err
		}
		if ok {
			return f, b, "CTYPE" + strconv.Itoa(k), nil
		}
	}
	// 4: RESTFREQ.
	if f, ok := h.Float("RESTFREQ"); ok && positive(f) {
		return f, DefaultBandwidth, "RESTFREQ", nil
	}
	return 0, 0, "", fmt.Errorf("%w: no positive RESTFRQ, FREQ or VOPT axis (CTYPE3, CTYPE4), or RESTFREQ", ErrNoFrequency)
}

// historyBeam matches the AIPS restoring-beam HISTORY card, e.g.
// "AIPS   CLEAN BMAJ=  1.3889E-03 BMIN=  1.3889E-03 BPA=   0.00",
// compiled on first use (most headers have BMAJ), not by every start-up.
var historyBeam = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`BMAJ\s*=\s*([-+0-9.EeDd]+)\s+BMIN\s*=\s*([-+0-9.EeDd]+)\s+BPA\s*=\s*([-+0-9.EeDd]+)`)
})

// beam finds the restoring beam (degrees): BMAJ/BMIN/BPA, else the first
// AIPS HISTORY card with one, else CLEANBMJ/CLEANBMN/CLEANBPA (Obit). A
// missing position angle is 0. Candidates whose axes are not positive are
// skipped.
func beam(h *Header) (Beam, string, error) {
	fromKeys := func(maj, min, pa string) (Beam, bool) {
		a, ok1 := h.Float(maj)
		b, ok2 := h.Float(min)
		p, _ := h.Float(pa)
		bm := Beam{a, b, p}
		return bm, ok1 && ok2 && bm.valid()
	}
	if b, ok := fromKeys("BMAJ", "BMIN", "BPA"); ok {
		return b, "BMAJ", nil
	}
	for _, text := range h.History() {
		mm := historyBeam().FindStringSubmatch(text)
		if mm == nil {
			continue
		}
		var v [3]float64
		ok := true
		for i := range v {
			x, err := parseNumber(mm[i+1])
			f, isF := x.(float64)
			if n, isI := x.(int64); isI {
				f, isF = float64(n), true
			}
			v[i] = f
			ok = ok && err == nil && isF
		}
		if b := (Beam{v[0], v[1], v[2]}); ok && b.valid() {
			return b, "HISTORY", nil
		}
	}
	if b, ok := fromKeys("CLEANBMJ", "CLEANBMN", "CLEANBPA"); ok {
		return b, "CLEANBMJ", nil
	}
	return Beam{}, "", fmt.Errorf("%w: no positive BMAJ/BMIN, AIPS HISTORY beam or CLEANBMJ/CLEANBMN (give one with Options.Beam)", ErrNoBeam)
}
