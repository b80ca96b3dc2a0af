package catalog

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

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
	if index < 0 || index >= 1<<MeasurementIDShift {
		panic(errBadSrcIndex)
	}
	return image<<MeasurementIDShift | int64(index)
}

// MeasurementIDShift is the bits of a measurement id below its image's
// id (MeasurementID): in SQL, id >> MeasurementIDShift is the image.
const MeasurementIDShift = 24

// SplitMeasurementID is the inverse of MeasurementID.
func SplitMeasurementID(id int64) (image int64, index int) {
	return id >> MeasurementIDShift, int(id & (1<<MeasurementIDShift - 1))
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

// Log10ChiSquareSF returns log10 of the false-alarm probability of a
// chi-square of chi2 with dof degrees of freedom: the survival function
// Q(dof/2, chi2/2), the regularized upper incomplete gamma function. It
// stays finite where Q underflows float64 (a steady source's chi-square
// with right errors is near dof; a bright variable's can be 10^6), by a
// continued fraction evaluated in logarithms. It returns 0 (p = 1) for
// chi2 <= 0 and NaN for dof <= 0 or NaN input.
func Log10ChiSquareSF(chi2, dof float64) float64 {
	if !(dof > 0) || math.IsNaN(chi2) || math.IsInf(dof, 0) {
		return math.NaN()
	}
	if chi2 <= 0 {
		return 0
	}
	if math.IsInf(chi2, 1) {
		return math.Inf(-1)
	}
	a, x := dof/2, chi2/2
	if q := mathext.GammaIncRegComp(a, x); q > 1e-280 {
		return math.Log10(q)
	}
	return lnGammaQ(a, x) / math.Ln10
}

// lnGammaQ is ln Q(a, x) for x > a + 1 by the continued fraction
// Q(a, x) = e^-x x^a / Gamma(a) * 1/(x + 1 - a - 1(1-a)/(x + 3 - a - ...))
// (modified Lentz's method); GammaIncRegComp underflows only there.
func lnGammaQ(a, x float64) float64 {
	const tiny = 1e-300
	b := x + 1 - a
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1; i < 1000; i++ {
		an := -float64(i) * (float64(i) - a)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	lg, _ := math.Lgamma(a)
	return -x + a*math.Log(x) - lg + math.Log(h)
}

// GaussSigma returns the one-sided Gaussian significance of a
// false-alarm probability p given as log10p = log10(p): the z with
// P(N(0,1) > z) = p. p = 0.5 gives 0, smaller p a positive z; it stays
// accurate for tiny p (Newton's method on the exact tail through erfc)
// and finite where p underflows float64 (log10p below -300: the
// asymptotic tail ln p = -z^2/2 - ln(z sqrt(2 pi)) + ln(1 - 1/z^2 +
// 3/z^4)). NaN in, NaN out; log10p >= 0 gives -Inf.
func GaussSigma(log10p float64) float64 {
	switch {
	case math.IsNaN(log10p):
		return math.NaN()
	case log10p >= 0:
		return math.Inf(-1)
	case math.IsInf(log10p, -1):
		return math.Inf(1)
	}
	if log10p > -3 {
		return math.Sqrt2 * math.Erfcinv(2*math.Pow(10, log10p))
	}
	lnp := log10p * math.Ln10
	z := gaussSigmaTail(lnp)
	if log10p < -300 {
		return z
	}
	// Erfcinv(1 - x) loses the digits of small p, Erfc does not: Newton
	// on ln P(N > z) = ln(erfc(z/sqrt2)/2), whose derivative is
	// -phi(z)/P(N > z).
	for i := 0; i < 50; i++ {
		lq := math.Log(math.Erfc(z/math.Sqrt2) / 2)
		dz := (lq - lnp) / -math.Exp(-z*z/2-lq-0.5*math.Log(2*math.Pi))
		z -= dz
		if math.Abs(dz) < 1e-13*z {
			break
		}
	}
	return z
}

// gaussSigmaTail is GaussSigma for ln p far in the tail (z above about
// 5), by Newton's method on the asymptotic series.
func gaussSigmaTail(lnp float64) float64 {
	z := math.Sqrt(-2 * lnp)
	for i := 0; i < 50; i++ {
		z2 := z * z
		s := 1 - 1/z2 + 3/(z2*z2)
		f := -z2/2 - math.Log(z*math.Sqrt(2*math.Pi)) + math.Log(s) - lnp
		ds := 2/(z2*z) - 12/(z2*z2*z)
		df := -z - 1/z + ds/s
		dz := f / df
		z -= dz
		if math.Abs(dz) < 1e-12*z {
			break
		}
	}
	return z
}
