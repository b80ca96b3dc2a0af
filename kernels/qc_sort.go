package kernels

import "math"

// rms_qc by one radix sort (SPEC 3.1).
//
// Every pass of SigmaClipQC keeps {x : |x - m| <= kappa*s} of the current
// set; x - m rounds monotonically in x, so each kept set is a contiguous
// range of the sorted values. QCScratch sorts the subregion's values once
// (LSD radix sort of order-preserving 32-bit keys, three passes of 11, 11
// and 10 bits), and then a pass costs its median (two lookups), its
// standard deviation (from block prefix sums over the sorted values, with
// direct sums at the range's ends: rangeStd) and two binary searches for
// the new range's ends with the reference's exact test. Medians and
// ranges are the reference's bit for bit (unless a value lies within
// rounding of a limit); the final rms about the median is summed directly
// over the final range, so the result agrees with RMSQC to rounding
// (about 1e-15 relative).

// QCScratch is the reusable scratch of [QCScratch.RMSQC]: two key
// buffers of the subregion's size (8 bytes per value, as RMSQC's
// float64 buffer). The zero value is ready to use; it is not safe for
// concurrent use.
type QCScratch struct {
	a, b   []uint32
	hist   [3][1 << qcDigit]uint32
	p1, p2 []float64 // block prefix sums of x-c and (x-c)^2 (qcBlock values a block)
	c      float64   // their centre: the median of all the values
}

// qcBlock is the number of sorted values per block of the prefix sums.
const qcBlock = 64

const qcDigit = 11 // bits per radix pass (11, 11, 10)

// qcKey maps float32 bits to a key whose unsigned order is the values'
// order (negative values reversed below the positive ones); -0 sorts just
// below +0.
func qcKey(bits uint32) uint32 {
	return bits ^ (uint32(int32(bits)>>31) | 0x80000000)
}

// qcBits inverts qcKey.
func qcBits(k uint32) uint32 {
	return k ^ (uint32(int32(^k)>>31) | 0x80000000)
}

// qcValue widens the float32 of the bits k to float64.
func qcValue(k uint32) float64 {
	return float64(math.Float32frombits(k))
}

// RMSQC returns the same rms_qc as the function [RMSQC] (its reference
// twin): the rms about the median of the values of QCSubregion(img,
// fraction) that survive SigmaClipQC with kappa, NaN pixels left out,
// NaN when nothing is left. It panics if fraction < 1.
func (q *QCScratch) RMSQC(img *Image, fraction int, kappa float64) float64 {
	checkImageLayout(img)
	sub := QCSubregion(img, fraction)
	w, h := sub.Rect.Dx(), sub.Rect.Dy()
	if cap(q.a) < w*h {
		q.a = make([]uint32, w*h)
		q.b = make([]uint32, w*h)
	}
	a := q.a[:w*h]
	q.hist = [3][1 << qcDigit]uint32{}
	h0, h1, h2 := &q.hist[0], &q.hist[1], &q.hist[2]
	const m0 = 1<<qcDigit - 1
	n := 0
	for y := range h {
		row := sub.Pix[y*sub.Stride : y*sub.Stride+w]
		for _, v := range row {
			if v != v {
				continue
			}
			k := qcKey(math.Float32bits(v))
			a[n] = k
			n++
			h0[k&m0]++
			h1[(k>>qcDigit)&m0]++
			h2[k>>(2*qcDigit)]++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	a, b := a[:n], q.b[:n]
	for p := range 3 {
		hs := &q.hist[p]
		var sum uint32
		for i, c := range hs {
			hs[i] = sum
			sum += c
		}
		shift := uint(p * qcDigit)
		if p < 2 {
			for _, k := range a {
				d := (k >> shift) & m0
				b[hs[d]] = k
				hs[d]++
			}
		} else {
			// The last pass stores the float32 bits back.
			for _, k := range a {
				d := k >> shift
				b[hs[d]] = qcBits(k)
				hs[d]++
			}
		}
		a, b = b, a
	}
	// a holds the values' float32 bits, sorted by value.
	q.blockSums(a)
	lo, hi := 0, n
	for hi > lo {
		v := a[lo:hi]
		m := qcMedian(v)
		s := q.rangeStd(a, lo, hi)
		lim := kappa * s
		// First index with x - m >= -lim, then first with x - m > lim:
		// the kept range, as |x - m| <= lim.
		i0 := lo + qcSearch(v, func(x float64) bool { return x-m >= -lim })
		i1 := i0 + qcSearch(a[i0:hi], func(x float64) bool { return x-m > lim })
		if !(-lim <= lim) {
			i0, i1 = lo, lo // lim NaN: nothing is kept
		}
		if i0 == lo && i1 == hi {
			break
		}
		lo, hi = i0, i1
	}
	if hi == lo {
		return math.NaN()
	}
	v := a[lo:hi]
	m := qcMedian(v)
	return math.Sqrt(qcSumSq(v, m) / float64(len(v)))
}

// blockSums fills the block prefix sums of the sorted values a about
// their median c: p1[j] and p2[j] are the sums of x-c and (x-c)^2 over the
// first j blocks of qcBlock values.
func (q *QCScratch) blockSums(a []uint32) {
	nb := len(a) / qcBlock
	if cap(q.p1) < nb+1 {
		q.p1 = make([]float64, nb+1)
		q.p2 = make([]float64, nb+1)
	}
	p1, p2 := q.p1[:nb+1], q.p2[:nb+1]
	c := qcMedian(a)
	q.c = c
	var t1, t2 float64
	p1[0], p2[0] = 0, 0
	for j := range nb {
		var u0, u1, v0, v1 float64
		blk := a[j*qcBlock : j*qcBlock+qcBlock]
		for len(blk) >= 2 {
			d0, d1 := qcValue(blk[0])-c, qcValue(blk[1])-c
			u0 += d0
			u1 += d1
			v0 += d0 * d0
			v1 += d1 * d1
			blk = blk[2:]
		}
		t1 += u0 + u1
		t2 += v0 + v1
		p1[j+1], p2[j+1] = t1, t2
	}
}

// rangeStd returns the population standard deviation of the sorted
// values a[lo:hi] (not empty), as qcMeanStd computes it up to rounding:
// from the block prefix sums about c for the whole blocks inside the
// range, and direct sums for the values at its two ends. When the range
// holds fewer than two whole blocks, when the mean is far from c in units
// of the spread (cancellation), or when the prefix sums are much larger
// than the range's own sum (their rounding would show), it is qcMeanStd.
// Only the clip's limits depend on it (the rms_qc is summed directly over
// the final range), so rms_qc is the reference's bit for bit unless a
// value lies within rounding of a limit.
func (q *QCScratch) rangeStd(a []uint32, lo, hi int) float64 {
	jlo, jhi := (lo+qcBlock-1)/qcBlock, hi/qcBlock
	if jhi-jlo < 2 {
		_, s := qcMeanStd(a[lo:hi])
		return s
	}
	c := q.c
	var t1, t2 float64
	for _, k := range a[lo : jlo*qcBlock] {
		d := qcValue(k) - c
		t1 += d
		t2 += d * d
	}
	for _, k := range a[jhi*qcBlock : hi] {
		d := qcValue(k) - c
		t1 += d
		t2 += d * d
	}
	t1 += q.p1[jhi] - q.p1[jlo]
	t2 += q.p2[jhi] - q.p2[jlo]
	n := float64(hi - lo)
	mu := t1 / n
	v := t2/n - mu*mu
	if !(v > 0) || mu*mu > 64*v || q.p2[jhi]*1e-3 > t2 {
		_, s := qcMeanStd(a[lo:hi])
		return s
	}
	return math.Sqrt(v)
}

// qcSearch returns the first index of the sorted values v whose value
// satisfies pred, which must be false then true along v (len(v) if none).
func qcSearch(v []uint32, pred func(float64) bool) int {
	i, j := 0, len(v)
	for i < j {
		h := int(uint(i+j) >> 1)
		if !pred(qcValue(v[h])) {
			i = h + 1
		} else {
			j = h
		}
	}
	return i
}

// qcMedian returns the median of the sorted values v (not empty), as
// medianSelect computes it.
func qcMedian(v []uint32) float64 {
	n := len(v)
	if n%2 == 1 {
		return qcValue(v[n/2])
	}
	return (qcValue(v[n/2-1]) + qcValue(v[n/2])) / 2
}

// qcMeanStd is clipMeanStd over the values v (not empty),
// with four partial sums (the adds are not one serial chain).
func qcMeanStd(v []uint32) (mean, std float64) {
	var s0, s1, s2, s3 float64
	w := v
	for len(w) >= 4 {
		q := w[:4:4]
		s0 += qcValue(q[0])
		s1 += qcValue(q[1])
		s2 += qcValue(q[2])
		s3 += qcValue(q[3])
		w = w[4:]
	}
	for _, k := range w {
		s0 += qcValue(k)
	}
	mean = ((s0 + s1) + (s2 + s3)) / float64(len(v))
	s0, s1, s2, s3 = 0, 0, 0, 0
	w = v
	for len(w) >= 4 {
		q := w[:4:4]
		d0, d1, d2, d3 := qcValue(q[0])-mean, qcValue(q[1])-mean, qcValue(q[2])-mean, qcValue(q[3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		w = w[4:]
	}
	for _, k := range w {
		d := qcValue(k) - mean
		s0 += d * d
	}
	return mean, math.Sqrt(((s0 + s1) + (s2 + s3)) / float64(len(v)))
}

// qcSumSq returns the sum of (x - m)^2 over the values v,
// with four partial sums.
func qcSumSq(v []uint32, m float64) float64 {
	var s0, s1, s2, s3 float64
	for len(v) >= 4 {
		q := v[:4:4]
		d0, d1, d2, d3 := qcValue(q[0])-m, qcValue(q[1])-m, qcValue(q[2])-m, qcValue(q[3])-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		v = v[4:]
	}
	for _, k := range v {
		d := qcValue(k) - m
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}
