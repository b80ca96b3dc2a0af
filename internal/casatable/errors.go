package casatable

import "errors"

// Sentinel errors, checkable with errors.Is.
var (
	// ErrCorrupt: the bytes do not follow the table format (bad magic
	// number, an object of the wrong type, a length past the end).
	ErrCorrupt = errors.New("corrupt casacore table")
	// ErrUnsupported: a valid table that uses something this package does
	// not read (a storage manager, data type or format version).
	ErrUnsupported = errors.New("unsupported casacore table")
)

// Panic messages for programmer errors.
const (
	badPlaneLen = "casatable: ReadPlane: dst does not hold one plane"
)
