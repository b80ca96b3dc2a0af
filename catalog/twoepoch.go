package catalog

import (
	"math"
	"slices"
)

// TwoEpochMax finds the pair of light-curve points with the largest
// two-epoch statistic |Vs| = |S_a - S_b| / sqrt(1/w_a + 1/w_b) (Mooley
// et al. 2016; docs/variability.md), the varmetric columns vs_* and m_*.
// The points are given in time order (ties by measurement id): flux f[i],
// weight w[i] (1/variance) and measurement id x[i]; a NaN flux or weight
// stands for a missing value and takes part in no pair. It returns the
// positions a < b of the pair (a the earlier point) and ok; among pairs of
// equal |Vs| the one with the smallest (x[a], x[b]) wins, and a NaN |Vs|
// (0/0: equal fluxes with zero errors) counts as the largest, as DuckDB
// orders NaN above every number. ok is false when no pair has both
// values.
//
// Every pair is a candidate, but the search stops early: a pair's |Vs| is
// at most (S_hi - S_lo) / sqrt(v_hi + v_min), v_min the smallest variance,
// so points are tried in decreasing order of that bound and a scan ends
// once the bound falls below the best |Vs| found. Floating-point rounding
// is monotone, so the computed bound is never below a computed |Vs| and
// the result equals the exhaustive search's (TestTwoEpochMax).
func TwoEpochMax(f, w []float64, x []int64) (a, b int, ok bool) {
	var idx []int // valid points, by position
	exact := true // all variances positive and finite, all fluxes finite
	for i := range f {
		if math.IsNaN(f[i]) || math.IsNaN(w[i]) {
			continue
		}
		idx = append(idx, i)
		if v := 1 / w[i]; math.IsInf(f[i], 0) || !(v > 0) || math.IsInf(v, 0) {
			exact = false
		}
	}
	if len(idx) < 2 {
		return 0, 0, false
	}
	if !exact {
		a, b = twoEpochAll(f, w, x, idx)
		return a, b, true
	}
	v := make([]float64, len(f))
	vmin := math.Inf(1)
	for _, i := range idx {
		v[i] = 1 / w[i]
		vmin = min(vmin, v[i])
	}
	// lo: the points by increasing flux; hi: by decreasing bound.
	lo := slices.Clone(idx)
	slices.SortFunc(lo, func(p, q int) int { return cmpFloat(f[p], f[q]) })
	fmin := f[lo[0]]
	bound := make([]float64, len(f))
	for _, i := range idx {
		bound[i] = (f[i] - fmin) / math.Sqrt(v[i]+vmin)
	}
	hi := slices.Clone(idx)
	slices.SortFunc(hi, func(p, q int) int { return cmpFloat(bound[q], bound[p]) })
	best := -1.0
	for _, h := range hi {
		if bound[h] < best {
			break
		}
		for _, l := range lo {
			if f[l] > f[h] {
				break
			}
			if (f[h]-f[l])/math.Sqrt(v[h]+vmin) < best {
				break
			}
			if l == h {
				continue
			}
			s := (f[h] - f[l]) / math.Sqrt(v[h]+v[l])
			p, q := min(l, h), max(l, h)
			if s > best || (s == best && pairLess(x, p, q, a, b)) {
				best, a, b = s, p, q
			}
		}
	}
	return a, b, true
}

// twoEpochAll is TwoEpochMax by trying every pair of the points idx (in
// position order), with NaN |Vs| largest.
func twoEpochAll(f, w []float64, x []int64, idx []int) (a, b int) {
	best, found := 0.0, false
	for k, p := range idx {
		for _, q := range idx[k+1:] {
			s := math.Abs((f[p] - f[q]) / math.Sqrt(1/w[p]+1/w[q]))
			if !found || vsAbove(s, best) || (vsEqual(s, best) && pairLess(x, p, q, a, b)) {
				best, a, b, found = s, p, q, true
			}
		}
	}
	return a, b
}

// vsAbove orders |Vs| values as DuckDB does, NaN above every number.
func vsAbove(s, t float64) bool {
	if math.IsNaN(s) || math.IsNaN(t) {
		return math.IsNaN(s) && !math.IsNaN(t)
	}
	return s > t
}

// vsEqual is equality in that order (NaN equals NaN).
func vsEqual(s, t float64) bool {
	return s == t || (math.IsNaN(s) && math.IsNaN(t))
}

// pairLess orders pairs of positions by their ids (x[p], x[q]).
func pairLess(x []int64, p, q, a, b int) bool {
	if x[p] != x[a] {
		return x[p] < x[a]
	}
	return x[q] < x[b]
}

// cmpFloat orders non-NaN floats.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TwoEpoch returns Vs = (S_a - S_b) / sqrt(1/w_a + 1/w_b) and the
// modulation index m = 2 (S_a - S_b) / (S_a + S_b) of the points a and b
// (m is NaN when S_a + S_b = 0).
func TwoEpoch(fa, wa, fb, wb float64) (vs, m float64) {
	vs = (fa - fb) / math.Sqrt(1/wa+1/wb)
	m = math.NaN()
	if fa+fb != 0 {
		m = 2 * (fa - fb) / (fa + fb)
	}
	return vs, m
}
