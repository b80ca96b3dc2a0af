package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/catalogtest"
	"gotrap/catalog/duck"
	"gotrap/internal/regions"
	"gotrap/internal/testutil"
)

// handReport writes the hand-made run and its report (with VOEvents).
func handReport(t *testing.T, opts Options) (run string, s *Summary) {
	t.Helper()
	run = t.TempDir()
	if err := catalogtest.WriteHandRun(run); err != nil {
		t.Fatal(err)
	}
	opts.VOEvent = true
	opts.Now = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := Generate(context.Background(), run, opts)
	if err != nil {
		t.Fatal(err)
	}
	return run, s
}

func TestReportHandRun(t *testing.T) {
	run, s := handReport(t, Options{Threads: 1})
	ids := catalogtest.Sources()
	// The hand-made run has two new sources (B likely, C possible and
	// flagged low_sigma: its VOEvent as a new source is withheld) and
	// two variable candidates: X (band 2) and C, whose two points differ
	// by 4 sigma (chi-square 15.1 with 1 degree of freedom, p = 1e-4,
	// below 0.01 over 15 light curves).
	// C is both: three candidates' pages (B, C, X) and one page per
	// running-catalogue source.
	if s.NewSources != 2 || s.Flagged != 1 || s.Variables != 2 || s.Pages != 3 || s.VOEvents != 3 || s.Suppressed != 1 {
		t.Errorf("summary %+v, want 2 new (1 flagged), 2 variables, 3 candidates' pages, 3 VOEvents, 1 withheld", *s)
	}
	if !s.Interactive {
		t.Error("the report has static plots only: this build lacks internal/report/assets/vendor (make web installs the plotting library)")
	}
	dir := filepath.Join(run, "report")
	if pages, _ := filepath.Glob(filepath.Join(dir, "sources", "*.html")); s.SourcePages != len(ids) || len(pages) != len(ids) {
		t.Errorf("%d source pages (%d files), want one per source (%d)", s.SourcePages, len(pages), len(ids))
	}
	for _, f := range []string{"index.html", "sky.html", "etav.html", "candidates.html", "lib/uPlot.iife.min.js", "lib/uPlot.min.css", "lib/report.js",
		"lib/report.css", "new_sources.csv", "variables.csv", "images.csv", "plots/rms.svg",
		"plots/sources.svg", "plots/offsets.svg", "plots/deruiter.svg", "plots/etav-band1.svg", "plots/etav-band2.svg",
		"sources/" + strconv.FormatInt(ids["B"], 10) + ".html",
		"sources/" + strconv.FormatInt(ids["X"], 10) + ".html",
		"plots/lc-" + strconv.FormatInt(ids["X"], 10) + ".svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty (%v)", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(run, ".report.tmp")); err == nil {
		t.Error("the temporary report directory was left behind")
	}
	// The CSVs hold the queries' rows.
	news := readCSV(t, filepath.Join(dir, "new_sources.csv"))
	if len(news) != 3 || news[0][0] != "runcat" || news[1][0] != strconv.FormatInt(ids["B"], 10) || news[2][0] != strconv.FormatInt(ids["C"], 10) {
		t.Errorf("new_sources.csv:\n%v", news)
	}
	vars := readCSV(t, filepath.Join(dir, "variables.csv"))
	if len(vars) != 3 || vars[1][0] != strconv.FormatInt(ids["X"], 10) || vars[2][0] != strconv.FormatInt(ids["C"], 10) {
		t.Errorf("variables.csv:\n%v", vars)
	}
	// C's page lists its two upper limits (images 1 and 2) before its
	// detection, and its plot draws them.
	page, _ := os.ReadFile(filepath.Join(dir, "sources/"+strconv.FormatInt(ids["C"], 10)+".html"))
	if n := strings.Count(string(page), ">limit<"); n != 2 {
		t.Errorf("C's page has %d limit points, want 2", n)
	}
	if st, err := os.Stat(filepath.Join(dir, "plots/lc-"+strconv.FormatInt(ids["C"], 10)+".svg")); err != nil || st.Size() == 0 {
		t.Errorf("C's light curve plot: %v", err)
	}
	// The hand run has no FITS files: the pages say so instead of failing.
	page, _ = os.ReadFile(filepath.Join(dir, "sources/"+strconv.FormatInt(ids["B"], 10)+".html"))
	if !strings.Contains(string(page), "could not read the image") {
		t.Error("candidate page does not explain the missing cut-outs")
	}
	index, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	for _, want := range []string{"rms_qc 0.5 Jy above the limit", "RMS invalid"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
	cands, _ := os.ReadFile(filepath.Join(dir, "candidates.html"))
	for _, want := range []string{`href="sources/` + strconv.FormatInt(ids["X"], 10) + `.html"`, "class=\"sortable\"", "gt-filter",
		"withheld: vetting flags low_sigma", "new_high_sigma"} {
		if !strings.Contains(string(cands), want) {
			t.Errorf("candidates.html lacks %q", want)
		}
	}
}

// TestEtaThreshold checks the eta line of the eta-V plots: at eta times
// dof the chi-square false-alarm probability is the cut's p.
func TestEtaThreshold(t *testing.T) {
	for _, c := range []struct {
		p   float64
		dof int64
	}{{1e-6, 5}, {3e-6, 140}, {0.01, 1}} {
		e := etaThreshold(c.p, c.dof)
		// gonum's quantile inverts its own incomplete gamma to about
		// 1e-9 relative in p.
		if l := catalog.Log10ChiSquareSF(e*float64(c.dof), float64(c.dof)); math.Abs(l-math.Log10(c.p)) > 1e-6 {
			t.Errorf("p %g dof %d: eta %g has log10 p %g", c.p, c.dof, e, l)
		}
	}
	if e := etaThreshold(0.01, 0); !math.IsNaN(e) {
		t.Errorf("dof 0: %g, want NaN", e)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestReportRegions parses every region file back and compares each
// region with its measurement in the catalogue.
func TestReportRegions(t *testing.T) {
	run, s := handReport(t, Options{Threads: 1, Cutouts: -1})
	db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m, err := sqlTable(context.Background(), db, regionSQL)
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ image, id int64 }
	want := map[key]int{}
	for i := range m.Rows {
		want[key{m.n(i, "image"), m.n(i, "id")}] = i
	}
	files, _ := filepath.Glob(filepath.Join(run, "report", "regions", "image-*.reg"))
	if len(files) != s.Regions || len(files) != 7 { // images 1-8 but rejected 6
		t.Fatalf("%d region files, summary %d, want 7", len(files), s.Regions)
	}
	n := 0
	for _, f := range files {
		image, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "image-"), ".reg"), 10, 64)
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		regs, sys, err := regions.Parse(fh)
		fh.Close()
		if err != nil || sys != regions.FK5 {
			t.Fatalf("%s: %v (system %v)", f, err, sys)
		}
		for _, r := range regs {
			id, err := strconv.ParseInt(strings.Fields(r.Text)[0], 10, 64)
			if err != nil {
				t.Fatalf("%s: label %q", f, r.Text)
			}
			i, ok := want[key{image, id}]
			if !ok {
				t.Fatalf("%s: region of measurement %d, not in image %d", f, id, image)
			}
			n++
			// Positions are written with 8 decimals: 5e-9 deg.
			if !testutil.Close(r.X, m.f(i, "ra"), 5e-9, 0) || !testutil.Close(r.Y, m.f(i, "decl"), 5e-9, 0) ||
				!testutil.Close(r.A, m.f(i, "semimajor"), 5e-5, 0) || !testutil.Close(r.B, m.f(i, "semiminor"), 5e-5, 0) {
				t.Errorf("%s: region %+v, measurement ra %g dec %g axes %g %g", f, r, m.f(i, "ra"), m.f(i, "decl"), m.f(i, "semimajor"), m.f(i, "semiminor"))
			}
			et := m.n(i, "extract_type")
			if r.Color != regionStyle[et].color || r.Dash != (et != 0) {
				t.Errorf("%s: measurement %d (type %d) drawn %s dash %v", f, id, et, r.Color, r.Dash)
			}
		}
	}
	if n != len(m.Rows) {
		t.Errorf("%d regions for %d measurements", n, len(m.Rows))
	}
}

// ensureTool makes a Debian package's command available, installing the
// package when root on Debian; the test skips when it cannot.
func ensureTool(t *testing.T, cmd string, pkgs ...string) string {
	t.Helper()
	if p, err := exec.LookPath(cmd); err == nil {
		return p
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil || os.Geteuid() != 0 {
		t.Skipf("%s not installed and cannot be (need root on Debian: apt-get install %s)", cmd, strings.Join(pkgs, " "))
	}
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)
	if out, err := exec.Command("apt-get", args...).CombinedOutput(); err != nil {
		exec.Command("apt-get", "update", "-qq").Run()
		if out, err = exec.Command("apt-get", args...).CombinedOutput(); err != nil {
			t.Skipf("could not install %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
	}
	p, err := exec.LookPath(cmd)
	if err != nil {
		t.Fatalf("installed %s but %s is missing", strings.Join(pkgs, " "), cmd)
	}
	return p
}

// voeDoc decodes a VOEvent independently of the writer's types.
type voeDoc struct {
	XMLName xml.Name `xml:"http://www.ivoa.net/xml/VOEvent/v2.0 VOEvent"`
	Version string   `xml:"version,attr"`
	IVORN   string   `xml:"ivorn,attr"`
	Role    string   `xml:"role,attr"`
	Author  string   `xml:"Who>AuthorIVORN"`
	Params  []struct {
		Name  string  `xml:"name,attr"`
		UCD   *string `xml:"ucd,attr"`
		Unit  *string `xml:"unit,attr"`
		Value string  `xml:"value,attr"`
	} `xml:"What>Param"`
	Fields []struct {
		Name string  `xml:"name,attr"`
		UCD  *string `xml:"ucd,attr"`
		Unit *string `xml:"unit,attr"`
	} `xml:"What>Table>Field"`
	Rows []struct {
		TD []string `xml:"TD"`
	} `xml:"What>Table>Data>TR"`
	ISOTime string  `xml:"WhereWhen>ObsDataLocation>ObservationLocation>AstroCoords>Time>TimeInstant>ISOTime"`
	RA      float64 `xml:"WhereWhen>ObsDataLocation>ObservationLocation>AstroCoords>Position2D>Value2>C1"`
	Dec     float64 `xml:"WhereWhen>ObsDataLocation>ObservationLocation>AstroCoords>Position2D>Value2>C2"`
	Concept string  `xml:"Why>Inference>Concept"`
}

// TestVOEvents validates every packet against the IVOA schema and checks
// its fields against the catalogue.
func TestVOEvents(t *testing.T) {
	run, s := handReport(t, Options{Threads: 1, Cutouts: -1, Events: VOEventOptions{Authority: "example.org", Stream: "gotrap/test", Flagged: true}})
	files, _ := filepath.Glob(filepath.Join(run, "report", "voevent", "*.xml"))
	sort.Strings(files)
	if len(files) != 4 || s.VOEvents != 4 {
		t.Fatalf("%d VOEvent files, summary %d, want 4", len(files), s.VOEvents)
	}
	xsd := testutil.SharedFile(t, "VOEvent-v2.0.xsd")
	xmllint := ensureTool(t, "xmllint", "libxml2-utils")
	out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", xsd}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	ids := catalogtest.Sources()
	type expect struct {
		kind, concept string
		ra, dec       float64
		time          time.Time
		params        map[string]string
		points        int
	}
	key := func(kind string, rc int64) string { return kind + "-" + strconv.FormatInt(rc, 10) }
	want := map[string]expect{
		key("new", ids["B"]): {"new", "Transient", 0.05, 30.02, catalogtest.T0.Add(15 * time.Minute),
			map[string]string{"newsource_type": "1", "sigma_rms_min": "20", "f_int": "0.02", "trigger_image": "3"}, 3},
		key("new", ids["C"]): {"new", "Transient", 10, 30, catalogtest.T0.Add(15 * time.Minute),
			map[string]string{"newsource_type": "0", "sigma_rms_max": "3", "f_int": "0.012", "f_peak": "0.01"}, 2},
		key("var", ids["X"]): {"var", "Variable source", 20.9, 40, catalogtest.T0,
			map[string]string{"band": "2", "eta": "1000", "n_points": "2"}, 2},
		key("var", ids["C"]): {"var", "Variable source", 10, 30, catalogtest.T0.Add(15 * time.Minute),
			map[string]string{"n_points": "2"}, 2},
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d voeDoc
		if err := xml.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var rc int64 = -1
		for _, p := range d.Params {
			if p.UCD == nil || *p.UCD == "" || p.Unit == nil {
				t.Errorf("%s: Param %s lacks a ucd or unit", f, p.Name)
			}
			if p.Name == "runcat" {
				rc, _ = strconv.ParseInt(p.Value, 10, 64)
			}
		}
		kind := "new"
		if strings.Contains(filepath.Base(f), "-var-") {
			kind = "var"
		}
		w, ok := want[key(kind, rc)]
		if !ok {
			t.Fatalf("%s: runcat %d is not a %s candidate", f, rc, kind)
		}
		delete(want, key(kind, rc))
		if d.Version != "2.0" || d.Role != "test" || d.Author != "ivo://example.org" ||
			!strings.HasPrefix(d.IVORN, "ivo://example.org/gotrap/test#") || !strings.HasSuffix(d.IVORN, "-"+w.kind+"-"+strconv.FormatInt(rc, 10)) {
			t.Errorf("%s: version %q role %q author %q ivorn %q", f, d.Version, d.Role, d.Author, d.IVORN)
		}
		if !testutil.Close(d.RA, w.ra, 1e-9, 0) || !testutil.Close(d.Dec, w.dec, 1e-9, 0) || d.Concept != w.concept {
			t.Errorf("%s: position %g %g concept %q, want %g %g %q", f, d.RA, d.Dec, d.Concept, w.ra, w.dec, w.concept)
		}
		if tm, err := time.Parse("2006-01-02T15:04:05.999999", d.ISOTime); err != nil || !tm.Equal(w.time) {
			t.Errorf("%s: time %q, want %v", f, d.ISOTime, w.time)
		}
		for name, v := range w.params {
			found := false
			for _, p := range d.Params {
				if p.Name == name {
					found = true
					got, err1 := strconv.ParseFloat(p.Value, 64)
					exp, _ := strconv.ParseFloat(v, 64)
					// catalogtest's values are exact decimals; ratios such
					// as sigma_rms_min carry one rounding.
					if err1 != nil || !testutil.Close(got, exp, 0, 1e-9) {
						t.Errorf("%s: %s = %q, want %s", f, name, p.Value, v)
					}
				}
			}
			if !found {
				t.Errorf("%s: no Param %s", f, name)
			}
		}
		if len(d.Rows) != w.points || len(d.Fields) != 6 {
			t.Errorf("%s: %d light-curve rows and %d fields, want %d and 6", f, len(d.Rows), len(d.Fields), w.points)
		}
		for _, fl := range d.Fields {
			if fl.UCD == nil || *fl.UCD == "" || fl.Unit == nil {
				t.Errorf("%s: Field %s lacks a ucd or unit", f, fl.Name)
			}
		}
	}
	if len(want) != 0 {
		t.Errorf("no VOEvent for %v", want)
	}
}

// TestVOEventPolicy suppresses a known source and rate-limits the rest.
func TestVOEventPolicy(t *testing.T) {
	known, err := ReadKnownSources(strings.NewReader("ra,dec,radius\n# comment\n10.0, 30.0, 0.01\n\n"))
	if err != nil || len(known) != 1 || known[0] != (KnownSource{10, 30, 0.01}) {
		t.Fatalf("known sources %v, %v", known, err)
	}
	run, s := handReport(t, Options{Threads: 1, Cutouts: -1, Events: VOEventOptions{Known: known, RateLimit: 1}})
	// C (RA 10, Dec 30), a new source and a variable, is known; B and X
	// remain, 15 minutes apart (X at t0, B at t0+15 min): one per hour
	// lets only X through.
	if s.VOEvents != 1 || s.Suppressed != 3 {
		t.Fatalf("%d sent, %d suppressed; want 1 and 3", s.VOEvents, s.Suppressed)
	}
	files, _ := filepath.Glob(filepath.Join(run, "report", "voevent", "*.xml"))
	if len(files) != 1 || !strings.Contains(files[0], "-var-"+strconv.FormatInt(catalogtest.Sources()["X"], 10)) {
		t.Errorf("files %v, want only X's", files)
	}
	index, _ := os.ReadFile(filepath.Join(run, "report", "candidates.html"))
	for _, want := range []string{"known source 1", "rate limit of 1 per 1h0m0s"} {
		if !strings.Contains(string(index), want) {
			t.Errorf("candidates.html does not say %q", want)
		}
	}
	for _, bad := range []string{"1,2\n", "1,2,x\n", "1,95,1\n"} {
		if _, err := ReadKnownSources(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadKnownSources(%q) accepted", bad)
		}
	}
	for _, o := range []VOEventOptions{{Role: "alert"}, {Authority: "a/b"}, {Stream: "s#1"}} {
		if err := o.Validate(); err == nil {
			t.Errorf("%+v validated", o)
		}
	}
}

// plotData reads the interactive plots' data of a report page
// (window.GTPLOTS, see assets/report.js).
func plotData(t *testing.T, page string) map[string]plotSpec {
	t.Helper()
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "window.GTPLOTS=")
	j := strings.Index(s, ";if(window.uPlot)")
	if i < 0 || j < i {
		t.Fatalf("%s: no plot data", page)
	}
	var out map[string]plotSpec
	if err := json.Unmarshal([]byte(s[i+len("window.GTPLOTS="):j]), &out); err != nil {
		t.Fatalf("%s: plot data: %v", page, err)
	}
	return out
}

// seriesOf returns the series labelled label (fails when absent).
func seriesOf(t *testing.T, p plotSpec, label string) seriesSpec {
	t.Helper()
	for _, s := range p.Series {
		if s.Label == label {
			return s
		}
	}
	t.Fatalf("no series %q in %+v", label, p)
	return seriesSpec{}
}

func hrefs(s seriesSpec) []string {
	var out []string
	for _, p := range s.Pts {
		if h, ok := p[3].(string); ok {
			out = append(out, h)
		}
	}
	return out
}

// TestReportPlotData checks the data behind the interactive plots of the
// hand-made run against the catalogue: every varmetric row is a point of
// its band's eta-V plot, the candidates are marked and link to their
// pages, every source is on the sky map, C's light curve has its two
// upper limits, the QC plot marks the rejected image with its reason.
func TestReportPlotData(t *testing.T) {
	run, _ := handReport(t, Options{Threads: 1, Cutouts: -1})
	dir := filepath.Join(run, "report")
	ids := catalogtest.Sources()
	page := func(name string) string { return "sources/" + strconv.FormatInt(ids[name], 10) + ".html" }

	db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	perBand := map[string]int{}
	rows, err := db.SQL().Query(`SELECT band, count(*) FROM varmetric GROUP BY band`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var band int64
		var n int
		if err := rows.Scan(&band, &n); err != nil {
			t.Fatal(err)
		}
		perBand["etav"+strconv.FormatInt(band, 10)] = n
	}
	rows.Close()

	etav := plotData(t, filepath.Join(dir, "etav.html"))
	if len(etav) != len(perBand) || len(perBand) != 2 {
		t.Errorf("eta-V plots %d, bands in varmetric %v", len(etav), perBand)
	}
	var candHrefs []string
	for key, want := range perBand {
		p := etav[key]
		n := 0
		for _, s := range p.Series {
			n += len(s.Pts)
		}
		if n != want {
			t.Errorf("%s: %d points, varmetric has %d rows", key, n, want)
		}
		candHrefs = append(candHrefs, hrefs(seriesOf(t, p, "variable candidates"))...)
		var vLine bool
		for _, l := range p.Lines {
			vLine = vLine || (l.Axis == "y" && l.V == 0.1)
		}
		if !vLine || !p.X.Log || !p.Y.Log {
			t.Errorf("%s: lines %+v (want V = 0.1), axes %+v %+v (want log)", key, p.Lines, p.X, p.Y)
		}
	}
	sort.Strings(candHrefs)
	want := []string{page("C"), page("X")}
	sort.Strings(want)
	if strings.Join(candHrefs, " ") != strings.Join(want, " ") {
		t.Errorf("eta-V candidates link to %v, want %v", candHrefs, want)
	}

	sky := plotData(t, filepath.Join(dir, "sky.html"))
	p, ok := sky["sky-1"] // the hand-made run has no assocskyrgn
	if !ok || len(sky) != 1 {
		t.Fatalf("sky maps %v, want sky-1 only", sky)
	}
	n := 0
	for _, s := range p.Series {
		n += len(s.Pts)
	}
	if n != len(ids) || p.X.Dir != -1 {
		t.Errorf("sky map: %d points of %d sources, RA direction %d (want -1)", n, len(ids), p.X.Dir)
	}
	if h := hrefs(seriesOf(t, p, "new sources")); len(h) != 1 || h[0] != page("B") {
		t.Errorf("sky map new sources %v, want B", h)
	}
	if h := hrefs(seriesOf(t, p, "new sources with vetting flags")); len(h) != 1 || h[0] != page("C") {
		t.Errorf("sky map flagged new sources %v, want C", h)
	}
	if h := hrefs(seriesOf(t, p, "variable candidates")); len(h) != 1 || h[0] != page("X") {
		t.Errorf("sky map variable candidates %v, want X", h)
	}

	lc := plotData(t, filepath.Join(dir, page("C")))["lc"]
	limits := 0
	for _, s := range lc.Series {
		if s.Limit {
			limits += len(s.Pts)
			for _, q := range s.Pts {
				if tip, _ := q[2].(string); !strings.Contains(tip, "upper limit") {
					t.Errorf("C's limit tooltip %q", tip)
				}
			}
		}
	}
	if limits != 2 || !lc.X.Time {
		t.Errorf("C's light curve: %d upper limits (want 2), time axis %v", limits, lc.X.Time)
	}

	rej := seriesOf(t, plotData(t, filepath.Join(dir, "index.html"))["rms"], "rejected images")
	if len(rej.Pts) == 0 || !strings.Contains(rej.Pts[0][2].(string), "RMS invalid") {
		t.Errorf("QC rms plot: rejected images %v, want the RMS invalid one", rej.Pts)
	}
}

// TestAllLightCurves checks the one-query light curves of the source
// pages against the lightcurve named query run per source.
func TestAllLightCurves(t *testing.T) {
	run := t.TempDir()
	if err := catalogtest.WriteHandRun(run); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := duck.Open(ctx, run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := allLightCurves(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ids := catalogtest.Sources()
	if len(all) != len(ids) {
		t.Errorf("%d light curves, want one per source (%d)", len(all), len(ids))
	}
	for name, rc := range ids {
		one, err := named(ctx, db, "lightcurve", strconv.FormatInt(rc, 10))
		if err != nil {
			t.Fatal(err)
		}
		want := lcPoints(one, 0, len(one.Rows))
		got := all[rc]
		if len(got) != len(want) || len(want) == 0 {
			t.Errorf("%s: %d points, the lightcurve query has %d", name, len(got), len(want))
			continue
		}
		for i := range want {
			g, w := got[i], want[i]
			// NaN != NaN: compare the formatted rows.
			if fmt.Sprintf("%+v", g) != fmt.Sprintf("%+v", w) {
				t.Errorf("%s point %d: %+v, want %+v", name, i, g, w)
			}
		}
	}
}

func TestSexagesimal(t *testing.T) {
	for _, c := range []struct {
		ra, dec float64
		want    string
	}{
		{150.28826, 52.508471, "10h01m09.18s +52d30m30.5s"},
		{0, -0.5, "00h00m00.00s -00d30m00.0s"},
		// 359.99999999 deg is 23h59m59.9999976s: rounds to 24h, shown as 0h.
		{359.99999999, 89.99999999, "00h00m00.00s +90d00m00.0s"},
		{-15, -30.25, "23h00m00.00s -30d15m00.0s"},
	} {
		if got := sexagesimal(c.ra, c.dec); got != c.want {
			t.Errorf("sexagesimal(%v, %v) = %q, want %q", c.ra, c.dec, got, c.want)
		}
	}
}

// TestLookupLinks checks the look-up URLs carry the position.
func TestLookupLinks(t *testing.T) {
	links := lookupLinks(150.28826, -2.5)
	want := map[string]string{
		"SIMBAD": "Coord=150.288260+-2.500000",
		"NED":    "ra=150.288260&dec=-2.500000",
		"TNS":    "ra=150.288260&decl=-2.500000",
		"Aladin": "target=150.288260+-2.500000",
	}
	if len(links) != len(want) {
		t.Fatalf("%d links, want %d", len(links), len(want))
	}
	for _, l := range links {
		if !strings.HasPrefix(l.V, "https://") || !strings.Contains(l.V, want[l.K]) {
			t.Errorf("%s: %s lacks %q", l.K, l.V, want[l.K])
		}
	}
}
