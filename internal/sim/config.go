package sim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes one simulated data set completely: the same Config and
// Seed give byte-identical files. Fields hold values in the units a user
// types (MHz, arcsec, seconds) so that Params and Set round-trip exactly.
// Start from a preset (Preset) and change fields, or use Set with the keys
// that Params lists.
type Config struct {
	Seed uint64 // fixes every random draw

	// Observation.
	Timesteps int       // snapshots
	CadenceS  float64   // seconds between snapshot starts
	TauS      float64   // integration time per snapshot (TAU_TIME), s
	Start     time.Time // DATE-OBS of the first snapshot, UTC

	// Pointings: Beams fields in the RSM hexagon layout (see doc.go).
	Beams      int
	BeamSepDeg float64 // distance of the ring pointings from the centre, deg
	CentreRA   float64 // hexagon centre, deg
	CentreDec  float64

	// Image grid (SIN projection, square pixels, north up, east left).
	Width, Height int
	PixelArcsec   float64

	// Bands: one entry per band in FreqMHz and RmsJy.
	FreqMHz        []float64 // band centre frequencies, MHz
	RmsJy          []float64 // image noise per band, Jy/beam
	Subbands       int       // subbands per band (SUBBANDS)
	SubbandWidthHz float64   // SUBBANDW; bandwidth = Subbands*SubbandWidthHz

	// Restoring beam at BeamRefMHz; both axes scale as 1/frequency.
	BmajArcsec, BminArcsec float64 // full widths at half maximum
	BPADeg                 float64 // position angle, north through east
	BeamRefMHz             float64

	// Sky model. Fluxes are given at FluxRefMHz.
	FluxRefMHz       float64
	SteadyDensity    float64 // steady sources per square degree above SteadyFluxMin
	SteadyFluxMin    float64 // Jy
	SteadyFluxMax    float64 // Jy
	CountSlope       float64 // gamma of the integral counts N(>S) ∝ S^-gamma
	AlphaMean        float64 // spectral index S ∝ ν^alpha: mean
	AlphaSD          float64 // and standard deviation
	Variables        int
	VariableFluxMin  float64 // Jy, mean flux, drawn log-uniform
	VariableFluxMax  float64
	ModIndexMin      float64 // modulation index (std/mean), drawn uniform
	ModIndexMax      float64
	Transients       int
	TransientFluxMin float64 // Jy, drawn log-uniform
	TransientFluxMax float64
	SingleFrac       float64 // fraction of transients seen in one snapshot only
	SwitchOffFrac    float64 // fraction of the others that switch off again
	// TransientMaxSteps (>= 2) bounds the snapshots a transient that
	// switches off is on (0: up to the last snapshot).
	TransientMaxSteps int
	IsolationArcmin   float64 // min distance of variables/transients from other bright sources
	SourcesFile       string  // optional CSV of user sources (see ReadSources)

	// Primary beam attenuation (a Gaussian, FWHM ∝ 1/frequency).
	PrimaryBeam bool
	PBFwhmDeg   float64 // at BeamRefMHz

	// PBCorrected divides the whole image by the primary beam, as
	// primary-beam-corrected images are delivered (LOFAR's "-pb" WSClean
	// images, ASKAP's): sources keep their intrinsic flux and the noise
	// rises as 1/PB towards the edges. Needs PrimaryBeam.
	PBCorrected bool

	// Realistic options (docs/simulate.md "Realistic options"); all off by
	// default except in the realistic preset.
	NoisePSF     string  // "gaussian" (restoring beam), "lofar" (embedded PSF) or a PSF FITS path
	ExtendedFrac float64 // fraction of steady sources that are resolved Gaussians
	ExtMinArcsec float64 // intrinsic FWHM major axis of resolved sources: drawn log-uniform
	ExtMaxArcsec float64
	// Around each source whose apparent peak is at least BrightSNR times
	// the image rms: SidelobeFrac of its peak times the PSF minus its
	// main lobe (residual sidelobes, the PSF rotated by a random angle per
	// image), and rings and ArtefactSpokes spokes of ArtefactFrac of its
	// peak with random phases per image, within ArtefactBeams restoring
	// beam FWHM.
	BrightSNR      float64
	SidelobeFrac   float64
	ArtefactFrac   float64
	ArtefactBeams  float64
	ArtefactSpokes int

	// Bad images for quality control, chosen among timesteps after the first.
	BadImages    int
	BadRmsFactor float64 // noise multiplier of an "rms" bad image

	// Stokes is the polarisation of the images: "I" (or "") or "V".
	// Stokes V images hold the circularly polarised sources alone, each
	// at CircPol times its Stokes I flux (signed), in the same noise.
	Stokes string
	// CircularFrac of the generated sources are circularly polarised:
	// |V|/I uniform in [CircularMin, CircularMax], either sign with equal
	// odds (user sources take their circ_pol column).
	CircularFrac, CircularMin, CircularMax float64

	// LOFAR keywords (SPEC 3.3, 10.4).
	Telescope string
	Antenna   string
	NCore     int
	NRemote   int
	NIntl     int
}

// Preset names.
const (
	PresetTiny      = "tiny"
	PresetRSMMini   = "rsm-mini"
	PresetRSM       = "rsm"
	PresetRealistic = "realistic"
	// AARTFAAC-like all-sky monitor presets (live mode, gotrap bench live).
	PresetAARTFAACMini = "aartfaac-mini"
	PresetAARTFAAC     = "aartfaac"
)

// PresetNames lists the presets: the RSM family in order of size, then
// the AARTFAAC ones.
func PresetNames() []string {
	return []string{PresetTiny, PresetRealistic, PresetRSMMini, PresetRSM, PresetAARTFAACMini, PresetAARTFAAC}
}

// aartfaacBase is an all-sky-like monitor after the AARTFAAC transient
// detection system (Prasad et al. 2016, J. Astron. Instrum. 5, 1641008):
// 1 s snapshots of the LOFAR superterp's LBA, one image per sub-band,
// imaged in SIN projection around the zenith. 1024x1024 px of 270" (77°
// across: the whole image lies on the sphere, so "all-sky-like", not the
// full horizon), 8 sub-bands of 195 kHz 1 MHz apart (so that each is its
// own band, SPEC 2.3), a 30'x25' beam at 60 MHz (6.7x5.6 px), rms 3 Jy,
// bright steady sources (30-3000 Jy) and transients of 2-5 snapshots.
// TELESCOP is AARTFAAC, so the LOFAR-only quality checks do not apply.
func aartfaacBase() Config {
	c := rsmBase()
	c.Timesteps = 60
	c.CadenceS, c.TauS = 1, 1
	c.Start = time.Date(2024, 3, 1, 21, 0, 0, 0, time.UTC)
	c.Beams, c.BeamSepDeg = 1, 0
	c.CentreRA, c.CentreDec = 150, 52.91
	c.Width, c.Height, c.PixelArcsec = 1024, 1024, 270
	c.FreqMHz = []float64{57, 58, 59, 60, 61, 62, 63, 64}
	c.RmsJy = []float64{3, 3, 3, 3, 3, 3, 3, 3}
	c.Subbands, c.SubbandWidthHz = 1, 195312.5
	c.BmajArcsec, c.BminArcsec, c.BPADeg, c.BeamRefMHz = 1800, 1500, 0, 60
	c.FluxRefMHz = 60
	c.SteadyDensity, c.SteadyFluxMin, c.SteadyFluxMax = 0.05, 30, 3000
	c.Variables = 0
	c.Transients = 20
	c.TransientFluxMin, c.TransientFluxMax = 60, 600
	c.SingleFrac, c.SwitchOffFrac, c.TransientMaxSteps = 0, 1, 5
	c.IsolationArcmin = 120
	c.PBFwhmDeg = 60
	c.ExtMinArcsec, c.ExtMaxArcsec = 2000, 6000
	c.BadImages = 0
	c.Telescope, c.Antenna = "AARTFAAC", "LBA_OUTER"
	c.NCore = 12
	return c
}

// rsmBase is the geometry and instrument of the LOFAR Radio Sky Monitor
// (SPEC 9.2) shared by the rsm and rsm-mini presets.
func rsmBase() Config {
	return Config{
		Seed:      1,
		Timesteps: 142,
		CadenceS:  900,
		TauS:      600,
		Start:     time.Date(2012, 1, 24, 0, 0, 0, 0, time.UTC),

		Beams:      6,
		BeamSepDeg: 5,
		CentreRA:   150,
		CentreDec:  52.91,

		Width: 1280, Height: 1280,
		PixelArcsec: 20,

		// Centres of 10-subband blocks of the 200 MHz clock (subbands
		// 98-107, 149-158, 200-209 and 303-312 above 100 MHz).
		FreqMHz:        []float64{120.01953125, 129.98046875, 139.94140625, 160.05859375},
		RmsJy:          []float64{0.053, 0.038, 0.035, 0.028},
		Subbands:       10,
		SubbandWidthHz: 195312.5,

		BmajArcsec: 140,
		BminArcsec: 112,
		BPADeg:     30,
		BeamRefMHz: 150,

		FluxRefMHz:       150,
		SteadyDensity:    10,
		SteadyFluxMin:    0.05,
		SteadyFluxMax:    20,
		CountSlope:       0.8,
		AlphaMean:        -0.7,
		AlphaSD:          0.2,
		Variables:        60,
		VariableFluxMin:  0.3,
		VariableFluxMax:  3,
		ModIndexMin:      0.1,
		ModIndexMax:      0.4,
		Transients:       60,
		TransientFluxMin: 0.3,
		TransientFluxMax: 3,
		SingleFrac:       0.3,
		SwitchOffFrac:    0.5,
		IsolationArcmin:  10,

		PBFwhmDeg: 3.8,

		NoisePSF:       PSFGaussian,
		ExtMinArcsec:   150,
		ExtMaxArcsec:   600,
		BrightSNR:      50,
		ArtefactBeams:  10,
		ArtefactSpokes: 6,

		BadImages:    6,
		BadRmsFactor: 20,

		Stokes:      "I",
		CircularMin: 0.05,
		CircularMax: 0.5,

		Telescope: "LOFAR",
		Antenna:   "HBA_DUAL_INNER",
		NCore:     48,
	}
}

// Preset returns the named configuration with seed 1.
//
//   - tiny: 1 beam, 2 bands (the outer RSM bands), 8 timesteps of 256x256 px,
//     4 variables, 4 transients, 3 bad images: for CI.
//   - rsm-mini: the RSM geometry (6 beams, 4 bands, 1280x1280 px at 20"),
//     6 timesteps: 144 images.
//   - rsm: the same with 142 timesteps: 3408 images, as in the first RSM run.
//   - realistic: rsm-mini with images of 768x768 px (144 images, 0.34 GB)
//     and every realistic option on: noise correlated by the
//     embedded LOFAR PSF, primary-beam-corrected images, 10% resolved
//     steady sources, sidelobe residuals and artefacts around sources
//     above 50 sigma.
//   - aartfaac: an all-sky-like monitor (aartfaacBase): 1 field, 8
//     sub-bands, 60 snapshots 1 s apart, 1024x1024 px: 480 images.
//   - aartfaac-mini: the same with 4 sub-bands, 20 snapshots and
//     256x256 px (19° across): 80 images, for CI.
func Preset(name string) (Config, error) {
	c := rsmBase()
	switch name {
	case PresetRSM:
	case PresetRSMMini:
		c.Timesteps = 6
		c.Variables = 30
		c.Transients = 20
		c.BadImages = 3
	case PresetTiny:
		c.Timesteps = 8
		c.Beams = 1
		c.Width, c.Height = 256, 256
		c.FreqMHz = []float64{c.FreqMHz[0], c.FreqMHz[3]}
		c.RmsJy = []float64{c.RmsJy[0], c.RmsJy[3]}
		c.Variables = 4
		c.Transients = 4
		c.IsolationArcmin = 6
		c.BadImages = 3
	case PresetRealistic:
		c.Timesteps = 6
		c.Width, c.Height = 768, 768
		c.Variables = 30
		c.Transients = 20
		c.BadImages = 3
		c.NoisePSF = PSFLOFAR
		c.PrimaryBeam = true
		c.PBCorrected = true
		c.ExtendedFrac = 0.1
		c.SidelobeFrac = 0.05
		c.ArtefactFrac = 0.02
	case PresetAARTFAAC:
		c = aartfaacBase()
	case PresetAARTFAACMini:
		c = aartfaacBase()
		c.Timesteps = 20
		c.Width, c.Height = 256, 256
		c.FreqMHz, c.RmsJy = c.FreqMHz[:4:4], c.RmsJy[:4:4]
		c.Transients = 3
	default:
		return Config{}, fmt.Errorf("sim: unknown preset %q (want one of %s)", name, strings.Join(PresetNames(), ", "))
	}
	return c, nil
}

// stokesV reports whether the images are Stokes V.
func (c *Config) stokesV() bool { return strings.EqualFold(strings.TrimSpace(c.Stokes), "V") }

// NumImages is Timesteps*Beams*len(FreqMHz).
func (c *Config) NumImages() int { return c.Timesteps * c.Beams * len(c.FreqMHz) }

// Validate reports the first inconsistency of c.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("sim: "+format, a...)) }
	if c.Timesteps < 1 {
		bad("timesteps = %d, want at least 1", c.Timesteps)
	}
	if !(c.CadenceS > 0) || !(c.TauS > 0) {
		bad("cadence_s and tau_s must be positive")
	}
	if c.Beams < 1 || c.Beams > 7 {
		bad("beams = %d, want 1 to 7", c.Beams)
	}
	if !(c.BeamSepDeg >= 0) || c.BeamSepDeg > 60 {
		bad("beam_sep_deg = %g, want 0 to 60", c.BeamSepDeg)
	}
	if !(c.CentreDec >= -90 && c.CentreDec <= 90) || math.IsNaN(c.CentreRA) || math.IsInf(c.CentreRA, 0) {
		bad("centre (%g, %g) is not a sky position", c.CentreRA, c.CentreDec)
	}
	if c.Width < 8 || c.Height < 8 || c.Width > 16384 || c.Height > 16384 {
		bad("image size %dx%d, want 8 to 16384 px a side", c.Width, c.Height)
	}
	if !(c.PixelArcsec > 0) {
		bad("pixel_arcsec must be positive")
	}
	if len(c.FreqMHz) == 0 || len(c.FreqMHz) != len(c.RmsJy) {
		bad("freqs_mhz has %d bands and rms_jy %d: want the same, at least 1", len(c.FreqMHz), len(c.RmsJy))
	}
	for i, f := range c.FreqMHz {
		if !(f > 0) {
			bad("freqs_mhz[%d] = %g, want > 0", i, f)
		}
	}
	for i, r := range c.RmsJy {
		if !(r > 0) || math.IsInf(r, 0) {
			bad("rms_jy[%d] = %g, want > 0", i, r)
		}
	}
	if c.Subbands < 1 || !(c.SubbandWidthHz > 0) {
		bad("subbands and subband_width_hz must be positive")
	}
	if !(c.BminArcsec > 0) || c.BmajArcsec < c.BminArcsec || !(c.BeamRefMHz > 0) {
		bad("beam %gx%g arcsec at %g MHz: want bmaj >= bmin > 0", c.BmajArcsec, c.BminArcsec, c.BeamRefMHz)
	}
	if !(c.FluxRefMHz > 0) {
		bad("flux_ref_mhz must be positive")
	}
	if !(c.SteadyDensity >= 0) || !(c.SteadyFluxMin > 0) || c.SteadyFluxMax < c.SteadyFluxMin || !(c.CountSlope > 0) {
		bad("steady population: want density >= 0, 0 < flux_min <= flux_max, slope > 0")
	}
	if !(c.AlphaSD >= 0) || math.IsNaN(c.AlphaMean) {
		bad("alpha_sd must be >= 0")
	}
	if c.Variables < 0 || c.Transients < 0 || c.BadImages < 0 {
		bad("counts must not be negative")
	}
	if !(c.VariableFluxMin > 0) || c.VariableFluxMax < c.VariableFluxMin ||
		!(c.TransientFluxMin > 0) || c.TransientFluxMax < c.TransientFluxMin {
		bad("variable and transient flux ranges: want 0 < min <= max")
	}
	if !(c.ModIndexMin >= 0) || c.ModIndexMax < c.ModIndexMin || c.ModIndexMax >= 1 {
		bad("mod_index range [%g, %g]: want 0 <= min <= max < 1", c.ModIndexMin, c.ModIndexMax)
	}
	if !(c.SingleFrac >= 0 && c.SingleFrac <= 1) || !(c.SwitchOffFrac >= 0 && c.SwitchOffFrac <= 1) {
		bad("single_snapshot_frac and switch_off_frac must lie in [0, 1]")
	}
	if c.TransientMaxSteps != 0 && c.TransientMaxSteps < 2 {
		bad("transient_max_steps = %d: want 0 (no bound) or at least 2", c.TransientMaxSteps)
	}
	if !(c.IsolationArcmin >= 0) {
		bad("isolation_arcmin must be >= 0")
	}
	if !(c.PBFwhmDeg > 0) {
		bad("pb_fwhm_deg must be positive")
	}
	if c.PBCorrected && !c.PrimaryBeam {
		bad("pb_corrected needs primary_beam=true")
	}
	if !(c.ExtendedFrac >= 0 && c.ExtendedFrac <= 1) || !(c.ExtMinArcsec > 0) || c.ExtMaxArcsec < c.ExtMinArcsec {
		bad("extended_frac must lie in [0, 1] and 0 < ext_min_arcsec <= ext_max_arcsec")
	}
	if !(c.BrightSNR > 0) || !(c.SidelobeFrac >= 0 && c.SidelobeFrac <= 1) || !(c.ArtefactFrac >= 0 && c.ArtefactFrac <= 1) ||
		!(c.ArtefactBeams >= 1 && c.ArtefactBeams <= 100) || c.ArtefactSpokes < 0 || c.ArtefactSpokes > 64 {
		bad("artefacts: want bright_snr > 0, sidelobe_frac and artefact_frac in [0, 1], artefact_beams in [1, 100], artefact_spokes in [0, 64]")
	}
	if (c.SidelobeFrac > 0) && (c.NoisePSF == "" || c.NoisePSF == PSFGaussian) {
		bad("sidelobe_frac > 0 needs a PSF with sidelobes: set noise_psf=lofar or a PSF FITS file")
	}
	if !(c.BadRmsFactor > 0) {
		bad("bad_rms_factor must be positive")
	}
	if n := c.NumImages(); c.BadImages > 0 && c.Beams > 0 && len(c.FreqMHz) > 0 {
		eligible := n
		if c.Timesteps > 1 {
			eligible = (c.Timesteps - 1) * c.Beams * len(c.FreqMHz)
		}
		if c.BadImages > eligible {
			bad("bad_images = %d, but only %d images are eligible", c.BadImages, eligible)
		}
	}
	if st := strings.ToUpper(strings.TrimSpace(c.Stokes)); st != "" && st != "I" && st != "V" {
		bad("stokes = %q: want I or V", c.Stokes)
	}
	if !(c.CircularFrac >= 0 && c.CircularFrac <= 1) || !(c.CircularMin >= 0) || c.CircularMax < c.CircularMin || c.CircularMax > 1 {
		bad("circular_frac must lie in [0, 1] and 0 <= circular_pol_min <= circular_pol_max <= 1")
	}
	if c.NCore < 0 || c.NRemote < 0 || c.NIntl < 0 {
		bad("station counts must not be negative")
	}
	if strings.ContainsAny(c.Telescope+c.Antenna, "'\n") {
		bad("telescope and antenna must not contain quotes or newlines")
	}
	return errors.Join(errs...)
}

// A Param is one settable parameter: its key, its current value as text
// (what Set accepts) and a line of help.
type Param struct {
	Key, Value, Help string
}

type paramDef struct {
	key, help string
	get       func(c *Config) string
	set       func(c *Config, v string) error
	alias     bool // settable but not listed by Params (derived)
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func fmtList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmtF(x)
	}
	return strings.Join(s, ",")
}

func parseF(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a finite number", v)
	}
	return f, nil
}

func parseList(v string) ([]float64, error) {
	parts := strings.Split(v, ",")
	out := make([]float64, len(parts))
	for i, p := range parts {
		f, err := parseF(p)
		if err != nil {
			return nil, err
		}
		out[i] = f
	}
	return out, nil
}

func fp(key, help string, field func(c *Config) *float64) paramDef {
	return paramDef{key: key, help: help,
		get: func(c *Config) string { return fmtF(*field(c)) },
		set: func(c *Config, v string) error {
			f, err := parseF(v)
			if err == nil {
				*field(c) = f
			}
			return err
		}}
}

func ip(key, help string, field func(c *Config) *int) paramDef {
	return paramDef{key: key, help: help,
		get: func(c *Config) string { return strconv.Itoa(*field(c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err == nil {
				*field(c) = n
			}
			return err
		}}
}

func sp(key, help string, field func(c *Config) *string) paramDef {
	return paramDef{key: key, help: help,
		get: func(c *Config) string { return *field(c) },
		set: func(c *Config, v string) error { *field(c) = v; return nil }}
}

func bp(key, help string, field func(c *Config) *bool) paramDef {
	return paramDef{key: key, help: help,
		get: func(c *Config) string { return strconv.FormatBool(*field(c)) },
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err == nil {
				*field(c) = b
			}
			return err
		}}
}

func lp(key, help string, field func(c *Config) *[]float64) paramDef {
	return paramDef{key: key, help: help,
		get: func(c *Config) string { return fmtList(*field(c)) },
		set: func(c *Config, v string) error {
			l, err := parseList(v)
			if err == nil {
				*field(c) = l
			}
			return err
		}}
}

// paramDefs returns the parameter table, built on first use: most
// processes that link the simulator (every gotrap command) never set a
// parameter, and the table's 120 closures at start-up cost allocations
// and page faults (docs/performance.md "Session 9").
var paramDefs = sync.OnceValue(func() []paramDef {
	return []paramDef{
		{key: "seed", help: "random seed (also --seed)",
			get: func(c *Config) string { return strconv.FormatUint(c.Seed, 10) },
			set: func(c *Config, v string) error {
				n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
				if err == nil {
					c.Seed = n
				}
				return err
			}},
		ip("timesteps", "number of snapshots", func(c *Config) *int { return &c.Timesteps }),
		fp("cadence_s", "seconds between snapshot starts", func(c *Config) *float64 { return &c.CadenceS }),
		fp("tau_s", "integration time per snapshot, s (TAU_TIME)", func(c *Config) *float64 { return &c.TauS }),
		{key: "start", help: "DATE-OBS of the first snapshot (RFC 3339, UTC)",
			get: func(c *Config) string { return c.Start.UTC().Format(time.RFC3339Nano) },
			set: func(c *Config, v string) error {
				t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(v))
				if err == nil {
					c.Start = t.UTC()
				}
				return err
			}},
		ip("beams", "number of fields: 1 = centre only, 2-6 = ring, 7 = centre and ring", func(c *Config) *int { return &c.Beams }),
		fp("beam_sep_deg", "distance of ring pointings from the centre, deg", func(c *Config) *float64 { return &c.BeamSepDeg }),
		fp("centre_ra", "RA of the hexagon centre, deg", func(c *Config) *float64 { return &c.CentreRA }),
		fp("centre_dec", "Dec of the hexagon centre, deg", func(c *Config) *float64 { return &c.CentreDec }),
		ip("width", "image width, px (NAXIS1)", func(c *Config) *int { return &c.Width }),
		ip("height", "image height, px (NAXIS2)", func(c *Config) *int { return &c.Height }),
		{key: "size", help: "sets width and height", alias: true,
			set: func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err == nil {
					c.Width, c.Height = n, n
				}
				return err
			}},
		fp("pixel_arcsec", "pixel size, arcsec", func(c *Config) *float64 { return &c.PixelArcsec }),
		lp("freqs_mhz", "band centre frequencies, MHz (comma-separated)", func(c *Config) *[]float64 { return &c.FreqMHz }),
		lp("rms_jy", "noise rms per band, Jy/beam (comma-separated)", func(c *Config) *[]float64 { return &c.RmsJy }),
		{key: "bands", help: "keep the first N bands of freqs_mhz and rms_jy", alias: true,
			set: func(c *Config, v string) error {
				n, err := strconv.Atoi(strings.TrimSpace(v))
				if err != nil {
					return err
				}
				if n < 1 || n > len(c.FreqMHz) || n > len(c.RmsJy) {
					return fmt.Errorf("bands = %d: only %d are defined (set freqs_mhz and rms_jy for more)", n, len(c.FreqMHz))
				}
				c.FreqMHz, c.RmsJy = c.FreqMHz[:n:n], c.RmsJy[:n:n]
				return nil
			}},
		ip("subbands", "subbands per band (SUBBANDS)", func(c *Config) *int { return &c.Subbands }),
		fp("subband_width_hz", "subband width, Hz (SUBBANDW)", func(c *Config) *float64 { return &c.SubbandWidthHz }),
		fp("bmaj_arcsec", "restoring beam FWHM major axis at beam_ref_mhz, arcsec", func(c *Config) *float64 { return &c.BmajArcsec }),
		fp("bmin_arcsec", "restoring beam FWHM minor axis at beam_ref_mhz, arcsec", func(c *Config) *float64 { return &c.BminArcsec }),
		fp("bpa_deg", "restoring beam position angle, deg (north through east)", func(c *Config) *float64 { return &c.BPADeg }),
		fp("beam_ref_mhz", "frequency of bmaj/bmin/pb_fwhm; beams scale as 1/frequency", func(c *Config) *float64 { return &c.BeamRefMHz }),
		fp("flux_ref_mhz", "frequency at which source fluxes are drawn", func(c *Config) *float64 { return &c.FluxRefMHz }),
		fp("steady_density", "steady sources per square degree above steady_flux_min", func(c *Config) *float64 { return &c.SteadyDensity }),
		fp("steady_flux_min", "faintest steady source, Jy", func(c *Config) *float64 { return &c.SteadyFluxMin }),
		fp("steady_flux_max", "brightest steady source, Jy", func(c *Config) *float64 { return &c.SteadyFluxMax }),
		fp("count_slope", "gamma of the integral source counts N(>S) ∝ S^-gamma", func(c *Config) *float64 { return &c.CountSlope }),
		fp("alpha_mean", "mean spectral index (S ∝ ν^alpha)", func(c *Config) *float64 { return &c.AlphaMean }),
		fp("alpha_sd", "spread of spectral indices", func(c *Config) *float64 { return &c.AlphaSD }),
		ip("variables", "number of variable sources", func(c *Config) *int { return &c.Variables }),
		fp("variable_flux_min", "faintest mean flux of a variable, Jy", func(c *Config) *float64 { return &c.VariableFluxMin }),
		fp("variable_flux_max", "brightest mean flux of a variable, Jy", func(c *Config) *float64 { return &c.VariableFluxMax }),
		fp("mod_index_min", "smallest modulation index (std/mean) of a variable", func(c *Config) *float64 { return &c.ModIndexMin }),
		fp("mod_index_max", "largest modulation index of a variable", func(c *Config) *float64 { return &c.ModIndexMax }),
		ip("transients", "number of transients", func(c *Config) *int { return &c.Transients }),
		fp("transient_flux_min", "faintest transient, Jy", func(c *Config) *float64 { return &c.TransientFluxMin }),
		fp("transient_flux_max", "brightest transient, Jy", func(c *Config) *float64 { return &c.TransientFluxMax }),
		fp("single_snapshot_frac", "fraction of transients seen in one snapshot only", func(c *Config) *float64 { return &c.SingleFrac }),
		fp("switch_off_frac", "fraction of the other transients that switch off again", func(c *Config) *float64 { return &c.SwitchOffFrac }),
		ip("transient_max_steps", "most snapshots a transient that switches off is on (0: no bound)", func(c *Config) *int { return &c.TransientMaxSteps }),
		fp("isolation_arcmin", "minimum distance of variables and transients from each other and from steady sources above 0.1 Jy", func(c *Config) *float64 { return &c.IsolationArcmin }),
		sp("sources", "CSV file of extra user sources (see docs/simulate.md)", func(c *Config) *string { return &c.SourcesFile }),
		bp("primary_beam", "attenuate sources by a Gaussian primary beam (true/false)", func(c *Config) *bool { return &c.PrimaryBeam }),
		fp("pb_fwhm_deg", "primary beam FWHM at beam_ref_mhz, deg", func(c *Config) *float64 { return &c.PBFwhmDeg }),
		bp("pb_corrected", "divide images by the primary beam (PB-corrected images: noise rises to the edges; needs primary_beam)", func(c *Config) *bool { return &c.PBCorrected }),
		sp("noise_psf", "noise autocorrelation: gaussian (restoring beam), lofar (embedded LOFAR PSF) or a PSF FITS file", func(c *Config) *string { return &c.NoisePSF }),
		fp("extended_frac", "fraction of steady sources that are resolved Gaussians", func(c *Config) *float64 { return &c.ExtendedFrac }),
		fp("ext_min_arcsec", "smallest intrinsic FWHM (major axis) of a resolved source, arcsec", func(c *Config) *float64 { return &c.ExtMinArcsec }),
		fp("ext_max_arcsec", "largest intrinsic FWHM (major axis) of a resolved source, arcsec", func(c *Config) *float64 { return &c.ExtMaxArcsec }),
		fp("bright_snr", "sources with an apparent peak of at least this many rms get sidelobe residuals and artefacts", func(c *Config) *float64 { return &c.BrightSNR }),
		fp("sidelobe_frac", "residual sidelobes: this fraction of a bright source's peak times the PSF minus its main lobe", func(c *Config) *float64 { return &c.SidelobeFrac }),
		fp("artefact_frac", "ring and spoke artefacts around bright sources: amplitude as a fraction of the peak", func(c *Config) *float64 { return &c.ArtefactFrac }),
		fp("artefact_beams", "extent of the artefacts, restoring beam FWHM", func(c *Config) *float64 { return &c.ArtefactBeams }),
		ip("artefact_spokes", "number of spokes of the artefacts", func(c *Config) *int { return &c.ArtefactSpokes }),
		ip("bad_images", "number of bad images (NaN block, rms blow-up, corrupted beam in turn)", func(c *Config) *int { return &c.BadImages }),
		fp("bad_rms_factor", "noise multiplier of an rms blow-up", func(c *Config) *float64 { return &c.BadRmsFactor }),
		sp("stokes", "polarisation of the images: I, or V (the circularly polarised sources alone, flux circ_pol x I)", func(c *Config) *string { return &c.Stokes }),
		fp("circular_frac", "fraction of the generated sources that are circularly polarised (either sign)", func(c *Config) *float64 { return &c.CircularFrac }),
		fp("circular_pol_min", "smallest |V|/I of a circularly polarised source", func(c *Config) *float64 { return &c.CircularMin }),
		fp("circular_pol_max", "largest |V|/I of a circularly polarised source", func(c *Config) *float64 { return &c.CircularMax }),
		sp("telescope", "TELESCOP", func(c *Config) *string { return &c.Telescope }),
		sp("antenna", "ANTENNA (antenna set)", func(c *Config) *string { return &c.Antenna }),
		ip("ncore", "NCORE (core stations)", func(c *Config) *int { return &c.NCore }),
		ip("nremote", "NREMOTE (remote stations)", func(c *Config) *int { return &c.NRemote }),
		ip("nintl", "NINTL (international stations)", func(c *Config) *int { return &c.NIntl }),
	}
})

// Set sets the parameter key from its text form. It does not validate the
// whole Config; call Validate when all changes are made.
func (c *Config) Set(key, value string) error {
	defs := paramDefs()
	for i := range defs {
		if defs[i].key == key {
			if err := defs[i].set(c, value); err != nil {
				return fmt.Errorf("sim: parameter %s=%q: %w", key, value, err)
			}
			return nil
		}
	}
	keys := make([]string, 0, len(defs))
	for _, d := range defs {
		keys = append(keys, d.key)
	}
	sort.Strings(keys)
	return fmt.Errorf("sim: unknown parameter %q (known: %s)", key, strings.Join(keys, ", "))
}

// Params lists every parameter of c with its value, in a fixed order.
// Setting them all on any Config with Set reproduces c.
func (c *Config) Params() []Param {
	defs := paramDefs()
	out := make([]Param, 0, len(defs))
	for _, d := range defs {
		if d.alias {
			continue
		}
		out = append(out, Param{Key: d.key, Value: d.get(c), Help: d.help})
	}
	return out
}

// ParamHelp lists every settable key with its help, aliases included
// (their Value is empty).
func ParamHelp() []Param {
	defs := paramDefs()
	out := make([]Param, 0, len(defs))
	for _, d := range defs {
		out = append(out, Param{Key: d.key, Help: d.help})
	}
	return out
}
