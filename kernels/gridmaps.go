package kernels

import (
	"image"
	"math"
)

// GridMaps evaluates, on sub-rectangles of one image, the maps D
// (background-subtracted data) and RMS that [Detector.Detect] computes
// from its background grids, bit for bit, without Detect's passes over
// the whole image: the order-1 interpolation of the grids with the rms
// raised to min(rms grid), and NaN where the mask of [MaskTo] (margin,
// radius, NaN; no caller mask) is set. The grids must be those Detect
// reported (DetectReport.Grids, after its median filter) for this image
// and these settings; with an empty grid both maps are NaN everywhere, as
// in Detect. Forced fits (FitFixedMaps) need the maps only in their boxes.
type GridMaps struct {
	img    *Image
	empty  bool
	margin int
	radius float64
	ip     interpolator
	gm, gr []float64
}

// Reset prepares the maps of img (its rectangle and pixels, not modified)
// with grids g, the mask settings margin and radius (as in MaskTo) and
// the edge mode. g is referenced, not copied, until the next Reset.
func (m *GridMaps) Reset(img *Image, g *BackgroundGrids, margin int, radius float64, edge EdgeMode) {
	checkImageLayout(img)
	m.img, m.margin, m.radius = img, margin, radius
	m.empty = g.Empty() || img.Rect.Empty()
	if m.empty {
		return
	}
	m.ip.setup(g, img.Rect.Min, img.Rect.Dx(), img.Rect.Dy(), edge)
	if cap(m.gm) < g.NX+2 {
		m.gm, m.gr = make([]float64, g.NX+2), make([]float64, g.NX+2)
	}
	m.gm, m.gr = m.gm[:g.NX+2], m.gr[:g.NX+2]
}

// Rect returns the image's rectangle.
func (m *GridMaps) Rect() image.Rectangle { return m.img.Rect }

// Fill writes the maps on r ∩ the image's rectangle into d and rms, which
// it resizes to that rectangle (compact layout, reusing their storage).
// The values equal Detect's D and RMS at the same pixels.
func (m *GridMaps) Fill(d, rms *Image, r image.Rectangle) {
	img := m.img
	full := img.Rect
	r = r.Intersect(full)
	w, h := r.Dx(), r.Dy()
	for _, p := range []*Image{d, rms} {
		if cap(p.Pix) < w*h {
			p.Pix = make([]float32, w*h)
		}
		p.Pix, p.Stride, p.Rect = p.Pix[:w*h], w, r
	}
	nan := float32(math.NaN())
	if m.empty || w == 0 || h == 0 {
		for i := range d.Pix {
			d.Pix[i], rms.Pix[i] = nan, nan
		}
		return
	}
	fw, fh := full.Dx(), full.Dy()
	cx, cy := float64(fw-1)/2, float64(fh-1)/2
	r2 := m.radius * m.radius
	x0, x1 := r.Min.X-full.Min.X, r.Max.X-full.Min.X // local columns
	kx, fx := m.ip.ax.k[x0:x1], m.ip.ax.f[x0:x1]
	rfloor := m.ip.rmin
	gm, gr := m.gm, m.gr
	for yy := range h {
		y := r.Min.Y - full.Min.Y + yy // local row
		src := img.Pix[y*img.Stride+x0 : y*img.Stride+x1]
		drow := d.Pix[yy*w : yy*w+w]
		rrow := rms.Pix[yy*w : yy*w+w]
		rowMasked := m.margin > 0 && (y < m.margin || y >= fh-m.margin)
		dy := float64(y) - cy
		m.ip.nodes(gm, gr, y)
		for i, v := range src {
			x := x0 + i
			// MaskTo's test, pixel by pixel.
			if rowMasked || v != v ||
				m.margin > 0 && (x < m.margin || x >= fw-m.margin) ||
				m.radius > 0 && maskSq(float64(x)-cx)+dy*dy >= r2 {
				drow[i], rrow[i] = nan, nan
				continue
			}
			// mapsFlagsSeg's formulas, with the node pair of kx[i].
			k, f := kx[i], fx[i]
			m0, r0 := gm[k], gr[k]
			dm, dr := gm[k+1]-m0, gr[k+1]-r0
			bv := float32(m0 + float64(dm*f))
			rv := r0 + float64(dr*f)
			if rv < rfloor {
				rv = rfloor
			}
			drow[i], rrow[i] = v-bv, float32(rv)
		}
	}
}

// FitFixedMaps is [Measurer.FitFixed] on the maps of m, evaluated only
// where each fit reads them (its box and 3×3 box): the results and
// reasons are those of FitFixed on the full D and RMS of Detect.
func (mr *Measurer) FitFixedMaps(dst []Source, reasons []DropReason, m *GridMaps, positions [][2]float64, beam Beam, proj Projector, cfg *ForcedConfig) ([]Source, []DropReason, error) {
	if err := checkBeam(beam); err != nil {
		return dst, reasons, err
	}
	if cap(reasons) < len(positions) {
		reasons = make([]DropReason, len(positions))
	}
	reasons = reasons[:len(positions)]
	fudge := mr.fudgeFor(beam)
	w := &mr.workspaces(1)[0]
	r := m.Rect()
	var d, rms Image
	for i, pos := range positions {
		x, y, ix, iy, why := locateFixed(proj, pos[0], pos[1], r)
		if why == DropNone {
			m.Fill(&d, &rms, fixedRect(ix, iy, r, cfg))
			var s Source
			why = w.fitFixedAt(&s, &d, &rms, r, x, y, ix, iy, beam, fudge, proj, cfg)
			if why == DropNone {
				s.ID = i
				dst = append(dst, s)
			}
		}
		reasons[i] = why
	}
	return dst, reasons, nil
}
