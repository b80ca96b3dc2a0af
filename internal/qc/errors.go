package qc

import "errors"

// Panic messages (programmer errors).
const (
	badStationType = "qc: unknown station type"
	badImage       = "qc: image layout does not match its rectangle"
	badCopy        = "qc: copy destination is shorter than the image"
	badDepth       = "qc: history depth must be at least 1"
	shortHistory   = "qc: history depth is smaller than rms_est_history"
)

// Errors of the computations the checks rely on. Check turns them into
// rejections with the error text as the comment.
var (
	// ErrAntennaSet reports an antenna set without a LOFAR station model.
	ErrAntennaSet = errors.New("qc: unknown antenna set")
	// ErrNoise reports observation parameters for which the theoretical
	// noise is not defined.
	ErrNoise = errors.New("qc: no theoretical noise")
	// ErrEphemeris reports a time outside the ephemeris' range (or no
	// time): TraP's "Invalid ephemeris".
	ErrEphemeris = errors.New("qc: invalid ephemeris")
	// ErrConfig reports an invalid Config.
	ErrConfig = errors.New("qc: invalid config")
)
