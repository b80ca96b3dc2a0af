package qc

import (
	"fmt"
	"math"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

// Reason is TraP's rejection reason id (its rejectreason table).
type Reason int

// TraP's rejection reasons.
const (
	ReasonRMS          Reason = 0 // "RMS invalid"
	ReasonBeam         Reason = 1 // "beam invalid"
	ReasonBrightSource Reason = 2 // "bright source near"
	ReasonTauTime      Reason = 3 // "tau_time invalid"
	ReasonNaN          Reason = 4 // "contains NaN"
	ReasonFlat         Reason = 5 // "data is flat"
)

// String returns TraP's description of the reason.
func (r Reason) String() string {
	switch r {
	case ReasonRMS:
		return "RMS invalid"
	case ReasonBeam:
		return "beam invalid"
	case ReasonBrightSource:
		return "bright source near"
	case ReasonTauTime:
		return "tau_time invalid"
	case ReasonNaN:
		return "contains NaN"
	case ReasonFlat:
		return "data is flat"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Names of the checks, in the order Check runs them (Result.Test).
const (
	TestFlat         = "flat"
	TestNaN          = "nan"
	TestTauTime      = "tau_time"
	TestNoise        = "rms_theoretical"
	TestBeam         = "beam"
	TestBrightSource = "bright_source"
	TestRMSRange     = "rms_range"
	TestRMSHistory   = "rms_history"
)

// Config holds the settings of the checks, with TraP's job defaults from
// DefaultConfig. Each check can be switched off. The TOML names are
// TraP's job_params names where TraP has the setting.
type Config struct {
	// Flat image (SPEC 3.2 item 1), reason 5.
	CheckFlat bool `toml:"check_flat"`

	// NaN content, reason 4: reject when more than MaxNaNFraction of the
	// pixels are NaN (gotrap; TraP rejects any NaN for AARTFAAC CASA
	// images only).
	CheckNaN       bool    `toml:"check_nan"`
	MaxNaNFraction float64 `toml:"max_nan_fraction"`

	// tau_time (LOFAR only), reason 3.
	CheckTauTime bool `toml:"check_tau_time"`

	// rms_qc against the theoretical noise (LOFAR only), reason 0: reject
	// when rms_qc < LowBound·σ_th or rms_qc > HighBound·σ_th.
	CheckNoise bool    `toml:"check_noise"`
	LowBound   float64 `toml:"low_bound"`
	HighBound  float64 `toml:"high_bound"`

	// Beam shape (SPEC 3.4), reason 1.
	CheckBeam    bool    `toml:"check_beam"`
	OversampledX float64 `toml:"oversampled_x"` // px
	EllipticalX  float64 `toml:"elliptical_x"`

	// Bright-source proximity (LOFAR only, SPEC 3.5), reason 2.
	CheckBrightSources bool    `toml:"check_bright_sources"`
	MinSeparation      float64 `toml:"min_separation"` // degrees

	// reject_basic_rms, reason 0: accept only RMSEstMin < rms_qc < RMSEstMax (Jy).
	CheckRMSRange bool    `toml:"check_rms_range"`
	RMSEstMin     float64 `toml:"rms_est_min"`
	RMSEstMax     float64 `toml:"rms_est_max"`

	// rms history, reason 0: with at least RMSEstHistory earlier accepted
	// images in the band, accept only |rms_qc − μ| < RMSRejSigma·σ over
	// the most recent RMSEstHistory of them.
	CheckRMSHistory bool    `toml:"check_rms_history"`
	RMSEstHistory   int     `toml:"rms_est_history"`
	RMSRejSigma     float64 `toml:"rms_rej_sigma"`

	// rms_qc itself (SPEC 3.1, kernels.RMSQC; Prepare uses its twin QCScratch.RMSQC).
	RMSEstSigma    float64 `toml:"rms_est_sigma"`
	RMSEstFraction int     `toml:"rms_est_fraction"`
}

// DefaultConfig returns TraP's job defaults (SPEC 3.1-3.5) with every
// check on and MaxNaNFraction 0.5.
func DefaultConfig() Config {
	return Config{
		CheckFlat:          true,
		CheckNaN:           true,
		MaxNaNFraction:     0.5,
		CheckTauTime:       true,
		CheckNoise:         true,
		LowBound:           1,
		HighBound:          80,
		CheckBeam:          true,
		OversampledX:       30,
		EllipticalX:        2.0,
		CheckBrightSources: true,
		MinSeparation:      10,
		CheckRMSRange:      true,
		RMSEstMin:          0,
		RMSEstMax:          100,
		CheckRMSHistory:    true,
		RMSEstHistory:      100,
		RMSRejSigma:        3,
		RMSEstSigma:        4,
		RMSEstFraction:     8,
	}
}

// Validate reports settings that make no sense, wrapping ErrConfig.
// Settings of a switched-off check are validated too.
func (c Config) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	nonneg := func(x float64) bool { return x >= 0 && !math.IsInf(x, 0) }
	switch {
	case !(c.MaxNaNFraction >= 0 && c.MaxNaNFraction <= 1):
		return bad("max_nan_fraction %g outside [0, 1]", c.MaxNaNFraction)
	case !nonneg(c.LowBound) || !(c.HighBound > c.LowBound):
		return bad("need 0 <= low_bound < high_bound, have %g, %g", c.LowBound, c.HighBound)
	case !(c.OversampledX > 0):
		return bad("oversampled_x %g is not positive", c.OversampledX)
	case !(c.EllipticalX >= 1):
		return bad("elliptical_x %g is below 1", c.EllipticalX)
	case !nonneg(c.MinSeparation) || c.MinSeparation > 180:
		return bad("min_separation %g outside [0, 180] degrees", c.MinSeparation)
	case math.IsNaN(c.RMSEstMin) || math.IsNaN(c.RMSEstMax) || !(c.RMSEstMax > c.RMSEstMin):
		return bad("need rms_est_min < rms_est_max, have %g, %g", c.RMSEstMin, c.RMSEstMax)
	case c.RMSEstHistory < 1:
		return bad("rms_est_history %d is below 1", c.RMSEstHistory)
	case !(c.RMSRejSigma > 0):
		return bad("rms_rej_sigma %g is not positive", c.RMSRejSigma)
	case !(c.RMSEstSigma > 0):
		return bad("rms_est_sigma %g is not positive", c.RMSEstSigma)
	case c.RMSEstFraction < 1:
		return bad("rms_est_fraction %d is below 1", c.RMSEstFraction)
	}
	return nil
}

// Input is what the checks read about one image.
type Input struct {
	// RMSQC is the image's rms_qc (SPEC 3.1), Jy.
	RMSQC float64
	// Pixels are the image's pixel statistics (flat and NaN checks).
	Pixels PixelStats
	// Band identifies the image's frequency band (rms history).
	Band int

	Beam                fitsimg.BeamPx // restoring beam, px and rad
	TauStart            time.Time      // start of the observation, UTC; zero if unknown
	TauTime             float64        // integration time, s
	FreqEff, FreqBW     float64        // Hz
	CentreRA, CentreDec float64        // image centre, degrees J2000

	// LOFAR selects the LOFAR checks: TELESCOP 'LOFAR' with an ANTENNA
	// keyword (fitsimg.Meta.LOFAR).
	LOFAR      bool
	AntennaSet string
	Stations   Stations // negative counts are unknown
}

// Prepare builds the Input of an image from its metadata and pixels: the
// metadata fields of m, Stats(img), and rms_qc = q.RMSQC(img,
// cfg.RMSEstFraction, cfg.RMSEstSigma) (the radix-sorted twin of
// kernels.RMSQC, equal to it to rounding), with q reusable scratch.
// Absent station counts become -1. The caller sets Band. It panics if
// cfg.RMSEstFraction < 1.
func Prepare(m *fitsimg.Meta, img *kernels.Image, cfg Config, q *kernels.QCScratch) Input {
	return PrepareCopy(m, img, cfg, q, nil)
}

// PrepareCopy is Prepare that also copies img's pixels into dst (compact
// rows; nil: no copy) in the pass of the pixel statistics (StatsCopy), for
// a caller that keeps the pixels as read (the forced fits) and would
// otherwise copy them in a pass of its own.
func PrepareCopy(m *fitsimg.Meta, img *kernels.Image, cfg Config, q *kernels.QCScratch, dst []float32) Input {
	in := Input{
		Pixels:     StatsCopy(img, dst),
		Beam:       m.BeamPx,
		TauTime:    m.TauTime,
		FreqEff:    m.FreqEff,
		FreqBW:     m.FreqBW,
		CentreRA:   m.CentreRA,
		CentreDec:  m.CentreDec,
		LOFAR:      m.LOFAR,
		AntennaSet: m.AntennaSet,
		Stations:   Stations{count(m.NCore), count(m.NRemote), count(m.NIntl)},
	}
	if m.TimeKnown {
		in.TauStart = m.TauStart
	}
	in.RMSQC = q.RMSQC(img, cfg.RMSEstFraction, cfg.RMSEstSigma)
	return in
}

func count(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

// Result is the outcome of Check.
type Result struct {
	Accepted bool
	Reason   Reason // TraP's reason id; meaningful only when rejected
	Test     string // the check that rejected (TestFlat, ...); "" when accepted
	Comment  string // a human explanation with the values involved
	// TheoreticalNoise is σ_th (Jy) when the LOFAR noise check computed
	// it, else 0.
	TheoreticalNoise float64
}

func reject(r Reason, test, comment string, sigma float64) Result {
	return Result{Reason: r, Test: test, Comment: comment, TheoreticalNoise: sigma}
}

// Check runs the quality control of one image in SPEC 3.2 order and
// returns the first failure, or an accepted Result:
//
//  1. flat (reason 5);
//  2. NaN fraction (reason 4);
//  3. LOFAR images only: tau_time (3), rms_qc against the theoretical
//     noise (0), beam (1), bright sources (2);
//  4. rms_qc range (0);
//  5. beam (1), for non-LOFAR images (LOFAR images passed it in 3);
//  6. rms history of in.Band (0), over the earlier accepted images in
//     hist (nil: no history, the check passes).
//
// Switched-off checks are skipped. Check does not change hist: after the
// decision, call hist.Record(in, res). It panics if cfg is not valid, or
// if the history check is on and hist keeps fewer values per band than
// cfg.RMSEstHistory.
func Check(in Input, hist *History, cfg Config) Result {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	if cfg.CheckRMSHistory && hist != nil && hist.depth < cfg.RMSEstHistory {
		panic(shortHistory)
	}
	var sigma float64
	if cfg.CheckFlat {
		if ok, c := CheckFlat(in.Pixels); !ok {
			return reject(ReasonFlat, TestFlat, c, sigma)
		}
	}
	if cfg.CheckNaN {
		if ok, c := CheckNaN(in.Pixels, cfg.MaxNaNFraction); !ok {
			return reject(ReasonNaN, TestNaN, c, sigma)
		}
	}
	if in.LOFAR {
		if cfg.CheckTauTime {
			if ok, c := CheckTauTime(in.TauTime); !ok {
				return reject(ReasonTauTime, TestTauTime, c, sigma)
			}
		}
		if cfg.CheckNoise {
			s, err := TheoreticalNoise(Observation{
				Freq: in.FreqEff, Bandwidth: in.FreqBW, Time: in.TauTime,
				AntennaSet: in.AntennaSet, Stations: in.Stations,
			})
			if err != nil {
				return reject(ReasonRMS, TestNoise, err.Error(), sigma)
			}
			sigma = s
			if ok, c := CheckNoiseRatio(in.RMSQC, sigma, cfg.LowBound, cfg.HighBound); !ok {
				return reject(ReasonRMS, TestNoise, c, sigma)
			}
		}
		if cfg.CheckBeam {
			if ok, c := CheckBeam(in.Beam, cfg.OversampledX, cfg.EllipticalX); !ok {
				return reject(ReasonBeam, TestBeam, c, sigma)
			}
		}
		if cfg.CheckBrightSources {
			if ok, c := CheckBrightSources(in.CentreRA, in.CentreDec, in.TauStart, cfg.MinSeparation); !ok {
				return reject(ReasonBrightSource, TestBrightSource, c, sigma)
			}
		}
	}
	if cfg.CheckRMSRange {
		if ok, c := CheckRMSRange(in.RMSQC, cfg.RMSEstMin, cfg.RMSEstMax); !ok {
			return reject(ReasonRMS, TestRMSRange, c, sigma)
		}
	}
	if cfg.CheckBeam && !in.LOFAR {
		if ok, c := CheckBeam(in.Beam, cfg.OversampledX, cfg.EllipticalX); !ok {
			return reject(ReasonBeam, TestBeam, c, sigma)
		}
	}
	if cfg.CheckRMSHistory && hist != nil {
		if ok, c := CheckRMSHistory(in.RMSQC, in.Band, hist, cfg.RMSEstHistory, cfg.RMSRejSigma); !ok {
			return reject(ReasonRMS, TestRMSHistory, c, sigma)
		}
	}
	return Result{Accepted: true, TheoreticalNoise: sigma}
}

// CheckRMSHistory is the rms-history check with SPEC 11 quirk 2 fixed:
// the sample is the n most recent earlier accepted images of band in hist
// (never rejected ones, never the current one). With fewer than n it
// accepts. Otherwise, with μ the mean and σ the population standard
// deviation (the maximum-likelihood normal fit), it accepts only
// μ − k·σ < rms < μ + k·σ (strict, so σ = 0 rejects everything; NaN is
// rejected). It panics if n < 1 or n exceeds the depth hist was made with.
func CheckRMSHistory(rms float64, band int, hist *History, n int, k float64) (ok bool, comment string) {
	if n < 1 || n > hist.depth {
		panic(shortHistory)
	}
	if hist.Len(band) < n {
		return true, ""
	}
	mu, sd := hist.stats(band, n)
	lo, hi := mu-k*sd, mu+k*sd
	if !(lo < rms && rms < hi) {
		return false, fmt.Sprintf("rms_qc %.4g Jy outside (%.4g, %.4g) Jy: mean %.4g Jy ± %g x std %.4g Jy of the last %d accepted images of band %d",
			rms, lo, hi, mu, k, sd, n, band)
	}
	return true, ""
}
