package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"time"

	"gonum.org/v1/gonum/stat/distuv"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/regions"
	"gotrap/internal/rundir"
	"gotrap/kernels/sphere"
)

// Options configures a report. The zero value is the default report.
type Options struct {
	// Dir is where the report goes (default RUN/report). It is built in
	// a temporary sibling directory and renamed into place, replacing an
	// older report.
	Dir string
	// Alpha is the variables query's run-wide false-alarm probability
	// (0: the default 0.01) and VMin its minimum V (0: the default 0.1;
	// a negative VMin keeps every V).
	Alpha, VMin float64
	// MaxPages caps the candidates whose source page gets cut-outs and a
	// static light-curve plot (default 200): new sources first, in the
	// transients query's order, then variable candidates. Tables and CSV
	// files list every candidate.
	MaxPages int
	// MaxSourcePages caps the source pages (default 20000; negative: no
	// cap): candidates first, then the other sources by id.
	MaxSourcePages int
	// Cutouts is the number of cut-outs per candidate page (default 6;
	// negative: none), CutoutSize their side in image pixels (default 64)
	// and Stretch StretchAsinh (default) or StretchLinear.
	Cutouts    int
	CutoutSize int
	Stretch    string
	// VOEvent writes a VOEvent 2.0 packet per new source and variable
	// candidate into DIR/voevent/, as Events says.
	VOEvent bool
	Events  VOEventOptions
	// Threads and MemoryLimit set DuckDB's resources (duck.Options);
	// Workers is the number of FITS images read at once for cut-outs
	// (default GOMAXPROCS).
	Threads     int
	MemoryLimit string
	Workers     int
	// Now stamps the report and the VOEvents' Who/Date (default the
	// current time).
	Now time.Time
}

func (o Options) withDefaults(run string) Options {
	if o.Dir == "" {
		o.Dir = rundir.ReportDir(run)
	}
	if o.Alpha == 0 {
		o.Alpha = 0.01
	}
	if o.VMin == 0 {
		o.VMin = 0.1
	}
	if o.MaxPages == 0 {
		o.MaxPages = 200
	}
	if o.MaxSourcePages == 0 {
		o.MaxSourcePages = 20000
	}
	if o.Cutouts == 0 {
		o.Cutouts = 6
	}
	if o.CutoutSize <= 0 {
		o.CutoutSize = 64
	}
	if o.Stretch == "" {
		o.Stretch = StretchAsinh
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	o.Now = o.Now.UTC()
	o.Events = o.Events.withDefaults()
	return o
}

func (o Options) validate() error {
	if o.Stretch != StretchAsinh && o.Stretch != StretchLinear {
		return fmt.Errorf("report: stretch %q is not asinh or linear", o.Stretch)
	}
	if !(o.Alpha > 0 && o.Alpha < 1) {
		return fmt.Errorf("report: alpha %v is not a probability in (0, 1)", o.Alpha)
	}
	if math.IsNaN(o.VMin) || math.IsInf(o.VMin, 0) {
		return fmt.Errorf("report: v_min %v is not a finite number", o.VMin)
	}
	if o.CutoutSize > 1024 {
		return fmt.Errorf("report: cut-out size %d px is over 1024", o.CutoutSize)
	}
	return o.Events.Validate()
}

// Summary says what a report holds.
type Summary struct {
	Dir         string  // the report directory
	Index       string  // its index.html
	NewSources  int     // rows of the transients query with --all
	Flagged     int     // of them, those with vetting flags
	Variables   int     // rows of the variables query
	Pages       int     // candidates' source pages (with cut-outs)
	SourcePages int     // source pages written
	Interactive bool    // the pages have interactive plots (the library is embedded)
	Cutouts     int     // cut-out PNGs written
	Regions     int     // region files written
	VOEvents    int     // packets written
	Suppressed  int     // packets withheld (known source, rate limit)
	Seconds     float64 // wall time
}

// Write writes the report of the run directory run (see the package
// documentation). It is what "gotrap run --report" calls.
func Write(ctx context.Context, run string, opts Options) error {
	_, err := Generate(ctx, run, opts)
	return err
}

// Generate is Write returning a summary of what was written.
func Generate(ctx context.Context, run string, opts Options) (*Summary, error) {
	start := time.Now()
	o := opts.withDefaults(run)
	if err := o.validate(); err != nil {
		return nil, err
	}
	vc, err := config.RunVariability(run)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	// A live run (gotrap watch) publishes its commits whole: the report
	// reads one.
	gate, err := rundir.Read(run)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer gate.Close()
	db, err := duck.Open(ctx, run, duck.Options{Threads: o.Threads, MemoryLimit: o.MemoryLimit, FluxErrorFloor: vc.FluxErrorFloor})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	defer db.Close()

	// Refused before any work: a folder of someone else's files.
	if err := rundir.CheckReplaceable(o.Dir); err != nil {
		return nil, fmt.Errorf("report: --out: %w", err)
	}
	tmp, err := rundir.CreateDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	for _, d := range []string{"plots", "sources", "cutouts", "regions", "lib"} {
		if err := os.MkdirAll(filepath.Join(tmp, d), 0o755); err != nil {
			os.RemoveAll(tmp)
			return nil, fmt.Errorf("report: %w", err)
		}
	}
	b := &builder{ctx: ctx, run: run, o: o, db: db, dir: tmp, interactive: Interactive(),
		sum: &Summary{Dir: o.Dir, Index: filepath.Join(o.Dir, "index.html"), Interactive: Interactive()}}
	if err := b.build(); err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	if err := rundir.CommitDir(tmp, o.Dir); err != nil {
		return nil, fmt.Errorf("report: --out: %w", err)
	}
	b.sum.Seconds = time.Since(start).Seconds()
	return b.sum, nil
}

// builder holds a report being built.
type builder struct {
	ctx context.Context
	run string
	o   Options
	db  *duck.DB
	dir string
	sum *Summary

	man      *rundir.Manifest
	bands    []bandInfo
	images   *table // images query
	geoms    []imageGeom
	t0       time.Time
	news     *table // transients query
	vars     *table // variables query
	sources  *table // sources query
	cands    []*candidate
	events   []*eventCand
	etaV     []etaVPlot
	assocN   int
	assocMed [2]float64

	interactive bool
	sky         *table     // skySQL: runcat by sky region
	varm        *table     // varSQL: varmetric with names
	vet         *table     // the vetting view, once vetDone has delivered
	vetDone     chan error // loadSources' vetting query: its error
	vetErr      error
	srcs        map[int64]*srcInfo
	srcOrder    []int64          // runcat ids, ascending
	srcPages    map[int64]string // runcat -> sources/ID.html
	lcs         map[int64][]lcPoint
}

type etaVPlot struct {
	BandID     int64
	Band       string
	File       string
	EtaT, VT   float64
	DOF        int64 // the median degrees of freedom EtaT is drawn for
	NCand, NPt int
}

func (b *builder) write(name string, data []byte) error {
	if err := os.WriteFile(filepath.Join(b.dir, name), data, 0o644); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

func (b *builder) build() error {
	// Never leave the vetting query running on a database about to close.
	defer b.waitVetting()
	var err error
	if b.man, err = readManifest(b.run); err != nil {
		return err
	}
	if b.bands, err = loadBands(b.ctx, b.db); err != nil {
		return err
	}
	if b.images, err = named(b.ctx, b.db, "images"); err != nil {
		return err
	}
	if b.geoms, err = loadImageGeom(b.ctx, b.db); err != nil {
		return err
	}
	for _, g := range b.geoms {
		if !g.T.IsZero() && (b.t0.IsZero() || g.T.Before(b.t0)) {
			b.t0 = g.T
		}
	}
	if b.news, err = namedAll(b.ctx, b.db, "transients"); err != nil {
		return err
	}
	if b.vars, err = named(b.ctx, b.db, "variables", strconv.FormatFloat(b.o.Alpha, 'g', -1, 64), strconv.FormatFloat(b.o.VMin, 'g', -1, 64)); err != nil {
		return err
	}
	if b.sources, err = named(b.ctx, b.db, "sources"); err != nil {
		return err
	}
	b.sum.NewSources, b.sum.Variables = len(b.news.Rows), len(b.vars.Rows)
	for i := range b.news.Rows {
		if b.news.s(i, "flags") != "" {
			b.sum.Flagged++
		}
	}
	for _, step := range []func() error{b.loadSources, b.qcPlots, b.assocPlots, b.etaVPlots, b.candidates, b.voevents, b.csvs, b.regions, b.writeLib, b.index} {
		if err := step(); err != nil {
			return err
		}
		if err := b.ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) qcPlots() error {
	rms, err := plotPerBand(b.images, b.bands, b.t0, "rms_qc", "image rms (QC) against time", "rms (Jy/beam)")
	if err != nil {
		return err
	}
	n, err := plotPerBand(b.images, b.bands, b.t0, "n_blind", "blind detections per image", "sources")
	if err != nil {
		return err
	}
	if err := b.write("plots/rms.svg", rms); err != nil {
		return err
	}
	return b.write("plots/sources.svg", n)
}

func (b *builder) assocPlots() error {
	t, err := sqlTable(b.ctx, b.db, `SELECT distance_arcsec, r FROM associations WHERE type IN (2, 3, 6) ORDER BY xtrsrc, runcat`)
	if err != nil {
		return err
	}
	d, r := make([]float64, len(t.Rows)), make([]float64, len(t.Rows))
	for i := range t.Rows {
		d[i], r[i] = t.f(i, "distance_arcsec"), t.f(i, "r")
	}
	b.assocN = len(t.Rows)
	b.assocMed = [2]float64{median(d), median(r)}
	pd, err := plotHist(d, 40, "measurement - runcat offsets", "distance (arcsec)")
	if err != nil {
		return err
	}
	pr, err := plotHist(r, 40, "De Ruiter radius", "r (dimensionless)")
	if err != nil {
		return err
	}
	if err := b.write("plots/offsets.svg", pd); err != nil {
		return err
	}
	return b.write("plots/deruiter.svg", pr)
}

func median(v []float64) float64 {
	var f []float64
	for _, x := range v {
		if finite(x) {
			f = append(f, x)
		}
	}
	if len(f) == 0 {
		return math.NaN()
	}
	slices.Sort(f)
	if n := len(f); n%2 == 0 {
		return (f[n/2-1] + f[n/2]) / 2
	}
	return f[len(f)/2]
}

// etaThreshold is the eta at which a light curve of dof degrees of
// freedom reaches the false-alarm probability p: the chi-square
// quantile over dof (the variables query's cut, drawn for one dof).
func etaThreshold(p float64, dof int64) float64 {
	if dof < 1 || !(p > 0 && p < 1) {
		return math.NaN()
	}
	return distuv.ChiSquared{K: float64(dof)}.Quantile(1-p) / float64(dof)
}

// etaVPlots draws each band's eta-V diagram with the variables query's
// candidates marked, the V minimum and the eta of the false-alarm cut at
// the band's median number of degrees of freedom (the cut itself is per
// source: its own dof).
func (b *builder) etaVPlots() error {
	bi := bandIndex(b.bands)
	cand := map[[2]int64]bool{}
	for i := range b.vars.Rows {
		cand[[2]int64{b.vars.n(i, "runcat"), b.vars.n(i, "band")}] = true
	}
	tested := 0
	for i := range b.sources.Rows {
		if b.sources.get(i, "n_points") != nil && b.sources.n(i, "n_points") > 1 {
			tested++
		}
	}
	for _, band := range b.bands {
		var pts []etaVPoint
		var dofs []float64
		for i := range b.sources.Rows {
			if b.sources.get(i, "band") == nil || b.sources.n(i, "band") != band.ID {
				continue
			}
			q := etaVPoint{Eta: b.sources.f(i, "eta_int"), V: b.sources.f(i, "v_int"),
				Candidate: cand[[2]int64{b.sources.n(i, "runcat"), band.ID}],
				New:       b.sources.get(i, "newsource_type") != nil}
			pts = append(pts, q)
			if n := b.sources.n(i, "n_points"); n > 1 {
				dofs = append(dofs, float64(n-1))
			}
		}
		if len(pts) == 0 {
			continue
		}
		ev := etaVPlot{BandID: band.ID, Band: band.label(), File: fmt.Sprintf("plots/etav-band%d.svg", band.ID), NPt: len(pts), VT: b.o.VMin, EtaT: math.NaN()}
		if tested > 0 && len(dofs) > 0 {
			ev.DOF = int64(median(dofs))
			ev.EtaT = etaThreshold(b.o.Alpha/float64(tested), ev.DOF)
		}
		for _, q := range pts {
			if q.Candidate {
				ev.NCand++
			}
		}
		svg, err := plotEtaV(pts, band, bandColor(bi[band.ID]), ev.EtaT, ev.VT)
		if err != nil {
			return err
		}
		if err := b.write(ev.File, svg); err != nil {
			return err
		}
		b.etaV = append(b.etaV, ev)
	}
	return nil
}

// A candidate is a new source or a variable candidate.
type candidate struct {
	Kind   string // "new" or "var"
	Runcat int64
	Row    int // row of news or vars
	RA     float64
	Dec    float64
	Band   int64
	Page   string // its source page when it gets cut-outs (the first MaxPages candidates), else ""
	Points []lcPoint
	First  lcPoint // first blind detection (first point without one)
	Cuts   []*cutout
	Event  *eventCand
}

func (b *builder) candidates() error {
	seen, pages := map[string]bool{}, map[int64]bool{}
	add := func(kind string, t *table) {
		for i := range t.Rows {
			rc := t.n(i, "runcat")
			key := kind + strconv.FormatInt(rc, 10)
			if seen[key] {
				continue // a variable in two bands: one page
			}
			seen[key] = true
			c := &candidate{Kind: kind, Runcat: rc, Row: i, RA: t.f(i, "ra"), Dec: t.f(i, "dec"), Band: t.n(i, "band")}
			if len(b.cands) < b.o.MaxPages {
				c.Page = b.sourcePage(rc)
				if !pages[rc] {
					pages[rc] = true
					b.sum.Pages++
				}
			}
			b.cands = append(b.cands, c)
		}
	}
	add("new", b.news)
	add("var", b.vars)
	// Light curves: every source's at once (the source pages show them).
	var err error
	if b.lcs, err = allLightCurves(b.ctx, b.db); err != nil {
		return err
	}
	for _, c := range b.cands {
		c.Points = b.lcs[c.Runcat]
		if len(c.Points) > 0 {
			c.First = c.Points[0]
			for _, p := range c.Points {
				if p.Kind != "limit" {
					c.First = p
					break
				}
			}
			for _, p := range c.Points {
				if p.ExtractType == 0 {
					c.First = p
					break
				}
			}
		}
	}
	// Cut-outs: the accepted images of the first detection's band that
	// cover the position, nearest in time to the first detection.
	urls := map[int64]string{}
	planes := map[int64]int{} // the plane of each image's file (images.plane: cubes, Stokes V runs)
	var all []*cutout
	if b.o.Cutouts > 0 {
		for _, c := range b.cands {
			if c.Page == "" || len(c.Points) == 0 {
				continue
			}
			var near []imageGeom
			for _, g := range b.geoms {
				if g.Rejected || g.Band != c.First.Band {
					continue
				}
				if finite(g.HalfDiag) && sphere.Sep(g.RA, g.Dec, c.RA, c.Dec) > g.HalfDiag*1.05 {
					continue
				}
				near = append(near, g)
			}
			dt := func(g imageGeom) time.Duration {
				d := g.T.Sub(c.First.T)
				if d < 0 {
					return -d
				}
				return d
			}
			sort.SliceStable(near, func(i, j int) bool { return dt(near[i]) < dt(near[j]) })
			near = near[:min(len(near), b.o.Cutouts)]
			sort.SliceStable(near, func(i, j int) bool { return near[i].T.Before(near[j].T) })
			for _, g := range near {
				cu := &cutout{Image: g.ID, RA: c.RA, Dec: c.Dec}
				urls[g.ID], planes[g.ID] = openName(b.man, g.URL), g.Plane
				c.Cuts = append(c.Cuts, cu)
				all = append(all, cu)
			}
		}
	}
	if err := readCutouts(b.ctx, b.run, urls, planes, all, b.o.CutoutSize, b.o.Workers); err != nil {
		return err
	}
	for _, c := range b.cands {
		var ok []*cutout
		for _, cu := range c.Cuts {
			if cu.Pix != nil {
				ok = append(ok, cu)
			}
		}
		lo, hi := cutoutScale(ok, b.o.CutoutSize)
		for _, cu := range ok {
			png, err := cutoutPNG(cu, b.o.CutoutSize, lo, hi, b.o.Stretch)
			if err != nil {
				return err
			}
			cu.File = fmt.Sprintf("cutouts/%s-%d-image%d.png", c.Kind, c.Runcat, cu.Image)
			if err := b.write(cu.File, png); err != nil {
				return err
			}
			cu.Pix = nil
			b.sum.Cutouts++
		}
	}
	return nil
}

func (b *builder) csvs() error {
	for _, f := range []struct {
		name string
		t    *table
	}{{"new_sources.csv", b.news}, {"variables.csv", b.vars}, {"images.csv", b.images}} {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write(f.t.Cols)
		rec := make([]string, len(f.t.Cols))
		for _, row := range f.t.Rows {
			for j, v := range row {
				rec[j] = formatCell(v)
			}
			w.Write(rec)
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return fmt.Errorf("report: %s: %w", f.name, err)
		}
		if err := b.write(f.name, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// Region colours and styles of measurement kinds.
var regionStyle = [3]struct {
	color string
	dash  bool
	label string
}{{"green", false, "blind"}, {"red", true, "forced"}, {"cyan", true, "monitor"}}

const regionSQL = `SELECT image, id, extract_type, ra, decl, semimajor, semiminor, pa, error_radius
FROM measurements ORDER BY image, id`

func (b *builder) regions() error {
	t, err := sqlTable(b.ctx, b.db, regionSQL)
	if err != nil {
		return err
	}
	flush := func(image int64, regs []regions.Region) error {
		var buf bytes.Buffer
		if err := regions.Write(&buf, regs, regions.FK5); err != nil {
			return err
		}
		b.sum.Regions++
		return b.write(fmt.Sprintf("regions/image-%d.reg", image), buf.Bytes())
	}
	var regs []regions.Region
	cur := int64(-1)
	for i := range t.Rows {
		im := t.n(i, "image")
		if im != cur && len(regs) > 0 {
			if err := flush(cur, regs); err != nil {
				return err
			}
			regs = regs[:0]
		}
		cur = im
		et := t.n(i, "extract_type")
		st := regionStyle[0]
		if et >= 0 && et < 3 {
			st = regionStyle[et]
		}
		r := regions.Region{X: t.f(i, "ra"), Y: t.f(i, "decl"), A: t.f(i, "semimajor"), B: t.f(i, "semiminor"),
			Angle: t.f(i, "pa") + 90, Color: st.color, Dash: st.dash,
			Text: fmt.Sprintf("%d %s", t.n(i, "id"), st.label)}
		if !finite(r.A, r.B, r.Angle) || r.A <= 0 || r.B <= 0 {
			// No fitted shape: a circle of the error radius (at least 1").
			r.A, r.B, r.Angle = math.Max(1, t.f(i, "error_radius")), 0, 0
			if !finite(r.A) {
				r.A = 1
			}
		}
		regs = append(regs, r)
	}
	if len(regs) > 0 {
		return flush(cur, regs)
	}
	return nil
}
