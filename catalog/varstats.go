package catalog

import "math"

// MeasurementID returns the id of the index-th measurement of an image
// (index in the rank-independent order the pipeline gives the image's
// sources): image<<24 | index. Ids therefore sort by image, then index,
// and a runcat, which takes the id of the measurement that created it,
// needs no id of its own. It panics if image is outside [0, 2^39) or
// index outside [0, 2^24).
func MeasurementID(image int64, index int) int64 {
	if image < 0 || image >= 1<<39 {
		panic(errBadImageID)
	}
	if index < 0 || index >= 1<<24 {
		panic(errBadSrcIndex)
	}
	return image<<24 | int64(index)
}

// SplitMeasurementID is the inverse of MeasurementID.
func SplitMeasurementID(id int64) (image int64, index int) {
	return id >> 24, int(id & (1<<24 - 1))
}

// FluxStats holds the running means of one flux kind (peak or integrated)
// of a source in one band, as in SPEC 5.3 (TraP's runningcatalog_flux):
// over the N points with flux x_i and error s_i,
//
//	Avg = mean(x), AvgSq = mean(x^2), AvgWeight = mean(1/s^2),
//	AvgWeighted = mean(x/s^2), AvgWeightedSq = mean(x^2/s^2).
//
// The zero value holds no points.
type FluxStats struct {
	N             int64
	Avg           float64
	AvgSq         float64
	AvgWeight     float64
	AvgWeighted   float64
	AvgWeightedSq float64
}

// Add adds one point with flux x and error sigma by SPEC 5.3's update
// avg' = (N*avg + v)/(N+1).
func (s *FluxStats) Add(x, sigma float64) {
	w := 1 / (sigma * sigma)
	n := float64(s.N)
	n1 := n + 1
	s.Avg = (n*s.Avg + x) / n1
	s.AvgSq = (n*s.AvgSq + x*x) / n1
	s.AvgWeight = (n*s.AvgWeight + w) / n1
	s.AvgWeighted = (n*s.AvgWeighted + x*w) / n1
	s.AvgWeightedSq = (n*s.AvgWeightedSq + x*x*w) / n1
	s.N++
}

// Merge adds the points summarised by o (for example the flux history a
// 1-to-many fork copies, SPEC quirk 4 fixed).
func (s *FluxStats) Merge(o FluxStats) {
	if o.N == 0 {
		return
	}
	a, b := float64(s.N), float64(o.N)
	t := a + b
	s.Avg = (a*s.Avg + b*o.Avg) / t
	s.AvgSq = (a*s.AvgSq + b*o.AvgSq) / t
	s.AvgWeight = (a*s.AvgWeight + b*o.AvgWeight) / t
	s.AvgWeighted = (a*s.AvgWeighted + b*o.AvgWeighted) / t
	s.AvgWeightedSq = (a*s.AvgWeightedSq + b*o.AvgWeightedSq) / t
	s.N += o.N
}

// V returns the flux coefficient of variation of SPEC 7.1:
// 0 for one point or when |AvgSq - Avg^2| < 8e-14, else
// sqrt(N (AvgSq - Avg^2)/(N-1)) / Avg, with Avg replaced by 1e-6 when 0.
func (s FluxStats) V() float64 {
	if s.N <= 1 {
		return 0
	}
	d := s.AvgSq - s.Avg*s.Avg
	if math.Abs(d) < 8e-14 {
		return 0
	}
	m := s.Avg
	if m == 0 {
		m = 1e-6
	}
	n := float64(s.N)
	return math.Sqrt(n*d/(n-1)) / m
}

// Eta returns the reduced chi-squared about the weighted mean of SPEC 7.1:
// 0 for one point, else N/(N-1) * (AvgWeight*AvgWeightedSq -
// AvgWeighted^2) / AvgWeight.
func (s FluxStats) Eta() float64 {
	if s.N <= 1 {
		return 0
	}
	n := float64(s.N)
	return n / (n - 1) * (s.AvgWeight*s.AvgWeightedSq - s.AvgWeighted*s.AvgWeighted) / s.AvgWeight
}
