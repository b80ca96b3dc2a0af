package wcs

// Header is the read-only view of a FITS header that FromHeader needs.
// Get returns the value of the keyword key (upper case, e.g. "CRVAL1") and
// whether it is present. Values are int64, float64, string or bool, as FITS
// cards hold them; integer and real values are both accepted where a
// number is expected.
type Header interface {
	Get(key string) (value any, ok bool)
}

// MapHeader is a Header backed by a map, for tests and synthetic images.
type MapHeader map[string]any

// Get implements Header.
func (h MapHeader) Get(key string) (any, bool) {
	v, ok := h[key]
	return v, ok
}
