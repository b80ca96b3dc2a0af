package kernels

import (
	"image"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
)

// BackgroundGrids holds PySE's coarse background (mean) and rms grids of
// one image (SPEC 4.3): one node per cell of CellX x CellY pixels over the
// centred whole-cell Frame. Cell (cx, cy), 0 <= cx < NX along x (FITS axis
// 1) and 0 <= cy < NY along y, covers the pixels
//
//	Frame.Min.X + cx*CellX <= x < Frame.Min.X + (cx+1)*CellX
//	Frame.Min.Y + cy*CellY <= y < Frame.Min.Y + (cy+1)*CellY
//
// and its values are Mean[cy*NX+cx] and RMS[cy*NX+cx] (x fastest, like the
// image; PySE's grids are indexed [cx][cy]). A grid with NX == 0 or NY == 0
// is empty: the image has no usable background and no sources.
type BackgroundGrids struct {
	Frame        image.Rectangle // centred whole-cell frame, image coordinates
	CellX, CellY int             // cell size in pixels
	NX, NY       int             // number of cells along x and y
	Mean, RMS    []float64       // NX*NY node values, x fastest
	// Filled marks the cells that were rejected (a masked pixel, or a
	// clipped rms of 0) and took both values from the nearest usable cell.
	Filled []bool

	clippers []cellClipper[float32] // per-worker cell scratch, reused across images
	order    []float64              // scratch of the median filter and grid median
	planes   Planes                 // where the clippers' values go (nil: the Go heap)
}

// Empty reports whether the grid has no node (no background could be
// estimated).
func (g *BackgroundGrids) Empty() bool { return g.NX == 0 || g.NY == 0 }

// BackgroundFrame returns the centred whole-cell frame of SPEC 4.3 steps 3
// and 4 inside chunk, the bounding box of the unmasked pixels: along x,
// with r = chunk.Dx() mod cellX, the start moves in by r/2 and the end by
// r/2 + r%2 (integer division), and likewise along y. nx and ny are the
// numbers of cells. The grid exists only when the frame is strictly larger
// than one cell along both axes; otherwise nx = ny = 0.
// It panics if a cell size is not positive.
func BackgroundFrame(chunk image.Rectangle, cellX, cellY int) (frame image.Rectangle, nx, ny int) {
	if cellX <= 0 || cellY <= 0 {
		panic(badCellSize)
	}
	if chunk.Empty() {
		return image.Rectangle{}, 0, 0
	}
	rx, ry := chunk.Dx()%cellX, chunk.Dy()%cellY
	frame = image.Rect(chunk.Min.X+rx/2, chunk.Min.Y+ry/2,
		chunk.Max.X-rx/2-rx%2, chunk.Max.Y-ry/2-ry%2)
	if !(frame.Dx() > cellX && frame.Dy() > cellY) {
		return frame, 0, 0
	}
	return frame, frame.Dx() / cellX, frame.Dy() / cellY
}

// ComputeBackground fills dst with the background and rms grids of img
// (SPEC 4.3 steps 1-6). mask is the image's mask in the compact layout (see
// MaskTo) and chunk the bounding box of its unmasked pixels, as MaskTo
// returns them. Every cell of the centred frame in which all pixels are
// unmasked is clipped with ClipCell; cells holding a masked pixel, and
// cells whose clipped rms is 0 (flat data), are rejected and take both
// values from the nearest usable cell (Euclidean distance between cell
// indices; ties go to the lowest index cy*NX+cx, i.e. the smallest cy,
// then the smallest cx, which is what scipy's distance transform chose on
// the reference image). When no cell is usable the grid is empty.
//
// Cells are independent and are computed by at most threads goroutines
// (threads <= 0 means GOMAXPROCS); the result does not depend on threads.
// dst's buffers are reused. It panics if mask has the wrong length or a
// cell size is not positive.
func ComputeBackground(dst *BackgroundGrids, img *Image, mask []bool, chunk image.Rectangle, cellX, cellY, threads int) {
	checkImageLayout(img)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if len(mask) != w*h {
		panic(badMaskLength)
	}
	frame, nx, ny := BackgroundFrame(chunk, cellX, cellY)
	dst.Frame, dst.CellX, dst.CellY = frame, cellX, cellY
	dst.setSize(nx, ny)
	if dst.Empty() {
		return
	}
	n := nx * ny
	threads = workerCount(threads, n, minParallelCells)
	if len(dst.clippers) < threads {
		dst.clippers = append(dst.clippers, make([]cellClipper[float32], threads-len(dst.clippers))...)
	}
	for i := range dst.clippers {
		dst.clippers[i].planes = dst.planes
	}
	// Frame origin in the local (0-based) coordinates of the mask.
	fx, fy := frame.Min.X-img.Rect.Min.X, frame.Min.Y-img.Rect.Min.Y
	// One unit of work is a row of cells, each read in place.
	threads = min(threads, ny)
	parallelFor(ny, 1, threads, func(worker, lo, hi int) {
		cc := &dst.clippers[worker]
		for cy := lo; cy < hi; cy++ {
			y0 := fy + cy*cellY
			// Bring the band of cells into the cache in memory order (the
			// prefetchers follow a row but not a cell's strided rows).
			cc.sink += touchBand(img, mask, w, fx, y0, nx*cellX, cellY)
			for cx := range nx {
				i := cy*nx + cx
				x0 := fx + cx*cellX
				m, s, masked := clipImageCell(cc, img, mask, w, x0, y0, cellX, cellY)
				if masked || !(s > 0) || math.IsInf(s, 0) || math.IsNaN(m) {
					dst.Mean[i], dst.RMS[i], dst.Filled[i] = 0, 0, true
					continue
				}
				dst.Mean[i], dst.RMS[i], dst.Filled[i] = m, s, false
			}
		}
	})
	if !fillNearest(dst) {
		dst.setSize(0, 0)
	}
}

// touchBand reads one value per cache line of the w x h block of img
// with top-left corner at local (x0, y0), and of the same block of the
// compact mask (mw pixels a row), row after row, and returns a value that
// depends on the reads.
func touchBand(img *Image, mask []bool, mw, x0, y0, w, h int) float32 {
	var acc float32
	var macc uint8
	for r := range h {
		o := (y0+r)*img.Stride + x0
		row := img.Pix[o : o+w]
		for i := 0; i < len(row); i += 16 {
			acc += row[i]
		}
		mo := (y0+r)*mw + x0
		mrow := mask[mo : mo+w]
		for i := 0; i < len(mrow); i += 64 {
			macc |= b2u(mrow[i])
		}
	}
	return acc + float32(macc)
}

// setSize resizes the node slices, reusing their storage.
func (g *BackgroundGrids) setSize(nx, ny int) {
	if nx <= 0 || ny <= 0 {
		nx, ny = 0, 0
	}
	g.NX, g.NY = nx, ny
	n := nx * ny
	if cap(g.Mean) < n {
		g.Mean = make([]float64, n)
		g.RMS = make([]float64, n)
		g.Filled = make([]bool, n)
	}
	g.Mean, g.RMS, g.Filled = g.Mean[:n], g.RMS[:n], g.Filled[:n]
}

// fillNearest gives every cell marked Filled the values of the nearest
// cell that is not (SPEC 4.3 step 6). It reports false when no cell is
// usable. The search walks square rings of growing Chebyshev radius around
// the cell and stops once no farther ring can hold a closer cell, so it
// costs O(d^2) per cell for a nearest usable cell at distance d.
func fillNearest(g *BackgroundGrids) bool {
	nx, ny := g.NX, g.NY
	usable := 0
	for _, f := range g.Filled {
		if !f {
			usable++
		}
	}
	if usable == 0 {
		return false
	}
	if usable == len(g.Filled) {
		return true
	}
	maxR := max(nx, ny)
	for i, f := range g.Filled {
		if !f {
			continue
		}
		cx, cy := i%nx, i/nx
		best, bestD2 := -1, math.MaxInt
		for r := 1; r <= maxR; r++ {
			for yy := max(cy-r, 0); yy <= min(cy+r, ny-1); yy++ {
				dy := yy - cy
				step := 1
				if dy != r && dy != -r {
					step = 2 * r // only the two ends of the row
				}
				for xx := cx - r; xx <= cx+r; xx += step {
					if xx < 0 || xx >= nx {
						continue
					}
					j := yy*nx + xx
					if g.Filled[j] {
						continue
					}
					dx := xx - cx
					d2 := dx*dx + dy*dy
					if d2 < bestD2 || (d2 == bestD2 && j < best) {
						best, bestD2 = j, d2
					}
				}
			}
			if best >= 0 && bestD2 < (r+1)*(r+1) {
				break
			}
		}
		// Cells filled earlier keep Filled set, so the source is always an
		// originally usable cell.
		g.Mean[i], g.RMS[i] = g.Mean[best], g.RMS[best]
	}
	return true
}

// fillNearestRef is the reference twin of fillNearest: for each rejected
// cell, scan every cell.
func fillNearestRef(g *BackgroundGrids) bool {
	nx := g.NX
	src := make([]int, len(g.Filled))
	for i, f := range g.Filled {
		src[i] = -1
		if !f {
			continue
		}
		bestD2 := math.MaxInt
		for j, fj := range g.Filled {
			if fj {
				continue
			}
			dx, dy := j%nx-i%nx, j/nx-i/nx
			if d2 := dx*dx + dy*dy; d2 < bestD2 {
				src[i], bestD2 = j, d2
			}
		}
		if src[i] < 0 {
			return false
		}
	}
	for i, j := range src {
		if j >= 0 {
			g.Mean[i], g.RMS[i] = g.Mean[j], g.RMS[j]
		}
	}
	return true
}

// MedianFilter applies a size x size median filter to both grids (SPEC 4.3
// step 7; scipy.ndimage.median_filter with its default "reflect" border,
// d c b a | a b c d | d c b a). With threshold > 0 a node takes the
// filtered value only where it differs from the raw value by more than
// threshold; with threshold <= 0 every node takes it. size <= 1 does
// nothing.
func (g *BackgroundGrids) MedianFilter(size int, threshold float64) {
	if size <= 1 || g.Empty() {
		return
	}
	n := g.NX * g.NY
	need := 2*n + size*size
	if cap(g.order) < need {
		g.order = make([]float64, need)
	}
	buf := g.order[:need]
	out, win := buf[:2*n], buf[2*n:]
	for k, grid := range [2][]float64{g.Mean, g.RMS} {
		o := out[k*n : (k+1)*n]
		medianFilter2D(o, grid, win, g.NX, g.NY, size)
	}
	for k, grid := range [2][]float64{g.Mean, g.RMS} {
		o := out[k*n : (k+1)*n]
		for i, f := range o {
			if threshold <= 0 || math.Abs(f-grid[i]) > threshold {
				grid[i] = f
			}
		}
	}
}

// medianFilter2D writes into dst the size x size running median of src (nx
// by ny, x fastest) with reflected borders. win is scratch of size*size.
func medianFilter2D(dst, src, win []float64, nx, ny, size int) {
	lo := size / 2
	for cy := range ny {
		for cx := range nx {
			k := 0
			for dy := range size {
				yy := reflectIndex(cy+dy-lo, ny)
				for dx := range size {
					win[k] = src[yy*nx+reflectIndex(cx+dx-lo, nx)]
					k++
				}
			}
			dst[cy*nx+cx] = medianSelect(win[:k])
		}
	}
}

// reflectIndex maps i into [0, n) by half-sample symmetric reflection.
func reflectIndex(i, n int) int {
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

// GridMedian returns the median of the rms grid (used by the rms_filter
// test of SPEC 4.5) and its minimum (the roundup of SPEC 4.4). Both are NaN
// for an empty grid.
func (g *BackgroundGrids) GridMedian() (median, minimum float64) {
	if g.Empty() {
		return math.NaN(), math.NaN()
	}
	n := len(g.RMS)
	if cap(g.order) < n {
		g.order = make([]float64, n)
	}
	buf := g.order[:n]
	copy(buf, g.RMS)
	minimum = buf[0]
	for _, v := range buf {
		minimum = math.Min(minimum, v)
	}
	return medianSelect(buf), minimum
}

// Parallelism (STYLE 12). Work is split into chunks that each goroutine
// claims from an atomic counter; every output element is written by exactly
// one goroutine, so results do not depend on the number of threads.

const (
	// minParallelCells is the grid size below which cells are clipped
	// serially (a 50x50 cell costs about 50 us).
	minParallelCells = 4
	// minParallelRows is the number of rows below which the per-pixel
	// passes run serially.
	minParallelRows = 64
)

// workerCount resolves threads (<= 0 means GOMAXPROCS) and limits it by the
// amount of work: n items, run serially below minItems.
func workerCount(threads, n, minItems int) int {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	if n < minItems {
		return 1
	}
	return max(1, min(threads, n))
}

// parallelFor calls fn(worker, lo, hi) for consecutive chunks [lo, hi) of
// [0, n) of at most chunk items, from at most threads goroutines; worker
// is in [0, threads) and identifies the goroutine (for its scratch).
func parallelFor(n, chunk, threads int, fn func(worker, lo, hi int)) {
	if n <= 0 {
		return
	}
	chunk = max(chunk, 1)
	if threads <= 1 || n <= chunk {
		for lo := 0; lo < n; lo += chunk {
			fn(0, lo, min(lo+chunk, n))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for wkr := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(int64(chunk))) - chunk
				if lo >= n {
					return
				}
				fn(wkr, lo, min(lo+chunk, n))
			}
		}()
	}
	wg.Wait()
}
