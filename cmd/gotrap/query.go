package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
)

type queryFlags struct {
	sql, show, format, output, memLimit string
	threads                             int
	all, multi                          bool
	read                                pathsFlag
}

// pathsFlag collects a repeated flag's values.
type pathsFlag []string

func (p *pathsFlag) String() string     { return strings.Join(*p, ",") }
func (p *pathsFlag) Set(v string) error { *p = append(*p, v); return nil }

var qf queryFlags

func init() {
	var long strings.Builder
	long.WriteString(`Query a run directory's catalogue with DuckDB. The run's Parquet files are
the views images, measurements, associations, runcat, runcat_flux,
newsources, skyregions, bands and varmetric (computed from the measurements
when varmetric.parquet is absent); docs/catalog.md lists their columns.

  gotrap query RUN NAME [ARGS]      run a named query
  gotrap query RUN --sql "SELECT"   run any SQL over the same views
  gotrap query --show NAME          print a named query's SQL

Named queries:
`)
	for _, q := range duck.Queries() {
		fmt.Fprintf(&long, "  %-26s %s\n", q.Usage(), q.Short)
	}
	long.WriteString(`
variables lists the (source, band) light curves whose flux scatter is too
large for their flux errors: eta, the reduced chi-square about the weighted
mean, has a false-alarm probability p_int (from the chi-square distribution
with n_points - 1 degrees of freedom) of at most ALPHA (default 0.01) over
the number of light curves tested, so that a run lists a steady source with
probability ALPHA or less when the errors are right; and V, the flux standard
deviation over the mean, is at least V_MIN (default 0.1). sigma_int is p_int
as a Gaussian significance; vs_int and m_int are the two-epoch statistic and
modulation index of the most significant pair of points (Mooley et al. 2016).
variables_trap is TraP's cut instead (per band, N standard deviations above
Gaussian fits to log10 eta and log10 V). [variability] flux_error_floor in
the run's gotrap.toml adds a calibration error to every point.
docs/variability.md explains the statistics.

Times are RFC 3339 UTC, positions degrees, fluxes Jy (peak: Jy/beam).
Output is an aligned table on a terminal (transients and lightcurve show
their main columns there) and CSV with every column otherwise; --format json
writes one JSON array of objects (NaN and infinities as null), --format
parquet writes --output FILE.

Examples:
  gotrap query run1 transients
  gotrap query run1 transients --all --format csv
  gotrap query run1 variables
  gotrap query run1 variables 1e-6 0.2      # stricter: ALPHA 1e-6, V_MIN 0.2
  gotrap query run1 variables_trap 2
  gotrap query run1 lightcurve 16777216 --format csv
  gotrap query run1 cone 359.9 -30 0.5
  gotrap query run1 --sql "SELECT band, count(*) FROM varmetric GROUP BY band"

Queries only read: --sql takes one query (SELECT, WITH, FROM, DESCRIBE,
SHOW, SUMMARIZE, EXPLAIN; --multi allows several, each result shown in
turn), never COPY, ATTACH, CREATE, INSTALL, SET or the like. DuckDB may read
files only in the run directory and those named with --read, loads no
extension on demand and its settings are locked. A named query about
something absent (a light curve of an unknown id) exits with status 1,
arguments out of range (a negative radius) with 2. See docs/faults.md.`)
	register(&command{
		name:  "query",
		usage: "RUN NAME [ARGS...] | RUN --sql QUERY | --show NAME",
		short: "query a run's catalogue (transients, variables, light curves, ...)",
		long:  long.String(),
		setFlags: func(fs *flag.FlagSet) {
			fs.StringVar(&qf.sql, "sql", "", "run this SQL instead of a named query")
			fs.StringVar(&qf.show, "show", "", "print the SQL of the named query `NAME` (or varmetric, without a flux-error floor, or vetting) and exit")
			fs.StringVar(&qf.format, "format", "", "output format: table, csv, json or parquet (default table on a terminal, else csv)")
			fs.StringVar(&qf.output, "output", "", "write to `FILE` instead of standard output (required for parquet)")
			fs.IntVar(&qf.threads, "threads", 0, "DuckDB threads (default: the CPUs this process may use)")
			fs.StringVar(&qf.memLimit, "memory-limit", "", "DuckDB memory_limit, e.g. 4GB (default: DuckDB's)")
			fs.BoolVar(&qf.all, "all", false, "transients: show the new sources with vetting flags too")
			fs.BoolVar(&qf.multi, "multi", false, "allow several statements in --sql, separated by ';' (each result is written in turn)")
			qf.read = nil
			fs.Var(&qf.read, "read", "let --sql read the file or folder `PATH` too, e.g. read_csv('PATH') (repeatable)")
		},
		run: runQuery,
	})
}

func runQuery(env *cmdEnv, args []string) error {
	f := qf // set by setFlags on this run's FlagSet
	if f.show != "" {
		if f.show == "varmetric" {
			fmt.Fprintln(env.stdout, duck.VarMetricSQL(0))
			return nil
		}
		if f.show == duck.ViewVetting {
			fmt.Fprintln(env.stdout, duck.VettingSQL)
			return nil
		}
		q, ok := duck.Lookup(f.show)
		if !ok {
			return usageError("no query named %q (see gotrap help query)", f.show)
		}
		fmt.Fprintf(env.stdout, "-- %s: %s\n", q.Usage(), q.Short)
		for _, p := range q.Params {
			fmt.Fprintf(env.stdout, "-- $%s: %s\n", p.Name, p.Doc)
		}
		fmt.Fprintln(env.stdout, q.SQL)
		return nil
	}
	if len(args) == 0 {
		return usageError("missing RUN directory")
	}
	run, rest := args[0], args[1:]
	var text string
	var named *duck.Query
	switch {
	case f.sql != "" && len(rest) > 0:
		return usageError("--sql takes no query name or arguments")
	case f.sql != "" && f.all:
		return usageError("--all applies to a named query (transients), not to --sql")
	case f.sql != "":
		text = f.sql
	case len(rest) == 0:
		return usageError("missing query NAME or --sql (see gotrap help query)")
	default:
		q, ok := duck.Lookup(rest[0])
		if !ok {
			return usageError("no query named %q (see gotrap help query)", rest[0])
		}
		var flags []string
		if f.all {
			flags = append(flags, "all")
		}
		s, err := q.BindFlags(rest[1:], flags)
		if err != nil {
			return usageError("%v", err)
		}
		text, named = s, &q
	}
	format := f.format
	if format == "" {
		format = "csv"
		if f.output == "" && isTerminal(env.stdout) {
			format = "table"
		}
	}
	switch format {
	case "table", "csv", "json":
	case "parquet":
		if f.output == "" {
			return usageError("--format parquet needs --output FILE")
		}
	default:
		return usageError("unknown --format %q (table, csv, json or parquet)", format)
	}
	if f.output != "" && within(run, f.output) {
		return usageError("--output %s is inside the run directory %s: a query never writes there", f.output, run)
	}
	if err := checkRun(run); err != nil {
		return err
	}

	ctx := context.Background()
	vc, err := config.RunVariability(run)
	if err != nil {
		return err
	}
	opt := duck.Options{Threads: f.threads, MemoryLimit: f.memLimit, FluxErrorFloor: vc.FluxErrorFloor, ReadOnly: true, Readable: f.read}
	if format == "parquet" {
		opt.Writable = []string{filepath.Dir(f.output)}
	}
	db, err := duck.Open(ctx, run, opt)
	if err != nil {
		return err
	}
	defer db.Close()
	if named != nil {
		if err := db.Check(ctx, *named, rest[1:]); err != nil {
			return err
		}
	}
	stmts, err := db.Statements(ctx, text, f.multi)
	if errors.Is(err, duck.ErrSeveral) || errors.Is(err, duck.ErrNotAQuery) {
		return usageError("%v", err)
	}
	if err != nil {
		return err
	}
	if format == "parquet" {
		if len(stmts) > 1 {
			return usageError("--format parquet writes one result: give one statement")
		}
		return db.CopyParquet(ctx, stmts[0], f.output)
	}
	out := env.stdout
	var file *os.File
	if f.output != "" {
		file, err = os.Create(f.output)
		if err != nil {
			return err
		}
		out = file
	}
	var show []string // the named query's table columns
	if named != nil && format == "table" {
		show = named.Table
	}
	for i, st := range stmts {
		if i > 0 {
			fmt.Fprintln(out)
		}
		var rows *sql.Rows
		if rows, err = db.SQL().QueryContext(ctx, st); err != nil {
			break
		}
		err = writeRows(out, rows, format, show)
		rows.Close()
		if err != nil {
			break
		}
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// writeRows streams rows in format (table buffers them to align
// columns). A table shows only the columns named in show, in that order,
// when show is not empty.
func writeRows(w io.Writer, rows *sql.Rows, format string, show []string) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	pick := make([]int, 0, len(cols)) // the table's columns
	for _, name := range show {
		for i, c := range cols {
			if c == name {
				pick = append(pick, i)
				break
			}
		}
	}
	if len(pick) == 0 {
		for i := range cols {
			pick = append(pick, i)
		}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(cols))
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		cw.Write(cols)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for i, v := range vals {
				rec[i] = formatValue(v, -1, "")
			}
			cw.Write(rec)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case "table":
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		rec = rec[:len(pick)]
		for k, i := range pick {
			rec[k] = cols[i]
		}
		fmt.Fprintln(tw, strings.Join(rec, "\t"))
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for k, i := range pick {
				rec[k] = formatValue(vals[i], 7, "NULL")
			}
			fmt.Fprintln(tw, strings.Join(rec, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	case "json":
		names := make([][]byte, len(cols))
		for i, c := range cols {
			names[i], _ = json.Marshal(c)
		}
		if _, err := io.WriteString(w, "["); err != nil {
			return err
		}
		var buf []byte
		for n := 0; rows.Next(); n++ {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			buf = buf[:0]
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, "\n{"...)
			for i, v := range vals {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, names[i]...)
				buf = append(buf, ':')
				buf = appendJSON(buf, v)
			}
			buf = append(buf, '}')
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, "\n]\n"); err != nil {
			return err
		}
	}
	return rows.Err()
}

// formatValue renders one value: floats with prec significant digits (-1:
// the shortest that round-trips), times RFC 3339 UTC, NULL as null.
func formatValue(v any, prec int, null string) string {
	switch v := v.(type) {
	case nil:
		return null
	case float64:
		return strconv.FormatFloat(v, 'g', prec, 64)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', prec, 32)
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

func appendJSON(buf []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(buf, "null"...)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(buf, "null"...)
		}
		return strconv.AppendFloat(buf, v, 'g', -1, 64)
	case time.Time:
		return strconv.AppendQuote(buf, v.UTC().Format(time.RFC3339Nano))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return strconv.AppendQuote(buf, fmt.Sprint(v))
	}
	return append(buf, b...)
}
