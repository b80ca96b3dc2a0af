// Package sphere is the geometry of the celestial sphere that every layer
// of gotrap shares: unit vectors of sky positions and the angle between
// them. It is a leaf: it imports nothing of gotrap, so kernels, decomp
// and everything above them may use it (DESIGN's arrows).
//
// # Units
//
// Positions are (right ascension, declination) in degrees; angles are
// returned in degrees. Unit vectors are SPEC 0.5's eq_to_cart:
// (cos δ cos α, cos δ sin α, sin δ).
//
// # Accuracy
//
// [Angle] and [Sep] use atan2(|p×q|, p·q) (the vector form of Vincenty's
// formula), which keeps full double precision at every separation: the
// spherical law of cosines (acos of the dot product) loses half the digits
// near 0 and 180 degrees, haversine's asin loses them near 180 degrees.
// Sep of two positions a few arcseconds apart is exact to about 1e-16
// radians (rounding of the unit vectors).
//
// # Errors
//
// There are none: NaN in gives NaN out.
package sphere
