package assoc

import "errors"

// Errors returned for data and sequencing problems; test with errors.Is.
var (
	// ErrConfig means a Config value is out of its domain.
	ErrConfig = errors.New("assoc: invalid configuration")
	// ErrImage means an image is unknown, registered twice, rejected
	// where an accepted image is needed, or has invalid geometry.
	ErrImage = errors.New("assoc: invalid image")
	// ErrMeasurement means a measurement is malformed: a non-finite
	// position, a wrong image, a duplicate id, or a forced fit that
	// answers no request.
	ErrMeasurement = errors.New("assoc: invalid measurement")
	// ErrOrder means an image was associated twice or out of order.
	ErrOrder = errors.New("assoc: image associated out of order")
	// ErrIDCollision means a new running-catalogue source would take an
	// id that is already in use (an invariant of the identifier rule in
	// the package documentation; it is never expected).
	ErrIDCollision = errors.New("assoc: runcat id collision")
)
