package assoc

import (
	"fmt"
	"math"
)

// Config holds the association settings of a TraP job. DefaultConfig
// returns TraP's job defaults (SPEC 5.2, 6.1, 8.1, 2.3) with gotrap's
// decision extraction_radius_pix = 0 (off).
type Config struct {
	// DeRuiterRadius is the strict upper limit on the dimensionless De
	// Ruiter radius of a candidate pair (SPEC 5.2; default 5.68).
	DeRuiterRadius float64
	// BeamwidthsLimit scales the image's restoring-beam semi-major axis
	// (rb_smaj, degrees) into the candidate search radius
	// R = BeamwidthsLimit * rb_smaj (SPEC 5.2; job default 3.0).
	BeamwidthsLimit float64
	// Expiration is the number of forced fits in a row without a blind
	// association after which a source is no longer requested (SPEC 6.1;
	// default 10).
	Expiration int32
	// NewSourceSigmaMargin is m in the previous-image limits
	// rms * (detection_thresh + m) of SPEC 8.1 (job default 1).
	NewSourceSigmaMargin float64
	// BandwidthMax (Hz), when non-zero, replaces each image's freq_bw in
	// band matching (SPEC 2.3; default 0).
	BandwidthMax float64
	// ExtractionRadiusPix sets a sky region's radius to
	// ExtractionRadiusPix * |deltax| (SPEC 2.4). 0 (gotrap's default) means
	// off: the region radius is then the image's half-diagonal, so the
	// region covers the whole image (see the package documentation).
	ExtractionRadiusPix float64
	// EWSysErr and NSSysErr are the systematic position errors (arcsec)
	// written into every measurement at insert time (SPEC 5.1; default 10).
	EWSysErr, NSSysErr float64
	// SpillDir, when set, is the directory of the engine's temporary
	// file of association links (links.go): the engine then holds in
	// memory only the last, partial block of each live runcat's links.
	// "" keeps every link in memory. It does not change any result.
	SpillDir string
}

// DefaultConfig returns the TraP job defaults.
func DefaultConfig() Config {
	return Config{
		DeRuiterRadius:       5.68,
		BeamwidthsLimit:      3.0,
		Expiration:           10,
		NewSourceSigmaMargin: 1,
		BandwidthMax:         0,
		ExtractionRadiusPix:  0,
		EWSysErr:             10,
		NSSysErr:             10,
	}
}

// Validate reports the first out-of-domain setting, wrapping ErrConfig.
func (c Config) Validate() error {
	bad := func(name string, v float64) error {
		return fmt.Errorf("%w: %s = %v", ErrConfig, name, v)
	}
	finiteNonNeg := func(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }
	switch {
	case !(c.DeRuiterRadius > 0) || math.IsInf(c.DeRuiterRadius, 1):
		return bad("deruiter_radius", c.DeRuiterRadius)
	case !(c.BeamwidthsLimit > 0) || math.IsInf(c.BeamwidthsLimit, 1):
		return bad("beamwidths_limit", c.BeamwidthsLimit)
	case c.Expiration < 0:
		return bad("expiration", float64(c.Expiration))
	case math.IsNaN(c.NewSourceSigmaMargin) || math.IsInf(c.NewSourceSigmaMargin, 0):
		return bad("new_source_sigma_margin", c.NewSourceSigmaMargin)
	case !finiteNonNeg(c.BandwidthMax):
		return bad("bandwidth_max", c.BandwidthMax)
	case !finiteNonNeg(c.ExtractionRadiusPix):
		return bad("extraction_radius_pix", c.ExtractionRadiusPix)
	case !finiteNonNeg(c.EWSysErr):
		return bad("ew_sys_err", c.EWSysErr)
	case !finiteNonNeg(c.NSSysErr):
		return bad("ns_sys_err", c.NSSysErr)
	}
	return nil
}
