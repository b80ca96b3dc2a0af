package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The interactive pages: index.html (summary and QC), sky.html,
// etav.html, candidates.html and sources/RUNCAT.html, one per source. Each
// holds its plots' data inline as window.GTPLOTS (plotSpec, drawn by
// assets/report.js over uPlot).

// plotSpec is one interactive plot (see assets/report.js).
type plotSpec struct {
	X      axisSpec     `json:"x"`
	Y      axisSpec     `json:"y"`
	Series []seriesSpec `json:"series"`
	Lines  []lineSpec   `json:"lines,omitempty"`
}

type axisSpec struct {
	Label string `json:"label"`
	Log   bool   `json:"log,omitempty"`
	Dir   int    `json:"dir,omitempty"`
	Time  bool   `json:"time,omitempty"`
}

type seriesSpec struct {
	Label string  `json:"label"`
	Color string  `json:"color"`
	Open  bool    `json:"open,omitempty"`
	Line  bool    `json:"line,omitempty"`
	Limit bool    `json:"limit,omitempty"`
	Size  float64 `json:"size,omitempty"`
	Pts   [][]any `json:"pts"` // x, y, tooltip, href or null, error or null
}

type lineSpec struct {
	Axis  string  `json:"axis"`
	V     float64 `json:"v"`
	Label string  `json:"label"`
	Color string  `json:"color,omitempty"`
}

// jnum is x for JSON: null when not finite.
func jnum(x float64) any {
	if !finite(x) {
		return nil
	}
	return x
}

// pt is one plotted point; href "" and err NaN are null.
func pt(x, y float64, tip, href string, err float64) []any {
	var h any
	if href != "" {
		h = href
	}
	return []any{jnum(x), jnum(y), tip, h, jnum(err)}
}

func hexColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

const (
	greyColor = "#8a8a8a"
	newColor  = "#d50000"
	varColor  = "#e69f00"
)

// unixSec is t as Unix seconds (the time axes' unit).
func unixSec(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// plotsJS renders the plots of a page as the JavaScript object literal of
// window.GTPLOTS (json.Marshal escapes <, > and &, so it cannot close the
// script element).
func plotsJS(plots map[string]plotSpec) (template.JS, error) {
	if plots == nil {
		plots = map[string]plotSpec{}
	}
	b, err := json.Marshal(plots)
	if err != nil {
		return "", fmt.Errorf("report: plot data: %w", err)
	}
	return template.JS(b), nil
}

// pageHead is what every page's template needs.
type pageHead struct {
	Title       string
	Root        string // "" or "../": the report directory from the page
	Here        string // the nav entry of the page
	Interactive bool
	Plots       template.JS
}

func (b *builder) head(title, root, here string, plots map[string]plotSpec) (pageHead, error) {
	js, err := plotsJS(plots)
	return pageHead{Title: title, Root: root, Here: here, Interactive: b.interactive, Plots: js}, err
}

func (b *builder) render(name string, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("report: %s: %w", name, err)
	}
	return b.write(name, buf.Bytes())
}

// sourcePage is the page of running-catalogue source runcat ("" beyond
// the cap: no page).
func (b *builder) sourcePage(runcat int64) string { return b.srcPages[runcat] }

// srcInfo is what the report knows of a running-catalogue source.
type srcInfo struct {
	Runcat     int64
	Name       string
	RA, Dec    float64
	Datapoints int64
	Monitor    bool
	Regions    []int64
}

const skySQL = `SELECT r.id AS runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, r.wm_ra AS ra, r.wm_decl AS "dec",
       r.datapoints, r.mon_src, a.skyrgn, s.centre_ra, s.centre_decl, s.xtr_radius
FROM runcat r
LEFT JOIN assocskyrgn a ON a.runcat = r.id
LEFT JOIN skyregions s ON s.id = a.skyrgn
ORDER BY a.skyrgn NULLS LAST, r.id`

const skyNoRegionSQL = `SELECT r.id AS runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, r.wm_ra AS ra, r.wm_decl AS "dec",
       r.datapoints, r.mon_src, CAST(NULL AS BIGINT) AS skyrgn, CAST(NULL AS DOUBLE) AS centre_ra,
       CAST(NULL AS DOUBLE) AS centre_decl, CAST(NULL AS DOUBLE) AS xtr_radius
FROM runcat r ORDER BY r.id`

const varSQL = `SELECT v.runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, v.band, v.n_points, v.n_forced,
       v.eta_int, v.v_int, v.sigma_int, v.p_int, v.vs_int, v.m_int, v.f_int_mean, v.f_int_max, v.newsource_type
FROM varmetric v LEFT JOIN runcat r ON r.id = v.runcat
ORDER BY v.band, v.runcat`

// loadSources reads the running catalogue with its sky regions and gives
// every source a page (capped at MaxSourcePages: candidates first, then
// the lowest ids).
func (b *builder) loadSources() error {
	// A run without assocskyrgn.parquet (older runs, the hand-made one):
	// every source in no region.
	has, err := sqlTable(b.ctx, b.db, `SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'assocskyrgn'`)
	if err != nil {
		return err
	}
	q := skySQL
	if has.n(0, "n") == 0 {
		q = skyNoRegionSQL
	}
	t, err := sqlTable(b.ctx, b.db, q)
	if err != nil {
		return err
	}
	b.sky = t
	b.srcs = map[int64]*srcInfo{}
	for i := range t.Rows {
		rc := t.n(i, "runcat")
		s := b.srcs[rc]
		if s == nil {
			s = &srcInfo{Runcat: rc, Name: t.s(i, "name"), RA: t.f(i, "ra"), Dec: t.f(i, "dec"),
				Datapoints: t.n(i, "datapoints"), Monitor: t.b(i, "mon_src")}
			b.srcs[rc] = s
			b.srcOrder = append(b.srcOrder, rc)
		}
		if t.get(i, "skyrgn") != nil {
			s.Regions = append(s.Regions, t.n(i, "skyrgn"))
		}
	}
	sort.Slice(b.srcOrder, func(i, j int) bool { return b.srcOrder[i] < b.srcOrder[j] })
	b.srcPages = map[int64]string{}
	var order []int64
	for _, t := range []*table{b.news, b.vars} {
		for i := range t.Rows {
			order = append(order, t.n(i, "runcat"))
		}
	}
	for _, rc := range append(order, b.srcOrder...) {
		if b.o.MaxSourcePages >= 0 && len(b.srcPages) >= b.o.MaxSourcePages {
			break
		}
		if _, ok := b.srcs[rc]; ok && b.srcPages[rc] == "" {
			b.srcPages[rc] = fmt.Sprintf("sources/%d.html", rc)
		}
	}
	if b.varm, err = sqlTable(b.ctx, b.db, varSQL); err != nil {
		return err
	}
	// The vetting view of every source (its nearest-neighbour search
	// takes seconds at hundreds of sources) runs beside the cut-outs,
	// which wait on the disk; sourcePages waits for it.
	b.vetDone = make(chan error, 1)
	go func() {
		t, err := sqlTable(b.ctx, b.db, `SELECT * FROM vetting ORDER BY runcat, band, xtrsrc`)
		b.vet = t
		b.vetDone <- err
	}()
	return nil
}

// qcSpecs are the interactive QC plots: rms and blind detections per
// image against time, one series per band, rejected images apart.
func (b *builder) qcSpecs() map[string]plotSpec {
	bi := bandIndex(b.bands)
	mk := func(col, ylabel string, scale float64, log bool) plotSpec {
		p := plotSpec{X: axisSpec{Label: "time (UTC)", Time: true}, Y: axisSpec{Label: ylabel, Log: log}}
		idx := map[int64]int{}
		for _, band := range b.bands {
			idx[band.ID] = len(p.Series)
			p.Series = append(p.Series, seriesSpec{Label: band.label(), Color: hexColor(bandColor(bi[band.ID])), Line: true, Size: 6})
		}
		rej := len(p.Series)
		p.Series = append(p.Series, seriesSpec{Label: "rejected images", Color: "#444444", Open: true, Size: 8})
		for i := range b.images.Rows {
			t := b.images
			y := t.f(i, col) * scale
			tip := fmt.Sprintf("image %d, band %d\n%s\n%s %s", t.n(i, "image"), t.n(i, "band"),
				t.tm(i, "taustart").Format("2006-01-02 15:04:05 UTC"), ylabel, valueCell(y).Text)
			k, ok := idx[t.n(i, "band")]
			if t.b(i, "rejected") {
				k, ok = rej, true
				tip += "\nrejected: " + t.s(i, "reason")
				if c := t.s(i, "reject_comment"); c != "" {
					tip += " (" + c + ")"
				}
			}
			if !ok {
				continue
			}
			p.Series[k].Pts = append(p.Series[k].Pts, pt(unixSec(t.tm(i, "taustart")), y, tip, "", math.NaN()))
		}
		return p
	}
	return map[string]plotSpec{
		"rms":     mk("rms_qc", "rms (mJy/beam)", 1e3, false),
		"sources": mk("n_blind", "blind detections", 1, false),
	}
}

// skySpecs are the sky maps, one per sky region: RA grows to the left,
// RAs are unwrapped around the region's centre so a field across 0h
// stays whole.
func (b *builder) skySpecs() (map[string]plotSpec, []skyRegion) {
	newRC, varRC, flagged := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	for i := range b.news.Rows {
		rc := b.news.n(i, "runcat")
		newRC[rc] = true
		if b.news.s(i, "flags") != "" {
			flagged[rc] = true
		}
	}
	for i := range b.vars.Rows {
		varRC[b.vars.n(i, "runcat")] = true
	}
	specs := map[string]plotSpec{}
	var regions []skyRegion
	var cur *skyRegion
	var spec plotSpec
	flush := func() {
		if cur != nil {
			specs[cur.Key] = spec
			regions = append(regions, *cur)
		}
	}
	t := b.sky
	for i := range t.Rows {
		rg := t.n(i, "skyrgn") // -1: no region
		if cur == nil || cur.ID != rg {
			flush()
			cur = &skyRegion{ID: rg, Key: fmt.Sprintf("sky%d", rg), RA: t.f(i, "centre_ra"), Dec: t.f(i, "centre_decl"), Radius: t.f(i, "xtr_radius")}
			spec = plotSpec{X: axisSpec{Label: "RA (deg)", Dir: -1}, Y: axisSpec{Label: "Dec (deg)"}, Series: []seriesSpec{
				{Label: "sources", Color: greyColor, Size: 5},
				{Label: "variable candidates", Color: varColor, Size: 9},
				{Label: "new sources", Color: newColor, Size: 9},
				{Label: "new sources with vetting flags", Color: newColor, Open: true, Size: 9},
			}}
		}
		rc := t.n(i, "runcat")
		ra, dec := t.f(i, "ra"), t.f(i, "dec")
		if finite(cur.RA) {
			ra = cur.RA + math.Remainder(ra-cur.RA, 360)
		}
		k := 0
		tip := fmt.Sprintf("%s\nruncat %d, %d points\nRA %.5f, Dec %.5f", t.s(i, "name"), rc, t.n(i, "datapoints"), t.f(i, "ra"), dec)
		switch {
		case flagged[rc]:
			k, tip = 3, tip+"\nnew source (vetting flags)"
		case newRC[rc]:
			k, tip = 2, tip+"\nnew source"
		case varRC[rc]:
			k, tip = 1, tip+"\nvariable candidate"
		}
		if varRC[rc] && k != 1 {
			tip += ", variable candidate"
		}
		cur.N++
		if k > 0 {
			cur.NCand++
		}
		spec.Series[k].Pts = append(spec.Series[k].Pts, pt(ra, dec, tip, b.sourcePage(rc), math.NaN()))
	}
	flush()
	return specs, regions
}

// waitVetting waits for loadSources' vetting query (once; later calls
// return its error again).
func (b *builder) waitVetting() error {
	if b.vetDone != nil {
		b.vetErr = <-b.vetDone
		b.vetDone = nil
	}
	return b.vetErr
}

type skyRegion struct {
	ID              int64
	Key             string
	RA, Dec, Radius float64
	N, NCand        int
}

// etaVSpecs are the eta-V diagrams, one per band, with the variables
// query's cuts and each point's calibrated significance.
func (b *builder) etaVSpecs() map[string]plotSpec {
	cand := map[[2]int64]bool{}
	for i := range b.vars.Rows {
		cand[[2]int64{b.vars.n(i, "runcat"), b.vars.n(i, "band")}] = true
	}
	bi := bandIndex(b.bands)
	specs := map[string]plotSpec{}
	for _, ev := range b.etaV {
		band := ev.BandID
		p := plotSpec{X: axisSpec{Label: "eta (reduced chi-square of the light curve)", Log: true},
			Y: axisSpec{Label: "V (flux standard deviation / mean)", Log: true}, Series: []seriesSpec{
				{Label: "sources", Color: hexColor(bandColor(bi[band])), Size: 6},
				{Label: "new sources", Color: newColor, Open: true, Size: 8},
				{Label: "variable candidates", Color: newColor, Size: 9},
			}}
		if finite(ev.EtaT) {
			p.Lines = append(p.Lines, lineSpec{Axis: "x", V: ev.EtaT, Label: fmt.Sprintf("eta cut at %d dof", ev.DOF), Color: "#555555"})
		}
		if finite(ev.VT) && ev.VT > 0 {
			p.Lines = append(p.Lines, lineSpec{Axis: "y", V: ev.VT, Label: "V minimum " + valueCell(ev.VT).Text, Color: "#555555"})
		}
		t := b.varm
		for i := range t.Rows {
			if t.n(i, "band") != band {
				continue
			}
			rc := t.n(i, "runcat")
			k := 0
			if t.get(i, "newsource_type") != nil {
				k = 1
			}
			if cand[[2]int64{rc, band}] {
				k = 2
			}
			tip := fmt.Sprintf("%s (runcat %d)\neta %s, V %s, %d points\nsignificance %s sigma (p %s)",
				t.s(i, "name"), rc, valueCell(t.f(i, "eta_int")).Text, valueCell(t.f(i, "v_int")).Text, t.n(i, "n_points"),
				valueCell(t.f(i, "sigma_int")).Text, valueCell(t.f(i, "p_int")).Text)
			if k == 2 {
				tip += "\nvariable candidate"
			}
			if k == 1 || (k == 2 && t.get(i, "newsource_type") != nil) {
				tip += "\nnew source"
			}
			p.Series[k].Pts = append(p.Series[k].Pts, pt(t.f(i, "eta_int"), t.f(i, "v_int"), tip, b.sourcePage(rc), math.NaN()))
		}
		specs[fmt.Sprintf("etav%d", band)] = p
	}
	return specs
}

// lcSpec is a source's light curve: integrated flux (mJy) against time
// per band, blind detections filled, forced, monitor and backward fits
// open, upper limits (peak-flux limits: a point source's integrated flux
// equals its peak) downward triangles.
func (b *builder) lcSpec(pts []lcPoint) plotSpec {
	bi := bandIndex(b.bands)
	p := plotSpec{X: axisSpec{Label: "time (UTC)", Time: true}, Y: axisSpec{Label: "integrated flux (mJy)"}}
	idx := map[string]int{}
	series := func(band int64, kind string) int {
		key := strconv.FormatInt(band, 10) + kind
		if k, ok := idx[key]; ok {
			return k
		}
		label := "band " + strconv.FormatInt(band, 10)
		for _, bd := range b.bands {
			if bd.ID == band {
				label = bd.label()
			}
		}
		s := seriesSpec{Label: label + " " + kind, Color: hexColor(bandColor(bi[band])), Size: 7}
		switch kind {
		case "forced fits":
			s.Open = true
		case "upper limits":
			s.Limit = true
		}
		idx[key] = len(p.Series)
		p.Series = append(p.Series, s)
		return idx[key]
	}
	for _, q := range pts {
		when := q.T.Format("2006-01-02 15:04:05 UTC")
		if q.Kind == "limit" {
			k := series(q.Band, "upper limits")
			tip := fmt.Sprintf("image %d, %s\nupper limit %s mJy (not detected)", q.Image, when, valueCell(q.Limit*1e3).Text)
			p.Series[k].Pts = append(p.Series[k].Pts, pt(unixSec(q.T), q.Limit*1e3, tip, "", math.NaN()))
			continue
		}
		kind := "detections"
		if q.ExtractType != 0 {
			kind = "forced fits"
		}
		k := series(q.Band, kind)
		tip := fmt.Sprintf("image %d, %s\n%s: %s ± %s mJy", q.Image, when, q.Kind, valueCell(q.FInt*1e3).Text, valueCell(q.FErr*1e3).Text)
		p.Series[k].Pts = append(p.Series[k].Pts, pt(unixSec(q.T), q.FInt*1e3, tip, "", q.FErr*1e3))
	}
	return p
}

// lookupLinks are the external look-ups of a position (plain URLs; the
// report itself fetches nothing).
func lookupLinks(ra, dec float64) []kv {
	c := fmt.Sprintf("%.6f %+.6f", ra, dec)
	q := url.QueryEscape
	return []kv{
		{"SIMBAD", "https://simbad.cds.unistra.fr/simbad/sim-coo?Coord=" + q(c) + "&CooFrame=ICRS&Radius=30&Radius.unit=arcsec"},
		{"NED", fmt.Sprintf("https://ned.ipac.caltech.edu/conesearch?search_type=Near%%20Position%%20Search&in_csys=Equatorial&in_equinox=J2000&ra=%.6f&dec=%.6f&radius=0.5", ra, dec)},
		{"TNS", fmt.Sprintf("https://www.wis-tns.org/search?ra=%.6f&decl=%.6f&radius=30&coords_unit=arcsec", ra, dec)},
		{"Aladin", "https://aladin.cds.unistra.fr/AladinLite/?target=" + q(c) + "&fov=0.2"},
	}
}

// sexagesimal formats RA (hours, to 0.01 s) and Dec (to 0.1"), rounded
// as whole units so a field never reads 60.
func sexagesimal(ra, dec float64) string {
	if !finite(ra, dec) {
		return ""
	}
	cs := int64(math.Round(math.Mod(math.Mod(ra, 360)+360, 360)/15*360000)) % (24 * 360000) // centiseconds of time
	sign := "+"
	if dec < 0 {
		sign = "-"
	}
	ds := int64(math.Round(math.Abs(dec) * 36000)) // deciarcseconds
	return fmt.Sprintf("%02dh%02dm%02d.%02ds %s%02dd%02dm%02d.%01ds", cs/360000, cs/6000%60, cs/100%60, cs%100,
		sign, ds/36000, ds/600%60, ds/10%60, ds%10)
}

// vetView is one row of the vetting view on a source page.
type vetView struct {
	Band       int64
	Ref, Flags string
	T          htmlTable
}

type sourceData struct {
	pageHead
	Src       *srcInfo
	Pos       string
	Links     []kv
	New, Var  []kv // the candidate's row of the transients / variables query
	NewFlags  string
	Event     *eventCand
	Variab    htmlTable
	Vetting   []vetView
	LightPlot string // static SVG (candidates)
	Cuts      []cutView
	CutNote   string
	Points    htmlTable
	Region    string
}

// sourcePages writes sources/RUNCAT.html for every source with a page.
func (b *builder) sourcePages() error {
	lcs := b.lcs
	if err := b.waitVetting(); err != nil {
		return err
	}
	byRC := map[int64][]*candidate{}
	for _, c := range b.cands {
		byRC[c.Runcat] = append(byRC[c.Runcat], c)
	}
	varRows, vetRows := map[int64][]int{}, map[int64][]int{}
	for i := range b.varm.Rows {
		rc := b.varm.n(i, "runcat")
		varRows[rc] = append(varRows[rc], i)
	}
	for i := range b.vet.Rows {
		rc := b.vet.n(i, "runcat")
		vetRows[rc] = append(vetRows[rc], i)
	}
	for _, rc := range b.srcOrder {
		page := b.srcPages[rc]
		if page == "" {
			continue
		}
		s := b.srcs[rc]
		pts := lcs[rc]
		h, err := b.head(fmt.Sprintf("%s (runcat %d)", s.Name, rc), "../", "", map[string]plotSpec{"lc": b.lcSpec(pts)})
		if err != nil {
			return err
		}
		d := sourceData{pageHead: h, Src: s, Pos: sexagesimal(s.RA, s.Dec), Links: lookupLinks(s.RA, s.Dec)}
		for _, c := range byRC[rc] {
			t := b.news
			if c.Kind == "var" {
				t = b.vars
			}
			var info []kv
			for _, col := range t.Cols {
				info = append(info, kv{col, valueCell(t.get(c.Row, col)).Text})
			}
			if c.Kind == "new" {
				d.New, d.NewFlags = info, t.s(c.Row, "flags")
			} else {
				d.Var = info
			}
			if c.Event != nil && d.Event == nil {
				d.Event = c.Event
			}
			if d.Cuts == nil && len(c.Cuts) > 0 {
				for _, cu := range c.Cuts {
					g := b.geom(cu.Image)
					dt := hoursSince(g.T, c.First.T)
					when := "before"
					switch {
					case cu.Image == c.First.Image:
						when = "first detection"
					case dt > 0:
						when = "after"
					}
					d.Cuts = append(d.Cuts, cutView{File: cu.File, Err: cu.Err, First: cu.Image == c.First.Image,
						Caption: fmt.Sprintf("%s: image %d, %s, %+.2f h", when, cu.Image, g.T.Format("2006-01-02 15:04"), dt)})
				}
				d.CutNote = fmt.Sprintf("%d px cut-outs (%s stretch, one scale for all) of the accepted images of band %d nearest in time to the first detection; red ticks mark the position; north up if the image is.", b.o.CutoutSize, b.o.Stretch, c.First.Band)
			}
			if d.LightPlot == "" && c.Page != "" && len(c.Points) > 0 {
				svg, err := plotLightCurve(c.Points, b.bands, b.t0, c.First.T, s.Name)
				if err != nil {
					return err
				}
				d.LightPlot = fmt.Sprintf("plots/lc-%d.svg", rc)
				if err := b.write(d.LightPlot, svg); err != nil {
					return err
				}
			}
			if c.Page != "" && len(c.Points) > 0 {
				d.Region = fmt.Sprintf("regions/image-%d.reg", c.First.Image)
			}
		}
		vt := &table{Cols: b.varm.Cols, idx: b.varm.idx}
		for _, i := range varRows[rc] {
			vt.Rows = append(vt.Rows, b.varm.Rows[i])
		}
		d.Variab = makeTable(vt, []string{"band", "n_points", "n_forced", "eta_int", "v_int", "sigma_int", "p_int", "vs_int", "m_int", "f_int_mean", "f_int_max"}, nil)
		for _, i := range vetRows[rc] {
			v := vetView{Band: b.vet.n(i, "band"), Ref: b.vet.s(i, "ref"), Flags: b.vet.s(i, "flags")}
			v.T.Cols = []string{"column", "value"}
			for _, col := range b.vet.Cols {
				v.T.Rows = append(v.T.Rows, []cell{{Text: col}, valueCell(b.vet.get(i, col))})
			}
			d.Vetting = append(d.Vetting, v)
		}
		d.Points = pointsTable(pts)
		if err := b.render(page, sourceTmpl, d); err != nil {
			return err
		}
		b.sum.SourcePages++
	}
	return nil
}

func pointsTable(pts []lcPoint) htmlTable {
	t := &table{Cols: []string{"image", "taustart", "band", "kind", "f_int", "f_int_err", "f_peak", "f_peak_err", "f_peak_limit", "ra", "dec"}}
	t.idx = map[string]int{}
	for j, col := range t.Cols {
		t.idx[col] = j
	}
	for _, p := range pts {
		t.Rows = append(t.Rows, []any{p.Image, p.T, p.Band, p.Kind, p.FInt, p.FErr, p.FPeak, p.PErr, p.Limit, p.RA, p.Dec})
	}
	return makeTable(t, nil, nil)
}

// srcLink links a table's runcat column to the source pages.
func (b *builder) srcLink(t *table) func(int) string {
	return func(i int) string { return b.sourcePage(t.n(i, "runcat")) }
}

func flagsText(s string) string { return strings.ReplaceAll(s, ",", ", ") }
