package kernels

import (
	"math"
	"slices"
)

// Bucketed clipping (SPEC 4.3 step 5).
//
// Every pass of the clip keeps {x : m-L < x < m+L} of the current set, and
// the first set is every value, so the current set is always an open
// interval of values {A < x < B}. The values of a cell are placed once, in
// O(n), into clipBuckets buckets of equal width by value; the bucket index
// is a monotone function of the value, so every value of a bucket below
// bucket(A) is <= A, every value of a bucket above it is > A, and only the
// values of the two boundary buckets bucket(A) and bucket(B) need to be
// looked at one by one. A pass then costs two small bucket scans, binary
// searches over the bucket offsets, and differences of prefix sums over
// the buckets strictly between, instead of O(n); the median is the k-th
// value of the set: found in its bucket by the offsets, then selected
// among that bucket's few values.
//
// The buckets are clipPerSigma per robust standard deviation (from the
// interquartile range of an evenly spaced subsample of clipSample values)
// about the subsample's median, with the tails clamped into the two end
// buckets. For Gaussian noise a central bucket of a 50x50 cell holds about
// 2500*0.4/128 = 8 values; skewed data only make some buckets fuller, and
// the results do not depend on the bucket layout. The prefix sums of
// x-c (c the centre) skip the two end buckets, so they only add values
// within 4 robust sigmas of c: their rounding error stays near that of a
// direct sum over the set, and a pass recomputes the sums directly when
// the set's spread is too small for that bound to hold.
const (
	clipBuckets  = 1024
	clipPerSigma = 128
	clipSample   = 64
	clipSmall    = 24 // largest bucket selection done by insertion sort
)

// cellClipper is the per-goroutine scratch of the background clip.
type cellClipper struct {
	band   []float32 // a row of cells, cell after cell (gatherBand)
	masked []bool    // per cell of the band: holds a masked pixel
	bucket []uint16  // bucket of each value
	byB    []float64 // the values in bucket order (unsorted in a bucket)
	sel    []float64 // scratch of the selection in one bucket
	start  [clipBuckets + 1]uint32
	p1, p2 [clipBuckets + 1]float64 // exclusive prefix sums of x-c, (x-c)^2
	c, inv float64                  // bucket(x) = clamp((x-c)*inv + half)
	flat   bool                     // every value is in one bucket
}

// grow sizes the per-value buffers for n values.
func (cc *cellClipper) grow(n int) {
	if cap(cc.bucket) < n {
		cc.bucket = make([]uint16, n)
		cc.byB = make([]float64, n)
	}
	cc.bucket, cc.byB = cc.bucket[:n], cc.byB[:n]
}

// gatherBand copies the nx cells of cw x ch pixels whose top-left corners
// are at local (x0 + cx*cw, y0) into cc.band, cell cx at [cx*cw*ch,
// (cx+1)*cw*ch) in row-major order, and sets cc.masked[cx] when cell cx
// holds a masked pixel. It reads the image and the mask row by row, in
// memory order.
func (cc *cellClipper) gatherBand(img *Image, mask []bool, w, x0, y0, nx, cw, ch int) {
	n := cw * ch
	if cap(cc.band) < nx*n {
		cc.band = make([]float32, nx*n)
	}
	if cap(cc.masked) < nx {
		cc.masked = make([]bool, nx)
	}
	cc.band, cc.masked = cc.band[:nx*n], cc.masked[:nx]
	clear(cc.masked)
	for r := range ch {
		y := y0 + r
		mrow := mask[y*w+x0 : y*w+x0+nx*cw]
		src := img.Pix[y*img.Stride+x0 : y*img.Stride+x0+nx*cw]
		for cx := range nx {
			masked := false
			for _, m := range mrow[cx*cw : cx*cw+cw] {
				masked = masked || m
			}
			cc.masked[cx] = cc.masked[cx] || masked
			copy(cc.band[cx*n+r*cw:cx*n+r*cw+cw], src[cx*cw:cx*cw+cw])
		}
	}
}

// clipBandCell clips cell cx of the band (ClipCell).
func (cc *cellClipper) clipBandCell(cx, n int) (mean, rms float64) {
	v := cc.band[cx*n : cx*n+n]
	if len(v) == 0 {
		return math.NaN(), 0
	}
	cc.grow(n)
	bucketize(cc, v)
	return cc.clip()
}

// bucketOf returns the bucket of x. It is monotone: x <= y implies
// bucketOf(x) <= bucketOf(y), infinities included.
func (cc *cellClipper) bucketOf(x float64) int {
	if cc.flat {
		return 0
	}
	t := (x-cc.c)*cc.inv + clipBuckets/2
	if t < 0 {
		t = 0
	}
	if t > clipBuckets-1 {
		t = clipBuckets - 1
	}
	return int(t)
}

// bucketize places v (no NaN) into the buckets of cc (grown for len(v)
// values) and fills the offsets and prefix sums.
func bucketize[F float32 | float64](cc *cellClipper, v []F) {
	n := len(v)
	cc.flat = true
	if n >= 4*clipSample {
		var smp [clipSample]float64
		step := n / clipSample
		for i := range smp {
			smp[i] = float64(v[i*step])
		}
		insertionSort(smp[:])
		cc.c = smp[clipSample/2]
		spread := (smp[3*clipSample/4] - smp[clipSample/4]) / 1.349
		if !(spread > 0) {
			spread = (smp[clipSample-1] - smp[0]) / 4
		}
		cc.inv = clipPerSigma / spread
		// An infinite spread (infinities among the sample) gives inv = 0,
		// which would map infinite values to NaN buckets: treat as flat.
		cc.flat = !(spread > 0) || !(cc.inv > 0) || !(cc.inv <= math.MaxFloat64) || math.IsInf(cc.c, 0)
	}
	cnt := &cc.start
	*cnt = [clipBuckets + 1]uint32{}
	s1, s2 := &cc.p1, &cc.p2
	*s1, *s2 = [clipBuckets + 1]float64{}, [clipBuckets + 1]float64{}
	bk := cc.bucket[:n]
	if cc.flat {
		cc.c = 0
		clear(bk)
		cnt[0] = uint32(n)
		for i, x := range v {
			cc.byB[i] = float64(x)
		}
		cc.start[0], cc.start[1] = 0, uint32(n)
		for b := 2; b <= clipBuckets; b++ {
			cc.start[b] = uint32(n)
		}
		return
	}
	c, inv := cc.c, cc.inv
	const top = clipBuckets - 1
	for i, xf := range v {
		x := float64(xf)
		t := (x-c)*inv + clipBuckets/2
		if t < 0 {
			t = 0
		}
		if t > top {
			t = top
		}
		b := uint16(t) & top
		bk[i] = b
		cnt[b]++
		d := x - c
		s1[b] += d
		s2[b] += d * d
	}
	// Offsets: start[b] is the first slot of bucket b (then, during the
	// scatter, the next free one). The prefix sums leave out the end
	// buckets (always scanned, never summed whole).
	var sum uint32
	var q1, q2 float64
	for b := range clipBuckets {
		k := cnt[b]
		cnt[b] = sum
		sum += k
		t1, t2 := s1[b], s2[b]
		s1[b], s2[b] = q1, q2
		if b != 0 && b != top {
			q1 += t1
			q2 += t2
		}
	}
	cnt[clipBuckets] = sum
	s1[clipBuckets], s2[clipBuckets] = q1, q2
	out := cc.byB[:n]
	for i, x := range v {
		b := bk[i] & top
		out[cnt[b]] = float64(x)
		cnt[b]++
	}
	// Shift the offsets back: start[b] is now the end of bucket b.
	copy(cnt[1:], cnt[:clipBuckets])
	cnt[0] = 0
}

// clipSet is the open interval (A, B) of the current set with its
// boundary buckets; all marks the first set, every value (infinities
// included).
type clipSet struct {
	a, b   float64
	ba, bb int // bucketOf(a), bucketOf(b)
	all    bool
}

// in reports whether x is in s.
func (s *clipSet) in(x float64) bool { return s.all || (s.a < x && x < s.b) }

// members returns the values of bucket k.
func (cc *cellClipper) members(k int) []float64 {
	return cc.byB[cc.start[k]:cc.start[k+1]]
}

// scan returns the number of values of bucket k inside s and their sums
// of x-c and (x-c)^2.
func (cc *cellClipper) scan(s *clipSet, k int) (n int, t1, t2 float64) {
	c := cc.c
	for _, x := range cc.members(k) {
		if s.in(x) {
			n++
			d := x - c
			t1 += d
			t2 += d * d
		}
	}
	return n, t1, t2
}

// stats returns the size of s and its sums of x-c and (x-c)^2, with the
// sum of |terms| of the prefix part (for the error bound).
func (cc *cellClipper) stats(s *clipSet) (n int, t1, t2, mag float64) {
	if s.ba == s.bb {
		n, t1, t2 = cc.scan(s, s.ba)
		return n, t1, t2, 0
	}
	n, t1, t2 = cc.scan(s, s.ba)
	m, u1, u2 := cc.scan(s, s.bb)
	lo, hi := s.ba+1, s.bb
	n += m + int(cc.start[hi]-cc.start[lo])
	w1 := cc.p1[hi] - cc.p1[lo]
	w2 := cc.p2[hi] - cc.p2[lo]
	return n, t1 + w1 + u1, t2 + w2 + u2, cc.p2[hi] + cc.p2[lo]
}

// exactStats sums the set directly about its median m (two passes over
// the buckets of the set), for when the prefix sums could lose accuracy.
func (cc *cellClipper) exactStats(s *clipSet, m float64) (n int, mean, std float64) {
	vals := cc.byB[cc.start[s.ba]:cc.start[s.bb+1]]
	var t float64
	for _, x := range vals {
		if s.in(x) {
			n++
			t += x - m
		}
	}
	mean = m + t/float64(n)
	var ss float64
	for _, x := range vals {
		if s.in(x) {
			d := x - mean
			ss += d * d
		}
	}
	return n, mean, math.Sqrt(ss / float64(n))
}

// kth returns the k-th smallest value (0-based) of s, which holds n
// values; nl is the number of values of bucket s.ba in s.
func (cc *cellClipper) kth(s *clipSet, k, nl int) float64 {
	if s.ba == s.bb || k < nl {
		return cc.selectIn(s, s.ba, k)
	}
	k -= nl
	lo, hi := s.ba+1, s.bb
	w := int(cc.start[hi] - cc.start[lo])
	if k >= w {
		return cc.selectIn(s, s.bb, k-w)
	}
	// The bucket b in [lo, hi) with start[b] <= g < start[b+1].
	g := cc.start[lo] + uint32(k)
	i, j := lo, hi
	for i < j {
		h := int(uint(i+j) >> 1)
		if cc.start[h+1] <= g {
			i = h + 1
		} else {
			j = h
		}
	}
	sel := append(cc.sel[:0], cc.members(i)...)
	cc.sel = sel
	sortSmall(sel)
	return sel[g-cc.start[i]]
}

// selectIn returns the k-th smallest value of s among bucket b's values.
func (cc *cellClipper) selectIn(s *clipSet, b, k int) float64 {
	sel := cc.sel[:0]
	for _, x := range cc.members(b) {
		if s.in(x) {
			sel = append(sel, x)
		}
	}
	cc.sel = sel
	sortSmall(sel)
	return sel[k]
}

// median returns the median of s (n values, nl of them in bucket s.ba).
func (cc *cellClipper) median(s *clipSet, n, nl int) float64 {
	if n%2 == 1 {
		return cc.kth(s, n/2, nl)
	}
	return (cc.kth(s, n/2-1, nl) + cc.kth(s, n/2, nl)) / 2
}

// clip runs ClipCell's loop over the bucketed values (at least one).
func (cc *cellClipper) clip() (mean, rms float64) {
	s := clipSet{a: math.Inf(-1), b: math.Inf(1), ba: 0, bb: clipBuckets - 1, all: true}
	if cc.flat {
		s.bb = 0
	}
	var m, sd, lim, plain float64
	for {
		nl, _, _ := cc.scan(&s, s.ba)
		n, t1, t2, mag := cc.stats(&s)
		m = cc.median(&s, n, nl)
		mu := t1 / float64(n)
		v := t2/float64(n) - mu*mu
		if !(v > 0) || mu*mu > 64*v || mag*1e-3 > t2 {
			// Cancellation or a prefix much larger than the set's own
			// sum: sum the set directly.
			_, plain, sd = cc.exactStats(&s, m)
		} else {
			plain, sd = cc.c+mu, math.Sqrt(v)
		}
		if lim != 0 {
			sd = TruncatedSigma(sd, lim)
		}
		if !(sd > 0) {
			return m, 0
		}
		lim = clipKappa * sd
		ns := clipSet{a: math.Max(s.a, m-lim), b: math.Min(s.b, m+lim)}
		ns.ba, ns.bb = cc.bucketOf(ns.a), cc.bucketOf(ns.b)
		nn, _, _, _ := cc.stats(&ns)
		if nn == n || nn == 0 {
			break
		}
		s = ns
	}
	if math.Abs(plain-m)/sd < modeRatio {
		m = 2.5*m - 1.5*plain
	}
	return m, sd
}

// sortSmall sorts s ascending (no NaN): insertion sort when short.
func sortSmall(s []float64) {
	if len(s) > clipSmall {
		slices.Sort(s)
		return
	}
	insertionSort(s)
}

// insertionSort sorts a short s ascending (no NaN).
func insertionSort(s []float64) {
	for i := 1; i < len(s); i++ {
		x := s[i]
		j := i
		for j > 0 && s[j-1] > x {
			s[j] = s[j-1]
			j--
		}
		s[j] = x
	}
}
