package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// bandColors are the colours of bands in every plot, by band order
// (colour-blind-safe Okabe-Ito palette, then greys).
var bandColors = []color.RGBA{
	{0, 114, 178, 255},   // blue
	{213, 94, 0, 255},    // vermillion
	{0, 158, 115, 255},   // bluish green
	{204, 121, 167, 255}, // reddish purple
	{230, 159, 0, 255},   // orange
	{86, 180, 233, 255},  // sky blue
	{240, 228, 66, 255},  // yellow
	{0, 0, 0, 255},
}

var candColor = color.RGBA{213, 0, 0, 255}

func bandColor(i int) color.RGBA {
	if i < 0 {
		return color.RGBA{128, 128, 128, 255}
	}
	return bandColors[i%len(bandColors)]
}

// bandIndex maps band ids to their order (for colours).
func bandIndex(bands []bandInfo) map[int64]int {
	m := make(map[int64]int, len(bands))
	for i, b := range bands {
		m[b.ID] = i
	}
	return m
}

// svgOf renders p as SVG without embedded fonts (the browser's sans
// serif stands in; embedding makes each file about 300 kB).
func svgOf(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	c := vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(false))
	p.Draw(draw.New(c))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("report: plot %q: %w", p.Title.Text, err)
	}
	return b.Bytes(), nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return p
}

// headroom extends the y axis by a third so the legend (top right) does
// not cover the data.
func headroom(p *plot.Plot) {
	if p.Y.Max > p.Y.Min {
		p.Y.Max += (p.Y.Max - p.Y.Min) / 3
	}
}

func hoursSince(t, t0 time.Time) float64 { return t.Sub(t0).Hours() }

func finiteXYs(xys plotter.XYs) plotter.XYs {
	out := xys[:0:0]
	for _, p := range xys {
		if finite(p.X, p.Y) {
			out = append(out, p)
		}
	}
	return out
}

// addSeries adds a scatter (and a joining line when line) of pts.
func addSeries(p *plot.Plot, pts plotter.XYs, c color.Color, shape draw.GlyphDrawer, line bool, legend string) error {
	pts = finiteXYs(pts)
	if len(pts) == 0 {
		return nil
	}
	if line {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = c
		l.Width = vg.Points(0.7)
		p.Add(l)
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(2.5), Shape: shape}
	p.Add(s)
	if legend != "" {
		p.Legend.Add(legend, s)
	}
	return nil
}

// plotPerBand plots y(image) against time, one series per band, for the
// accepted images.
func plotPerBand(imgs *table, bands []bandInfo, t0 time.Time, col, title, ylabel string) ([]byte, error) {
	p := newPlot(title, "hours since "+t0.Format("2006-01-02 15:04 UTC"), ylabel)
	bi := bandIndex(bands)
	for k, b := range bands {
		var pts plotter.XYs
		for i := range imgs.Rows {
			if imgs.n(i, "band") != b.ID || imgs.b(i, "rejected") {
				continue
			}
			pts = append(pts, plotter.XY{X: hoursSince(imgs.tm(i, "taustart"), t0), Y: imgs.f(i, col)})
		}
		// Join the points only when the band has one image per time (one
		// sky region); otherwise the line would zig-zag between regions.
		sort.SliceStable(pts, func(i, j int) bool { return pts[i].X < pts[j].X })
		line := true
		for i := 1; i < len(pts); i++ {
			if pts[i].X == pts[i-1].X {
				line = false
			}
		}
		if err := addSeries(p, pts, bandColor(bi[b.ID]), draw.CircleGlyph{}, line, bands[k].label()); err != nil {
			return nil, err
		}
	}
	headroom(p)
	return svgOf(p, 16*vg.Centimeter, 9*vg.Centimeter)
}

// downArrow is the glyph of an upper limit: a bar at the limit and an
// arrow pointing down from it.
type downArrow struct{}

func (downArrow) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.8)})
	r := sty.Radius
	var bar, shaft, head vg.Path
	bar.Move(vg.Point{X: pt.X - r, Y: pt.Y})
	bar.Line(vg.Point{X: pt.X + r, Y: pt.Y})
	c.Stroke(bar)
	shaft.Move(pt)
	shaft.Line(vg.Point{X: pt.X, Y: pt.Y - 3*r})
	c.Stroke(shaft)
	head.Move(vg.Point{X: pt.X - r*0.7, Y: pt.Y - 2.2*r})
	head.Line(vg.Point{X: pt.X, Y: pt.Y - 3*r})
	head.Line(vg.Point{X: pt.X + r*0.7, Y: pt.Y - 2.2*r})
	c.Stroke(head)
}

// plotHist is a histogram of vals (finite ones) with bins bins.
func plotHist(vals []float64, bins int, title, xlabel string) ([]byte, error) {
	p := newPlot(title, xlabel, "associations")
	var v plotter.Values
	for _, x := range vals {
		if finite(x) {
			v = append(v, x)
		}
	}
	if len(v) > 0 {
		h, err := plotter.NewHist(v, bins)
		if err != nil {
			return nil, fmt.Errorf("report: %s: %w", title, err)
		}
		h.FillColor = color.RGBA{0, 114, 178, 160}
		p.Add(h)
	} else {
		p.Title.Text += " (no data)"
	}
	return svgOf(p, 12*vg.Centimeter, 8*vg.Centimeter)
}

// etaVPoint is one (runcat, band) of the eta-V diagram.
type etaVPoint struct {
	Eta, V    float64
	Candidate bool
	New       bool
}

// plotEtaV draws the eta-V diagram of one band on log axes with the
// variables query's cuts (NaN: none): etaT, the eta of the false-alarm
// cut at the band's median degrees of freedom, and vT, the V minimum.
func plotEtaV(pts []etaVPoint, band bandInfo, c color.Color, etaT, vT float64) ([]byte, error) {
	p := newPlot("eta-V, "+band.label(), "eta (integrated flux)", "V (integrated flux)")
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	var norm, cand, news plotter.XYs
	lo, hi := [2]float64{math.Inf(1), math.Inf(1)}, [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, q := range pts {
		if !(q.Eta > 0 && q.V > 0) || !finite(q.Eta, q.V) {
			continue
		}
		xy := plotter.XY{X: q.Eta, Y: q.V}
		switch {
		case q.Candidate:
			cand = append(cand, xy)
		case q.New:
			news = append(news, xy)
		default:
			norm = append(norm, xy)
		}
		lo[0], hi[0] = math.Min(lo[0], q.Eta), math.Max(hi[0], q.Eta)
		lo[1], hi[1] = math.Min(lo[1], q.V), math.Max(hi[1], q.V)
	}
	if len(norm)+len(cand)+len(news) == 0 {
		p.Title.Text += " (no sources with eta, V > 0)"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0.1, 10, 0.01, 1
		return svgOf(p, 12*vg.Centimeter, 10*vg.Centimeter)
	}
	for _, s := range []struct {
		pts    plotter.XYs
		c      color.Color
		shape  draw.GlyphDrawer
		legend string
	}{
		{norm, c, draw.CircleGlyph{}, "sources"},
		{news, color.RGBA{120, 120, 120, 255}, draw.TriangleGlyph{}, "new sources"},
		{cand, candColor, draw.RingGlyph{}, "candidates"},
	} {
		if err := addSeries(p, s.pts, s.c, s.shape, false, s.legend); err != nil {
			return nil, err
		}
	}
	if finite(etaT, vT) && etaT > 0 && vT > 0 {
		lo[0], hi[0] = math.Min(lo[0], etaT), math.Max(hi[0], etaT)
		lo[1], hi[1] = math.Min(lo[1], vT), math.Max(hi[1], vT)
		x0, x1, y0, y1 := lo[0]/2, hi[0]*2, lo[1]/2, hi[1]*2
		dash := []vg.Length{vg.Points(4), vg.Points(3)}
		for i, seg := range []plotter.XYs{{{X: etaT, Y: y0}, {X: etaT, Y: y1}}, {{X: x0, Y: vT}, {X: x1, Y: vT}}} {
			l, err := plotter.NewLine(seg)
			if err != nil {
				return nil, err
			}
			l.Color, l.Dashes, l.Width = candColor, dash, vg.Points(1)
			p.Add(l)
			if i == 0 {
				p.Legend.Add("cuts (eta at the median dof, V min)", l)
			}
		}
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = x0, x1, y0, y1
	}
	p.Y.Max *= 8 // log axis: room for the legend
	return svgOf(p, 12*vg.Centimeter, 10*vg.Centimeter)
}

// errPoints is XYs with y errors, for plotter.YErrorBars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// plotLightCurve draws integrated fluxes with errors against time, one
// colour per band; blind points filled circles, forced fits open
// circles, monitor fits squares, backward fits crosses; the upper limits
// before the first detection are downward arrows at their peak-flux
// limit (a point source's integrated flux equals its peak); the first
// detection is marked by a vertical line.
func plotLightCurve(pts []lcPoint, bands []bandInfo, t0, first time.Time, title string) ([]byte, error) {
	scale, unit := 1.0, "Jy"
	maxF := 0.0
	for _, q := range pts {
		if finite(q.FInt) {
			maxF = math.Max(maxF, math.Abs(q.FInt))
		}
		if q.Kind == "limit" && finite(q.Limit) {
			maxF = math.Max(maxF, q.Limit)
		}
	}
	if maxF < 1 {
		scale, unit = 1e3, "mJy"
	}
	p := newPlot(title, "hours since "+t0.Format("2006-01-02 15:04 UTC"), "integrated flux ("+unit+")")
	bi := bandIndex(bands)
	kinds := []struct {
		et     int64
		shape  draw.GlyphDrawer
		legend string
	}{{0, draw.CircleGlyph{}, "blind"}, {1, draw.RingGlyph{}, "forced"}, {2, draw.SquareGlyph{}, "monitor"},
		{3, draw.CrossGlyph{}, "backward fit"}, {-1, downArrow{}, "upper limit"}}
	var bandIDs []int64
	seen := map[int64]bool{}
	for _, q := range pts {
		if !seen[q.Band] {
			seen[q.Band] = true
			bandIDs = append(bandIDs, q.Band)
		}
	}
	sort.Slice(bandIDs, func(i, j int) bool { return bandIDs[i] < bandIDs[j] })
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, b := range bandIDs {
		k, ok := bi[b]
		if !ok {
			k = -1
		}
		c := bandColor(k)
		label := bandInfo{ID: b, Freq: math.NaN()}
		if ok {
			label = bands[k]
		}
		var line plotter.XYs
		for _, q := range pts {
			if q.Band == b && finite(q.FInt) {
				line = append(line, plotter.XY{X: hoursSince(q.T, t0), Y: q.FInt * scale})
			}
		}
		if l, err := plotter.NewLine(finiteXYs(line)); err == nil && len(line) > 1 {
			l.Color, l.Width = c, vg.Points(0.6)
			p.Add(l)
			p.Legend.Add(label.label(), l)
		}
		for _, kd := range kinds {
			var e errPoints
			for _, q := range pts {
				y, err := q.FInt, q.FErr
				if q.ExtractType == -1 {
					y, err = q.Limit, 0
				}
				if q.Band != b || q.ExtractType != kd.et || !finite(y) {
					continue
				}
				if !finite(err) || err < 0 {
					err = 0
				}
				x := hoursSince(q.T, t0)
				e.XYs = append(e.XYs, plotter.XY{X: x, Y: y * scale})
				e.YErrors = append(e.YErrors, struct{ Low, High float64 }{err * scale, err * scale})
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
			if len(e.XYs) == 0 {
				continue
			}
			eb, err := plotter.NewYErrorBars(e)
			if err != nil {
				return nil, err
			}
			eb.Color = c
			p.Add(eb)
			s, err := plotter.NewScatter(e.XYs)
			if err != nil {
				return nil, err
			}
			s.GlyphStyle = draw.GlyphStyle{Color: c, Radius: vg.Points(3), Shape: kd.shape}
			p.Add(s)
		}
	}
	// Legend entries for the point kinds, in grey.
	for _, kd := range kinds {
		for _, q := range pts {
			if q.ExtractType == kd.et {
				s, _ := plotter.NewScatter(plotter.XYs{})
				s.GlyphStyle = draw.GlyphStyle{Color: color.Gray{80}, Radius: vg.Points(3), Shape: kd.shape}
				p.Legend.Add(kd.legend, s)
				break
			}
		}
	}
	if lo <= hi && lo == hi {
		p.X.Min, p.X.Max = lo-0.5, hi+0.5
	}
	p.Y.Min = math.Min(p.Y.Min, 0)
	headroom(p)
	if !first.IsZero() && p.Y.Max > p.Y.Min {
		x := hoursSince(first, t0)
		l, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
		if err != nil {
			return nil, err
		}
		l.Color, l.Dashes = color.Gray{100}, []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		p.Legend.Add("first detection", l)
	}
	return svgOf(p, 16*vg.Centimeter, 9*vg.Centimeter)
}
