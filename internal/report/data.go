package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"gotrap/catalog/duck"
	"gotrap/internal/rundir"
)

// table is a query result held in memory: column names and rows of the
// driver's values (int64, float64, bool, string, time.Time or nil).
type table struct {
	Cols []string
	Rows [][]any
	idx  map[string]int
}

func scanTable(rows *sql.Rows) (*table, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	t := &table{Cols: cols, idx: make(map[string]int, len(cols))}
	for i, c := range cols {
		t.idx[c] = i
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		t.Rows = append(t.Rows, vals)
	}
	return t, rows.Err()
}

func (t *table) get(i int, col string) any {
	j, ok := t.idx[col]
	if !ok {
		panic("report: no column " + col) // the queries' columns are fixed
	}
	return t.Rows[i][j]
}

// f returns a number column as float64 (NaN for null).
func (t *table) f(i int, col string) float64 { return toFloat(t.get(i, col)) }

func toFloat(v any) float64 {
	switch v := v.(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case int:
		return float64(v)
	case bool:
		if v {
			return 1
		}
		return 0
	}
	return math.NaN()
}

// n returns an integer column (-1 for null).
func (t *table) n(i int, col string) int64 {
	switch v := t.get(i, col).(type) {
	case int64:
		return v
	case int32:
		return int64(v)
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	return -1
}

func (t *table) s(i int, col string) string {
	if v := t.get(i, col); v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

func (t *table) b(i int, col string) bool { v, _ := t.get(i, col).(bool); return v }

func (t *table) tm(i int, col string) time.Time {
	v, _ := t.get(i, col).(time.Time)
	return v.UTC()
}

// formatCell renders a value for CSV and HTML: full precision for floats
// (the CSV is data), RFC 3339 for times, "" for null.
func formatCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// named runs one of catalog/duck's named queries.
func named(ctx context.Context, db *duck.DB, name string, args ...string) (*table, error) {
	rows, err := db.Named(ctx, name, args)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return scanNamed(rows, name)
}

// namedAll runs the named query with its --all switch (transients: the
// flagged new sources too, after the others).
func namedAll(ctx context.Context, db *duck.DB, name string) (*table, error) {
	q, _ := duck.Lookup(name)
	s, err := q.BindFlags(nil, []string{"all"})
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	rows, err := db.SQL().QueryContext(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("report: query %s: %w", name, err)
	}
	return scanNamed(rows, name)
}

func scanNamed(rows *sql.Rows, name string) (*table, error) {
	t, err := scanTable(rows)
	if err != nil {
		return nil, fmt.Errorf("report: query %s: %w", name, err)
	}
	return t, nil
}

// sqlTable runs a query of the report's own over the views.
func sqlTable(ctx context.Context, db *duck.DB, q string) (*table, error) {
	rows, err := db.SQL().QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	t, err := scanTable(rows)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return t, nil
}

// openName returns the name to open the input stored as url (images.url):
// the manifest's original bytes of a name that was not UTF-8
// (rundir.EscapeName), else url.
func openName(m *rundir.Manifest, url string) string {
	if m == nil {
		return url
	}
	for _, in := range m.Inputs {
		if in.PathRaw != nil && in.Path == url {
			return string(in.PathRaw)
		}
	}
	return url
}

// readManifest returns the manifest, nil when the run has none.
func readManifest(run string) (*rundir.Manifest, error) {
	m, err := rundir.ReadManifest(run)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return m, nil
}

// readConfig returns RUN/gotrap.toml ("" when absent).
func readConfig(run string) string {
	b, err := os.ReadFile(rundir.ConfigPath(run))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// A lcPoint is one light-curve point (the lightcurve query): a
// measurement, or an upper limit (Kind "limit": ExtractType -1, fluxes
// NaN, Limit the peak-flux limit) before the first detection.
type lcPoint struct {
	Image       int64
	T           time.Time
	Band        int64
	Freq        float64
	Kind        string // blind, forced, monitor, backward or limit
	ExtractType int64  // 0 blind, 1 forced, 2 monitor, 3 backward, -1 limit
	Limit       float64
	FInt, FErr  float64
	FPeak, PErr float64
	RA, Dec     float64
	Xtrsrc      int64
}

// allLightCurvesSQL is the lightcurve query for every source at once: its
// two filters on $runcat become "every runcat" (one query instead of one
// per source: 800 sources took 20 s one by one, under 1 s at once).
func allLightCurvesSQL() (string, error) {
	q, _ := duck.Lookup("lightcurve")
	n := strings.Count(q.SQL, ".runcat = $runcat")
	if n != 2 || strings.Count(q.SQL, "$runcat") != 2 {
		return "", fmt.Errorf("report: the lightcurve query has %d filters on $runcat, not the 2 it had (update allLightCurvesSQL)", n)
	}
	return strings.ReplaceAll(q.SQL, ".runcat = $runcat", ".runcat IS NOT NULL"), nil
}

// allLightCurves returns the light curves of every source, by runcat, in
// the lightcurve query's order.
func allLightCurves(ctx context.Context, db *duck.DB) (map[int64][]lcPoint, error) {
	q, err := allLightCurvesSQL()
	if err != nil {
		return nil, err
	}
	t, err := sqlTable(ctx, db, q)
	if err != nil {
		return nil, err
	}
	byRC := map[int64][]int{}
	for i := range t.Rows {
		rc := t.n(i, "runcat")
		byRC[rc] = append(byRC[rc], i)
	}
	out := make(map[int64][]lcPoint, len(byRC))
	sub := &table{Cols: t.Cols, idx: t.idx}
	for rc, rows := range byRC {
		sub.Rows = sub.Rows[:0]
		for _, i := range rows {
			sub.Rows = append(sub.Rows, t.Rows[i])
		}
		out[rc] = lcPoints(sub, 0, len(sub.Rows))
	}
	return out, nil
}

// lcPoints converts rows [from, to) of a lightcurve query result.
func lcPoints(t *table, from, to int) []lcPoint {
	out := make([]lcPoint, to-from)
	for i := from; i < to; i++ {
		out[i-from] = lcPoint{
			Image: t.n(i, "image"), T: t.tm(i, "taustart"), Band: t.n(i, "band"), Freq: t.f(i, "freq_hz"),
			Kind: t.s(i, "kind"), ExtractType: t.n(i, "extract_type"), Limit: t.f(i, "f_peak_limit"), FInt: t.f(i, "f_int"), FErr: t.f(i, "f_int_err"),
			FPeak: t.f(i, "f_peak"), PErr: t.f(i, "f_peak_err"), RA: t.f(i, "ra"), Dec: t.f(i, "dec"),
			Xtrsrc: t.n(i, "xtrsrc"),
		}
	}
	return out
}

// imageGeom is what the cut-outs need of an image.
type imageGeom struct {
	ID       int64
	URL      string
	Band     int64
	T        time.Time
	RA, Dec  float64 // centre, deg
	HalfDiag float64 // centre to corner, deg
	Rejected bool
	Plane    int // images.plane (0 in runs before the column)
}

const imageGeomSQL = `SELECT id, url, band, taustart_ts, centre_ra, centre_decl,
       0.5 * sqrt(pow(nx * deltax, 2) + pow(ny * deltay, 2)) AS half_diag, rejected, coalesce(plane, 0) AS plane
FROM images ORDER BY taustart_ts, freq_eff, id`

func loadImageGeom(ctx context.Context, db *duck.DB) ([]imageGeom, error) {
	t, err := sqlTable(ctx, db, imageGeomSQL)
	if err != nil {
		return nil, err
	}
	out := make([]imageGeom, len(t.Rows))
	for i := range t.Rows {
		out[i] = imageGeom{ID: t.n(i, "id"), URL: t.s(i, "url"), Band: t.n(i, "band"), T: t.tm(i, "taustart_ts"),
			RA: t.f(i, "centre_ra"), Dec: t.f(i, "centre_decl"), HalfDiag: t.f(i, "half_diag"), Rejected: t.b(i, "rejected"), Plane: int(t.n(i, "plane"))}
	}
	return out, nil
}

// bandInfo names a band.
type bandInfo struct {
	ID   int64
	Freq float64
}

func (b bandInfo) label() string {
	if math.IsNaN(b.Freq) || b.Freq <= 0 {
		return fmt.Sprintf("band %d", b.ID)
	}
	return fmt.Sprintf("band %d (%.1f MHz)", b.ID, b.Freq/1e6)
}

func loadBands(ctx context.Context, db *duck.DB) ([]bandInfo, error) {
	t, err := sqlTable(ctx, db, `SELECT id, freq_central FROM bands
UNION SELECT DISTINCT band, NULL FROM images WHERE band NOT IN (SELECT id FROM bands)
ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	out := make([]bandInfo, len(t.Rows))
	for i := range t.Rows {
		out[i] = bandInfo{ID: t.n(i, "id"), Freq: t.f(i, "freq_central")}
	}
	return out, nil
}
