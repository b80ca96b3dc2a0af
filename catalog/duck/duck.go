package duck

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// Options sets DuckDB's resources. DESIGN: DuckDB runs with threads and
// memory_limit set per rank, never the whole node.
type Options struct {
	// Threads is DuckDB's worker thread count; 0 means
	// runtime.GOMAXPROCS(0), the CPUs this process was given.
	Threads int
	// MemoryLimit is DuckDB's memory_limit, e.g. "2GB"; "" leaves
	// DuckDB's default (80% of the machine's memory).
	MemoryLimit string
	// NoFileCache turns DuckDB's cache of the files it reads off
	// (enable_external_file_cache): a database kept open while the
	// run's files grow (a live run's event stream) would otherwise hold
	// the catalogue in memory, up to MemoryLimit.
	NoFileCache bool
	// VarMetricPoints bounds the associations one varmetric query reads
	// (ScanVarMetrics); 0 means DefaultVarMetricPoints. DuckDB's memory
	// in the varmetric computation grows with it, not with the run.
	VarMetricPoints int
	// ReadOnly restricts the database for user SQL ("gotrap query"):
	// after the views are made, files may be read only below the run
	// directory and at the paths of Readable, extensions are neither
	// installed nor loaded on demand, and the settings are locked. Run
	// user SQL through Statements, which refuses all but queries.
	ReadOnly bool
	// Readable are files and folders the user names for reading besides
	// the run's (ReadOnly only).
	Readable []string
	// Writable are folders DuckDB may also write in (ReadOnly only):
	// that of CopyParquet's file. User SQL cannot write there, as
	// Statements refuses COPY.
	Writable []string
	// FluxErrorFloor is the fractional flux-error floor of the varmetric
	// table ([variability] flux_error_floor): each point's error becomes
	// sqrt(sigma^2 + (floor*S)^2). 0 keeps the measured errors (TraP's).
	FluxErrorFloor float64
	// NamePrefix prefixes the IAU-style source names (gotrap_name,
	// [catalog] name_prefix); "" means catalog.DefaultNamePrefix. It must
	// pass catalog.ValidNamePrefix.
	NamePrefix string
}

// DB is a DuckDB database (in memory) with one view per table of a run
// directory. It is safe for concurrent use, as is *sql.DB.
type DB struct {
	run    string
	conn   *duckdb.Connector
	db     *sql.DB
	files  map[string]int // table -> number of Parquet files found
	points int            // Options.VarMetricPoints
	floor  float64        // Options.FluxErrorFloor
}

// Open opens DuckDB over the run directory run: it creates the views
// images, measurements, associations, runcat, runcat_flux, newsources,
// skyregions, bands, varmetric and limits, one view per other
// RUN/NAME.parquet (assocskyrgn), the vetting view and the views under
// TraP's and the VAST pipeline's names (CompatViews). A table whose files are absent is an
// empty view with the right columns, except varmetric, which is then
// computed from the other views by VarMetricSQL. Open does not read the
// files; a damaged file shows up as an error from the first query that
// reads it.
func Open(ctx context.Context, run string, opt Options) (*DB, error) {
	st, err := os.Stat(run)
	if err != nil {
		return nil, fmt.Errorf("duck: run directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("duck: %s is not a directory", run)
	}
	threads := opt.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	settings := []string{fmt.Sprintf("SET threads = %d", threads)}
	if opt.MemoryLimit != "" {
		settings = append(settings, "SET memory_limit = "+quote(opt.MemoryLimit))
	}
	if opt.NoFileCache {
		settings = append(settings, "SET enable_external_file_cache = false")
	}
	conn, err := duckdb.NewConnector("", func(ex driver.ExecerContext) error {
		// Session settings, for every connection of the pool.
		_, err := ex.ExecContext(context.Background(), "SET TimeZone = 'UTC'", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("duck: could not start DuckDB: %w", err)
	}
	points := opt.VarMetricPoints
	if points <= 0 {
		points = DefaultVarMetricPoints
	}
	if f := opt.FluxErrorFloor; !(f >= 0) || math.IsInf(f, 0) {
		conn.Close()
		return nil, fmt.Errorf("duck: flux error floor %v is not a finite number >= 0", f)
	}
	prefix := opt.NamePrefix
	if prefix == "" {
		prefix = catalog.DefaultNamePrefix
	}
	if !catalog.ValidNamePrefix(prefix) {
		conn.Close()
		return nil, fmt.Errorf("duck: name prefix %q is not a letter and up to 15 letters, digits, '_' or '-'", prefix)
	}
	d := &DB{run: run, conn: conn, db: sql.OpenDB(conn), files: map[string]int{}, points: points, floor: opt.FluxErrorFloor}
	if opt.ReadOnly {
		// One connection, set up once: after lock_configuration a new
		// connection could not run its session settings.
		d.db.SetMaxOpenConns(1)
		d.db.SetMaxIdleConns(1)
	}
	for _, s := range settings {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			d.Close()
			return nil, fmt.Errorf("duck: %s: %w", s, err)
		}
	}
	if err := d.registerFunctions(ctx); err != nil {
		d.Close()
		return nil, err
	}
	for _, t := range catalog.Tables() {
		if err := d.createView(ctx, t); err != nil {
			d.Close()
			return nil, err
		}
	}
	if _, err := d.db.ExecContext(ctx, "CREATE OR REPLACE VIEW "+ViewVetting+" AS "+VettingSQL); err != nil {
		d.Close()
		return nil, fmt.Errorf("duck: could not create view %s: %w", ViewVetting, err)
	}
	if err := d.createExtraViews(ctx, prefix); err != nil {
		d.Close()
		return nil, err
	}
	if opt.ReadOnly {
		if err := d.lockDown(ctx, opt.Readable, opt.Writable); err != nil {
			d.Close()
			return nil, err
		}
	}
	return d, nil
}

// ViewVetting is the name of the computed vetting view (VettingSQL).
const ViewVetting = "vetting"

// createView defines the view of table t over its files: RUN/NAME.parquet
// and every RUN/NAME/**/*.parquet (Hive-partitioned).
func (d *DB) createView(ctx context.Context, t catalog.Table) error {
	var sources []string
	n := 0
	single := rundir.TablePath(d.run, t.Name)
	if st, err := os.Stat(single); err == nil && st.Mode().IsRegular() {
		sources = append(sources, single)
		n++
	}
	dir := rundir.TableDir(d.run, t.Name)
	var parts []string
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && filepath.Ext(p) == ".parquet" && !strings.HasPrefix(e.Name(), ".") {
				parts = append(parts, p)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("duck: could not list %s: %w", dir, err)
		}
	}
	if len(parts) > 0 {
		n += len(parts)
		if strings.ContainsAny(dir, "*?[]{}") {
			sources = append(sources, parts...) // cannot glob: name them
		} else {
			sources = append(sources, filepath.Join(dir, "**", "*.parquet"))
		}
	}
	d.files[t.Name] = n
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = ident(c.Name)
	}
	var body string
	switch {
	case n > 0:
		q := make([]string, len(sources))
		for i, s := range sources {
			q[i] = quote(s)
		}
		src := fmt.Sprintf("read_parquet([%s], hive_partitioning = true)", strings.Join(q, ", "))
		// Files written before columns were added to the table (an
		// older schema version) lack them: they read as nulls.
		have, err := d.fileColumns(ctx, fmt.Sprintf("read_parquet([%s], hive_partitioning = true, union_by_name = true)", strings.Join(q, ", ")))
		if err != nil {
			return fmt.Errorf("duck: could not read the columns of %s: %w", t.Name, err)
		}
		missing := false
		for i, c := range t.Columns {
			if !have[c.Name] {
				cols[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.SQLType, ident(c.Name))
				missing = true
			}
		}
		if missing {
			src = fmt.Sprintf("read_parquet([%s], hive_partitioning = true, union_by_name = true)", strings.Join(q, ", "))
		}
		body = fmt.Sprintf("SELECT %s FROM %s", strings.Join(cols, ", "), src)
	case t.Name == catalog.TableVarMetric:
		body = VarMetricSQL(d.floor)
	default:
		typed := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			typed[i] = fmt.Sprintf("CAST(NULL AS %s) AS %s", c.SQLType, ident(c.Name))
		}
		body = "SELECT " + strings.Join(typed, ", ") + " WHERE false"
	}
	if _, err := d.db.ExecContext(ctx, "CREATE OR REPLACE VIEW "+ident(t.Name)+" AS "+body); err != nil {
		return fmt.Errorf("duck: could not create view %s: %w", t.Name, err)
	}
	return nil
}

// registerFunctions registers the scalar functions the varmetric SQL
// calls, gotrap_chi2_log10_sf(chi2, dof) (catalog.Log10ChiSquareSF) and
// gotrap_gauss_sigma(log10p) (catalog.GaussSigma), in the database's
// catalogue, where every connection of the pool sees them.
func (d *DB) registerFunctions(ctx context.Context) error {
	c, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("duck: could not register functions: %w", err)
	}
	defer c.Close()
	double, err := duckdb.NewTypeInfo(duckdb.TYPE_DOUBLE)
	if err != nil {
		return fmt.Errorf("duck: could not register functions: %w", err)
	}
	for _, f := range []struct {
		name string
		n    int
		fn   func(v []float64) float64
	}{
		{"gotrap_chi2_log10_sf", 2, func(v []float64) float64 { return catalog.Log10ChiSquareSF(v[0], v[1]) }},
		{"gotrap_gauss_sigma", 1, func(v []float64) float64 { return catalog.GaussSigma(v[0]) }},
	} {
		in := make([]duckdb.TypeInfo, f.n)
		for i := range in {
			in[i] = double
		}
		if err := duckdb.RegisterScalarUDF(c, f.name, scalarFunc{in: in, out: double, fn: f.fn}); err != nil {
			return fmt.Errorf("duck: could not register %s: %w", f.name, err)
		}
	}
	te, err := newTwoEpochFunc(double)
	if err != nil {
		return fmt.Errorf("duck: could not register gotrap_two_epoch: %w", err)
	}
	if err := duckdb.RegisterScalarUDF(c, "gotrap_two_epoch", te); err != nil {
		return fmt.Errorf("duck: could not register gotrap_two_epoch: %w", err)
	}
	return nil
}

// twoEpochFunc is gotrap_two_epoch(f, w, x): over a light curve given as
// lists in time order (flux, weight 1/variance, measurement id), the
// two-epoch statistic Vs and modulation index m of the pair with the
// largest |Vs| (catalog.TwoEpochMax), as STRUCT(vs DOUBLE, m DOUBLE);
// NULL fields when no pair has both values. It replaces a self-join over
// every pair of points, whose cost grew with the square of the light
// curves' length (5 minutes at RSM scale against 2 s without it).
type twoEpochFunc struct {
	in  []duckdb.TypeInfo
	out duckdb.TypeInfo
}

func newTwoEpochFunc(double duckdb.TypeInfo) (twoEpochFunc, error) {
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	if err != nil {
		return twoEpochFunc{}, err
	}
	ld, err := duckdb.NewListInfo(double)
	if err != nil {
		return twoEpochFunc{}, err
	}
	lb, err := duckdb.NewListInfo(bigint)
	if err != nil {
		return twoEpochFunc{}, err
	}
	vs, err := duckdb.NewStructEntry(double, "vs")
	if err != nil {
		return twoEpochFunc{}, err
	}
	m, err := duckdb.NewStructEntry(double, "m")
	if err != nil {
		return twoEpochFunc{}, err
	}
	out, err := duckdb.NewStructInfo(vs, m)
	if err != nil {
		return twoEpochFunc{}, err
	}
	return twoEpochFunc{in: []duckdb.TypeInfo{ld, ld, lb}, out: out}, nil
}

func (f twoEpochFunc) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: f.in, ResultTypeInfo: f.out}
}

func (f twoEpochFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		fl, err := floatList(values[0])
		if err != nil {
			return nil, fmt.Errorf("duck: gotrap_two_epoch: flux: %w", err)
		}
		wl, err := floatList(values[1])
		if err != nil {
			return nil, fmt.Errorf("duck: gotrap_two_epoch: weight: %w", err)
		}
		xs, ok := values[2].([]any)
		if !ok || len(xs) != len(fl) || len(wl) != len(fl) {
			return nil, fmt.Errorf("duck: gotrap_two_epoch: lists of different lengths or types")
		}
		x := make([]int64, len(xs))
		for i, v := range xs {
			if id, ok := v.(int64); ok {
				x[i] = id
			}
		}
		out := map[string]any{"vs": nil, "m": nil}
		a, b, ok := catalog.TwoEpochMax(fl, wl, x)
		if !ok {
			return out, nil
		}
		vs, m := catalog.TwoEpoch(fl[a], wl[a], fl[b], wl[b])
		if !math.IsNaN(vs) {
			out["vs"] = vs
		}
		if !math.IsNaN(m) {
			out["m"] = m
		}
		return out, nil
	}}
}

// floatList converts a LIST(DOUBLE) argument, NULL elements to NaN.
func floatList(v driver.Value) ([]float64, error) {
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("argument is %T, not a list", v)
	}
	out := make([]float64, len(l))
	for i, e := range l {
		switch e := e.(type) {
		case float64:
			out[i] = e
		case nil:
			out[i] = math.NaN()
		default:
			return nil, fmt.Errorf("element %d is %T, not DOUBLE", i, e)
		}
	}
	return out, nil
}

// scalarFunc is a deterministic DOUBLE function of DOUBLE arguments
// (NULL in, NULL out).
type scalarFunc struct {
	in  []duckdb.TypeInfo
	out duckdb.TypeInfo
	fn  func([]float64) float64
}

func (f scalarFunc) Config() duckdb.ScalarFuncConfig {
	return duckdb.ScalarFuncConfig{InputTypeInfos: f.in, ResultTypeInfo: f.out}
}

func (f scalarFunc) Executor() duckdb.ScalarFuncExecutor {
	return duckdb.ScalarFuncExecutor{RowExecutor: func(values []driver.Value) (any, error) {
		v := make([]float64, len(values))
		for i, x := range values {
			switch x := x.(type) {
			case float64:
				v[i] = x
			default:
				return nil, fmt.Errorf("duck: argument %d is %T, not DOUBLE", i+1, x)
			}
		}
		r := f.fn(v)
		if math.IsNaN(r) {
			return nil, nil
		}
		return r, nil
	}}
}

// fileColumns returns the names of the columns src (a table function
// over Parquet files) reads.
func (d *DB) fileColumns(ctx context.Context, src string) (map[string]bool, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT column_name FROM (DESCRIBE SELECT * FROM "+src+")")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		have[name] = true
	}
	return have, rows.Err()
}

// Files returns the number of Parquet files each view reads (0: empty or,
// for varmetric, computed).
func (d *DB) Files() map[string]int {
	out := make(map[string]int, len(d.files))
	for k, v := range d.files {
		out[k] = v
	}
	return out
}

// SQL returns the underlying database handle, for queries of any kind.
func (d *DB) SQL() *sql.DB { return d.db }

// Close closes the database.
func (d *DB) Close() error {
	err := d.db.Close()
	if cerr := d.conn.Close(); err == nil {
		err = cerr
	}
	return err
}

// CopyParquet runs query and writes its result to path as a zstd Parquet
// file (DuckDB's COPY), through a temporary name and a rename.
func (d *DB) CopyParquet(ctx context.Context, query, path string) error {
	tmp, err := rundir.CreateName(path)
	if err != nil {
		return fmt.Errorf("duck: %w", err)
	}
	q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", strings.TrimRight(strings.TrimSpace(query), ";"), quote(tmp))
	if _, err := d.db.ExecContext(ctx, q); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("duck: could not write %s: %w", path, err)
	}
	if err := rundir.Rename(tmp, path); err != nil {
		return fmt.Errorf("duck: %w", err)
	}
	return nil
}

// WriteVarMetric computes the varmetric table (ScanVarMetrics), streams
// it to RUN/varmetric.parquet with catalog's writer (opts as for
// catalog.Create; the file is the one catalog.WriteFile would write from
// all the rows) and points the varmetric view at the file. It returns the
// number of rows. Its memory does not grow with the run: DuckDB's is
// bounded by Options.VarMetricPoints, the writer's by a row group.
func (d *DB) WriteVarMetric(ctx context.Context, opts ...catalog.Option) (int, error) {
	w, err := catalog.Create[catalog.VarMetric](rundir.TablePath(d.run, catalog.TableVarMetric), opts...)
	if err != nil {
		return 0, err
	}
	n, err := d.ScanVarMetrics(ctx, func(v catalog.VarMetric) error { return w.Write(v) })
	if err != nil {
		w.Abort()
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	for _, t := range catalog.Tables() {
		if t.Name == catalog.TableVarMetric {
			if err := d.createView(ctx, t); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// VarMetrics computes the varmetric table (ScanVarMetrics) and returns
// its rows.
func (d *DB) VarMetrics(ctx context.Context) ([]catalog.VarMetric, error) {
	var out []catalog.VarMetric
	if _, err := d.ScanVarMetrics(ctx, func(v catalog.VarMetric) error {
		out = append(out, v)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// ident returns s as a quoted SQL identifier.
func ident(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
