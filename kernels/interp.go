package kernels

import (
	"image"
	"math"
)

// EdgeMode chooses the background and rms maps outside the centred
// background frame (SPEC decisions, "Background maps outside the centred
// frame").
type EdgeMode int

const (
	// EdgeHold (gotrap's default) holds the nearest frame values of both
	// maps outside the frame, as the interpolation already does inside it.
	EdgeHold EdgeMode = iota
	// EdgePySE reproduces PySE exactly: background 0 and rms = min(rms
	// grid) outside the frame (SPEC 4.4 and section 11 quirk 8).
	EdgePySE
)

// String returns "hold" or "pyse", the values of the background_edge
// setting.
func (e EdgeMode) String() string {
	switch e {
	case EdgeHold:
		return "hold"
	case EdgePySE:
		return "pyse"
	}
	return "EdgeMode(?)"
}

// interpAxis holds, for every pixel along one axis, the index k of the left
// interpolation node in the padded node vector and the fraction f towards
// node k+1. The padded vector is [0, node 0 .. node n-1, 0]: index 0 and
// n+1 are zero pads, so a pixel outside the frame in EdgePySE mode uses
// (k, f) = (0, 0) and reads 0, and the last node uses (n, 0).
type interpAxis struct {
	k []int32
	f []float64
}

// build fills the axis for length pixels (local indices) with the frame
// [f0, f1) and n nodes (SPEC 4.4): frame pixel i sits at node coordinate
// c = -0.5 + i*n/(N-1), N = f1-f0, and values are held beyond the end
// nodes. Outside the frame, EdgeHold clamps i into the frame and EdgePySE
// reads the zero pad.
func (a *interpAxis) build(length, f0, f1, n int, edge EdgeMode) {
	if cap(a.k) < length {
		a.k = make([]int32, length)
		a.f = make([]float64, length)
	}
	a.k, a.f = a.k[:length], a.f[:length]
	for p := range a.k {
		a.k[p], a.f[p] = axisNode(p-f0, f1-f0, n, edge)
	}
}

// axisNode is one entry of interpAxis.build: the left padded node and the
// fraction of frame pixel i (outside [0, N) for a pixel off the frame) on
// an axis of N frame pixels and n nodes.
func axisNode(i, N, n int, edge EdgeMode) (int32, float64) {
	if i < 0 || i >= N {
		if edge == EdgePySE {
			return 0, 0
		}
		i = min(max(i, 0), N-1)
	}
	c := -0.5 + float64(i)*(float64(n)/float64(N-1))
	switch {
	case c <= 0:
		return 1, 0
	case c >= float64(n-1):
		return int32(n), 0
	}
	k := int(c)
	return int32(k + 1), c - float64(k)
}

// RMSAt returns the rms map of SPEC 4.4 (order 1) at pixel (x, y) of an
// image of rectangle rect whose grids are g, the value BackgroundMapsTo
// writes there (as float64, before the float32 rounding of the map, and
// without its mask): the separable linear interpolation of g.RMS raised
// to min(g.RMS). It returns NaN for an empty grid or a pixel outside rect.
// It costs O(len(g.RMS)) for the minimum: for many positions on one image
// use GridMaps.
func (g *BackgroundGrids) RMSAt(rect image.Rectangle, x, y int, edge EdgeMode) float64 {
	if g.Empty() || !image.Pt(x, y).In(rect) {
		return math.NaN()
	}
	fr := g.Frame.Sub(rect.Min)
	kx, fx := axisNode(x-rect.Min.X-fr.Min.X, fr.Dx(), g.NX, edge)
	ky, fy := axisNode(y-rect.Min.Y-fr.Min.Y, fr.Dy(), g.NY, edge)
	// node is the padded node vector of interpolator.nodes at row y.
	node := func(k int32) float64 {
		if ky == 0 || k == 0 || int(k) > g.NX {
			return 0
		}
		r0 := g.RMS[int(ky-1)*g.NX+int(k-1)]
		if fy == 0 {
			return r0
		}
		r1 := g.RMS[int(ky)*g.NX+int(k-1)]
		return r0 + (r1-r0)*fy
	}
	r0, r1 := node(kx), node(kx+1)
	r := r0 + (r1-r0)*fx
	rmin := math.Inf(1)
	for _, v := range g.RMS {
		rmin = math.Min(rmin, v)
	}
	if r < rmin {
		r = rmin
	}
	return r
}

// interpolator evaluates the order-1 (separable linear) interpolation of
// a BackgroundGrids row by row.
type interpolator struct {
	g      *BackgroundGrids
	ax, ay interpAxis
	rmin   float64 // min(rms grid): the roundup of SPEC 4.4
	// segs cuts a row into the runs of pixels that share the left node
	// k of the x interpolation (about one per cell), so a row's pass
	// loads the two nodes once per run instead of once per pixel.
	segs []interpSeg
}

// interpSeg is the run [x0, x1) of a row whose pixels all have left node k.
type interpSeg struct {
	x0, x1, k int32
}

// setup prepares the interpolation of g over an image of w x h pixels
// whose rectangle starts at origin. g must not be empty.
func (ip *interpolator) setup(g *BackgroundGrids, origin image.Point, w, h int, edge EdgeMode) {
	ip.g = g
	fr := g.Frame.Sub(origin)
	ip.ax.build(w, fr.Min.X, fr.Max.X, g.NX, edge)
	ip.ay.build(h, fr.Min.Y, fr.Max.Y, g.NY, edge)
	ip.segs = ip.segs[:0]
	for x, k := range ip.ax.k {
		if n := len(ip.segs); n > 0 && ip.segs[n-1].k == k {
			ip.segs[n-1].x1 = int32(x + 1)
			continue
		}
		ip.segs = append(ip.segs, interpSeg{x0: int32(x), x1: int32(x + 1), k: k})
	}
	ip.rmin = math.Inf(1)
	for _, v := range g.RMS {
		ip.rmin = math.Min(ip.rmin, v)
	}
}

// nodes writes into gm and gr (length NX+2) the padded node vectors of
// local row y: the grid interpolated along y at that row.
func (ip *interpolator) nodes(gm, gr []float64, y int) {
	g := ip.g
	nx := g.NX
	gm, gr = gm[:nx+2], gr[:nx+2]
	gm[0], gr[0], gm[nx+1], gr[nx+1] = 0, 0, 0, 0
	k, f := int(ip.ay.k[y]), ip.ay.f[y]
	if k == 0 {
		clear(gm)
		clear(gr)
		return
	}
	m0, r0 := g.Mean[(k-1)*nx:k*nx], g.RMS[(k-1)*nx:k*nx]
	om, or := gm[1:nx+1], gr[1:nx+1]
	if f == 0 {
		copy(om, m0)
		copy(or, r0)
		return
	}
	m1, r1 := g.Mean[k*nx:(k+1)*nx], g.RMS[k*nx:(k+1)*nx]
	m1, r1, r0 = m1[:len(m0)], r1[:len(m0)], r0[:len(m0)]
	om, or = om[:len(m0)], or[:len(m0)]
	for i, a := range m0 {
		om[i] = a + (m1[i]-a)*f
		or[i] = r0[i] + (r1[i]-r0[i])*f
	}
}

// rowTo writes the background and rms maps of one row, given the row's
// padded node vectors: the reference loop is
//
//	for x := range bkg {
//		k, f := kx[x], fx[x]
//		bkg[x] = gm[k] + (gm[k+1]-gm[k])*f
//		rms[x] = max(gr[k] + (gr[k+1]-gr[k])*f, rmin)
//	}
func (ip *interpolator) rowTo(bkg, rms []float32, gm, gr []float64) {
	kx, fx := ip.ax.k, ip.ax.f
	kx, fx = kx[:len(bkg)], fx[:len(bkg)]
	rms = rms[:len(bkg)]
	rmin := ip.rmin
	for x, k := range kx {
		f := fx[x]
		m0, m1 := gm[k], gm[k+1]
		r0, r1 := gr[k], gr[k+1]
		bkg[x] = float32(m0 + float64((m1-m0)*f)) // no FMA: mapsFlagsPixGo's rounding
		r := r0 + float64((r1-r0)*f)
		if r < rmin {
			r = rmin
		}
		rms[x] = float32(r)
	}
}

// BackgroundMapsTo writes the full-resolution background and rms maps of
// SPEC 4.4 (order 1) into bkg and rms: separable linear interpolation of
// g with nodes at the cell centres, the rms raised to min(rms grid)
// everywhere, the region outside g.Frame chosen by edge, and NaN where
// mask is set. With an empty grid both maps are NaN everywhere (fully
// masked). bkg and rms must have the rectangle of the image g was computed
// on (their strides may differ) and mask its compact layout; it panics
// otherwise.
func BackgroundMapsTo(bkg, rms *Image, g *BackgroundGrids, mask []bool, edge EdgeMode, threads int) {
	checkImageLayout(bkg)
	checkImageLayout(rms)
	if bkg.Rect != rms.Rect {
		panic(badLength)
	}
	w, h := bkg.Rect.Dx(), bkg.Rect.Dy()
	if len(mask) != w*h {
		panic(badMaskLength)
	}
	nan := float32(math.NaN())
	if g.Empty() {
		for y := range h {
			b := bkg.Pix[y*bkg.Stride : y*bkg.Stride+w]
			r := rms.Pix[y*rms.Stride : y*rms.Stride+w]
			for x := range b {
				b[x], r[x] = nan, nan
			}
		}
		return
	}
	var ip interpolator
	ip.setup(g, bkg.Rect.Min, w, h, edge)
	threads = workerCount(threads, h, minParallelRows)
	parallelFor(h, 16, threads, func(_, lo, hi int) {
		gm := make([]float64, g.NX+2)
		gr := make([]float64, g.NX+2)
		for y := lo; y < hi; y++ {
			b := bkg.Pix[y*bkg.Stride : y*bkg.Stride+w]
			r := rms.Pix[y*rms.Stride : y*rms.Stride+w]
			ip.nodes(gm, gr, y)
			ip.rowTo(b, r, gm, gr)
			m := mask[y*w : y*w+w]
			m = m[:len(b)]
			r = r[:len(b)]
			for x, mk := range m {
				if mk {
					b[x], r[x] = nan, nan
				}
			}
		}
	})
}

// backgroundMapsRef is the reference twin of BackgroundMapsTo: per pixel,
// the plain bilinear formula from the grid with explicit edge handling.
func backgroundMapsRef(g *BackgroundGrids, rect image.Rectangle, mask []bool, edge EdgeMode) (bkg, rms []float64) {
	w, h := rect.Dx(), rect.Dy()
	bkg, rms = make([]float64, w*h), make([]float64, w*h)
	rmin := math.Inf(1)
	for _, v := range g.RMS {
		rmin = math.Min(rmin, v)
	}
	coord := func(p, f0, f1, n int) (float64, bool) {
		i := p - f0
		N := f1 - f0
		if i < 0 || i >= N {
			if edge == EdgePySE {
				return 0, false
			}
			i = min(max(i, 0), N-1)
		}
		c := -0.5 + float64(i)*float64(n)/float64(N-1)
		return math.Min(math.Max(c, 0), float64(n-1)), true
	}
	lerp := func(grid []float64, cx, cy float64) float64 {
		x0, y0 := int(cx), int(cy)
		x1, y1 := min(x0+1, g.NX-1), min(y0+1, g.NY-1)
		tx, ty := cx-float64(x0), cy-float64(y0)
		a := grid[y0*g.NX+x0]*(1-ty) + grid[y1*g.NX+x0]*ty
		b := grid[y0*g.NX+x1]*(1-ty) + grid[y1*g.NX+x1]*ty
		return a*(1-tx) + b*tx
	}
	fr := g.Frame.Sub(rect.Min)
	for y := range h {
		for x := range w {
			i := y*w + x
			if mask[i] || g.Empty() {
				bkg[i], rms[i] = math.NaN(), math.NaN()
				continue
			}
			cx, okx := coord(x, fr.Min.X, fr.Max.X, g.NX)
			cy, oky := coord(y, fr.Min.Y, fr.Max.Y, g.NY)
			if !okx || !oky {
				bkg[i], rms[i] = 0, rmin
				continue
			}
			bkg[i] = lerp(g.Mean, cx, cy)
			rms[i] = math.Max(lerp(g.RMS, cx, cy), rmin)
		}
	}
	return bkg, rms
}
