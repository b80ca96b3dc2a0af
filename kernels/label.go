package kernels

import (
	"encoding/binary"
	"slices"
)

// Island labelling (SPEC 4.5) by runs: each row of the candidate map is cut
// into maximal runs of candidate pixels, runs of adjacent rows that touch
// (8-connectivity: their x ranges overlap or meet at a corner) are merged
// with a union-find whose roots are the earliest runs, and per-component
// statistics are gathered from the runs. The work after the row scan is
// proportional to the number of runs, not of pixels.

// Candidate flags of one pixel in the row scan.
const (
	flagCand   uint8 = 1 // above the analysis threshold
	flagMasked uint8 = 2 // masked, counted as a candidate (remove_edge_sources)
)

// labelRun is a run of candidate pixels [x0, x1) on local row y.
type labelRun struct {
	y, x0, x1 int32
	masked    bool // the run holds a masked pixel
}

// appendRuns appends the runs of nonzero flags of local row y to runs,
// and returns the number of flagCand flags among them (the row's
// candidates: a zero flag is none). It skips zero flags eight at a
// time, since candidates are sparse.
func appendRuns(runs []labelRun, flags []uint8, y int) ([]labelRun, int) {
	n := len(flags)
	x, cand := 0, 0
	for x < n {
		for x+8 <= n && binary.LittleEndian.Uint64(flags[x:x+8]) == 0 {
			x += 8
		}
		for x < n && flags[x] == 0 {
			x++
		}
		if x >= n {
			break
		}
		x0 := x
		var m uint8
		for x < n && flags[x] != 0 {
			f := flags[x]
			m |= f
			cand += int(f & flagCand)
			x++
		}
		runs = append(runs, labelRun{y: int32(y), x0: int32(x0), x1: int32(x), masked: m&flagMasked != 0})
	}
	return runs, cand
}

// connectRuns fills parent with the union-find forest of the runs (sorted
// by row, then x) under 8-connectivity and flattens it: on return
// parent[i] is the index of the first run of i's component. parent must
// have len(runs) elements.
func connectRuns(runs []labelRun, parent []int32) {
	parent = parent[:len(runs)]
	for i := range parent {
		parent[i] = int32(i)
	}
	prev0, prev1 := 0, 0 // runs of the previous row
	cur0 := 0
	for cur0 < len(runs) {
		y := runs[cur0].y
		cur1 := cur0
		for cur1 < len(runs) && runs[cur1].y == y {
			cur1++
		}
		if prev1 > prev0 && runs[prev0].y != y-1 {
			prev0, prev1 = cur0, cur0 // the previous row has no runs
		}
		j := prev0
		for i := cur0; i < cur1; i++ {
			c := runs[i]
			for j < prev1 && runs[j].x1 < c.x0 {
				j++
			}
			for k := j; k < prev1 && runs[k].x0 <= c.x1; k++ {
				unionRuns(parent, int32(i), int32(k))
			}
		}
		prev0, prev1 = cur0, cur1
		cur0 = cur1
	}
	// Roots are the smallest index of their component and parent[i] <= i,
	// so one increasing pass makes every entry point at its root.
	for i, p := range parent {
		parent[i] = parent[p]
	}
}

func findRun(parent []int32, i int32) int32 {
	for parent[i] != i {
		parent[i] = parent[parent[i]]
		i = parent[i]
	}
	return i
}

func unionRuns(parent []int32, a, b int32) {
	ra, rb := findRun(parent, a), findRun(parent, b)
	switch {
	case ra < rb:
		parent[rb] = ra
	case rb < ra:
		parent[ra] = rb
	}
}

// labelComp holds the statistics of one connected component.
type labelComp struct {
	minX, minY, maxX, maxY int32 // bounding box, inclusive, local
	keyX, keyY             int32 // first pixel in x-major order (PySE's label order)
	peakX, peakY           int32 // largest D, first in x-major order on ties
	peak                   float32
	npix                   int
	label                  int32 // output label (0: not an island)
	discard                bool  // holds a masked pixel or touches the border
}

// labelScratch holds the reusable buffers of the labelling.
type labelScratch struct {
	parent []int32
	comp   []int32 // component index of each root run
	comps  []labelComp
}

// components groups the runs into components and returns their
// statistics, in the order of their first run. comp[parent[i]] is the
// component of run i afterwards. d and its stride give the values whose
// peak is found. With dropEdges, a component holding a masked run or
// touching the border of the w x h image is marked discard and skips the
// rest of the peak search.
func (s *labelScratch) components(runs []labelRun, d []float32, stride, w, h int, dropEdges bool) []labelComp {
	if cap(s.parent) < len(runs) {
		s.parent = make([]int32, len(runs), 2*len(runs))
		s.comp = make([]int32, len(runs), 2*len(runs))
	}
	s.parent, s.comp = s.parent[:len(runs)], s.comp[:len(runs)]
	connectRuns(runs, s.parent)
	comps := s.comps[:0]
	for i, r := range runs {
		p := s.parent[i]
		if int(p) == i {
			s.comp[i] = int32(len(comps))
			comps = append(comps, labelComp{
				minX: r.x0, maxX: r.x1 - 1, minY: r.y, maxY: r.y,
				keyX: r.x0, keyY: r.y, peakX: -1,
			})
		}
		c := &comps[s.comp[p]]
		c.minX, c.maxX = min(c.minX, r.x0), max(c.maxX, r.x1-1)
		c.maxY = r.y
		if r.x0 < c.keyX {
			c.keyX, c.keyY = r.x0, r.y
		}
		c.npix += int(r.x1 - r.x0)
		if dropEdges && (r.masked || r.y == 0 || int(r.y) == h-1 || r.x0 == 0 || int(r.x1) == w) {
			c.discard = true
		}
		if c.discard {
			continue
		}
		row := d[int(r.y)*stride+int(r.x0) : int(r.y)*stride+int(r.x1)]
		for k, v := range row {
			x := r.x0 + int32(k)
			if c.peakX < 0 || v > c.peak || (v == c.peak && x < c.peakX) {
				c.peak, c.peakX, c.peakY = v, x, r.y
			}
		}
	}
	s.comps = comps
	return comps
}

// labelFlags labels the nonzero pixels of flags (w x h, compact) with
// 8-connectivity into dst: 0 for background, and components numbered
// 1, 2, ... in x-major order of their first pixel (x outer, y inner, as
// scipy.ndimage.label numbers PySE's [x][y] arrays). It returns the number
// of components. It is the run-based labeller of Detect without the
// acceptance tests, for tests and tools.
func labelFlags(dst []int32, flags []uint8, w, h int, s *labelScratch, runs []labelRun) (int, []labelRun) {
	runs = runs[:0]
	for y := range h {
		runs, _ = appendRuns(runs, flags[y*w:y*w+w], y)
	}
	zero := make([]float32, w*h)
	comps := s.components(runs, zero, w, w, h, false)
	order := make([]int32, len(comps))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return compareKey(&comps[a], &comps[b]) })
	lab := make([]int32, len(comps))
	for l, c := range order {
		lab[c] = int32(l + 1)
	}
	clear(dst)
	for i, r := range runs {
		l := lab[s.comp[s.parent[i]]]
		row := dst[int(r.y)*w+int(r.x0) : int(r.y)*w+int(r.x1)]
		for k := range row {
			row[k] = l
		}
	}
	return len(comps), runs
}

// compareKey orders components by their first pixel in x-major order.
func compareKey(a, b *labelComp) int {
	if a.keyX != b.keyX {
		return int(a.keyX - b.keyX)
	}
	return int(a.keyY - b.keyY)
}

// labelRef is the reference twin of labelFlags: a plain flood fill over
// the pixels in x-major order with an explicit stack.
func labelRef(dst []int32, flags []uint8, w, h int) int {
	clear(dst)
	n := 0
	var stack []int
	for x := range w {
		for y := range h {
			if flags[y*w+x] == 0 || dst[y*w+x] != 0 {
				continue
			}
			n++
			dst[y*w+x] = int32(n)
			stack = append(stack[:0], y*w+x)
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				px, py := p%w, p/w
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						qx, qy := px+dx, py+dy
						if qx < 0 || qx >= w || qy < 0 || qy >= h {
							continue
						}
						q := qy*w + qx
						if flags[q] != 0 && dst[q] == 0 {
							dst[q] = int32(n)
							stack = append(stack, q)
						}
					}
				}
			}
		}
	}
	return n
}
