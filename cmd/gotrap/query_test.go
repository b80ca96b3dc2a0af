package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gotrap/catalog/catalogtest"
	"gotrap/catalog/duck"
)

func handRun(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := catalogtest.WriteHandRun(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runGotrap(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestQueryHelpListsNamedQueries(t *testing.T) {
	out, _, code := runGotrap(t, "query", "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, q := range duck.Queries() {
		if !strings.Contains(out, q.Usage()) {
			t.Errorf("help does not list %q:\n%s", q.Usage(), out)
		}
	}
}

func TestQueryShow(t *testing.T) {
	out, _, code := runGotrap(t, "query", "--show", "cone")
	if code != 0 || !strings.Contains(out, "asin") || !strings.Contains(out, "$radius") {
		t.Errorf("--show cone: exit %d\n%s", code, out)
	}
	out, _, code = runGotrap(t, "query", "--show", "varmetric")
	if code != 0 || !strings.Contains(out, "fsum") {
		t.Errorf("--show varmetric: exit %d\n%s", code, out)
	}
	out, _, code = runGotrap(t, "query", "--show", "vetting")
	if code != 0 || !strings.Contains(out, "new_high_sigma") || !strings.Contains(out, "flag_low_sigma") {
		t.Errorf("--show vetting: exit %d\n%s", code, out)
	}
	if _, errs, code := runGotrap(t, "query", "--show", "nosuch"); code != 1 || !strings.Contains(errs, `no query named "nosuch"`) {
		t.Errorf("--show nosuch: exit %d, want 1; stderr %q", code, errs)
	}
}

// TestQueryFormats runs the transients query of the hand-made run
// (catalogtest: B likely, then C possible, flagged low_sigma, shown with
// --all only) in every format.
func TestQueryFormats(t *testing.T) {
	dir := handRun(t)
	ids := catalogtest.Sources()

	out, errs, code := runGotrap(t, "query", dir, "transients", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if recs, err := csv.NewReader(strings.NewReader(out)).ReadAll(); err != nil || len(recs) != 2 || recs[1][0] != fmt.Sprint(ids["B"]) {
		t.Fatalf("transients without --all: want B only:\n%s", out)
	}
	out, errs, code = runGotrap(t, "query", dir, "transients", "--all", "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[1][0] != fmt.Sprint(ids["B"]) || recs[2][0] != fmt.Sprint(ids["C"]) {
		t.Fatalf("transients csv:\n%s", out)
	}
	head := strings.Join(recs[0], ",")
	for _, c := range []string{"runcat", "ra", "dec", "band", "freq_hz", "image", "taustart", "newsource_type", "sigma_rms_min", "sigma_rms_max", "f_peak", "f_int",
		"flags", "new_high_sigma", "nn_dist_arcsec", "nn_f_peak", "blended", "deblended", "edge_dist_pix", "usable_dist_pix", "extended"} {
		if !strings.Contains(","+head+",", ","+c+",") {
			t.Errorf("transients lacks column %s", c)
		}
	}
	if ts := recs[1][slices.Index(recs[0], "taustart")]; ts != "2024-01-01T00:15:00Z" {
		t.Errorf("taustart = %q, want RFC 3339 UTC", ts)
	}

	if flags := recs[2][slices.Index(recs[0], "flags")]; flags != "low_sigma" {
		t.Errorf("C's flags = %q, want low_sigma", flags)
	}

	// A table shows the query's main columns only.
	out, _, code = runGotrap(t, "query", dir, "transients", "--all", "--format", "table")
	if head := strings.Fields(strings.SplitN(out, "\n", 2)[0]); code != 0 || strings.Join(head, " ") != "runcat name ra dec freq_mhz taustart type high_sigma sigma_rms_max f_peak[mJy] nn_arcsec flags" {
		t.Errorf("transients table: exit %d\n%s", code, out)
	}
	if _, _, code := runGotrap(t, "query", dir, "stats", "--all"); code != 2 {
		t.Errorf("stats --all: exit %d, want 2 (no such option)", code)
	}

	// Not a terminal: the default is CSV.
	out, _, _ = runGotrap(t, "query", dir, "transients", "--all", "--format", "csv")
	if def, _, _ := runGotrap(t, "query", dir, "transients", "--all"); def != out {
		t.Errorf("default format differs from csv:\n%s", def)
	}

	out, _, code = runGotrap(t, "query", dir, "transients", "--all", "--format", "json")
	var js []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js) != 2 || js[0]["newsource_type"] != 1.0 {
		t.Fatalf("json: exit %d\n%s", code, out)
	}

	out, _, code = runGotrap(t, "query", dir, "stats", "--format", "table")
	if code != 0 || !strings.Contains(out, "images_rejected") || !strings.Contains(out, "item  ") {
		t.Fatalf("table: exit %d\n%s", code, out)
	}

	pq := filepath.Join(t.TempDir(), "lc.parquet")
	if _, errs, code := runGotrap(t, "query", dir, "lightcurve", fmt.Sprint(ids["A"]), "--format", "parquet", "--output", pq); code != 0 {
		t.Fatalf("parquet: exit %d: %s", code, errs)
	}
	out, errs, code = runGotrap(t, "query", dir, "--read", pq, "--sql", "SELECT count(*) AS n, sum(f_int) AS s FROM read_parquet('"+pq+"')")
	if code != 0 || out != "n,s\n7,14\n" {
		t.Fatalf("reading the parquet output back: exit %d %s\n%s", code, errs, out)
	}
}

func TestQueryNegativeArgumentAndErrors(t *testing.T) {
	dir := handRun(t)
	out, errs, code := runGotrap(t, "query", dir, "cone", "5", "-30", "1")
	if code != 0 || out != "runcat,name,ra,dec,sep_deg,datapoints,mon_src\n" {
		t.Errorf("cone at dec -30: exit %d %s\n%s", code, errs, out)
	}
	for _, args := range [][]string{
		{"query"},
		{"query", dir},
		{"query", dir, "cone", "1", "2"},
		{"query", dir, "cone", "1", "2", "x"},
		{"query", dir, "stats", "--format", "xml"},
		{"query", dir, "stats", "--format", "parquet"},
		{"query", dir, "stats", "--sql", "SELECT 1"},
	} {
		if _, _, code := runGotrap(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if _, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT * FROM nosuchtable"); code != 1 || !strings.Contains(errs, "nosuchtable") {
		t.Errorf("bad SQL: exit %d, %s", code, errs)
	}
	if out, errs, code := runGotrap(t, "query", dir, "nosuch"); code != 1 || out != "" || !strings.Contains(errs, `no query named "nosuch"`) {
		t.Errorf("unknown query: exit %d, want 1; stderr %q", code, errs)
	}
	if out, errs, code := runGotrap(t, "query", dir, "lightcurve", "12345"); code != 1 || out != "" || !strings.Contains(errs, "no running-catalogue source 12345") {
		t.Errorf("lightcurve of a missing id: exit %d, want 1; stderr %q", code, errs)
	}
	if _, _, code := runGotrap(t, "query", filepath.Join(dir, "missing"), "stats"); code != 1 {
		t.Errorf("missing run: exit %d, want 1", code)
	}
	if _, err := os.Stat(filepath.Join(dir, "varmetric.parquet")); !os.IsNotExist(err) {
		t.Errorf("a query wrote varmetric.parquet: %v", err)
	}
}

// TestQueryTerminalTables checks --columns, --limit, the width fit and
// the human units of tables against the full precision of CSV.
func TestQueryTerminalTables(t *testing.T) {
	dir := handRun(t)
	ids := catalogtest.Sources()
	a := fmt.Sprint(ids["A"])
	t.Setenv("COLUMNS", "")

	// CSV keeps every digit and the catalogue's units.
	csvOut, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT 1.29980468750123e8 AS freq_hz, 0.0123456789012::DOUBLE AS f_peak, TIMESTAMP '2024-01-01 00:15:00.5' AS taustart")
	if code != 0 || csvOut != "freq_hz,f_peak,taustart\n1.29980468750123e+08,0.0123456789012,2024-01-01T00:15:00.5Z\n" {
		t.Errorf("csv: exit %d %s\n%q", code, errs, csvOut)
	}
	// A table shows MHz, mJy, 6 digits and ISO times.
	out, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT 1.29980468750123e8 AS freq_hz, 0.0123456789012::DOUBLE AS f_peak, TIMESTAMP '2024-01-01 00:15:00.5' AS taustart", "--format", "table")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); code != 0 || len(lines) != 2 ||
		strings.Join(strings.Fields(lines[0]), " ") != "freq_hz[MHz] f_peak[mJy] taustart" ||
		strings.Join(strings.Fields(lines[1]), " ") != "129.98 12.3457 2024-01-01T00:15:00.5Z" {
		t.Errorf("table: exit %d %s\n%s", code, errs, out)
	}

	// --columns picks and orders, in every text format; --limit cuts.
	out, errs, code = runGotrap(t, "query", dir, "sources", "--columns", "name,runcat", "--limit", "2", "--format", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || len(recs) != 3 || strings.Join(recs[0], ",") != "name,runcat" || recs[1][1] != a || recs[1][0] != "GTR J235948.0+300000" {
		t.Errorf("--columns name,runcat --limit 2: exit %d %s\n%s", code, errs, out)
	}
	out, _, code = runGotrap(t, "query", dir, "sources", "--columns", "runcat", "--format", "json")
	var js []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js) == 0 || len(js[0]) != 1 {
		t.Errorf("--columns runcat json: exit %d\n%s", code, out)
	}
	if _, errs, code := runGotrap(t, "query", dir, "sources", "--columns", "runcat,nosuch"); code != 2 || !strings.Contains(errs, `no column "nosuch"`) {
		t.Errorf("--columns nosuch: exit %d, want 2; %s", code, errs)
	}
	if _, _, code := runGotrap(t, "query", dir, "sources", "--limit", "-1"); code != 2 {
		t.Errorf("--limit -1: exit %d, want 2", code)
	}
	pq := filepath.Join(t.TempDir(), "l.parquet")
	if _, errs, code := runGotrap(t, "query", dir, "sources", "--limit", "3", "--format", "parquet", "--output", pq); code != 0 {
		t.Fatalf("parquet --limit: exit %d %s", code, errs)
	}
	if out, _, _ := runGotrap(t, "query", dir, "--read", pq, "--sql", "SELECT count(*) AS n FROM read_parquet('"+pq+"')"); out != "n\n3\n" {
		t.Errorf("parquet --limit 3 holds %q", out)
	}

	// The table fits $COLUMNS: the columns that do not fit are named on
	// stderr, and every line is at most that wide.
	t.Setenv("COLUMNS", "60")
	out, errs, code = runGotrap(t, "query", dir, "transients", "--all", "--format", "table")
	if code != 0 || !strings.Contains(errs, "do not fit the terminal's 60 characters") || !strings.Contains(errs, "flags") {
		t.Errorf("COLUMNS=60: exit %d, stderr %q", code, errs)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if len(l) > 60 {
			t.Errorf("line wider than 60: %q", l)
		}
	}
	if f := strings.Fields(out); len(f) < 2 || f[0] != "runcat" || f[1] != "name" {
		t.Errorf("COLUMNS=60 table:\n%s", out)
	}

	// The lightcurve's table is titled with the source's name.
	t.Setenv("COLUMNS", "")
	out, _, code = runGotrap(t, "query", dir, "lightcurve", a, "--format", "table")
	if code != 0 || !strings.HasPrefix(out, "GTR J235948.0+300000 (runcat "+a+")\n") {
		t.Errorf("lightcurve title: exit %d\n%s", code, out)
	}
}

// TestQueryCompatViews reads the hand run through TraP's and VAST's
// table names, as a notebook's SQL would.
func TestQueryCompatViews(t *testing.T) {
	dir := handRun(t)
	out, errs, code := runGotrap(t, "query", dir, "--sql",
		"SELECT (SELECT count(*) FROM extractedsource x JOIN assocxtrsource a ON a.xtrsrc = x.id JOIN runningcatalog r ON r.id = a.runcat) = (SELECT count(*) FROM vast_associations) AS same, (SELECT count(*) FROM sources) AS n")
	if code != 0 || out != "same,n\n"+"true,"+fmt.Sprint(len(catalogtest.Sources()))+"\n" {
		t.Errorf("compat views: exit %d %s\n%s", code, errs, out)
	}
}
