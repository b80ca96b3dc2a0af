package report

import (
	"bytes"
	"fmt"
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
	Title, Run, Generated string
	Manifest              *manifest
	InputBytes            string
	Counts                []kv
	Config                string
	Rejected              htmlTable
	AssocN                int
	AssocMed              [2]float64
	EtaV                  []etaVPlot
	Alpha, VMin           float64
	New, Vars             htmlTable
	VOEvent               bool
	Events                htmlTable
	Regions               int
	MaxPages              int
}

func (b *builder) index() error {
	stats, err := named(b.ctx, b.db, "stats")
	if err != nil {
		return err
	}
	d := indexData{Title: "gotrap report: " + filepath.Base(filepath.Clean(b.run)), Run: b.run,
		Generated: b.o.Now.Format(time.RFC3339), Manifest: b.man, Config: readConfig(b.run),
		AssocN: b.assocN, AssocMed: b.assocMed, EtaV: b.etaV, Alpha: b.o.Alpha, VMin: b.o.VMin, VOEvent: b.o.VOEvent,
		Regions: b.sum.Regions, MaxPages: b.o.MaxPages}
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
	pages := map[string]string{}
	for _, c := range b.cands {
		pages[c.Kind+strconv.FormatInt(c.Runcat, 10)] = c.Page
	}
	link := func(kind string, t *table) func(int) string {
		return func(i int) string { return pages[kind+strconv.FormatInt(t.n(i, "runcat"), 10)] }
	}
	d.New = makeTable(b.news, []string{"runcat", "ra", "dec", "band", "freq_hz", "image", "taustart", "newsource_type",
		"flags", "new_high_sigma", "sigma_rms_min", "sigma_rms_max", "f_int", "f_int_err", "f_peak", "det_sigma",
		"nn_dist_arcsec", "nn_f_peak", "usable_dist_pix"}, link("new", b.news))
	d.Vars = makeTable(b.vars, []string{"runcat", "ra", "dec", "band", "freq_hz", "n_points", "eta_int", "v_int",
		"sigma_int", "p_int", "vs_int", "m_int", "f_int_mean", "f_int_max", "newsource_type"}, link("var", b.vars))
	d.Events = htmlTable{Cols: []string{"ivorn", "kind", "runcat", "trigger time", "ra", "dec", "status"}}
	for _, e := range b.events {
		d.Events.Rows = append(d.Events.Rows, []cell{
			{Text: e.IVORN, Sort: e.IVORN, Href: e.File}, {Text: e.Kind, Sort: e.Kind},
			{Text: strconv.FormatInt(e.Runcat, 10), Sort: strconv.FormatInt(e.Runcat, 10), Href: e.cand.Page},
			valueCell(e.Time), valueCell(e.RA), valueCell(e.Dec), {Text: e.Status, Sort: e.Status}})
	}
	var buf bytes.Buffer
	if err := indexTmpl.Execute(&buf, d); err != nil {
		return fmt.Errorf("report: index.html: %w", err)
	}
	if err := b.write("index.html", buf.Bytes()); err != nil {
		return err
	}
	return b.pages()
}

type pageData struct {
	Title     string
	Kind      string
	Info      []kv
	LightPlot string
	Cuts      []cutView
	CutNote   string
	Points    htmlTable
	Event     *eventCand
	Region    string
}

type cutView struct {
	File, Caption, Err string
	First              bool
}

func (b *builder) pages() error {
	for _, c := range b.cands {
		if c.Page == "" {
			continue
		}
		t, kind := b.news, "New source"
		if c.Kind == "var" {
			t, kind = b.vars, "Variable candidate"
		}
		d := pageData{Title: fmt.Sprintf("%s %d", kind, c.Runcat), Kind: kind, Event: c.Event}
		for _, col := range t.Cols {
			d.Info = append(d.Info, kv{col, valueCell(t.get(c.Row, col)).Text})
		}
		if len(c.Points) > 0 {
			svg, err := plotLightCurve(c.Points, b.bands, b.t0, c.First.T, d.Title)
			if err != nil {
				return err
			}
			d.LightPlot = fmt.Sprintf("plots/lc-%s-%d.svg", c.Kind, c.Runcat)
			if err := b.write(d.LightPlot, svg); err != nil {
				return err
			}
			d.Region = fmt.Sprintf("regions/image-%d.reg", c.First.Image)
		}
		for _, cu := range c.Cuts {
			cv := cutView{File: cu.File, Err: cu.Err, First: cu.Image == c.First.Image}
			g := b.geom(cu.Image)
			cv.Caption = fmt.Sprintf("image %d, %s, %+.2f h", cu.Image, g.T.Format("2006-01-02 15:04"), hoursSince(g.T, c.First.T))
			d.Cuts = append(d.Cuts, cv)
		}
		d.CutNote = fmt.Sprintf("%d px cut-outs (%s stretch, one scale for all) of the accepted images of band %d nearest in time to the first detection; red ticks mark the position; north up if the image is.", b.o.CutoutSize, b.o.Stretch, c.First.Band)
		pts := &table{Cols: []string{"image", "taustart", "band", "kind", "f_int", "f_int_err", "f_peak", "f_peak_err", "f_peak_limit", "ra", "dec"}}
		pts.idx = map[string]int{}
		for j, col := range pts.Cols {
			pts.idx[col] = j
		}
		for _, p := range c.Points {
			pts.Rows = append(pts.Rows, []any{p.Image, p.T, p.Band, p.Kind, p.FInt, p.FErr, p.FPeak, p.PErr, p.Limit, p.RA, p.Dec})
		}
		d.Points = makeTable(pts, nil, nil)
		var buf bytes.Buffer
		if err := pageTmpl.Execute(&buf, d); err != nil {
			return fmt.Errorf("report: %s: %w", c.Page, err)
		}
		if err := b.write(c.Page, buf.Bytes()); err != nil {
			return err
		}
		b.sum.Pages++
	}
	return nil
}

func (b *builder) geom(id int64) imageGeom {
	for _, g := range b.geoms {
		if g.ID == id {
			return g
		}
	}
	return imageGeom{ID: id}
}

// selfCheck records script errors, failed loads and images that did not
// decode into #selfcheck (data-status ok|fail) when the page has loaded,
// so a headless browser's --dump-dom tells whether the page works.
const selfCheck = `<script>
(function(){var e=[];
window.addEventListener('error',function(ev){var t=ev.target;
if(t&&t!==window&&t.tagName){e.push('load failed: '+t.tagName.toLowerCase()+' '+(t.currentSrc||t.src||t.href));}
else{e.push('script error: '+ev.message+' at '+ev.filename+':'+ev.lineno);}},true);
var ce=console.error;console.error=function(){e.push('console.error: '+Array.prototype.join.call(arguments,' '));return ce.apply(console,arguments);};
window.addEventListener('load',function(){var im=document.images;
for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){e.push('image not loaded: '+im[i].getAttribute('src'));}}
var d=document.getElementById('selfcheck');d.setAttribute('data-status',e.length?'fail':'ok');
d.setAttribute('data-images',String(im.length));d.textContent='page self-check: '+(e.length?e.join(' | '):'ok')+', '+im.length+' images';});
})();
</script>`

// sortJS makes tables of class "sortable" sort on a header click, by
// each cell's data-v (numerically when both parse).
const sortJS = `<script>
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){
var tb=th.closest('table').tBodies[0],i=th.cellIndex,asc=th.getAttribute('data-dir')!=='asc';
th.setAttribute('data-dir',asc?'asc':'desc');
var rows=Array.prototype.slice.call(tb.rows);
rows.sort(function(a,b){var x=a.cells[i].getAttribute('data-v'),y=b.cells[i].getAttribute('data-v'),nx=parseFloat(x),ny=parseFloat(y);
var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?c:-c;});
rows.forEach(function(r){tb.appendChild(r);});});});
</script>`

const css = `<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:right}
th{background:#f3f3f3;cursor:pointer;white-space:nowrap}th[data-dir=asc]::after{content:" \25B2"}th[data-dir=desc]::after{content:" \25BC"}
td.l,th.l{text-align:left}.plots img{max-width:100%;margin:.3em}.plots{display:flex;flex-wrap:wrap;align-items:flex-start}
.cuts{display:flex;flex-wrap:wrap}.cut{margin:.3em;text-align:center;font-size:.8em}.cut img{width:192px;height:192px;image-rendering:pixelated;border:2px solid #ccc}
.cut.first img{border-color:#d50000}pre{background:#f7f7f7;padding:.6em;overflow:auto;font-size:.8em}
.note{color:#555;font-size:.9em}#selfcheck{color:#888;font-size:.75em;margin-top:2em}
.scroll{max-height:36em;overflow:auto}
</style>`

var funcs = template.FuncMap{
	"f": func(x float64) string { return valueCell(x).Text },
}

const tableTmpl = `{{define "table"}}{{if .Rows}}<div class="scroll"><table class="sortable"><thead><tr>{{range .Cols}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range .}}<td data-v="{{.Sort}}">{{if .Href}}<a href="{{.Href}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{else}}<p class="note">None.</p>{{end}}{{end}}`

var indexTmpl = template.Must(template.New("index").Funcs(funcs).Parse(tableTmpl + `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
` + selfCheck + css + `</head><body>
<h1>{{.Title}}</h1>
<p class="note">Run directory {{.Run}}; report generated {{.Generated}}.</p>
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
<div class="plots"><img src="plots/rms.svg" alt="rms against time per band"><img src="plots/sources.svg" alt="sources per image"></div>
<h3>Rejected images</h3>
{{template "table" .Rejected}}
<p class="note">All images with their QC values: <a href="images.csv">images.csv</a>.</p>

<h2 id="association">Association check</h2>
<p class="note">{{.AssocN}} blind associations (types 2, 3, 6); median offset {{f (index .AssocMed 0)}} arcsec, median De Ruiter r {{f (index .AssocMed 1)}}.</p>
<div class="plots"><img src="plots/offsets.svg" alt="offset histogram"><img src="plots/deruiter.svg" alt="De Ruiter r histogram"></div>

<h2 id="etav">Variability: eta-V per band</h2>
<p class="note">Candidates of the variables query: the chi-square of the light curve has a false-alarm probability below {{.Alpha}} divided by the number of light curves tested, and V is at least {{.VMin}}. The eta line is that cut for the band's median number of degrees of freedom (each source is cut at its own).</p>
<div class="plots">{{range .EtaV}}<figure><img src="{{.File}}" alt="eta-V {{.Band}}"><figcaption class="note">{{.Band}}: {{.NPt}} sources, {{.NCand}} candidates; cuts eta {{f .EtaT}} (at {{.DOF}} degrees of freedom), V {{f .VT}}</figcaption></figure>{{else}}<p class="note">No variability measurements.</p>{{end}}</div>

<h2 id="new">New sources</h2>
<p class="note">The transients query with --all: likely transients first, then the new sources with vetting flags (flags column; docs/catalog.md "vetting"; their VOEvents are withheld); <a href="new_sources.csv">new_sources.csv</a>. Click a header to sort; a runcat opens its page (first {{.MaxPages}} candidates).</p>
{{template "table" .New}}

<h2 id="variables">Variable candidates</h2>
<p class="note">The variables query (false-alarm probability {{.Alpha}} for the run, V at least {{.VMin}}), most significant first; <a href="variables.csv">variables.csv</a>.</p>
{{template "table" .Vars}}

{{if .VOEvent}}<h2 id="voevents">VOEvents</h2>
{{template "table" .Events}}{{end}}

<h2 id="files">Region files</h2>
<p class="note">{{.Regions}} DS9 region files in <a href="regions/">regions/</a>, one per image (fk5): blind measurements green, forced fits red dashed, monitor fits cyan dashed.</p>
<p id="selfcheck" data-status="pending">page self-check: pending</p>
` + sortJS + `</body></html>
`))

var pageTmpl = template.Must(template.New("page").Funcs(funcs).Parse(tableTmpl + `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
` + selfCheck + css + `</head><body>
<p><a href="../index.html">&larr; report</a></p>
<h1>{{.Title}}</h1>
<table><tbody>{{range .Info}}<tr><th class="l">{{.K}}</th><td class="l">{{.V}}</td></tr>{{end}}</tbody></table>
{{with .Event}}<p class="note">VOEvent {{.IVORN}}: {{.Status}}{{if .File}} (<a href="../{{.File}}">XML</a>){{end}}</p>{{end}}
<h2>Light curve</h2>
{{if .LightPlot}}<div class="plots"><img src="../{{.LightPlot}}" alt="light curve"></div>
<p class="note">Filled circles: blind detections; open circles: forced fits; squares: monitor fits; colours: bands; bars: 1-sigma errors.{{if .Region}} Regions of the first detection's image: <a href="../{{.Region}}">{{.Region}}</a>.{{end}}</p>{{end}}
<h2>Cut-outs</h2>
<div class="cuts">{{range .Cuts}}<div class="cut{{if .First}} first{{end}}">{{if .File}}<img src="../{{.File}}" alt="{{.Caption}}">{{else}}<p>{{.Err}}</p>{{end}}<br>{{.Caption}}{{if .First}} (first detection){{end}}</div>{{else}}<p class="note">No cut-outs.</p>{{end}}</div>
<p class="note">{{.CutNote}}</p>
<h2>Points</h2>
{{template "table" .Points}}
<p id="selfcheck" data-status="pending">page self-check: pending</p>
` + sortJS + `</body></html>
`))
