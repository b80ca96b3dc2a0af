// Package config reads gotrap's job configuration: a TOML file whose
// sections group the settings of each stage, with TraP's job defaults
// (SPEC 4.1 and the decisions at the top of SPEC) wherever the file is
// silent.
//
// # Sections
//
// [extraction] (config.go; SPEC 4.1: the source finder's settings) has
// keys that are TraP's job_params names where TraP has the setting
// (detection_threshold, analysis_threshold, back_size_x, back_size_y,
// margin, extraction_radius_pix, deblend_nthresh, force_beam,
// box_in_beampix, ew_sys_err, ns_sys_err) and gotrap's own otherwise
// (mode, background_edge, fdr, fdr_alpha, threads, ...). The sections of
// "gotrap run" are in job.go: [pipeline], [quality] (qc.Config),
// [association], [forced_fits], [transient_search], [monitor] and
// [variability] (read back from a run directory by RunVariability), each
// with a Default and a Validate of its own. Template is the commented file
// "gotrap init" writes (it parses to Default).
//
// # Units
//
// Thresholds are in units of the local rms; sizes, margins and radii in
// pixels; box_in_beampix in beam semi-major axes; systematic errors in
// arcsec; eps_ra and eps_dec in degrees.
//
// # Decoding
//
// [Parse] and [Load] start from [Default] and overwrite what the file sets,
// so a file lists only what differs. Decoding is strict: a key or section
// that gotrap does not know (a typo) is an error naming the file, the line
// and the key, as is a value of the wrong type or out of range. [Encode]
// writes a configuration as TOML that Parse reads back to the same value
// (the run directory keeps a copy of the configuration used).
//
// # Errors
//
// Errors name the file (the name given to Parse) and wrap [ErrSyntax],
// [ErrUnknownKey] or [ErrInvalid], checkable with errors.Is. Nothing
// panics on any input (FuzzParse checks it).
package config
