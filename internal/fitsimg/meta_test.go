package fitsimg

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"gotrap/internal/testutil"
	"gotrap/internal/wcs"
)

// specBeamPx computes SPEC 0.3's beam in pixels from header numbers,
// written out here independently of Beam.Pixels.
func specBeamPx(bmaj, bmin, bpa, dx, dy float64) (a, b, theta float64) {
	r := bpa * math.Pi / 180
	a = bmaj / 2 * math.Sqrt(math.Pow(math.Sin(r)/dx, 2)+math.Pow(math.Cos(r)/dy, 2))
	b = bmin / 2 * math.Sqrt(math.Pow(math.Cos(r)/dx, 2)+math.Pow(math.Sin(r)/dy, 2))
	return a, b, r
}

// TestMetaRealFiles checks the metadata of the real images against SPEC
// 10.1 and 0.3. The beam in pixels is compared (a) to 1e-5 px with the
// SPEC 0.3 formula on the header numbers printed below (copied from the
// files' BMAJ, BMIN, BPA, CDELT cards), and (b) to SPEC 0.3's printed
// values within half a unit of their last printed digit.
func TestMetaRealFiles(t *testing.T) {
	type beamCase struct {
		bmaj, bmin, bpa, dx float64 // header cards
		spec                [3]float64
		specTol             [3]float64
	}
	for _, tc := range []struct {
		file              string
		nx, ny            int
		freq, freqTol, bw float64
		start             string
		telescope         string
		beam              beamCase
		ra, dec, radecTol float64
	}{
		{
			file: "GRB120422A-120429.fits", nx: 512, ny: 512,
			freq: 1.6505187505e10, bw: 1e6,
			start: "2012-04-29T17:19:23.001599Z", telescope: "AMI-LA",
			beam: beamCase{1.506752332052e-02, 6.847996711731e-03, 5.014526367188, 1.388888888889e-03,
				[3]float64{5.42431, 2.46528, 0.0875200}, [3]float64{5e-6, 5e-6, 5e-8}},
			// CRPIX 257 is FITS pixel 257 = 0-based 256 = NAXIS/2: the
			// centre is CRVAL, to rounding of the projection (1e-9 deg).
			ra: 136.91025, dec: 14.01822222, radecTol: 1e-9,
		},
		{
			file: "SWIFT_554620-130504.fits", nx: 512, ny: 512,
			freq: 1.687992813e10, bw: 1e6,
			start: "2013-05-04T18:59:19.996801Z", telescope: "AMI-LA",
			beam: beamCase{1.708134757148e-02, 6.596771346198e-03, 1.354555225372e+01, 1.388888888889e-03,
				[3]float64{6.14929, 2.37484, 0.236414}, [3]float64{5e-6, 5e-6, 5e-7}},
			ra: 173.1387083, dec: 27.6915, radecTol: 1e-9,
		},
		{
			file: "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits", nx: 256, ny: 256,
			// SPEC prints 143650817.87: half a unit of the last digit.
			freq: 143650817.87, freqTol: 0.005, bw: 46.875e6,
			start: "2020-10-06T01:26:36.8Z", telescope: "LOFAR",
			beam: beamCase{0.00901909702591635, 0.00498843516558039, 38.6860542609271, 0.0013888888888889,
				[3]float64{3.24687, 1.79584, 0.675199}, [3]float64{5e-6, 5e-6, 5e-7}},
			// The centre of the cutout, far from CRPIX (-19, 1436): no
			// printed reference; checked against SkyToPix below.
			ra: math.NaN(),
		},
		{
			file: "psf.fits", nx: 512, ny: 512,
			freq: 120310974.12, freqTol: 0.005, bw: 195312.5,
			start: "2020-01-01T00:00:00Z", telescope: "LOFAR",
			beam: beamCase{0.0633232621135594, 0.0464591005462208, 86.7612722265415, 0.0111111111111111,
				[3]float64{2.84955, 2.09066, 1.51427}, [3]float64{5e-6, 5e-6, 5e-6}},
			ra: 123.400216667, dec: 48.217295, radecTol: 1e-9,
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := testutil.SharedFile(t, tc.file)
			m, err := ReadMeta(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Naxis1 != tc.nx || m.Naxis2 != tc.ny {
				t.Errorf("size %d x %d, want %d x %d", m.Naxis1, m.Naxis2, tc.nx, tc.ny)
			}
			if math.Abs(m.FreqEff-tc.freq) > tc.freqTol || m.FreqBW != tc.bw {
				t.Errorf("freq %v bw %v, want %v bw %v", m.FreqEff, m.FreqBW, tc.freq, tc.bw)
			}
			if got := m.TauStart.Format(time.RFC3339Nano); got != tc.start || !m.TimeKnown {
				t.Errorf("taustart %s (known %v), want %s", got, m.TimeKnown, tc.start)
			}
			if m.TauTime != 0 {
				t.Errorf("tau_time %v, want 0 (no END_UTC)", m.TauTime)
			}
			if m.Telescope != tc.telescope {
				t.Errorf("telescope %q, want %q", m.Telescope, tc.telescope)
			}
			if m.LOFAR {
				t.Error("LOFAR accessor chosen without ANTENNA")
			}
			bc := tc.beam
			if m.Beam != (Beam{bc.bmaj, bc.bmin, bc.bpa}) || m.BeamFrom != "BMAJ" {
				t.Errorf("beam %+v from %s", m.Beam, m.BeamFrom)
			}
			a, b, th := specBeamPx(bc.bmaj, bc.bmin, bc.bpa, bc.dx, bc.dx)
			got := [3]float64{m.BeamPx.SMaj, m.BeamPx.SMin, m.BeamPx.Theta}
			for i, want := range [3]float64{a, b, th} {
				if math.Abs(got[i]-want) > 1e-5 {
					t.Errorf("beam px[%d] = %.7f, formula on the header gives %.7f", i, got[i], want)
				}
				if math.Abs(got[i]-bc.spec[i]) > bc.specTol[i] {
					t.Errorf("beam px[%d] = %.7f, SPEC prints %v", i, got[i], bc.spec[i])
				}
			}
			if math.Abs(m.PixelScale-bc.dx) > 1e-15 {
				t.Errorf("pixel scale %v, want %v", m.PixelScale, bc.dx)
			}
			if !math.IsNaN(tc.ra) && (math.Abs(m.CentreRA-tc.ra) > tc.radecTol || math.Abs(m.CentreDec-tc.dec) > tc.radecTol) {
				t.Errorf("centre (%.10f, %.10f), want (%.10f, %.10f)", m.CentreRA, m.CentreDec, tc.ra, tc.dec)
			}
			// The centre maps back to pixel (nx/2, ny/2) (WCS round trip,
			// 1e-6 px).
			x, y, err := m.WCS.SkyToPix(m.CentreRA, m.CentreDec)
			if err != nil || math.Abs(x-float64(tc.nx)/2) > 1e-6 || math.Abs(y-float64(tc.ny)/2) > 1e-6 {
				t.Errorf("centre maps back to (%v, %v), %v", x, y, err)
			}
		})
	}
}

func TestMetaRealFailures(t *testing.T) {
	path := testutil.SharedFile(t, "missing_metadata.fits")
	_, err := ReadMeta(path, Options{})
	if !errors.Is(err, ErrNoFrequency) || !strings.Contains(err.Error(), "no frequency") || !strings.Contains(err.Error(), path) {
		t.Errorf("missing_metadata.fits: %v, want ErrNoFrequency naming the file", err)
	}
	// Its pixels are readable: BITPIX 64 with BLANK.
	img, h, err := ReadImage(path, Options{})
	if err != nil || img.Rect.Dx() != 3 || img.Rect.Dy() != 2 {
		t.Errorf("ReadImage: %v, %v", img, err)
	}
	if v, _ := h.Float("CLEANBMJ"); v != 2.2222e-2 {
		t.Errorf("CLEANBMJ %v", v)
	}
	path = testutil.SharedFile(t, "lofar-stub.fits")
	for _, err := range []error{
		func() error { _, err := ReadMeta(path, Options{}); return err }(),
		func() error { _, _, err := Read(path, Options{}); return err }(),
	} {
		if !errors.Is(err, ErrNot2D) || !strings.Contains(err.Error(), "not a 2-D image") {
			t.Errorf("lofar-stub.fits: %v, want ErrNot2D", err)
		}
	}
}

func TestMetaFixtures(t *testing.T) {
	m, err := ReadMeta(fixture(t, "history_beam.fits"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Beam != (Beam{1.3889e-2, 8.3333e-3, 45}) || m.BeamFrom != "HISTORY" {
		t.Errorf("HISTORY beam %+v from %s", m.Beam, m.BeamFrom)
	}

	m, err = ReadMeta(fixture(t, "cleanbeam.fits"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Beam != (Beam{0.02, 0.015, -10}) || m.BeamFrom != "CLEANBMJ" {
		t.Errorf("CLEANBMJ beam %+v from %s", m.Beam, m.BeamFrom)
	}
	if m.FreqEff != 325.5e6 || m.FreqBW != 6.25e6 || m.FreqFrom != "CTYPE3" {
		t.Errorf("FREQ-OBS in MHz: %v %v from %s", m.FreqEff, m.FreqBW, m.FreqFrom)
	}
	if !m.TauStart.Equal(time.Date(2006, 3, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("date-only DATE-OBS: %v", m.TauStart)
	}

	m, err = ReadMeta(fixture(t, "cd_matrix.fits"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// MJD 59000.5 TAI is 2020-05-31T12:00:00 TAI, 37 s ahead of UTC.
	if want := time.Date(2020, 5, 31, 11, 59, 23, 0, time.UTC); !m.TauStart.Equal(want) || m.TimeFrom != "MJD-OBS" {
		t.Errorf("MJD-OBS TAI: %v from %s, want %v", m.TauStart, m.TimeFrom, want)
	}
	if m.TauTime != 900 || m.TauFrom != "EXPTIME" || m.FreqBW != 2.88e8 {
		t.Errorf("EXPTIME %v from %s, RESTBW %v", m.TauTime, m.TauFrom, m.FreqBW)
	}
	// A CD matrix rotated by 30 degrees with 0.01 deg pixels: square
	// pixels of 0.01 deg (1e-12: the CD entries' decimal rounding).
	if math.Abs(m.PixelScale-0.01) > 1e-12 {
		t.Errorf("CD pixel scale %v", m.PixelScale)
	}

	m, err = ReadMeta(fixture(t, "lofar.fits"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !m.LOFAR || m.AntennaSet != "HBA_DUAL_INNER" || *m.NCore != 24 || *m.NRemote != 14 || *m.NIntl != 0 ||
		*m.Subbands != 10 || *m.SubbandW != 195312.5 {
		t.Errorf("LOFAR keywords: %+v", m)
	}
	if m.TauTime != 660.5 || m.TauFrom != "TAU_TIME" {
		t.Errorf("TAU_TIME must win over END_UTC: %v from %s", m.TauTime, m.TauFrom)
	}
	if s, _ := m.Header.String("OBSERVER"); s != "The LOFAR Transients Key Science Project, observing the radio sky for transients and variables" {
		t.Errorf("CONTINUE string: %q", s)
	}
	if m.FreqEff != 1.5e8 || m.FreqBW != 1953125 || m.Stokes != "I" {
		t.Errorf("freq %v bw %v stokes %s", m.FreqEff, m.FreqBW, m.Stokes)
	}
}

// synth returns a valid 10 x 10 image header: SIN WCS with 0.01 deg
// pixels, beam, RESTFRQ, DATE-OBS. edit changes it.
func synth(edit func(h *Header)) *Header {
	h := NewHeader()
	h.cards = append(h.cards, Card{Key: "SIMPLE", Value: true})
	for _, kv := range []struct {
		k string
		v any
	}{
		{"BITPIX", -32}, {"NAXIS", 2}, {"NAXIS1", 10}, {"NAXIS2", 10},
		{"CTYPE1", "RA---SIN"}, {"CRVAL1", 10.0}, {"CRPIX1", 6.0}, {"CDELT1", -0.01},
		{"CTYPE2", "DEC--SIN"}, {"CRVAL2", 20.0}, {"CRPIX2", 6.0}, {"CDELT2", 0.01},
		{"BMAJ", 0.04}, {"BMIN", 0.02}, {"BPA", 30.0},
		{"RESTFRQ", 1.4e9}, {"DATE-OBS", "2020-01-02T03:04:05"},
	} {
		h.Set(kv.k, kv.v, "")
	}
	if edit != nil {
		edit(h)
	}
	return h
}

func TestFrequencyRules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     func(h *Header)
		freq, bw float64
		from     string
		err      error
	}{
		{"RESTFRQ+RESTBW", func(h *Header) { h.Set("RESTBW", -2e6, "") }, 1.4e9, 2e6, "RESTFRQ", nil},
		{"FREQ lower-case GHz", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("CTYPE3", "freq", "")
			h.Set("CRVAL3", 1.4, "")
			h.Set("CDELT3", -0.002, "")
			h.Set("CUNIT3", "GHz", "")
		}, 1.4e9, 2e6, "CTYPE3", nil},
		{"FREQ kHz zero CDELT", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("CTYPE3", "FREQ-LSR", "")
			h.Set("CRVAL3", 1.5e5, "")
			h.Set("CUNIT3", "KHZ", "")
		}, 1.5e8, DefaultBandwidth, "CTYPE3", nil},
		{"VOPT velocity", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("RESTFREQ", 1e9, "")
			h.Set("CTYPE3", "VOPT", "")
			h.Set("CRVAL3", 0.1*speedOfLight/1e3, "")
			h.Set("CDELT3", -2.5e7, "a velocity, not a bandwidth")
			h.Set("CUNIT3", "km/s", "")
		}, 1e9 / 1.1, DefaultBandwidth, "CTYPE3", nil},
		{"VOPT without rest frequency", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("CTYPE3", "VOPT", "")
			h.Set("CRVAL3", 0.0, "")
		}, 0, 0, "", ErrNoFrequency},
		{"CTYPE4 FREQ", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("CTYPE3", "STOKES", "")
			h.Set("CRVAL3", 1.0, "")
			h.Set("CTYPE4", "FREQ", "")
			h.Set("CRVAL4", 1.2e8, "")
			h.Set("CDELT4", 1e5, "")
		}, 1.2e8, 1e5, "CTYPE4", nil},
		{"RESTFRQ zero falls through", func(h *Header) {
			h.Set("RESTFRQ", 0.0, "")
			h.Set("CTYPE3", "FREQ", "")
			h.Set("CRVAL3", 6e7, "")
			h.Set("CDELT3", 2e5, "")
		}, 6e7, 2e5, "CTYPE3", nil},
		{"RESTFREQ", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("RESTFREQ", 6.00765e7, "")
		}, 6.00765e7, DefaultBandwidth, "RESTFREQ", nil},
		{"FREQ in m/s", func(h *Header) {
			h.Delete("RESTFRQ")
			h.Set("CTYPE3", "FREQ", "")
			h.Set("CRVAL3", 1e8, "")
			h.Set("CUNIT3", "m/s", "")
		}, 0, 0, "", ErrNoFrequency},
		{"none", func(h *Header) { h.Delete("RESTFRQ") }, 0, 0, "", ErrNoFrequency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMeta("synth", synth(tc.edit), Options{})
			if tc.err != nil {
				if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), "synth") {
					t.Errorf("err %v, want %v naming the file", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// 1e-15 relative: one rounding of the unit conversion.
			if !testutil.Close(m.FreqEff, tc.freq, 0, 1e-15) || m.FreqBW != tc.bw || m.FreqFrom != tc.from {
				t.Errorf("freq %v bw %v from %q, want %v %v %q", m.FreqEff, m.FreqBW, m.FreqFrom, tc.freq, tc.bw, tc.from)
			}
		})
	}
}

func TestBeamRules(t *testing.T) {
	over := &Beam{0.1, 0.05, 10}
	m, err := NewMeta("synth", synth(nil), Options{Beam: over})
	if err != nil || m.Beam != *over || m.BeamFrom != "override" {
		t.Errorf("override: %+v from %s, %v", m.Beam, m.BeamFrom, err)
	}
	// BMAJ/BMIN 0.04/0.02 deg, BPA 30, 0.01 deg pixels: square pixels
	// make the beam in pixels the half widths over the pixel size
	// (tolerances: a few ulps of the arithmetic).
	m, err = NewMeta("synth", synth(nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := (BeamPx{2, 1, 30 * math.Pi / 180}); math.Abs(m.BeamPx.SMaj-want.SMaj) > 1e-12 ||
		math.Abs(m.BeamPx.SMin-want.SMin) > 1e-12 || math.Abs(m.BeamPx.Theta-want.Theta) > 1e-15 {
		t.Errorf("beam px %+v, want %+v", m.BeamPx, want)
	}
	m, err = NewMeta("synth", synth(func(h *Header) { h.Delete("BPA") }), Options{})
	if err != nil || m.Beam.BPA != 0 {
		t.Errorf("missing BPA: %+v, %v", m.Beam, err)
	}
	m, err = NewMeta("synth", synth(func(h *Header) {
		h.Set("BMAJ", 0.0, "")
		h.AddHistory("AIPS   CLEAN BMAJ=  1.0D-02 BMIN=  5.0D-03 BPA= -12.5")
	}), Options{})
	if err != nil || m.Beam != (Beam{0.01, 0.005, -12.5}) || m.BeamFrom != "HISTORY" {
		t.Errorf("BMAJ 0 then HISTORY: %+v from %s, %v", m.Beam, m.BeamFrom, err)
	}
	for name, opts := range map[string]Options{
		"none":         {},
		"bad override": {Beam: &Beam{-1, 0.01, 0}},
		"NaN override": {Beam: &Beam{0.01, 0.01, math.NaN()}},
	} {
		_, err := NewMeta("synth", synth(func(h *Header) { h.Delete("BMAJ") }), opts)
		if name != "none" {
			_, err = NewMeta("synth", synth(nil), opts)
		}
		if !errors.Is(err, ErrNoBeam) {
			t.Errorf("%s: %v, want ErrNoBeam", name, err)
		}
	}
}

func TestMetaWCSChecks(t *testing.T) {
	_, err := NewMeta("synth", synth(func(h *Header) { h.Delete("CTYPE1") }), Options{})
	if !errors.Is(err, ErrNoWCS) || !errors.Is(err, wcs.ErrNoCelestial) {
		t.Errorf("no CTYPE1: %v, want ErrNoWCS wrapping wcs.ErrNoCelestial", err)
	}
	// SquareTolerance is 1e-7 deg: 2e-7 fails, 5e-8 passes.
	_, err = NewMeta("synth", synth(func(h *Header) { h.Set("CDELT2", 0.0100002, "") }), Options{})
	if !errors.Is(err, ErrNonSquarePixels) {
		t.Errorf("2e-7 deg difference: %v, want ErrNonSquarePixels", err)
	}
	if _, err = NewMeta("synth", synth(func(h *Header) { h.Set("CDELT2", 0.01000005, "") }), Options{}); err != nil {
		t.Errorf("5e-8 deg difference: %v", err)
	}
	// Odd sizes: the centre is at (nx/2, ny/2) in floating point.
	m, err := NewMeta("synth", synth(func(h *Header) { h.Set("NAXIS1", 11, ""); h.Set("NAXIS2", 9, "") }), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ra, dec, _ := m.WCS.PixToSky(5.5, 4.5)
	if m.CentreRA != ra || m.CentreDec != dec {
		t.Errorf("centre (%v, %v), want p2s(5.5, 4.5) = (%v, %v)", m.CentreRA, m.CentreDec, ra, dec)
	}
}

func TestStokesPlanes(t *testing.T) {
	h := synth(func(h *Header) {
		h.Set("NAXIS", 4, "")
		h.Set("NAXIS3", 1, "")
		h.Set("NAXIS4", 4, "")
		h.Set("CTYPE3", "FREQ", "")
		h.Set("CRVAL3", 1.5e8, "")
		h.Set("CTYPE4", "STOKES", "")
		h.Set("CRVAL4", 1.0, "")
		h.Set("CRPIX4", 1.0, "")
		h.Set("CDELT4", 1.0, "")
	})
	for plane, want := range []string{"I", "Q", "U", "V"} {
		m, err := NewMeta("synth", h, Options{Plane: plane})
		if err != nil {
			t.Fatal(err)
		}
		// RESTFRQ wins for a degenerate frequency axis.
		if m.Stokes != want || m.FreqEff != 1.4e9 {
			t.Errorf("plane %d: Stokes %s freq %v, want %s 1.4e9", plane, m.Stokes, m.FreqEff, want)
		}
	}
}

func TestMetaJSON(t *testing.T) {
	m, err := ReadMeta(fixture(t, "lofar.fits"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"naxis1", "naxis2", "freq_eff_hz", "freq_bw_hz", "taustart", "tau_time_s", "telescope",
		"beam_deg", "beam_px", "pixel_scale_deg", "centre_ra", "centre_dec", "lofar", "ncore", "subbandw_hz"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON has no %q: %s", k, b)
		}
	}
	if got["taustart"] != "2014-08-01T12:00:00Z" {
		t.Errorf("taustart %v", got["taustart"])
	}
	bp := got["beam_px"].(map[string]any)
	if _, ok := bp["theta_rad"]; !ok {
		t.Errorf("beam_px %v", bp)
	}
	if _, ok := got["WCS"]; ok {
		t.Error("the WCS is serialised")
	}
}

func TestIsImageName(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{"a.fits", true}, {"A.FITS", true}, {"dir/b.fit", true}, {"c.FTS", true},
		{"d.fits.gz", true}, {"e.fit.fz", true}, {"f.FTS.GZ", true},
		{"g.fits.tmp", false}, {"h.txt", false}, {"fits", false}, {".fits", false},
		{"i.fitsx", false}, {"j.gz", false}, {"k.image", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := IsImageName(c.name); got != c.want {
				t.Errorf("IsImageName(%q) = %v, want %v", c.name, got, c.want)
			}
		})
	}
}
