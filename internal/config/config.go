package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/BurntSushi/toml"

	"gotrap/internal/qc"
)

// Sentinel errors, checkable with errors.Is on any error of this package.
var (
	ErrSyntax     = errors.New("config: invalid TOML")
	ErrUnknownKey = errors.New("config: unknown key")
	ErrInvalid    = errors.New("config: invalid value")
)

// Config is a gotrap job configuration. Each field is one TOML section.
type Config struct {
	Extraction Extraction `toml:"extraction"`
	// The sections of "gotrap run" (job.go).
	Pipeline        Pipeline        `toml:"pipeline"`
	Quality         qc.Config       `toml:"quality"`
	Association     Association     `toml:"association"`
	ForcedFits      ForcedFits      `toml:"forced_fits"`
	TransientSearch TransientSearch `toml:"transient_search"`
	Monitor         Monitor         `toml:"monitor"`
	Variability     Variability     `toml:"variability"`
	Catalog         Catalog         `toml:"catalog"`
	// Watch is live mode's section (gotrap watch; docs/live.md). It
	// decides when images are taken, not what the catalogue holds: the
	// pipeline's configuration hash zeroes it, and a zero Watch is left
	// out of the encoding.
	Watch Watch `toml:"watch,omitempty"`
	// The response system (respond.go, docs/responses.md).
	Events    Events    `toml:"events"`
	Responses Responses `toml:"responses"`
	Response  []Rule    `toml:"response"`
}

// Extraction is the [extraction] section: the source finder's settings
// of SPEC 4.1.
type Extraction struct {
	DetectionThreshold float64 `toml:"detection_threshold"` // island acceptance, x rms
	AnalysisThreshold  float64 `toml:"analysis_threshold"`  // island pixels, x rms (0 with fdr: z_FDR)
	BackSizeX          int     `toml:"back_size_x"`         // background cell width, px
	BackSizeY          int     `toml:"back_size_y"`         // background cell height, px
	Margin             int     `toml:"margin"`              // masked border, px (0: off)
	// ExtractionRadiusPix masks pixels at or beyond this distance from
	// the image centre (0: off; gotrap's default, SPEC decisions).
	ExtractionRadiusPix float64 `toml:"extraction_radius_pix"`
	DeblendNThresh      int     `toml:"deblend_nthresh"` // deblending levels (0: off; at most 300)
	DeblendMinCont      float64 `toml:"deblend_mincont"`
	ForceBeam           bool    `toml:"force_beam"` // fix the fitted shape to the beam
	// Mode is the measurement path: "gaussian" (SPEC 4.8, TraP's) or
	// "moments" (SPEC 4.7, PySE's vectorized default).
	Mode string `toml:"mode"`
	// BackgroundEdge is "hold" (gotrap's default: maps hold the frame's
	// edge values outside the background frame) or "pyse" (background 0
	// and rms = min(grid) there, exactly as PySE).
	BackgroundEdge    string  `toml:"background_edge"`
	RemoveEdgeSources bool    `toml:"remove_edge_sources"` // drop islands touching the border or a masked pixel
	RMSFilter         float64 `toml:"rms_filter"`          // candidates need rms >= rms_filter * median(rms grid)
	MedianFilter      int     `toml:"median_filter"`       // median filter size of the grids (0: off)
	MFThreshold       float64 `toml:"mf_threshold"`
	FDR               bool    `toml:"fdr"`       // False Detection Rate thresholds (SPEC 4.13)
	FDRAlpha          float64 `toml:"fdr_alpha"` // FDR alpha
	// BoxInBeamPix is the forced-fit box side in beam semi-major axes
	// (TraP's box_in_beampix; PySE's CLI ffbox).
	BoxInBeamPix float64 `toml:"box_in_beampix"`
	EwSysErr     float64 `toml:"ew_sys_err"` // systematic error east-west, arcsec
	NsSysErr     float64 `toml:"ns_sys_err"` // systematic error north-south, arcsec
	EpsRA        float64 `toml:"eps_ra"`     // added to ra_err, deg
	EpsDec       float64 `toml:"eps_dec"`    // added to dec_err, deg
	// The error budget of SPEC 4.9.
	CleanBias        float64 `toml:"clean_bias"`
	CleanBiasError   float64 `toml:"clean_bias_error"`
	FracFluxCalError float64 `toml:"frac_flux_cal_error"`
	AlphaMaj1        float64 `toml:"alpha_maj1"`
	AlphaMaj2        float64 `toml:"alpha_maj2"`
	AlphaMin1        float64 `toml:"alpha_min1"`
	AlphaMin2        float64 `toml:"alpha_min2"`
	AlphaBrightness1 float64 `toml:"alpha_brightness1"`
	AlphaBrightness2 float64 `toml:"alpha_brightness2"`
	// ErrorModel is "gotrap" (the default: a fit of fixed shape, with
	// force_beam or a forced fit, gets the peak error of an unweighted
	// fit in beam-correlated noise and the flux error of its peak) or
	// "pyse" (PySE's and TraP's Condon errors for every fit;
	// docs/variability.md).
	ErrorModel string `toml:"error_model"`
	// Threads bounds the goroutines one image uses (0: all CPUs Go may
	// use).
	Threads int `toml:"threads"`
}

// Default returns TraP's job defaults (SPEC 4.1 "TraP job default"
// column) with gotrap's decisions: extraction radius off and edge-hold
// background maps.
func Default() Config {
	return Config{
		Extraction:      DefaultExtraction(),
		Pipeline:        DefaultPipeline(),
		Quality:         defaultQuality(),
		Association:     DefaultAssociation(),
		ForcedFits:      DefaultForcedFits(),
		TransientSearch: DefaultTransientSearch(),
		Variability:     DefaultVariability(),
		Catalog:         DefaultCatalog(),
		Watch:           DefaultWatch(),
		Events:          DefaultEvents(),
		Responses:       DefaultResponses(),
	}
}

// DefaultExtraction returns the [extraction] defaults: detection 8,
// analysis 3, 50x50 cells, margin 10, radius 0 (off), no deblending
// (mincont 0.005), force_beam, Gaussian fits, edge-hold maps,
// remove_edge_sources, rms_filter 0.001, no median filter, FDR off (alpha
// 0.01), forced-fit box 10 beam axes, 10 arcsec systematic errors, no eps,
// no clean bias or calibration error, NVSS exponents 2.5/0.5/0.5/2.5/1.5/1.5.
func DefaultExtraction() Extraction {
	return Extraction{
		DetectionThreshold:  8,
		AnalysisThreshold:   3,
		BackSizeX:           50,
		BackSizeY:           50,
		Margin:              10,
		ExtractionRadiusPix: 0,
		DeblendNThresh:      0,
		DeblendMinCont:      0.005,
		ForceBeam:           true,
		Mode:                "gaussian",
		BackgroundEdge:      "hold",
		RemoveEdgeSources:   true,
		RMSFilter:           0.001,
		FDRAlpha:            0.01,
		BoxInBeamPix:        10,
		EwSysErr:            10,
		NsSysErr:            10,
		AlphaMaj1:           2.5,
		AlphaMaj2:           0.5,
		AlphaMin1:           0.5,
		AlphaMin2:           2.5,
		AlphaBrightness1:    1.5,
		AlphaBrightness2:    1.5,
		ErrorModel:          "gotrap",
	}
}

// Load reads the configuration file path over the defaults.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes the TOML text data over the defaults; name (the file's
// path) is used in error messages.
func Parse(name string, data []byte) (Config, error) {
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Config{}, fmt.Errorf("%w: %s:%d: %s", ErrSyntax, name, pe.Position.Line, pe.Message)
		}
		return Config{}, fmt.Errorf("%w: %s: %v", ErrSyntax, name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		k := und[0]
		if line := keyLine(data, k); line > 0 {
			return Config{}, fmt.Errorf("%w: %s:%d: %q", ErrUnknownKey, name, line, k.String())
		}
		return Config{}, fmt.Errorf("%w: %s: %q", ErrUnknownKey, name, k.String())
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// Encode writes c as TOML that Parse reads back to c.
func (c *Config) Encode(w io.Writer) error {
	return toml.NewEncoder(w).Encode(c)
}

// Validate reports the first setting out of range, wrapping ErrInvalid
// and naming the key.
func (c *Config) Validate() error {
	if err := c.Extraction.Validate(); err != nil {
		return err
	}
	return c.validateJob()
}

// Validate reports the first [extraction] setting out of range.
func (e *Extraction) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: extraction.%s = %v: %s", ErrInvalid, key, v, why)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for _, f := range []struct {
		key string
		v   float64
		min float64 // inclusive lower bound
	}{
		{"detection_threshold", e.DetectionThreshold, math.Inf(-1)},
		{"analysis_threshold", e.AnalysisThreshold, math.Inf(-1)},
		{"extraction_radius_pix", e.ExtractionRadiusPix, 0},
		{"deblend_mincont", e.DeblendMinCont, 0},
		{"rms_filter", e.RMSFilter, 0},
		{"mf_threshold", e.MFThreshold, math.Inf(-1)},
		{"box_in_beampix", e.BoxInBeamPix, 0},
		{"ew_sys_err", e.EwSysErr, 0},
		{"ns_sys_err", e.NsSysErr, 0},
		{"eps_ra", e.EpsRA, 0},
		{"eps_dec", e.EpsDec, 0},
		{"clean_bias", e.CleanBias, math.Inf(-1)},
		{"clean_bias_error", e.CleanBiasError, 0},
		{"frac_flux_cal_error", e.FracFluxCalError, 0},
		{"alpha_maj1", e.AlphaMaj1, math.Inf(-1)},
		{"alpha_maj2", e.AlphaMaj2, math.Inf(-1)},
		{"alpha_min1", e.AlphaMin1, math.Inf(-1)},
		{"alpha_min2", e.AlphaMin2, math.Inf(-1)},
		{"alpha_brightness1", e.AlphaBrightness1, math.Inf(-1)},
		{"alpha_brightness2", e.AlphaBrightness2, math.Inf(-1)},
	} {
		if !finite(f.v) {
			return bad(f.key, f.v, "not a finite number")
		}
		if f.v < f.min {
			return bad(f.key, f.v, "must not be negative")
		}
	}
	switch {
	case !(e.DetectionThreshold > 0):
		return bad("detection_threshold", e.DetectionThreshold, "must be positive: islands are kept whose peak is above detection_threshold x rms, and 0 or less keeps the noise everywhere")
	case e.AnalysisThreshold == 0 && e.FDR:
		// fdr = true sets the analysis threshold (z_FDR).
	case !(e.AnalysisThreshold > 0):
		return bad("analysis_threshold", e.AnalysisThreshold, "must be positive (0 only with fdr = true, which sets it): an island's pixels are those above analysis_threshold x rms")
	case e.AnalysisThreshold > e.DetectionThreshold:
		return bad("analysis_threshold", e.AnalysisThreshold, fmt.Sprintf("is above detection_threshold = %v: an island's pixels (above analysis_threshold x rms) must include its peak (above detection_threshold x rms)", e.DetectionThreshold))
	}
	switch {
	case !(e.BoxInBeamPix > 0):
		return bad("box_in_beampix", e.BoxInBeamPix, "must be positive: the forced-fit box side in beam semi-major axes")
	case e.DeblendMinCont > 1:
		return bad("deblend_mincont", e.DeblendMinCont, "must be in [0, 1]: a fraction of the island's flux")
	case e.BackSizeX <= 0:
		return bad("back_size_x", e.BackSizeX, "must be positive")
	case e.BackSizeY <= 0:
		return bad("back_size_y", e.BackSizeY, "must be positive")
	case e.Margin < 0:
		return bad("margin", e.Margin, "must not be negative")
	case e.DeblendNThresh < 0 || e.DeblendNThresh > 300:
		return bad("deblend_nthresh", e.DeblendNThresh, "must be in [0, 300]")
	case e.MedianFilter < 0:
		return bad("median_filter", e.MedianFilter, "must not be negative")
	case e.Mode != "gaussian" && e.Mode != "moments":
		return bad("mode", fmt.Sprintf("%q", e.Mode), `must be "gaussian" or "moments"`)
	case e.BackgroundEdge != "hold" && e.BackgroundEdge != "pyse":
		return bad("background_edge", fmt.Sprintf("%q", e.BackgroundEdge), `must be "hold" or "pyse"`)
	case e.ErrorModel != "gotrap" && e.ErrorModel != "pyse":
		return bad("error_model", fmt.Sprintf("%q", e.ErrorModel), `must be "gotrap" or "pyse"`)
	case e.FDR && !(e.FDRAlpha > 0 && e.FDRAlpha < 1):
		return bad("fdr_alpha", e.FDRAlpha, "must be in (0, 1)")
	case e.Threads < 0:
		return bad("threads", e.Threads, "must not be negative")
	}
	return nil
}

// keyLine returns the 1-based line of data that defines key (a dotted
// path), or 0 when it cannot tell. It follows [table] headers and dotted
// keys on the left of '=', which covers what a typo looks like.
func keyLine(data []byte, key toml.Key) int {
	want := strings.Join(key, ".")
	table := ""
	for i, line := range strings.Split(string(data), "\n") {
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "["):
			h := strings.Trim(s, "[] \t")
			if j := strings.Index(h, "]"); j >= 0 {
				h = h[:j]
			}
			table = normKey(h)
			if table == want {
				return i + 1
			}
			continue
		}
		eq := strings.Index(s, "=")
		if eq < 0 {
			continue
		}
		k := normKey(s[:eq])
		if table != "" {
			k = table + "." + k
		}
		if k == want || strings.HasPrefix(want, k+".") || strings.HasPrefix(k, want+".") {
			return i + 1
		}
	}
	return 0
}

// normKey removes blanks and quotes around the parts of a dotted key.
func normKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
