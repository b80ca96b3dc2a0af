package config

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"gotrap/catalog"
	"gotrap/internal/qc"
	"gotrap/internal/rundir"
)

// Pipeline is the [pipeline] section: how "gotrap run" schedules its work.
// None of it changes the catalogue.
type Pipeline struct {
	// Workers is the number of images extracted or force-fitted at once
	// (0: one per CPU Go may use). Results do not depend on it.
	Workers int `toml:"workers"`
	// TimestepTolerance (s): images whose start times differ by at most
	// this from the first image of a timestep share the timestep (SPEC
	// 2.1 groups exactly equal start times; 0 reproduces that).
	TimestepTolerance float64 `toml:"timestep_tolerance"`
	// Plane is the flat index of the image plane read from cubes
	// (fitsimg.Options.Plane; 0 = Stokes I, first channel).
	Plane int `toml:"plane"`
	// Stokes, when not "", reads the plane of that polarisation ("I",
	// "V", "RR", ...) from cubes with a STOKES axis (fitsimg.Options.Stokes);
	// it replaces Plane's index along that axis.
	Stokes string `toml:"stokes"`
	// Channel, when not 0, reads that channel (1-based) of cubes with a
	// frequency axis (fitsimg.Options.Channel); it replaces Plane's index
	// along that axis.
	Channel int `toml:"channel"`
	// Channels, when not "", reads several channels of each cube, each
	// its own image of the run (a band by its frequency): "all", "N"
	// (channel N), "N-M" (channels N to M) or "N-" (N to the last),
	// counted from 1 (ParseChannels). It excludes Channel. Left out of the
	// encoded configuration when "".
	Channels string `toml:"channels,omitempty"`
	// CircularPolarisation measures, in a Stokes I run, the circular
	// polarisation of every associated measurement by a forced fit in the
	// Stokes V plane of its image file (RUN/circpol.parquet; docs/catalog.md
	// "circpol"). Left out of the encoded configuration when false.
	CircularPolarisation bool `toml:"circular_polarisation,omitempty"`
	// TileDeg is the side (degrees) of the sky tiles over which runs on
	// several ranks distribute the association (decomp.NewTiling; tiles
	// go to ranks in contiguous blocks weighted by image coverage). 0
	// associates on rank 0 instead. Results do not depend on it.
	TileDeg float64 `toml:"tile_deg"`
	// Lookahead is the number of images each rank extracts ahead of the
	// image it associates (0: one per worker, fewer when a quarter of the
	// memory allowance cannot hold them). A rank holds in memory
	// the image it associates, these, and those being fitted (one per
	// worker), each with a copy of its pixels for the forced fits.
	// Results do not depend on it.
	Lookahead int `toml:"lookahead"`
	// Memory is the memory allowance of the process, e.g. "8GiB"
	// (ParseMemory): the Go runtime's soft memory limit and
	// DuckDB's memory_limit are three quarters of it. "" takes Slurm's
	// allowance or the cgroup's limit, if any ("gotrap run --memory"
	// overrides it; docs/performance.md "Memory"). Results do not depend
	// on it; it is left out of the encoded configuration when "".
	Memory string `toml:"memory,omitempty"`
}

// Association is the [association] section (SPEC 5.2, 2.3).
type Association struct {
	DeRuiterRadius  float64 `toml:"deruiter_radius"`  // strict limit on the De Ruiter radius
	BeamwidthsLimit float64 `toml:"beamwidths_limit"` // search radius in restoring-beam semi-major axes
	// BandwidthMax (Hz), when not 0, replaces each image's bandwidth in
	// band matching.
	BandwidthMax float64 `toml:"bandwidth_max"`
}

// ForcedFits is the [forced_fits] section: null detections (SPEC 6.1).
// The forced-fit box and systematic errors are [extraction]'s
// box_in_beampix, ew_sys_err and ns_sys_err.
type ForcedFits struct {
	// Expiration is the number of forced fits in a row without a blind
	// association after which a source is no longer fitted (TraP's
	// source_extraction.expiration).
	Expiration int `toml:"expiration"`
	// Backward asks for forced fits before a source's first detection
	// (VAST style; SPEC decisions: off by default): after association,
	// every runcat but the monitor sources is fitted at its final
	// position in every accepted image, of any band, of an earlier
	// timestep than its first association, whose usable area holds it
	// (docs/pipeline.md "Backward forced fits").
	Backward bool `toml:"backward"`
}

// TransientSearch is the [transient_search] section (SPEC 8.1).
type TransientSearch struct {
	// NewSourceSigmaMargin is m in the previous-image limits
	// rms*(detection_threshold + m).
	NewSourceSigmaMargin float64 `toml:"new_source_sigma_margin"`
}

// Variability is the [variability] section: the flux errors of the
// variability statistics (docs/variability.md).
type Variability struct {
	// FluxErrorFloor is a fractional flux error added in quadrature to
	// each point's flux errors in the varmetric table: sigma^2 +
	// (floor*S)^2, the calibration uncertainty between images (VAST's
	// flux_perc_error, a percentage there; the fractional form of PySE's
	// frac_flux_cal_error, which [extraction] applies to the measurements
	// themselves). 0, the default, keeps the measured errors (TraP's).
	FluxErrorFloor float64 `toml:"flux_error_floor"`
}

// Catalog is the [catalog] section: how the catalogue presents sources.
type Catalog struct {
	// NamePrefix prefixes the IAU-style source names, "PREFIX
	// Jhhmmss.s+ddmmss" (docs/catalog.md): a letter, then up to 15
	// letters, digits, '_' or '-'.
	NamePrefix string `toml:"name_prefix"`
}

// DefaultCatalog returns the prefix GTR.
func DefaultCatalog() Catalog { return Catalog{NamePrefix: catalog.DefaultNamePrefix} }

// Validate reports a prefix that cannot start a source name.
func (c *Catalog) Validate() error {
	if !catalog.ValidNamePrefix(c.NamePrefix) {
		return fmt.Errorf("%w: catalog.name_prefix = %q: must be a letter, then up to 15 letters, digits, '_' or '-'", ErrInvalid, c.NamePrefix)
	}
	return nil
}

// RunNamePrefix returns [catalog] name_prefix of the run directory run's
// configuration (RUN/gotrap.toml), or the default when the run has none.
func RunNamePrefix(run string) (string, error) {
	p := rundir.ConfigPath(run)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return DefaultCatalog().NamePrefix, nil
	}
	c, err := Load(p)
	if err != nil {
		return "", err
	}
	return c.Catalog.NamePrefix, nil
}

// DefaultVariability returns no floor (TraP's statistics).
func DefaultVariability() Variability { return Variability{} }

// Validate reports a floor outside [0, 1).
func (v *Variability) Validate() error {
	if !(v.FluxErrorFloor >= 0 && v.FluxErrorFloor < 1) {
		return fmt.Errorf("%w: variability.flux_error_floor = %v: must be a fraction in [0, 1)", ErrInvalid, v.FluxErrorFloor)
	}
	return nil
}

// RunVariability returns the [variability] section of the run directory
// run's configuration (RUN/gotrap.toml, written by "gotrap run"), or the
// defaults when the run has none.
func RunVariability(run string) (Variability, error) {
	p := rundir.ConfigPath(run)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return DefaultVariability(), nil
	}
	c, err := Load(p)
	if err != nil {
		return Variability{}, err
	}
	return c.Variability, nil
}

// Monitor is the [monitor] section: the user's monitoring list (SPEC
// 6.2), fitted in every image. "gotrap run --monitor" adds to it.
type Monitor struct {
	// Positions are (RA, Dec) pairs in degrees.
	Positions [][2]float64 `toml:"positions"`
	// File names a text file of "RA DEC" or "RA,DEC" lines (degrees; '#'
	// starts a comment), read relative to the working directory.
	File string `toml:"file"`
}

// DefaultPipeline returns the [pipeline] defaults: all CPUs, a 1 s
// timestep tolerance, plane 0, sky tiles of 1 degree.
func DefaultPipeline() Pipeline { return Pipeline{TimestepTolerance: 1, TileDeg: 1} }

// DefaultAssociation returns TraP's job defaults: De Ruiter radius 5.68,
// 3 beam widths, bandwidth_max 0.
func DefaultAssociation() Association {
	return Association{DeRuiterRadius: 5.68, BeamwidthsLimit: 3}
}

// DefaultForcedFits returns TraP's expiration of 10, backward fits off.
func DefaultForcedFits() ForcedFits { return ForcedFits{Expiration: 10} }

// DefaultTransientSearch returns TraP's job default margin of 1.
func DefaultTransientSearch() TransientSearch { return TransientSearch{NewSourceSigmaMargin: 1} }

// validStokes reports whether s is "" or a FITS polarisation name.
func validStokes(s string) bool {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "I", "Q", "U", "V", "RR", "LL", "RL", "LR", "XX", "YY", "XY", "YX":
		return true
	}
	return false
}

// Validate reports the first [pipeline] setting out of range.
func (p *Pipeline) Validate() error {
	switch {
	case p.Workers < 0:
		return fmt.Errorf("%w: pipeline.workers = %d: must not be negative", ErrInvalid, p.Workers)
	case p.Lookahead < 0:
		return fmt.Errorf("%w: pipeline.lookahead = %d: must not be negative", ErrInvalid, p.Lookahead)
	case !(p.TimestepTolerance >= 0) || math.IsInf(p.TimestepTolerance, 0):
		return fmt.Errorf("%w: pipeline.timestep_tolerance = %v: must be a finite number >= 0", ErrInvalid, p.TimestepTolerance)
	case p.Plane < 0:
		return fmt.Errorf("%w: pipeline.plane = %d: must not be negative", ErrInvalid, p.Plane)
	case p.Channel < 0:
		return fmt.Errorf("%w: pipeline.channel = %d: channels count from 1 (0: not chosen)", ErrInvalid, p.Channel)
	case p.Channel != 0 && p.Channels != "":
		return fmt.Errorf("%w: pipeline.channel = %d and pipeline.channels = %q: give one of them", ErrInvalid, p.Channel, p.Channels)
	case p.CircularPolarisation && !(p.Stokes == "" || strings.EqualFold(strings.TrimSpace(p.Stokes), "I")):
		return fmt.Errorf("%w: pipeline.circular_polarisation is for Stokes I runs, not stokes = %q", ErrInvalid, p.Stokes)
	case !validStokes(p.Stokes):
		return fmt.Errorf("%w: pipeline.stokes = %q: not one of I, Q, U, V, RR, LL, RL, LR, XX, YY, XY, YX", ErrInvalid, p.Stokes)
	case !(p.TileDeg >= 0 && p.TileDeg <= 180):
		return fmt.Errorf("%w: pipeline.tile_deg = %v: must be in [0, 180]", ErrInvalid, p.TileDeg)
	}
	if _, _, err := ParseChannels(p.Channels); err != nil {
		return fmt.Errorf("%w: pipeline.channels = %q: %v", ErrInvalid, p.Channels, err)
	}
	if p.Memory != "" {
		if _, err := ParseMemory(p.Memory); err != nil {
			return fmt.Errorf("%w: pipeline.memory = %q: %v", ErrInvalid, p.Memory, err)
		}
	}
	return nil
}

// Validate reports the first [association] setting out of range.
func (a *Association) Validate() error {
	pos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) }
	switch {
	case !pos(a.DeRuiterRadius):
		return fmt.Errorf("%w: association.deruiter_radius = %v: must be positive", ErrInvalid, a.DeRuiterRadius)
	case !pos(a.BeamwidthsLimit):
		return fmt.Errorf("%w: association.beamwidths_limit = %v: must be positive", ErrInvalid, a.BeamwidthsLimit)
	case !(a.BandwidthMax >= 0) || math.IsInf(a.BandwidthMax, 0):
		return fmt.Errorf("%w: association.bandwidth_max = %v: must be a finite number >= 0", ErrInvalid, a.BandwidthMax)
	}
	return nil
}

// Validate reports the first [forced_fits] setting out of range.
func (f *ForcedFits) Validate() error {
	switch {
	case f.Expiration < 0 || f.Expiration > math.MaxInt32:
		return fmt.Errorf("%w: forced_fits.expiration = %d: must be in [0, 2^31)", ErrInvalid, f.Expiration)
	}
	return nil
}

// Validate reports a non-finite margin.
func (t *TransientSearch) Validate() error {
	if math.IsNaN(t.NewSourceSigmaMargin) || math.IsInf(t.NewSourceSigmaMargin, 0) {
		return fmt.Errorf("%w: transient_search.new_source_sigma_margin = %v: not a finite number", ErrInvalid, t.NewSourceSigmaMargin)
	}
	return nil
}

// Validate reports the first monitor position that is not on the sky.
func (m *Monitor) Validate() error {
	for i, p := range m.Positions {
		if math.IsNaN(p[0]) || math.IsInf(p[0], 0) || !(math.Abs(p[1]) <= 90) {
			return fmt.Errorf("%w: monitor.positions[%d] = (%v, %v): not a sky position in degrees", ErrInvalid, i, p[0], p[1])
		}
	}
	return nil
}

// validateJob validates the sections of this file and [quality].
func (c *Config) validateJob() error {
	if err := c.Pipeline.Validate(); err != nil {
		return err
	}
	if err := c.Quality.Validate(); err != nil {
		return fmt.Errorf("%w: quality: %w", ErrInvalid, err)
	}
	if err := c.Association.Validate(); err != nil {
		return err
	}
	if err := c.ForcedFits.Validate(); err != nil {
		return err
	}
	if err := c.TransientSearch.Validate(); err != nil {
		return err
	}
	if m, d := c.TransientSearch.NewSourceSigmaMargin, c.Extraction.DetectionThreshold; !(d+m > 0) {
		return fmt.Errorf("%w: transient_search.new_source_sigma_margin = %v: detection_threshold + margin = %v must be positive (the previous-image limit is rms x (detection_threshold + margin))", ErrInvalid, m, d+m)
	}
	if err := c.Variability.Validate(); err != nil {
		return err
	}
	if err := c.Catalog.Validate(); err != nil {
		return err
	}
	if err := c.Monitor.Validate(); err != nil {
		return err
	}
	if err := c.Watch.Validate(); err != nil {
		return err
	}
	return c.validateResponses()
}

// defaultQuality returns qc's TraP defaults for [quality].
func defaultQuality() qc.Config { return qc.DefaultConfig() }

// ParseChannels reads a channel range ([pipeline] channels): "" gives
// 0, 0 (no range: the one plane the other settings choose); "all" gives
// 1, 0; "N" gives N, N; "N-M" gives N, M; "N-" gives N, 0. last 0 means
// the image's last channel. Channels count from 1.
func ParseChannels(s string) (first, last int, err error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return 0, 0, nil
	case strings.EqualFold(s, "all"):
		return 1, 0, nil
	}
	num := func(t string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(t))
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%q is not a channel number (1, 2, ...)", t)
		}
		return n, nil
	}
	a, b, isRange := strings.Cut(s, "-")
	if first, err = num(a); err != nil {
		return 0, 0, err
	}
	switch {
	case !isRange:
		return first, first, nil
	case strings.TrimSpace(b) == "":
		return first, 0, nil
	}
	if last, err = num(b); err != nil {
		return 0, 0, err
	}
	if last < first {
		return 0, 0, fmt.Errorf("the range %d-%d is empty", first, last)
	}
	return first, last, nil
}
