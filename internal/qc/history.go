package qc

import "math"

// History holds, per frequency band, the rms_qc of the most recent
// accepted images, oldest first: the sample of the rms-history check. The
// pipeline adds images in (time, frequency) order, so the contents, and
// hence every decision, are deterministic. A History is not safe for
// concurrent use.
type History struct {
	depth int
	bands map[int]*ring
}

// ring is a fixed-capacity buffer of the last values added.
type ring struct {
	v    []float64
	next int // index of the oldest value once full
}

// NewHistory returns an empty History that keeps the last depth values
// of each band; depth must be at least Config.RMSEstHistory of the checks
// it serves. It panics if depth < 1.
func NewHistory(depth int) *History {
	if depth < 1 {
		panic(badDepth)
	}
	return &History{depth: depth, bands: make(map[int]*ring)}
}

// Add appends the rms_qc (Jy) of an accepted image of band to the
// history, dropping the oldest value when the band already holds depth
// values. A value that is not finite is not added (it would poison the
// mean) and Add returns false.
func (h *History) Add(band int, rms float64) bool {
	if math.IsNaN(rms) || math.IsInf(rms, 0) {
		return false
	}
	r := h.bands[band]
	if r == nil {
		r = &ring{v: make([]float64, 0, min(h.depth, 128))}
		h.bands[band] = r
	}
	if len(r.v) < h.depth {
		r.v = append(r.v, rms)
		return true
	}
	r.v[r.next] = rms
	r.next = (r.next + 1) % h.depth
	return true
}

// Record adds in's rms_qc to the history of in.Band when res accepted the
// image and does nothing otherwise, so that rejected images never enter
// the history (SPEC 11 quirk 2, fixed). It reports whether it added.
func (h *History) Record(in Input, res Result) bool {
	if !res.Accepted {
		return false
	}
	return h.Add(in.Band, in.RMSQC)
}

// Len returns the number of values held for band.
func (h *History) Len(band int) int {
	if r := h.bands[band]; r != nil {
		return len(r.v)
	}
	return 0
}

// Values appends the values held for band, oldest first, to dst and
// returns it.
func (h *History) Values(dst []float64, band int) []float64 {
	r := h.bands[band]
	if r == nil {
		return dst
	}
	dst = append(dst, r.v[r.next:]...)
	return append(dst, r.v[:r.next]...)
}

// stats returns the mean and population standard deviation of the last n
// values of band (n <= Len(band)), two-pass, summed oldest first.
func (h *History) stats(band, n int) (mean, std float64) {
	r := h.bands[band]
	k := len(r.v)
	at := func(i int) float64 { return r.v[(r.next+i)%k] } // i-th oldest
	var s float64
	for i := k - n; i < k; i++ {
		s += at(i)
	}
	mean = s / float64(n)
	var ss float64
	for i := k - n; i < k; i++ {
		d := at(i) - mean
		ss += d * d
	}
	return mean, math.Sqrt(ss / float64(n))
}
