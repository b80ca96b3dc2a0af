package kernels

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
)

// This file holds the order statistics and the kappa-sigma clipping of
// PySE's background cells (SPEC 4.3 step 5). Every routine works in place
// on a caller-owned []float64 scratch buffer and allocates nothing.

// selectNth reorders v so that v[k] is the value that would be at index k
// after sorting, every v[i] with i < k is <= v[k] and every v[i] with i > k
// is >= v[k] (nth_element). It runs in O(len(v)) expected time: Hoare
// partitioning around a median-of-three pivot, falling back to a full sort
// of the remaining range after 2*log2(n) rounds, which bounds the worst case
// by O(n log n). v must not hold NaN. It panics if k is out of range.
func selectNth(v []float64, k int) {
	lo, hi := 0, len(v)-1
	budget := 2 * bits.Len(uint(len(v)))
	for hi-lo > 16 {
		if budget == 0 {
			slices.Sort(v[lo : hi+1])
			return
		}
		budget--
		// Median of three of lo, mid, hi, moved to mid.
		mid := lo + (hi-lo)/2
		if v[mid] < v[lo] {
			v[mid], v[lo] = v[lo], v[mid]
		}
		if v[hi] < v[lo] {
			v[hi], v[lo] = v[lo], v[hi]
		}
		if v[hi] < v[mid] {
			v[hi], v[mid] = v[mid], v[hi]
		}
		p := v[mid]
		i, j := lo, hi
		for i <= j {
			for v[i] < p {
				i++
			}
			for v[j] > p {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		// Now v[lo..j] <= p, v[i..hi] >= p and v[j+1..i-1] == p.
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return
		}
	}
	// Insertion sort finishes small ranges.
	w := v[lo : hi+1]
	for a := 1; a < len(w); a++ {
		x := w[a]
		b := a - 1
		for b >= 0 && w[b] > x {
			w[b+1] = w[b]
			b--
		}
		w[b+1] = x
	}
}

// medianSelect returns the median of v (the mean of the two middle values
// when len(v) is even, as numpy.median), reordering v. It returns NaN for an
// empty v. v must not hold NaN.
func medianSelect(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	k := n / 2
	selectNth(v, k)
	if n%2 == 1 {
		return v[k]
	}
	// After selection the lower middle value is the largest of v[:k].
	lo := v[0]
	for _, x := range v[1:k] {
		if x > lo {
			lo = x
		}
	}
	return (lo + v[k]) / 2
}

// medianSortRef is the reference twin of medianSelect: sort a copy.
func medianSortRef(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// meanStd returns the mean and the population standard deviation (ddof 0)
// of v, by two passes in float64.
func clipMeanStd(v []float64) (mean, std float64) {
	if len(v) == 0 {
		return math.NaN(), math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	mean = s / float64(len(v))
	var ss float64
	for _, x := range v {
		d := x - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

// clipKappa is kappa of PySE's dynamic clipping of background cells.
const clipKappa = 2

// modeRatio is SExtractor's crowding test: the mode estimate 2.5 median -
// 1.5 mean replaces the median when |mean - median| / sigma < modeRatio.
const modeRatio = 0.3

// ClipCell estimates the background mean and rms of one cell of values by
// PySE's dynamic kappa-sigma clipping with the truncated-Gaussian bias
// correction and SExtractor's mode estimate (SPEC 4.3 step 5, kappa = 2):
//
//	L = 0
//	loop:
//	    m = median(v); s = std(v)                 // population std
//	    if L != 0 { s = TruncatedSigma(s, L) }    // undo the clip's bias
//	    L = 2*s
//	    v' = {x in v : m-L < x < m+L}             // strict
//	    if len(v') == len(v) || len(v') == 0 { break }
//	    v = v'
//	plain = mean(v)
//	if |plain-m|/s < 0.3 { m = 2.5*m - 1.5*plain }
//	return m, s
//
// The loop also stops, keeping the last estimates, when s is zero (a flat
// cell): then rms is 0 and the caller treats the cell as rejected. v is
// not modified; it must not hold NaN. An empty v gives (NaN, 0).
//
// Every kept set is an open interval of values, so the values are
// bucketed by value once and each pass looks at a few buckets only (see
// clip_sort.go). clipCellRef is the plain twin.
func ClipCell(v []float64) (mean, rms float64) {
	if len(v) == 0 {
		return math.NaN(), 0
	}
	var cc cellClipper[float64]
	cc.load(v, len(v), nil, 0, len(v), 1)
	return cc.clip()
}

// TruncatedSigma returns the standard deviation sigma of a zero-mean
// Gaussian whose part inside (-limit, limit) has standard deviation s, that
// is the root of (SPEC 4.3)
//
//	s^2 = sigma^2 * (1 - (2*limit/(sigma*sqrt(2*pi))) * exp(-limit^2/(2*sigma^2)) / erf(limit/(sigma*sqrt 2)))
//
// clamped to [0, limit] as PySE clamps its Newton iterate. PySE runs Newton
// with an absolute step tolerance of 1e-8 (in the image's units); gotrap
// solves the same equation in units of s, by Newton with a bisection
// safeguard, to a relative 1e-14, so the result does not depend on the
// image's flux scale. The iteration starts from a table of the root (see
// truncStart), so that it usually ends after two evaluations. It returns s
// when s or limit is not positive.
func TruncatedSigma(s, limit float64) float64 {
	if !(s > 0) || !(limit > 0) {
		return s
	}
	lam := limit / s
	if lam <= 1 || lam*truncRatio1-1 <= 0 {
		// No root inside (s, limit]: sigma would exceed the limit, where
		// PySE clamps its iterate.
		return limit
	}
	u, _ := truncSolve(lam, truncStart(lam))
	return u * s
}

// truncPhi returns phi(u) = T(u*s)/s - 1, with T the clipped std of a
// Gaussian of std u*s, and its derivative; lam = limit/s. T grows with
// sigma and T(sigma) < sigma, so phi(1) < 0 and the root lies in (1, lam]
// when phi(lam) >= 0. The derivative is analytic, from the same erf and
// exp: with rho = lam/u, pdf the standard normal density at rho and
// E = erf(rho/sqrt 2), t2 = 1 - 2 rho pdf / E,
// dt2/drho = -2 pdf ((1-rho^2) E - 2 rho pdf) / E^2 and
// dphi/du = sqrt(t2) - rho dt2/drho / (2 sqrt(t2)). dl is dphi/dlam,
// dt2/drho / (2 sqrt(t2)) (0 where the slope is 0).
func truncPhi(u, lam float64) (f, df, dl float64) {
	rho := lam / u
	e := math.Erf(rho / math.Sqrt2)
	if e == 0 {
		return -1, 0, 0
	}
	ex := math.Exp(-rho * rho / 2)
	t2 := 1 - (2*rho/math.Sqrt(2*math.Pi))*ex/e
	if t2 < 0 {
		t2 = 0
	}
	r := math.Sqrt(t2)
	if r == 0 {
		return u*r - 1, 0, 0 // no slope: bisect
	}
	pdf := ex / math.Sqrt(2*math.Pi)
	dt2 := -2 * pdf * ((1-rho*rho)*e - 2*rho*pdf) / (e * e)
	return u*r - 1, r - rho*dt2/(2*r), dt2 / (2 * r)
}

// truncSolve returns the root u of truncPhi(., lam) in (1, lam] by
// Newton's method from u0 with a bisection safeguard, to a relative
// 1e-14, and the number of evaluations of truncPhi. lam must exceed
// 1/truncRatio1 (then phi(lam) > 0) and u0 must lie in [1, lam].
func truncSolve(lam, u0 float64) (u float64, evals int) {
	lo, hi := 1.0, lam
	u = u0
	for range 100 {
		f, d, _ := truncPhi(u, lam)
		evals++
		if f == 0 {
			break
		}
		if f < 0 {
			lo = u
		} else {
			hi = u
		}
		next := u - f/d
		if !(d > 0) || !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-u) <= 1e-14*u || hi-lo <= 1e-14*u {
			u = next
			break
		}
		u = next
	}
	return u, evals
}

// The table of truncStart: the root u(lam) and its slope at
// lam = truncLam0 + k*truncStep, k < truncNodes.
const (
	truncLam0  = 1.859375 // just above 1/truncRatio1 = 1.8532
	truncStep  = 1.0 / 256
	truncNodes = 1057 // to lam = 5.984375
)

// truncNode is a node of truncStart's table, computed when first used
// (a cell's lam values fall on a few nodes; a whole table would cost more
// than the background of a small image saves): the root and its slope as
// float64 bits, valid once ready is set. Goroutines that compute the same
// node store the same bits, so the table does not depend on which did.
type truncNode struct {
	u, du atomic.Uint64
	ready atomic.Bool
}

var truncTable [truncNodes]truncNode

// truncNodeAt returns node k of the table: the root u at
// lam = truncLam0 + k*truncStep, by truncSolve from 1, and its slope
// du/dlam = -(dphi/dlam)/(dphi/du).
func truncNodeAt(k int) (u, du float64) {
	n := &truncTable[k]
	if !n.ready.Load() {
		lam := truncLam0 + float64(k)*truncStep
		u, _ := truncSolve(lam, 1)
		_, d, dl := truncPhi(u, lam)
		n.u.Store(math.Float64bits(u))
		n.du.Store(math.Float64bits(-dl / d))
		n.ready.Store(true)
	}
	return math.Float64frombits(n.u.Load()), math.Float64frombits(n.du.Load())
}

// truncStart returns a start for truncSolve at lam: the root by cubic
// Hermite interpolation between the two nodes of the table around lam,
// within 2e-8 of it (TestTruncStart); 1 outside the table (above it the
// root is within 1e-7 of 1). The start only decides how many steps the
// solve takes: the root is the same to its tolerance.
func truncStart(lam float64) float64 {
	x := (lam - truncLam0) / truncStep
	if !(x >= 0) || x >= truncNodes-1 {
		return 1
	}
	k := int(x)
	h := x - float64(k)
	u0, d0 := truncNodeAt(k)
	u1, d1 := truncNodeAt(k + 1)
	m0, m1 := d0*truncStep, d1*truncStep
	// Hermite basis on [0, 1].
	h2, h3 := h*h, h*h*h
	u := (2*h3-3*h2+1)*u0 + (h3-2*h2+h)*m0 + (-2*h3+3*h2)*u1 + (h3-h2)*m1
	// Inside the solve's bracket [1, lam] (NaN, which no node should
	// give, to 1).
	if !(u >= 1) {
		return 1
	}
	return min(u, lam)
}

// truncRatio1 is the std of a unit Gaussian clipped to (-1, 1):
// sqrt(1 - 2 pdf(1) / erf(1/sqrt 2)), computed with float64 operations as
// TruncatedSigma's phi computes it at rho = 1 (not as a constant
// expression, which Go would evaluate exactly and round once).
var truncRatio1 = func() float64 {
	rho := 1.0
	e := math.Erf(rho / math.Sqrt2)
	return math.Sqrt(1 - (2*rho/math.Sqrt(2*math.Pi))*math.Exp(-rho*rho/2)/e)
}()

// clipCellRef is the reference twin of ClipCell: the same loop with
// medians from a sorted copy.
func clipCellRef(v []float64) (mean, rms float64) {
	if len(v) == 0 {
		return math.NaN(), 0
	}
	var m, s, lim float64
	for {
		m = medianSortRef(v)
		_, s = clipMeanStd(v)
		if lim != 0 {
			s = TruncatedSigma(s, lim)
		}
		if !(s > 0) {
			return m, 0
		}
		lim = clipKappa * s
		var kept []float64
		for _, x := range v {
			if m-lim < x && x < m+lim {
				kept = append(kept, x)
			}
		}
		if len(kept) == len(v) || len(kept) == 0 {
			break
		}
		v = kept
	}
	plain, _ := clipMeanStd(v)
	if math.Abs(plain-m)/s < modeRatio {
		m = 2.5*m - 1.5*plain
	}
	return m, s
}
