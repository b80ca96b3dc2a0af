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
// searches over the bucket counts, and differences of prefix sums over
// the buckets strictly between, instead of O(n); the median is the k-th
// value of the set: found in its bucket by the prefix counts, then
// selected among that bucket's few values.
//
// The buckets are clipPerSigma per robust standard deviation (from the
// interquartile range of an evenly spaced subsample of clipSample values)
// about the subsample's median, with the tails clamped into the two end
// buckets. For Gaussian noise a central bucket of a 50x50 cell holds about
// 2500*0.4/64 = 16 values; skewed data only make some buckets fuller, and
// the results do not depend on the bucket layout. The prefix sums of
// x-c (c the centre) skip the two end buckets, so they only add values
// within 4 robust sigmas of c: their rounding error stays near that of a
// direct sum over the set, and a pass recomputes the sums directly when
// the set's spread is too small for that bound to hold.
//
// Loading a cell reads its rows straight from the image, once: each value
// goes to the next free slot of its bucket, clipCap slots a bucket (the
// two end buckets, which collect the tails, have room for every value),
// while the counts and the sums of x-c and (x-c)^2 of each bucket are
// accumulated, and the cell's mask is tested. When a bucket overflows
// (quantised, skewed or badly-sampled data), the cell is loaded again by
// the two-pass counting sort (histogram, then scatter into bucket order),
// which has no limit; both layouts hold each bucket's values in the same
// order, so the clip gives the same bits from either.
const (
	clipBuckets  = 512
	clipPerSigma = 64
	clipSample   = 32
	clipSmall    = 24 // largest bucket selection done by insertion sort
	clipCap      = 64 // slots of an inner bucket in the one-pass layout
	// clipMain is the size of the one-pass layout's inner-bucket area.
	clipMain = clipBuckets * clipCap
)

// cellClipper is the per-goroutine scratch of the background clip, for
// values of type F (float32 for images, float64 for ClipCell).
type cellClipper[F float32 | float64] struct {
	// vals holds the values by bucket: bucket k is
	// vals[off[k]:off[k]+start[k+1]-start[k]] (unsorted). One-pass
	// layout: inner bucket k at k*clipCap, bucket 0 at clipMain, the last
	// bucket at clipMain+n (n values a cell). Two-pass layout: the buckets
	// one after the other from 0.
	vals    []F
	bucket  []uint16                 // two-pass layout: bucket of each value
	sel     []float64                // scratch of the selection in one bucket
	whole   []float64                // the sorted values of bucket wholeB (kth's memo)
	wholeB  int                      // the bucket held by whole, -1 for none
	off     [clipBuckets]uint32      // first slot of each bucket in vals
	pos     [clipBuckets]uint32      // one-pass loading: next free slot
	layout  [clipBuckets]uint32      // the one-pass offsets for cells of layoutN values
	start   [clipBuckets + 1]uint32  // exclusive prefix counts
	layoutN int                      // cell size of layout
	p1, p2  [clipBuckets + 1]float64 // exclusive prefix sums of x-c, (x-c)^2
	c, inv  float64                  // centre and buckets per unit of x
	boff    float64                  // bucket(x) = clamp(floor(x*inv + boff)), boff = half - c*inv
	flat    bool                     // every value is in one bucket
	sink    float32                  // keeps touchBand's reads
	twoPass bool                     // tests: always load by the two-pass sort
	zero    []bool                   // an unmasked row, for load without a mask
	planes  Planes                   // where vals comes from (nil: the Go heap)
}

// anyTrue reports whether m holds a true value, eight at a time without
// branches. Its reference loop is
//
//	for _, b := range m { if b { return true } }; return false
func anyTrue(m []bool) bool {
	var acc uint8
	for len(m) >= 8 {
		q := m[:8:8]
		acc |= b2u(q[0]) | b2u(q[1]) | b2u(q[2]) | b2u(q[3]) |
			b2u(q[4]) | b2u(q[5]) | b2u(q[6]) | b2u(q[7])
		m = m[8:]
	}
	for _, b := range m {
		acc |= b2u(b)
	}
	return acc != 0
}

// anyTrueRef is the reference twin of anyTrue.
func anyTrueRef(m []bool) bool {
	for _, b := range m {
		if b {
			return true
		}
	}
	return false
}

// b2u converts a bool to 0 or 1 (a byte load, no branch).
func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// clipImageCell clips the cw x ch cell of img with top-left corner at
// local (x0, y0) (ClipCell on its values, read in place), unless the
// compact mask (w pixels a row) marks one of its pixels: then masked is
// true and mean and rms are meaningless.
func clipImageCell(cc *cellClipper[float32], img *Image, mask []bool, w, x0, y0, cw, ch int) (mean, rms float64, masked bool) {
	if cw*ch == 0 {
		return math.NaN(), 0, false
	}
	o := y0*img.Stride + x0
	mo := y0*w + x0
	if cc.load(img.Pix[o:o+(ch-1)*img.Stride+cw], img.Stride, mask[mo:mo+(ch-1)*w+cw], w, cw, ch) {
		return 0, 0, true
	}
	mean, rms = cc.clip()
	return mean, rms, false
}

// bucketIndex is the bucket of x for scale inv and offset off (off =
// clipBuckets/2 - c*inv for the centre c): floor(x*inv + off), clamped to
// [0, clipBuckets). The explicit conversion forbids fusing into an FMA,
// so the loading loops (the same operations) and bucketOf agree on every
// platform. It is monotone in x, infinities included; NaN goes to bucket
// 0.
func bucketIndex(x, inv, off float64) int {
	t := float64(x*inv) + off
	b := int(t) // MinInt64 for a t beyond the int range, or NaN
	if uint(b) > clipBuckets-1 {
		b = clampBucket(t)
	}
	return b
}

// clampBucket returns the bucket of t = x*inv + off outside
// [0, clipBuckets): the nearer end.
//
//go:noinline
func clampBucket(t float64) int {
	if t > 0 {
		return clipBuckets - 1
	}
	return 0
}

// endBucket is the bucket of t = x*inv + off as bucketIndex finds it
// (called by onePassRow for the end buckets only, out of its loop's way).
//
//go:noinline
func endBucket(t float64) int {
	b := int(t)
	if uint(b) > clipBuckets-1 {
		b = clampBucket(t)
	}
	return b
}

// bucketOf returns the bucket of x. It is monotone: x <= y implies
// bucketOf(x) <= bucketOf(y), infinities included.
func (cc *cellClipper[F]) bucketOf(x float64) int {
	if cc.flat {
		return 0
	}
	return bucketIndex(x, cc.inv, cc.boff)
}

// load places the cw x ch values of the rows of pix (row r at r*stride)
// into the buckets of cc and fills the counts, offsets and prefix sums.
// mask holds the cell's mask rows (row r at r*mstride), or is nil for an
// unmasked cell. load reports whether the cell holds a masked pixel: then
// the cell is not to be clipped (and its values may be NaN). The one-pass
// load tests the mask as it reads the values.
func (cc *cellClipper[F]) load(pix []F, stride int, mask []bool, mstride, cw, ch int) (masked bool) {
	if mask == nil {
		if cap(cc.zero) < cw {
			cc.zero = make([]bool, cw)
		}
		mask, mstride = cc.zero[:cw], 0
	}
	anyMasked := func() bool {
		for r := range ch {
			if anyTrue(mask[r*mstride : r*mstride+cw]) {
				return true
			}
		}
		return false
	}
	n := cw * ch
	cc.vals = growPlane(cc.planes, cc.vals, clipMain+2*n)
	cc.vals = cc.vals[:cap(cc.vals)]
	cc.wholeB = -1
	cc.flat = true
	if n >= 4*clipSample {
		var smp [clipSample]float64
		step := n / clipSample
		for i := range smp {
			k := i * step
			smp[i] = float64(pix[k/cw*stride+k%cw])
		}
		insertionSort(smp[:])
		cc.c = smp[clipSample/2]
		spread := (smp[3*clipSample/4] - smp[clipSample/4]) / 1.349
		if !(spread > 0) {
			spread = (smp[clipSample-1] - smp[0]) / 4
		}
		cc.inv = clipPerSigma / spread
		cc.boff = float64(clipBuckets/2) - float64(cc.c*cc.inv)
		// An infinite spread (infinities among the sample) gives inv = 0,
		// which would map infinite values to NaN buckets: treat as flat.
		cc.flat = !(spread > 0) || !(cc.inv > 0) || !(cc.inv <= math.MaxFloat64) || math.IsInf(cc.c, 0) || math.IsInf(cc.boff, 0)
	}
	cc.p1, cc.p2 = [clipBuckets + 1]float64{}, [clipBuckets + 1]float64{}
	if cc.flat {
		if anyMasked() {
			return true
		}
		cc.c = 0
		out := cc.vals[:n]
		for r := range ch {
			row := pix[r*stride : r*stride+cw]
			o := out[r*cw : r*cw+cw]
			for i, x := range row {
				o[i] = F(x)
			}
		}
		cc.off = [clipBuckets]uint32{}
		cc.start[0] = 0
		for b := 1; b <= clipBuckets; b++ {
			cc.start[b] = uint32(n)
		}
		return false
	}
	if cc.layoutN != n {
		for b := range clipBuckets {
			cc.layout[b] = uint32(b * clipCap)
		}
		cc.layout[0], cc.layout[clipBuckets-1] = clipMain, uint32(clipMain+n)
		cc.layoutN = n
	}
	cc.pos = cc.layout
	if !cc.twoPass {
		var m uint8
		for r := range ch {
			m |= onePassRow(cc, pix[r*stride:r*stride+cw], mask[r*mstride:r*mstride+cw])
		}
		if m != 0 {
			return true
		}
		if cc.onePassPrefix(n) {
			return false
		}
	} else if anyMasked() {
		return true
	}
	// A bucket overflowed: the two-pass counting sort.
	cc.start = [clipBuckets + 1]uint32{}
	cc.p1, cc.p2 = [clipBuckets + 1]float64{}, [clipBuckets + 1]float64{}
	if cap(cc.bucket) < n {
		cc.bucket = make([]uint16, n)
	}
	bk := cc.bucket[:n]
	for r := range ch {
		histRow(cc, pix[r*stride:r*stride+cw], bk[r*cw:r*cw+cw])
	}
	cc.prefix()
	next := cc.start
	for r := range ch {
		scatterRow(&next, pix[r*stride:r*stride+cw], bk[r*cw:r*cw+cw], cc.vals[:n])
	}
	copy(cc.off[:], cc.start[:clipBuckets])
	return false
}

// prefix turns the per-bucket counts in start and sums in p1, p2 into
// exclusive prefix counts and sums (the sums leave out the end buckets,
// always scanned, never summed whole).
func (cc *cellClipper[F]) prefix() {
	const top = clipBuckets - 1
	var sum uint32
	var q1, q2 float64
	for b := range clipBuckets {
		k := cc.start[b]
		cc.start[b] = sum
		sum += k
		t1, t2 := cc.p1[b], cc.p2[b]
		cc.p1[b], cc.p2[b] = q1, q2
		if b != 0 && b != top {
			q1 += t1
			q2 += t2
		}
	}
	cc.start[clipBuckets] = sum
	cc.p1[clipBuckets], cc.p2[clipBuckets] = q1, q2
}

// onePassPrefix fills the offsets, prefix counts and prefix sums of the
// one-pass layout of a cell of n values (prefix's work, with the counts
// taken from the fill positions), and reports false when an inner bucket
// overflowed.
func (cc *cellClipper[F]) onePassPrefix(n int) bool {
	const top = clipBuckets - 1
	cc.off = cc.layout
	pos, start, p1, p2 := &cc.pos, &cc.start, &cc.p1, &cc.p2
	sum := pos[0] - clipMain
	start[0] = 0
	var q1, q2 float64
	p1[0], p2[0] = 0, 0
	over := uint32(0)
	for b := 1; b < top; b++ {
		k := pos[b] - uint32(b*clipCap)
		over |= (k + clipCap - 1) / (2 * clipCap) // nonzero when k > clipCap
		start[b] = sum
		sum += k
		t1, t2 := p1[b], p2[b]
		p1[b], p2[b] = q1, q2
		q1 += t1
		q2 += t2
	}
	start[top] = sum
	start[clipBuckets] = sum + pos[top] - uint32(clipMain+n)
	p1[top], p2[top] = q1, q2
	p1[clipBuckets], p2[clipBuckets] = q1, q2
	return over == 0
}

// onePassRow puts the values of row into the one-pass layout of cc,
// each at the next free slot pos[b] of its bucket b, and sums x-c and
// (x-c)^2 per bucket. It returns nonzero when mrow, the row's mask (as
// long as row), holds a true value. An inner bucket that overflows runs on into the
// next one's slots (the slot index is masked to the inner area): load
// sees it by the count and loads the cell again.
func onePassRow[F float32 | float64](cc *cellClipper[F], row []F, mrow []bool) (masked uint8) {
	// The bucket is bucketIndex written out (the same operations, so the
	// same buckets): one unsigned test sends the two end buckets (and
	// int(t) of a huge or infinite t, which is MinInt64) to the rare
	// branch.
	const top = clipBuckets - 1
	c, inv, boff := cc.c, cc.inv, cc.boff
	pos, s1, s2 := &cc.pos, &cc.p1, &cc.p2
	inner := (*[clipMain]F)(cc.vals[:clipMain])
	vals := cc.vals
	mrow = mrow[:len(row)]
	for i, xf := range row {
		masked |= b2u(mrow[i])
		x := float64(xf)
		t := float64(x*inv) + boff
		b := int(t)
		d := x - c
		if uint(b-1) < top-1 {
			b &= top
			inner[pos[b]&(clipMain-1)] = xf
			pos[b]++
			s1[b] += d
			s2[b] += d * d
			continue
		}
		b = endBucket(t) & top
		vals[pos[b]] = xf
		pos[b]++
		s1[b] += d
		s2[b] += d * d
	}
	return masked
}

// histRow adds the values of row to the histogram of cc (counts in
// cc.start, sums of x-c and (x-c)^2 in cc.p1 and cc.p2) and writes their
// buckets to bk (len(row) of them).
func histRow[F float32 | float64](cc *cellClipper[F], row []F, bk []uint16) {
	const top = clipBuckets - 1
	c, inv, boff := cc.c, cc.inv, cc.boff
	cnt, s1, s2 := &cc.start, &cc.p1, &cc.p2
	bk = bk[:len(row)]
	for i, xf := range row {
		x := float64(xf)
		t := float64(x*inv) + boff
		b := int(t)
		if uint(b) > top {
			b = clampBucket(t)
		}
		b &= top
		bk[i] = uint16(b)
		cnt[b]++
		d := x - c
		s1[b] += d
		s2[b] += d * d
	}
}

// scatterRow places the values of row, of buckets bk, at the next free
// slots next[b] of out.
func scatterRow[F float32 | float64](next *[clipBuckets + 1]uint32, row []F, bk []uint16, out []F) {
	bk = bk[:len(row)]
	for i, x := range row {
		b := bk[i] & (clipBuckets - 1)
		out[next[b]] = x
		next[b]++
	}
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
func (cc *cellClipper[F]) members(k int) []F {
	return cc.vals[cc.off[k] : cc.off[k]+cc.start[k+1]-cc.start[k]]
}

// scan returns the number of values of bucket k inside s and their sums
// of x-c and (x-c)^2.
func (cc *cellClipper[F]) scan(s *clipSet, k int) (n int, t1, t2 float64) {
	c := cc.c
	for _, xf := range cc.members(k) {
		if x := float64(xf); s.in(x) {
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
func (cc *cellClipper[F]) stats(s *clipSet) (n int, t1, t2, mag float64) {
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
func (cc *cellClipper[F]) exactStats(s *clipSet, m float64) (n int, mean, std float64) {
	var t float64
	for b := s.ba; b <= s.bb; b++ {
		for _, xf := range cc.members(b) {
			if x := float64(xf); s.in(x) {
				n++
				t += x - m
			}
		}
	}
	mean = m + t/float64(n)
	var ss float64
	for b := s.ba; b <= s.bb; b++ {
		for _, xf := range cc.members(b) {
			if x := float64(xf); s.in(x) {
				d := x - mean
				ss += d * d
			}
		}
	}
	return n, mean, math.Sqrt(ss / float64(n))
}

// kth returns the k-th smallest value (0-based) of s, which holds n
// values; nl is the number of values of bucket s.ba in s.
func (cc *cellClipper[F]) kth(s *clipSet, k, nl int) float64 {
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
	// A bucket strictly inside the set is taken whole, so its sorted
	// values serve every later query of it (the two middle values of an
	// even set, and the next passes, until the next load).
	if i != cc.wholeB {
		cc.whole = cc.whole[:0]
		for _, x := range cc.members(i) {
			cc.whole = append(cc.whole, float64(x))
		}
		sortSmall(cc.whole)
		cc.wholeB = i
	}
	return cc.whole[g-cc.start[i]]
}

// selectIn returns the k-th smallest value of s among bucket b's values.
func (cc *cellClipper[F]) selectIn(s *clipSet, b, k int) float64 {
	sel := cc.sel[:0]
	for _, xf := range cc.members(b) {
		if x := float64(xf); s.in(x) {
			sel = append(sel, x)
		}
	}
	cc.sel = sel
	sortSmall(sel)
	return sel[k]
}

// median returns the median of s (n values, nl of them in bucket s.ba).
func (cc *cellClipper[F]) median(s *clipSet, n, nl int) float64 {
	if n%2 == 1 {
		return cc.kth(s, n/2, nl)
	}
	return (cc.kth(s, n/2-1, nl) + cc.kth(s, n/2, nl)) / 2
}

// clip runs ClipCell's loop over the bucketed values (at least one).
func (cc *cellClipper[F]) clip() (mean, rms float64) {
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
