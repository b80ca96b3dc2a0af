package kernels

import (
	"image"
	"math"
	"slices"
)

// SubThresholds writes into dst the n deblending levels of SPEC 4.6 for an
// island whose values span [lo, hi]:
//
//	t_i = exp(i * ln(hi - lo + 1) / (n + 1)) + lo - 1,   i = 1 .. n
//
// They lie strictly inside (lo, hi) when hi > lo, increasing, with growing
// spacing (logarithmic in hi - lo + 1). It returns dst resliced to n.
func SubThresholds(dst []float64, lo, hi float64, n int) []float64 {
	if n <= 0 {
		return dst[:0]
	}
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	l := math.Log(hi - lo + 1)
	for i := range dst {
		dst[i] = math.Exp(float64(i+1)*l/float64(n+1)) + lo - 1
	}
	return dst
}

// deblendScratch holds the reusable buffers of deblending.
type deblendScratch struct {
	ls    labelScratch
	runs  []labelRun
	sums  []float64
	pass  []bool
	surv  []int32
	thr   []float64
	stack []Island
	out   []Island
}

// deblendAll replaces each island by its deblended sub-islands (SPEC 4.6),
// giving them labels from next+1 on.
func (d *Detector) deblendAll(det float64, next int32) {
	db := &d.db
	out := db.out[:0]
	for _, isl := range d.det.Islands {
		lo, flux := d.islandMinSum(isl)
		db.thr = SubThresholds(db.thr, lo, float64(isl.PeakValue), d.cfg.DeblendNThresh)
		out = d.deblendRec(out, isl, 0, flux, det, &next)
	}
	d.det.Islands = append(d.det.Islands[:0], out...)
	db.out = out
}

// islandMinSum returns the smallest value and the sum of D over the island.
func (d *Detector) islandMinSum(isl Island) (lo, sum float64) {
	w := d.dimg.Stride
	b := isl.Box.Sub(d.dimg.Rect.Min)
	lo = math.Inf(1)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		lab := d.labels[y*w+b.Min.X : y*w+b.Max.X]
		row := d.dimg.Pix[y*w+b.Min.X : y*w+b.Max.X]
		row = row[:len(lab)]
		for x, l := range lab {
			if l == isl.Label {
				v := float64(row[x])
				lo = math.Min(lo, v)
				sum += v
			}
		}
	}
	return lo, sum
}

// deblendRec is deblend(level k) of SPEC 4.6 on isl, appending the
// resulting islands to out in order.
func (d *Detector) deblendRec(out []Island, isl Island, k int, fluxOrig, det float64, next *int32) []Island {
	db := &d.db
	n := len(db.thr)
	w := d.dimg.Stride
	o := d.dimg.Rect.Min
	for j := k; j < n; j++ {
		t := db.thr[j]
		comps, stop := d.splitAt(isl, t, fluxOrig, det)
		if stop {
			break
		}
		if len(db.surv) < 2 {
			continue
		}
		runs, surv := db.runs, db.surv
		slices.SortFunc(surv, func(a, b int32) int { return compareKey(&comps[a], &comps[b]) })
		for _, c := range surv {
			*next++
			comps[c].label = *next
		}
		for i, r := range runs {
			l := comps[db.ls.comp[db.ls.parent[i]]].label
			if l == 0 {
				continue
			}
			row := d.labels[int(r.y)*w+int(r.x0) : int(r.y)*w+int(r.x1)]
			for x := range row {
				row[x] = l
			}
		}
		base := len(db.stack)
		for _, ci := range surv {
			c := &comps[ci]
			noise := d.rimg.Pix[int(c.peakY)*w+int(c.peakX)]
			db.stack = append(db.stack, Island{
				Label:     c.label,
				Box:       image.Rect(int(c.minX), int(c.minY), int(c.maxX)+1, int(c.maxY)+1).Add(o),
				Peak:      image.Pt(int(c.peakX), int(c.peakY)).Add(o),
				PeakValue: c.peak,
				NPix:      c.npix,
				Threshold: float32(t),
				Noise:     noise,
				Deblended: true,
			})
		}
		top := len(db.stack)
		for s := base; s < top; s++ {
			sub := db.stack[s]
			if j+1 < n {
				out = d.deblendRec(out, sub, j+1, fluxOrig, det, next)
			} else {
				out = append(out, sub)
			}
		}
		db.stack = db.stack[:base]
		return out
	}
	return append(out, isl)
}

// splitAt is one level of SPEC 4.6 on isl: it binarises the island at
// D >= t, labels the parts (db.runs, db.ls) and leaves in db.surv the
// indices into comps of the parts that pass the contrast test (sum of
// D - t above mincont * fluxOrig) and the detection test (a pixel at or
// above det * rms). stop reports that the level is above the island's
// peak or that no part survives: the levels above cannot split it either.
// It changes no label.
func (d *Detector) splitAt(isl Island, t, fluxOrig, det float64) (comps []labelComp, stop bool) {
	db := &d.db
	db.surv = db.surv[:0]
	if t > float64(isl.PeakValue) {
		return nil, true
	}
	w, h := d.dimg.Stride, d.dimg.Rect.Dy()
	b := isl.Box.Sub(d.dimg.Rect.Min)
	runs := db.runs[:0]
	for y := b.Min.Y; y < b.Max.Y; y++ {
		lab := d.labels[y*w+b.Min.X : y*w+b.Max.X]
		row := d.dimg.Pix[y*w+b.Min.X : y*w+b.Max.X]
		row = row[:len(lab)]
		in := false
		for x, l := range lab {
			on := l == isl.Label && float64(row[x]) >= t
			switch {
			case on && !in:
				runs = append(runs, labelRun{y: int32(y), x0: int32(b.Min.X + x)})
			case !on && in:
				runs[len(runs)-1].x1 = int32(b.Min.X + x)
			}
			in = on
		}
		if in {
			runs[len(runs)-1].x1 = int32(b.Max.X)
		}
	}
	db.runs = runs
	comps = db.ls.components(runs, d.dimg.Pix, w, w, h, false)
	if len(comps) <= 1 {
		return comps, false
	}
	// Contrast and detection tests per component.
	nc := len(comps)
	db.sums = slices.Grow(db.sums[:0], nc)[:nc]
	db.pass = slices.Grow(db.pass[:0], nc)[:nc]
	clear(db.sums)
	clear(db.pass)
	for i, r := range runs {
		c := db.ls.comp[db.ls.parent[i]]
		row := d.dimg.Pix[int(r.y)*w+int(r.x0) : int(r.y)*w+int(r.x1)]
		rr := d.rimg.Pix[int(r.y)*w+int(r.x0) : int(r.y)*w+int(r.x1)]
		rr = rr[:len(row)]
		var s float64
		ok := db.pass[c]
		for x, v := range row {
			s += float64(v) - t
			if float64(v)-det*float64(rr[x]) >= 0 {
				ok = true
			}
		}
		db.sums[c] += s
		db.pass[c] = ok
	}
	surv := db.surv[:0]
	for c := range comps {
		if db.sums[c] > d.cfg.DeblendMinCont*fluxOrig && db.pass[c] {
			surv = append(surv, int32(c))
		}
	}
	db.surv = surv
	return comps, len(surv) == 0
}

// BlendTestNThresh is the number of levels of the blend test: SExtractor's
// default DEBLEND_NTHRESH.
const BlendTestNThresh = 32

// markBlends sets Island.Blended on the islands that the deblending of
// SPEC 4.6 with BlendTestNThresh levels (and the configured
// deblend_mincont) would split into two or more parts, when deblending is
// off: one fit for what are several sources. It changes no label. It is
// markBlendsRef with the levels skipped for the islands that mayBlend
// proves cannot split (most: one peak each), with the same result.
func (d *Detector) markBlends(det float64) {
	for i := range d.det.Islands {
		isl := &d.det.Islands[i]
		if d.mayBlend(*isl, det) {
			d.blendTest(isl, det)
		}
	}
}

// markBlendsRef is markBlends trying the levels on every island: the
// plain definition, the test oracle of markBlends.
func (d *Detector) markBlendsRef(det float64) {
	for i := range d.det.Islands {
		d.blendTest(&d.det.Islands[i], det)
	}
}

// mayBlend reports whether the blend test can split isl into two parts;
// false is a proof that it cannot. A part that survives a level passes
// the detection test: it holds a pixel q with D(q) >= det*rms(q). Its
// largest pixel p is then a local maximum of D over the island (an
// 8-neighbour in the island larger than p would be at or above the
// level, so in the part) with D(p) >= D(q) >= det*min(rms) (rounding is
// monotone, so det*rms(q) >= det*min(rms) in floating point too). Two
// parts have two such maxima; with fewer, no level gives two. NaN pixels
// are in no part and are no neighbour to beat.
func (d *Detector) mayBlend(isl Island, det float64) bool {
	if !(det >= 0) {
		return true
	}
	w := d.dimg.Stride
	b := isl.Box.Sub(d.dimg.Rect.Min)
	minR := float32(math.Inf(1))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		lab := d.labels[y*w+b.Min.X : y*w+b.Max.X]
		rr := d.rimg.Pix[y*w+b.Min.X : y*w+b.Max.X]
		rr = rr[:len(lab)]
		for x, l := range lab {
			if l == isl.Label && rr[x] < minR {
				minR = rr[x]
			}
		}
	}
	cut := det * float64(minR)
	peaks := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		lab := d.labels[y*w+b.Min.X : y*w+b.Max.X]
		row := d.dimg.Pix[y*w+b.Min.X : y*w+b.Max.X]
		row = row[:len(lab)]
		for x, l := range lab {
			if l != isl.Label || !(float64(row[x]) >= cut) || !d.localMax(b, isl.Label, b.Min.X+x, y) {
				continue
			}
			if peaks++; peaks >= 2 {
				return true
			}
		}
	}
	return false
}

// localMax reports whether no 8-neighbour of (x, y) inside box b (in
// D's pixel coordinates) with label lab has a larger D.
func (d *Detector) localMax(b image.Rectangle, lab int32, x, y int) bool {
	w := d.dimg.Stride
	v := d.dimg.Pix[y*w+x]
	for ny := max(y-1, b.Min.Y); ny < min(y+2, b.Max.Y); ny++ {
		for nx := max(x-1, b.Min.X); nx < min(x+2, b.Max.X); nx++ {
			j := ny*w + nx
			if d.labels[j] == lab && d.dimg.Pix[j] > v {
				return false
			}
		}
	}
	return true
}

// blendTest runs the levels of the blend test on isl and sets
// isl.Blended when one of them splits it into two or more parts.
func (d *Detector) blendTest(isl *Island, det float64) {
	db := &d.db
	lo, flux := d.islandMinSum(*isl)
	db.thr = SubThresholds(db.thr, lo, float64(isl.PeakValue), BlendTestNThresh)
	for _, t := range db.thr {
		if _, stop := d.splitAt(*isl, t, flux, det); stop {
			return
		}
		if len(db.surv) >= 2 {
			isl.Blended = true
			return
		}
	}
}
