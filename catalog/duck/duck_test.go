package duck

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/catalogtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func openHand(t *testing.T) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	if err := catalogtest.WriteHandRun(dir); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir, Options{Threads: 2, MemoryLimit: "512MB"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

// dump renders rows as CSV with a header: floats with %.10g, times in RFC
// 3339 UTC, NULL as the empty field.
func dump(t *testing.T, rows *sql.Rows) [][]string {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	out := [][]string{cols}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		rec := make([]string, len(cols))
		for i, v := range vals {
			switch v := v.(type) {
			case nil:
				rec[i] = ""
			case float64:
				rec[i] = strconv.FormatFloat(v, 'g', 10, 64)
			case time.Time:
				rec[i] = v.UTC().Format(time.RFC3339Nano)
			default:
				rec[i] = fmt.Sprint(v)
			}
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkGolden compares got with testdata/NAME.golden column by column:
// numbers to 1e-9 relative (the golden holds 10 significant digits, so
// round-off below that cannot show; STYLE 15), everything else exactly.
func checkGolden(t *testing.T, name string, got [][]string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		w.WriteAll(got)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	defer f.Close()
	want, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: %d lines, want %d\ngot %q", name, len(got), len(want), got)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("%s line %d: %d fields, want %d", name, i+1, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			g, w := got[i][j], want[i][j]
			if g == w {
				continue
			}
			gf, err1 := strconv.ParseFloat(g, 64)
			wf, err2 := strconv.ParseFloat(w, 64)
			if err1 == nil && err2 == nil && math.Abs(gf-wf) <= 1e-9*math.Max(math.Abs(gf), math.Abs(wf)) {
				continue
			}
			t.Errorf("%s line %d column %s: got %q, want %q", name, i+1, want[0][j], g, w)
		}
	}
}

// TestNamedQueriesGolden runs every named query on the hand-made run of
// package catalogtest, whose documentation works out the answers by hand:
// transients B (type 1, sigma 20 and 6.667; new_high_sigma 13.33) alone,
// then C (type 0, 12 and 3; flagged low_sigma, new_high_sigma 4) with
// --all;
// variables X only at n = 2 and nothing at n = 3.5 (X's z is 3); the cone
// at (0, 30) radius 0.1 finds A (RA 359.95, 0.05 cos 30 = 0.0433 deg) and
// B (sqrt(0.0433^2 + 0.02^2) = 0.0477 deg) across RA 0; stats counts 8
// images (1 rejected), 30 blind measurements (A 6, B 3, C 1, V1..X 20),
// 2 forced, 2 monitor, 34 associations, 14 sources, 15 (runcat, band)
// rows. TestHandValues checks the key numbers without the golden files.
func TestNamedQueriesGolden(t *testing.T) {
	db, _ := openHand(t)
	ids := catalogtest.Sources()
	cases := []struct {
		golden, query string
		args          []string
	}{
		{"transients", "transients", nil},
		{"transients_all", "transients", []string{"--all"}},
		{"variables", "variables", nil},
		{"variables_strict", "variables", []string{"1e-100", "0.5"}},
		{"variables_trap", "variables_trap", nil},
		{"variables_trap_n3.5", "variables_trap", []string{"3.5"}},
		{"lightcurve_A", "lightcurve", []string{fmt.Sprint(ids["A"])}},
		{"lightcurve_C", "lightcurve", []string{fmt.Sprint(ids["C"])}},
		{"cone_wrap", "cone", []string{"0", "30", "0.1"}},
		{"cone_wrap_359.99", "cone", []string{"359.99", "30", "0.06"}},
		{"images", "images", nil},
		{"stats", "stats", nil},
		{"sources", "sources", nil},
	}
	for _, c := range cases {
		var rows *sql.Rows
		var err error
		if len(c.args) == 1 && c.args[0] == "--all" {
			q, _ := Lookup(c.query)
			var s string
			if s, err = q.BindFlags(nil, []string{"all"}); err == nil {
				rows, err = db.SQL().Query(s)
			}
		} else {
			rows, err = db.Named(context.Background(), c.query, c.args)
		}
		if err != nil {
			t.Errorf("%s: %v", c.golden, err)
			continue
		}
		checkGolden(t, c.golden, dump(t, rows))
	}
}

// TestHandValues checks the answers worked out by hand in package
// catalogtest's documentation, independently of the golden files.
func TestHandValues(t *testing.T) {
	db, _ := openHand(t)
	ids := catalogtest.Sources()
	ctx := context.Background()
	vm, err := db.VarMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		rc   int64
		band int64
	}
	got := map[key]catalog.VarMetric{}
	for _, v := range vm {
		got[key{v.Runcat, v.Band}] = v
	}
	// Tolerance 1e-14 relative: each value is a handful of roundings
	// of numbers near 1 (2.2e-16 each), far below it.
	const tol = 1e-14
	for _, c := range []struct {
		name      string
		band      int64
		n, forced int64
		eta, v    float64
		mean, max float64
	}{
		{"A", 1, 4, 1, 2.0 / 3, math.Sqrt(2.0/3) / 2, 2, 3},
		{"A", 2, 3, 0, 0, 0, 2, 2},
		{"B", 1, 3, 0, 4, 0.5, 0.02, 0.03},
		{"C", 2, 2, 1, 15.125, 0.011 / math.Sqrt2 / 0.0065, 0.0065, 0.012},
		{"M", 1, 2, 2, 2, 0.001 * math.Sqrt2 / 0.006, 0.006, 0.007},
		{"V1", 2, 2, 0, 1, 1 / (1 + math.Sqrt2/2), 1 + math.Sqrt2/2, 1 + math.Sqrt2},
		{"X", 2, 2, 0, 1000, math.Sqrt(1000) / (1 + math.Sqrt(2000)/2), 1 + math.Sqrt(2000)/2, 1 + math.Sqrt(2000)},
	} {
		v, ok := got[key{ids[c.name], c.band}]
		if !ok {
			t.Errorf("%s band %d: no varmetric row", c.name, c.band)
			continue
		}
		if v.NPoints != c.n || v.NForced != c.forced {
			t.Errorf("%s band %d: n_points, n_forced = %d, %d; want %d, %d", c.name, c.band, v.NPoints, v.NForced, c.n, c.forced)
		}
		for _, f := range []struct {
			col       string
			got, want float64
		}{{"eta_int", v.EtaInt, c.eta}, {"v_int", v.VInt, c.v}, {"f_int_mean", v.FIntMean, c.mean}, {"f_int_max", v.FIntMax, c.max}} {
			if !closeRel(f.got, f.want, tol) {
				t.Errorf("%s band %d %s = %.17g, want %.17g", c.name, c.band, f.col, f.got, f.want)
			}
		}
	}
	if v := got[key{ids["B"], 1}]; v.NewSrcType.Int64 != 1 || !closeRel(v.SigmaRMSMin.Float64, 20, tol) || !closeRel(v.SigmaRMSMax.Float64, 0.02/0.003, tol) {
		t.Errorf("B newsource columns: %+v", v)
	}
	if v := got[key{ids["C"], 2}]; !v.NewSrcType.Valid || v.NewSrcType.Int64 != 0 || !closeRel(v.SigmaRMSMin.Float64, 12, tol) || !closeRel(v.SigmaRMSMax.Float64, 3, tol) {
		t.Errorf("C newsource columns: %+v", v)
	}
	if v := got[key{ids["A"], 1}]; v.NewSource.Valid || v.SigmaRMSMin.Valid {
		t.Errorf("A is not new but has newsource columns: %+v", v)
	}

	// variables: X and C. 15 light curves have more than one point, so
	// the cut is p <= 0.01/15. X: chi-square 1000 with 1 dof; C: 15.125
	// with 1 dof, p = erfc(sqrt(15.125/2)) = 1.006e-4; its two points,
	// 0.012 then 0.001 with errors 0.002 (so vs^2 = chi-square), give
	// vs = +sqrt(15.125) and m = 2*0.011/0.013.
	rows, err := db.Named(ctx, "variables", nil)
	if err != nil {
		t.Fatal(err)
	}
	tab := dump(t, rows)
	if len(tab) != 3 || tab[1][0] != fmt.Sprint(ids["X"]) || tab[2][0] != fmt.Sprint(ids["C"]) {
		t.Fatalf("variables = %q, want X (%d) then C (%d)", tab, ids["X"], ids["C"])
	}
	col := func(row int, name string) float64 {
		for j, c := range tab[0] {
			if c == name {
				f, _ := strconv.ParseFloat(tab[row][j], 64)
				return f
			}
		}
		t.Fatalf("no column %s", name)
		return 0
	}
	pC := math.Erfc(math.Sqrt(15.125 / 2))
	// 1e-9: dump keeps 10 significant digits.
	for _, c := range []struct {
		name      string
		row       int
		got, want float64
	}{
		{"p_thresh", 1, col(1, "p_thresh"), 0.01 / 15},
		{"X p_int", 1, col(1, "p_int"), math.Erfc(math.Sqrt(1000.0 / 2))},
		{"C p_int", 2, col(2, "p_int"), pC},
		{"C sigma_int", 2, col(2, "sigma_int"), math.Sqrt2 * math.Erfcinv(2*pC)},
		{"C vs_int", 2, col(2, "vs_int"), math.Sqrt(15.125)},
		{"C m_int", 2, col(2, "m_int"), 2 * 0.011 / 0.013},
	} {
		if !closeRel(c.got, c.want, 1e-9) {
			t.Errorf("%s = %.10g, want %.10g", c.name, c.got, c.want)
		}
	}

	// variables_trap (Rowlinson et al. 2019): only X, with the thresholds
	// of the hand computation.
	rows, err = db.Named(ctx, "variables_trap", nil)
	if err != nil {
		t.Fatal(err)
	}
	tab = dump(t, rows)
	if len(tab) != 2 || tab[1][0] != fmt.Sprint(ids["X"]) {
		t.Fatalf("variables_trap = %q, want X (%d) only", tab, ids["X"])
	}
	if thr := col(1, "eta_thresh"); !closeRel(thr, math.Pow(10, 2.1), 1e-9) {
		t.Errorf("eta_thresh = %g, want 10^2.1", thr)
	}
	lv1, lx := math.Log10(1/(1+math.Sqrt2/2)), math.Log10(math.Sqrt(1000)/(1+math.Sqrt(2000)/2))
	if thr := col(1, "v_thresh"); !closeRel(thr, math.Pow(10, lv1+0.1*(lx-lv1)+0.6*(lx-lv1)), 1e-9) {
		t.Errorf("v_thresh = %g", thr)
	}

	// cone across RA 0: A (RA 359.95) and B (RA 0.05), nearest first.
	rows, err = db.Named(ctx, "cone", []string{"0", "30", "0.1"})
	if err != nil {
		t.Fatal(err)
	}
	tab = dump(t, rows)
	if len(tab) != 3 || tab[1][0] != fmt.Sprint(ids["A"]) || tab[2][0] != fmt.Sprint(ids["B"]) {
		t.Errorf("cone 0 30 0.1 = %q, want A then B", tab)
	}
}

// TestVarMetricMatchesIncremental compares the SQL eta and V with the
// incremental SPEC 7.1 values that the association stage stores on the
// last association of each (runcat, band) (catalog.FluxStats), and with a
// direct two-pass Go computation, on a random catalogue.
func TestVarMetricMatchesIncremental(t *testing.T) {
	dir := t.TempDir()
	want, err := writeRandomRun(dir, 400, 12, 20240502)
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vm, err := db.VarMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(vm) != len(want) {
		t.Fatalf("%d varmetric rows, want %d", len(vm), len(want))
	}
	var maxInc, maxDirect float64
	for _, v := range vm {
		w, ok := want[[2]int64{v.Runcat, v.Band}]
		if !ok {
			t.Fatalf("unexpected row %d/%d", v.Runcat, v.Band)
		}
		if v.NPoints != w.n {
			t.Errorf("%d/%d: n_points %d, want %d", v.Runcat, v.Band, v.NPoints, w.n)
		}
		// 1e-12 relative to the direct two-pass values (both are
		// two-pass compensated sums of the same numbers; observed
		// ~1e-15). Against the incremental values: 1e-12, the
		// required agreement of the variability metrics; writeRandomRun keeps the flux scatter at least
		// 10% of the flux so that the incremental form's cancellation
		// (N*eps*(flux/scatter)^2, see catalog's FluxStats test)
		// stays below it.
		for _, c := range []struct {
			col            string
			got, inc, dire float64
		}{{"eta_int", v.EtaInt, w.incEta, w.eta}, {"v_int", v.VInt, w.incV, w.v}} {
			maxInc = math.Max(maxInc, relDiff(c.got, c.inc))
			maxDirect = math.Max(maxDirect, relDiff(c.got, c.dire))
			if !closeRel(c.got, c.inc, 1e-12) || !closeRel(c.got, c.dire, 1e-12) {
				t.Errorf("%d/%d %s: SQL %.17g, incremental %.17g, direct %.17g", v.Runcat, v.Band, c.col, c.got, c.inc, c.dire)
			}
		}
	}
	t.Logf("%d rows; max relative difference SQL vs incremental %.3g, vs direct %.3g", len(vm), maxInc, maxDirect)

	// Materialised: the file holds the same rows, and the view reads it.
	n, err := db.WriteVarMetric(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != len(vm) || db.Files()[catalog.TableVarMetric] != 1 {
		t.Fatalf("WriteVarMetric wrote %d rows (%d files), want %d", n, db.Files()[catalog.TableVarMetric], len(vm))
	}
	again, err := db.VarMetrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range again {
		if again[i] != vm[i] {
			t.Fatalf("row %d after materialising differs:\n%+v\n%+v", i, again[i], vm[i])
		}
	}
}

func relDiff(a, b float64) float64 {
	m := math.Max(math.Abs(a), math.Abs(b))
	if m == 0 {
		return 0
	}
	return math.Abs(a-b) / m
}

// closeRel reports whether a and b agree to rel relative to the larger.
func closeRel(a, b, rel float64) bool {
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

func TestEmptyRun(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(context.Background(), dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range Queries() {
		args := map[string][]string{"lightcurve": {"1"}, "cone": {"10", "-30", "1"}}[q.Name]
		rows, err := db.Named(context.Background(), q.Name, args)
		if q.Name == "lightcurve" {
			// No source 1: the light curve of a missing id is an error.
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("lightcurve of a missing source: err = %v, want ErrNotFound", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s on an empty run: %v", q.Name, err)
			continue
		}
		tab := dump(t, rows)
		want := 1
		if q.Name == "stats" {
			want = 15 // header and 14 zero counts
		}
		if len(tab) != want {
			t.Errorf("%s on an empty run: %q", q.Name, tab)
		}
	}
	// The empty views have the tables' columns and types.
	for _, tb := range catalog.Tables() {
		rows, err := db.SQL().Query("SELECT * FROM " + tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.ColumnTypes()
		rows.Close()
		if len(cols) != len(tb.Columns) {
			t.Fatalf("%s: %d columns, want %d", tb.Name, len(cols), len(tb.Columns))
		}
		for i, c := range cols {
			want := tb.Columns[i].SQLType
			if c.Name() != tb.Columns[i].Name || c.DatabaseTypeName() != want {
				t.Errorf("%s column %d: %s %s, want %s %s", tb.Name, i, c.Name(), c.DatabaseTypeName(), tb.Columns[i].Name, want)
			}
		}
	}
}

func TestBind(t *testing.T) {
	q, _ := Lookup("cone")
	if _, err := q.Bind([]string{"1", "2"}); err == nil {
		t.Error("cone with two arguments: no error")
	}
	for _, bad := range []string{"1; DROP TABLE x", "NaN", "Inf", "0x1p3'", ""} {
		if _, err := q.Bind([]string{bad, "2", "3"}); err == nil {
			t.Errorf("cone %q: no error", bad)
		}
	}
	s, err := q.Bind([]string{"-10.5", "-30", "1e-2"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "$") || !strings.Contains(s, "(-30)") || !strings.Contains(s, "(0.01)") {
		t.Errorf("bound SQL:\n%s", s)
	}
	if _, ok := Lookup("nosuch"); ok {
		t.Error("Lookup(nosuch) found a query")
	}
}

// TestOpenSettings: the memory limit and NoFileCache reach DuckDB's
// settings; without NoFileCache its file cache stays on (its default).
func TestOpenSettings(t *testing.T) {
	for _, off := range []bool{false, true} {
		db, err := Open(context.Background(), t.TempDir(), Options{Threads: 1, MemoryLimit: "256MB", NoFileCache: off})
		if err != nil {
			t.Fatal(err)
		}
		var cache bool
		var limit string
		err = db.SQL().QueryRow("SELECT current_setting('enable_external_file_cache'), current_setting('memory_limit')").Scan(&cache, &limit)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if cache == off || !strings.HasPrefix(limit, "244") { // 256 MB = 244.1 MiB
			t.Errorf("NoFileCache %v: file cache %v, memory limit %q", off, cache, limit)
		}
	}
}
