// Package qc implements the image quality control of TraP (SPEC 3): pure
// checks on an image's metadata, pixel statistics and rms_qc, the LOFAR
// theoretical noise, low-precision Sun and Jupiter ephemerides for the
// bright-source check, and Check, which runs them in TraP's order and
// returns the first failure with TraP's rejection reason.
//
// # Units
//
// Flux densities and noise are Jy (rms_qc is Jy/beam, compared with Jy);
// frequencies and bandwidths Hz; times s; sky positions and separations
// degrees, J2000; the beam is fitsimg.BeamPx: semi-axes (half widths at
// half maximum) in pixels and the position angle in radians; station
// areas m². Times are UTC time.Time values.
//
// # What each check reads
//
// Check reads only its Input (built by Prepare from fitsimg.Meta and the
// pixels, or filled by the caller), the History and the Config:
//
//	check            reads                                  reason  LOFAR only
//	flat             Pixels (min, max of non-NaN pixels)    5       no
//	nan              Pixels (NaN count, ±Inf extremes);     4       no
//	                 max_nan_fraction
//	tau_time         TauTime                                3       yes
//	rms_theoretical  RMSQC, FreqEff, FreqBW, TauTime,       0       yes
//	                 AntennaSet, Stations; low/high_bound
//	beam             Beam; oversampled_x, elliptical_x      1       no
//	bright_source    CentreRA/Dec, TauStart; min_separation 2       yes
//	rms_range        RMSQC; rms_est_min, rms_est_max        0       no
//	rms_history      RMSQC, Band, History;                  0       no
//	                 rms_est_history, rms_rej_sigma
//
// The order is SPEC 3.2's: flat, NaN, then for LOFAR images tau_time,
// theoretical noise, beam, bright sources, then for all images the rms
// range, the beam (non-LOFAR images; LOFAR ones already passed it) and
// the rms history. The first failure wins. Every check can be switched
// off in Config; DefaultConfig holds TraP's job defaults.
//
// # Decisions
//
// SPEC 11 quirks 1 and 2 are fixed: the theoretical noise's remote-remote
// term divides by S_r², and the rms history is the last rms_est_history
// earlier accepted images of the same band (History.Record adds only
// accepted images; the current image is never in it). gotrap additions:
// the NaN check applies to every image with a tolerated fraction
// (default 0.5; TraP rejects any NaN in AARTFAAC CASA images only); the
// flat check ignores NaN pixels; non-finite beams, non-positive tau_time
// and NaN rms values are rejected rather than slipping through NaN
// comparisons. The Sun and Jupiter come from the Astronomical Almanac's
// low-precision solar formulae and Standish's Keplerian elements (see
// ephem.go), valid for start times in [1900, 2100); outside, or without a
// start time, the bright-source check rejects with "Invalid ephemeris",
// as TraP does. docs/qc.md has the full table.
//
// # Errors and panics
//
// Check never fails: data problems (an unknown antenna set, a missing
// station count, no start time) become rejections whose comment says why.
// The lower-level functions return errors wrapping ErrAntennaSet,
// ErrNoise or ErrEphemeris. Programmer errors panic: an invalid Config
// (use Config.Validate when loading one), a History shallower than
// rms_est_history, an image whose Pix, Stride and Rect disagree.
//
// # History and determinism
//
// The rms-history check depends on the images accepted before, so the
// pipeline must call Check and then History.Record for the images of a
// band one at a time in (time, frequency) order. Everything else is a
// pure function of its arguments.
//
// # Pixel statistics
//
// Stats scans the pixels once (StatsCopy also copies them in that pass,
// for a caller that keeps them); built with GOEXPERIMENT=simd on an AVX2
// CPU the scan is a vector loop, tested against its plain twin, with the
// same results bit for bit.
package qc
