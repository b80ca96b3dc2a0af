package report

import (
	"bytes"
	"fmt"
	"gotrap/internal/rundir"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func (b *builder) voevents() error {
	if !b.o.VOEvent {
		return nil
	}
	if err := os.MkdirAll(filepath.Join(b.dir, "voevent"), 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	errs := map[int64]float64{}
	t, err := sqlTable(b.ctx, b.db, `SELECT id, greatest(wm_uncertainty_ew, wm_uncertainty_ns) AS err FROM runcat`)
	if err != nil {
		return err
	}
	for i := range t.Rows {
		errs[t.n(i, "id")] = t.f(i, "err")
	}
	circ, err := b.circPols()
	if err != nil {
		return err
	}
	runtag := b.t0.UTC().Format("20060102T150405Z")
	for _, c := range b.cands {
		e := &eventCand{Kind: c.Kind, Runcat: c.Runcat, RA: c.RA, Dec: c.Dec, cand: c}
		e.ID = fmt.Sprintf("%s-%s-%d", runtag, c.Kind, c.Runcat)
		e.IVORN = "ivo://" + b.o.Events.Authority + "/" + b.o.Events.Stream + "#" + e.ID
		if c.Kind == "new" {
			e.Time = b.news.tm(c.Row, "taustart")
			e.Priority = 1 + int(b.news.n(c.Row, "newsource_type"))
			if f := b.news.s(c.Row, "flags"); f != "" {
				e.Withheld = "withheld: vetting flags " + f
			}
		} else {
			e.Time = c.First.T
		}
		c.Event = e
		b.events = append(b.events, e)
	}
	applyEventPolicy(b.events, b.o.Events)
	version, hash := "", ""
	if b.man != nil {
		version, hash = b.man.Version, b.man.ConfigHash
	}
	how := []string{"gotrap " + strings.TrimSpace(version) + ", a Go re-implementation of the LOFAR Transients Pipeline (TraP); configuration " + hash}
	for _, e := range b.events {
		if e.Status != "sent" {
			b.sum.Suppressed++
			continue
		}
		tab := b.news
		if e.Kind == "var" {
			tab = b.vars
		}
		ev := buildVOEvent(e, tab, e.cand.Row, errs[e.Runcat], b.o.Events, b.o.Now, how)
		if e.Kind == "new" {
			if c, ok := circ[[2]int64{e.Runcat, tab.n(e.cand.Row, "image")}]; ok {
				ev.What.Params = append(ev.What.Params, circPolParams(c)...)
			}
		}
		var buf bytes.Buffer
		if err := WriteVOEvent(&buf, ev); err != nil {
			return err
		}
		e.File = "voevent/" + e.ID + ".xml"
		if err := b.write(e.File, buf.Bytes()); err != nil {
			return err
		}
		b.sum.VOEvents++
	}
	return nil
}

// cell is a table cell: shown text, sort key and optional link.
type cell struct {
	Text, Sort, Href string
}

type htmlTable struct {
	Cols []string
	Rows [][]cell
}

func valueCell(v any) cell {
	switch x := v.(type) {
	case float64:
		if !finite(x) {
			return cell{}
		}
		s := strconv.FormatFloat(x, 'g', 5, 64)
		if a := math.Abs(x); a >= 1e-3 && a < 1e6 {
			s = strconv.FormatFloat(x, 'f', -1, 64)
			if len(s) > 10 {
				s = strconv.FormatFloat(x, 'g', 6, 64)
			}
		}
		return cell{Text: s, Sort: formatCell(x)}
	case time.Time:
		return cell{Text: x.UTC().Format("2006-01-02 15:04:05"), Sort: x.UTC().Format(time.RFC3339Nano)}
	}
	s := formatCell(v)
	return cell{Text: s, Sort: s}
}

// makeTable renders columns cols of t (all when nil); link gives the
// href of row i's first column.
func makeTable(t *table, cols []string, link func(i int) string) htmlTable {
	if cols == nil {
		cols = t.Cols
	}
	h := htmlTable{Cols: cols}
	for i := range t.Rows {
		row := make([]cell, len(cols))
		for j, c := range cols {
			row[j] = valueCell(t.get(i, c))
		}
		if link != nil {
			row[0].Href = link(i)
		}
		h.Rows = append(h.Rows, row)
	}
	return h
}

type kv struct{ K, V string }

type indexData struct {
	pageHead
	Run, Generated string
	Manifest       *rundir.Manifest
	InputBytes     string
	Counts         []kv
	Config         string
	Rejected       htmlTable
	AssocN         int
	AssocMed       [2]float64
	Regions        int
	Sources        int
	SourcePages    int
}

type skyData struct {
	pageHead
	Regions []skyRegion
}

type etaVData struct {
	pageHead
	EtaV        []etaVPlot
	Alpha, VMin float64
}

type candData struct {
	pageHead
	Alpha, VMin float64
	New, Vars   htmlTable
	VOEvent     bool
	Events      htmlTable
}

// index writes the top pages: index.html (summary and QC), sky.html,
// etav.html and candidates.html.
func (b *builder) index() error {
	stats, err := named(b.ctx, b.db, "stats")
	if err != nil {
		return err
	}
	title := "gotrap report: " + filepath.Base(filepath.Clean(b.run))
	h, err := b.head(title, "", "index", b.qcSpecs())
	if err != nil {
		return err
	}
	d := indexData{pageHead: h, Run: b.run, Generated: b.o.Now.Format(time.RFC3339), Manifest: b.man, Config: readConfig(b.run),
		AssocN: b.assocN, AssocMed: b.assocMed, Regions: b.sum.Regions, Sources: len(b.srcOrder), SourcePages: len(b.srcPages)}
	if b.man != nil {
		var n int64
		for _, in := range b.man.Inputs {
			n += in.Size
		}
		d.InputBytes = fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	for i := range stats.Rows {
		d.Counts = append(d.Counts, kv{stats.s(i, "item"), stats.s(i, "n")})
	}
	rej := &table{Cols: b.images.Cols, idx: b.images.idx}
	for i, r := range b.images.Rows {
		if b.images.b(i, "rejected") {
			rej.Rows = append(rej.Rows, r)
		}
	}
	d.Rejected = makeTable(rej, []string{"image", "taustart", "band", "url", "reason", "reject_comment", "rms_qc"}, nil)
	if err := b.render("index.html", indexTmpl, d); err != nil {
		return err
	}

	skySpecs, regions := b.skySpecs()
	if h, err = b.head("Sky map: "+title, "", "sky", skySpecs); err != nil {
		return err
	}
	if err := b.render("sky.html", skyTmpl, skyData{pageHead: h, Regions: regions}); err != nil {
		return err
	}
	if h, err = b.head("eta-V: "+title, "", "etav", b.etaVSpecs()); err != nil {
		return err
	}
	if err := b.render("etav.html", etaVTmpl, etaVData{pageHead: h, EtaV: b.etaV, Alpha: b.o.Alpha, VMin: b.o.VMin}); err != nil {
		return err
	}

	if h, err = b.head("Candidates: "+title, "", "candidates", nil); err != nil {
		return err
	}
	cd := candData{pageHead: h, Alpha: b.o.Alpha, VMin: b.o.VMin, VOEvent: b.o.VOEvent}
	cd.New = makeTable(b.news, []string{"runcat", "name", "ra", "dec", "band", "freq_hz", "image", "taustart", "newsource_type",
		"flags", "new_high_sigma", "sigma_rms_min", "sigma_rms_max", "f_int", "f_int_err", "f_peak", "det_sigma",
		"nn_dist_arcsec", "nn_f_peak", "usable_dist_pix"}, b.srcLink(b.news))
	cd.Vars = makeTable(b.vars, []string{"runcat", "name", "ra", "dec", "band", "freq_hz", "n_points", "eta_int", "v_int",
		"sigma_int", "p_int", "vs_int", "m_int", "f_int_mean", "f_int_max", "newsource_type"}, b.srcLink(b.vars))
	cd.Events = htmlTable{Cols: []string{"ivorn", "kind", "runcat", "trigger time", "ra", "dec", "status"}}
	for _, e := range b.events {
		rc := strconv.FormatInt(e.Runcat, 10)
		cd.Events.Rows = append(cd.Events.Rows, []cell{
			{Text: e.IVORN, Sort: e.IVORN, Href: e.File}, {Text: e.Kind, Sort: e.Kind},
			{Text: rc, Sort: rc, Href: b.sourcePage(e.Runcat)},
			valueCell(e.Time), valueCell(e.RA), valueCell(e.Dec), {Text: e.Status, Sort: e.Status}})
	}
	if err := b.render("candidates.html", candTmpl, cd); err != nil {
		return err
	}
	return b.sourcePages()
}

func (b *builder) geom(id int64) imageGeom {
	for _, g := range b.geoms {
		if g.ID == id {
			return g
		}
	}
	return imageGeom{ID: id}
}

type cutView struct {
	File, Caption, Err string
	First              bool
}

// selfCheck records script errors, failed loads and images that did not
// decode into #selfcheck (data-status ok|fail, data-images, data-plots:
// the interactive plots drawn) when the page has loaded, so a headless
// browser's --dump-dom tells whether the page works.
const selfCheck = `<script>
(function(){var e=[];
window.addEventListener('error',function(ev){var t=ev.target;
if(t&&t!==window&&t.tagName){e.push('load failed: '+t.tagName.toLowerCase()+' '+(t.currentSrc||t.src||t.href));}
else{e.push('script error: '+ev.message+' at '+ev.filename+':'+ev.lineno);}},true);
var ce=console.error;console.error=function(){e.push('console.error: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};
window.addEventListener('load',function(){var im=document.images;
for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){e.push('image not loaded: '+im[i].getAttribute('src'));}}
var np=document.querySelectorAll('[data-gt=ready]').length,want=document.querySelectorAll('div.gt-plot').length;
if(window.uPlot&&np!==want){e.push('plots drawn: '+np+' of '+want);}
var d=document.getElementById('selfcheck');d.setAttribute('data-status',e.length?'fail':'ok');
d.setAttribute('data-images',String(im.length));d.setAttribute('data-plots',String(np));
d.textContent='page self-check: '+(e.length?e.join(' | '):'ok')+', '+im.length+' images, '+np+' plots';});
})();
</script>`

var funcs = template.FuncMap{
	"f":     func(x float64) string { return valueCell(x).Text },
	"flags": flagsText,
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
}

const tableTmpl = `{{define "table"}}{{if .Rows}}<div class="scroll"><table class="sortable"><thead><tr>{{range .Cols}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td data-v="{{.Sort}}">{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{else}}<p class="note">None.</p>{{end}}{{end}}
{{define "ftable"}}{{if .T.Rows}}<p><input class="gt-filter" data-table="{{.ID}}" placeholder="filter: words to match, e.g. likely 144"> <span class="note" id="{{.ID}}-count">{{len .T.Rows}} rows</span></p>
<div class="scroll"><table class="sortable" id="{{.ID}}"><thead><tr>{{range .T.Cols}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .T.Rows}}<tr>{{range .}}<td data-v="{{.Sort}}">{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{else}}<p class="note">None.</p>{{end}}{{end}}
{{define "head"}}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Title}}</title>
` + selfCheck + `
{{if .Interactive}}<link rel="stylesheet" href="{{.Root}}lib/uPlot.min.css">{{end}}<link rel="stylesheet" href="{{.Root}}lib/report.css">
</head><body>
<nav class="gt-nav"><a href="{{.Root}}index.html"{{if eq .Here "index"}} class="here"{{end}}>Summary and QC</a><a href="{{.Root}}sky.html"{{if eq .Here "sky"}} class="here"{{end}}>Sky map</a><a href="{{.Root}}etav.html"{{if eq .Here "etav"}} class="here"{{end}}>eta-V</a><a href="{{.Root}}candidates.html"{{if eq .Here "candidates"}} class="here"{{end}}>Candidates</a></nav>
{{if not .Interactive}}<p class="warn">This gotrap was built without the report's plotting library (make build installs it): static plots only.</p>{{end}}
{{end}}
{{define "foot"}}<p id="selfcheck" data-status="pending">page self-check: pending</p>
{{if .Interactive}}<script src="{{.Root}}lib/uPlot.iife.min.js"></script>{{end}}<script src="{{.Root}}lib/report.js"></script>
<script>window.GTPLOTS={{.Plots}};if(window.uPlot){document.documentElement.classList.add('js');GT.draw();}else{GT.tables();}</script>
</body></html>
{{end}}`

var indexTmpl = template.Must(template.New("index").Funcs(funcs).Parse(tableTmpl + `{{template "head" .}}
<h1>{{.Title}}</h1>
<p class="note">Run directory {{.Run}}; report generated {{.Generated}}. Pages: <a href="sky.html">sky map</a> of the {{.Sources}} sources per sky region, <a href="etav.html">eta-V</a> per band, <a href="candidates.html">candidate tables</a>, and a page per source ({{.SourcePages}} written; every point and table row links to its source).</p>
<h2 id="summary">Run summary</h2>
{{with .Manifest}}<table><tbody>
<tr><th class="l">version</th><td class="l">{{.Version}}</td></tr>
<tr><th class="l">created / updated</th><td class="l">{{.Created}} / {{.Updated}}</td></tr>
<tr><th class="l">configuration hash</th><td class="l">{{.ConfigHash}}</td></tr>
<tr><th class="l">ranks</th><td class="l">{{.Ranks}}</td></tr>
<tr><th class="l">inputs</th><td class="l">{{len .Inputs}} files, {{$.InputBytes}}</td></tr>
</tbody></table>
<table class="sortable"><thead><tr><th class="l">stage</th><th>done</th><th>seconds</th><th>items</th><th>skipped</th></tr></thead><tbody>
{{range .Stages}}<tr><td class="l" data-v="{{.Name}}">{{.Name}}</td><td data-v="{{.Done}}">{{.Done}}</td><td data-v="{{.Seconds}}">{{f .Seconds}}</td><td data-v="{{.Items}}">{{.Items}}</td><td data-v="{{.Skipped}}">{{.Skipped}}</td></tr>
{{end}}</tbody></table>{{else}}<p class="note">No manifest.json in the run directory.</p>{{end}}
<table><tbody>{{range .Counts}}<tr><th class="l">{{.K}}</th><td>{{.V}}</td></tr>{{end}}</tbody></table>
{{if .Config}}<details><summary>Configuration (gotrap.toml)</summary><pre>{{.Config}}</pre></details>{{end}}
{{with .Manifest}}<details><summary>Inputs ({{len .Inputs}})</summary><pre>{{range .Inputs}}{{.Path}}  {{.Size}}
{{end}}</pre></details>{{end}}

<h2 id="qc">Quality control</h2>
<h3>Image rms against time</h3>
<div class="gt-plot" data-spec="rms"></div>
<h3>Blind detections per image against time</h3>
<div class="gt-plot" data-spec="sources"></div>
<p class="note">Hover a point for the image; drag to zoom, double-click to reset; click a legend entry to hide its series. Rejected images are open black circles.</p>
<div class="static static-fallback"><img src="plots/rms.svg" alt="rms against time per band"><img src="plots/sources.svg" alt="sources per image"></div>
<h3>Rejected images</h3>
{{template "table" .Rejected}}
<p class="note">All images with their QC values: <a href="images.csv">images.csv</a>.</p>

<h2 id="association">Association check</h2>
<p class="note">{{.AssocN}} blind associations (types 2, 3, 6); median offset {{f (index .AssocMed 0)}} arcsec, median De Ruiter r {{f (index .AssocMed 1)}}.</p>
<div class="static"><img src="plots/offsets.svg" alt="offset histogram"><img src="plots/deruiter.svg" alt="De Ruiter r histogram"></div>

<h2 id="files">Region files</h2>
<p class="note">{{.Regions}} DS9 region files in <a href="regions/">regions/</a>, one per image (fk5): blind measurements green, forced fits red dashed, monitor fits cyan dashed.</p>
{{template "foot" .}}`))

var skyTmpl = template.Must(template.New("sky").Funcs(funcs).Parse(tableTmpl + `{{template "head" .}}
<h1>Sky map</h1>
<p class="note">The running catalogue's sources (weighted mean positions) in each sky region; RA grows to the left. Hover a point for the source, click it for its page; drag to zoom, double-click to reset.</p>
{{range .Regions}}<h2 id="{{.Key}}">{{if ge .ID 0}}Sky region {{.ID}}: centre RA {{f .RA}}, Dec {{f .Dec}}, radius {{f .Radius}} deg{{else}}Sources in no sky region{{end}}</h2>
<p class="note">{{.N}} sources, {{.NCand}} of them candidates.</p>
<div class="gt-plot" data-spec="{{.Key}}"></div>
{{else}}<p class="note">No sources.</p>{{end}}
{{template "foot" .}}`))

var etaVTmpl = template.Must(template.New("etav").Funcs(funcs).Parse(tableTmpl + `{{template "head" .}}
<h1>Variability: eta-V per band</h1>
<p class="note">Each point is a source's light curve in one band: eta, the reduced chi-square about its weighted mean, against V, its flux standard deviation over the mean. Candidates of the variables query (filled red): the chi-square's false-alarm probability is below {{.Alpha}} divided by the number of light curves tested, and V is at least {{.VMin}}; the hover shows each point's calibrated significance (sigma_int, p_int: docs/variability.md). The dashed eta line is the cut for the band's median number of degrees of freedom (each source is cut at its own, so a candidate can sit left of it). Hover for values, click a point for its source page, drag to zoom, double-click to reset.</p>
{{range .EtaV}}<h2 id="etav{{.BandID}}">{{.Band}}</h2>
<p class="note">{{.NPt}} sources, {{.NCand}} candidates; cuts eta {{f .EtaT}} (at {{.DOF}} degrees of freedom), V {{f .VT}}.</p>
<div class="gt-plot" data-spec="etav{{.BandID}}"></div>
<div class="static static-fallback"><img src="{{.File}}" alt="eta-V {{.Band}}"></div>
{{else}}<p class="note">No variability measurements.</p>{{end}}
{{template "foot" .}}`))

var candTmpl = template.Must(template.New("cand").Funcs(funcs).Parse(tableTmpl + `{{template "head" .}}
<h1>Candidates</h1>
<h2 id="new">New sources</h2>
<p class="note">The transients query with --all: likely transients first, then the new sources with vetting flags (flags column; docs/catalog.md "vetting"; their VOEvents are withheld); <a href="new_sources.csv">new_sources.csv</a>. Click a header to sort, type in the box to filter; a runcat opens its source page.</p>
{{template "ftable" (dict "ID" "newsrc" "T" .New)}}
<h2 id="variables">Variable candidates</h2>
<p class="note">The variables query (false-alarm probability {{.Alpha}} for the run, V at least {{.VMin}}), most significant first; sigma_int and p_int are the calibrated significance (docs/variability.md); <a href="variables.csv">variables.csv</a>.</p>
{{template "ftable" (dict "ID" "varsrc" "T" .Vars)}}
{{if .VOEvent}}<h2 id="voevents">VOEvents</h2>
{{template "table" .Events}}{{end}}
{{template "foot" .}}`))

var sourceTmpl = template.Must(template.New("source").Funcs(funcs).Parse(tableTmpl + `{{template "head" .}}
<h1>{{.Title}}</h1>
<table><tbody>
<tr><th class="l">name</th><td class="l">{{.Src.Name}}</td></tr>
<tr><th class="l">runcat</th><td class="l">{{.Src.Runcat}}</td></tr>
<tr><th class="l">position (deg)</th><td class="l">RA {{printf "%.6f" .Src.RA}}, Dec {{printf "%+.6f" .Src.Dec}} ({{.Pos}})</td></tr>
<tr><th class="l">datapoints</th><td class="l">{{.Src.Datapoints}}{{if .Src.Monitor}} (monitored position){{end}}</td></tr>
<tr><th class="l">sky regions</th><td class="l">{{range $i, $r := .Src.Regions}}{{if $i}}, {{end}}<a href="../sky.html#sky{{$r}}">{{$r}}</a>{{end}}</td></tr>
<tr><th class="l">look up</th><td class="l links">{{range .Links}}<a href="{{.V}}" rel="noopener">{{.K}}</a>{{end}}</td></tr>
</tbody></table>
{{if or .New .Var}}<p>{{if .New}}<b>New source</b>{{if .NewFlags}} <span class="flags">(vetting flags: {{flags .NewFlags}})</span>{{end}}{{end}}{{if and .New .Var}}; {{end}}{{if .Var}}<b>variable candidate</b>{{end}}: the query rows are <a href="#candidate">below</a>.</p>{{end}}
<h2>Light curve</h2>
<div class="gt-plot" data-spec="lc"></div>
<p class="note">Integrated flux per band: filled circles blind detections, open circles forced fits (forced, monitor and backward: the kind column below), downward triangles the upper limits before the first detection (peak-flux limits: limits.parquet); bars 1-sigma errors. Hover for values, drag to zoom, double-click to reset.{{if .Region}} Regions of the first detection's image: <a href="../{{.Region}}">{{.Region}}</a>.{{end}}</p>
{{if .LightPlot}}<div class="static static-fallback"><img src="../{{.LightPlot}}" alt="light curve"></div>{{end}}
<h2>Cut-outs</h2>
{{if .Cuts}}<div class="cuts">{{range .Cuts}}<div class="cut{{if .First}} first{{end}}">{{if .File}}<img src="../{{.File}}" alt="{{.Caption}}">{{else}}<p>{{.Err}}</p>{{end}}<br>{{.Caption}}</div>{{end}}</div>
<p class="note">{{.CutNote}}</p>{{else}}<p class="note">Cut-outs are made for the candidates (new sources and variable candidates, the first --max-pages of them) only.</p>{{end}}
<h2>Vetting</h2>
{{range .Vetting}}<p>Band {{.Band}} ({{.Ref}} measurement): {{if .Flags}}<span class="flags">flags {{flags .Flags}}</span>{{else}}no vetting flags{{end}}.</p>
<details><summary>the vetting view's row</summary>{{template "table" .T}}</details>
{{else}}<p class="note">No vetting row (the vetting view has one per band with a blind detection).</p>{{end}}
<h2>Variability per band</h2>
{{template "table" .Variab}}
{{if or .New .Var}}<h2 id="candidate">Candidate</h2>{{end}}
{{if .New}}<h3>New source</h3>
<p class="note">Its row of the transients query:</p><table><tbody>{{range .New}}<tr><th class="l">{{.K}}</th><td class="l">{{.V}}</td></tr>{{end}}</tbody></table>{{end}}
{{if .Var}}<h3>Variable candidate</h3>
<p class="note">Its row of the variables query:</p><table><tbody>{{range .Var}}<tr><th class="l">{{.K}}</th><td class="l">{{.V}}</td></tr>{{end}}</tbody></table>{{end}}
{{with .Event}}<p class="note">VOEvent {{.IVORN}}: {{.Status}}{{if .File}} (<a href="../{{.File}}">XML</a>){{end}}</p>{{end}}
<h2>Points</h2>
{{template "table" .Points}}
{{template "foot" .}}`))

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
