//go:build !front

package main

import (
	"bufio"
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
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/rundir"
)

type queryFlags struct {
	sql, show, format, output, memLimit string
	columns                             string
	threads, limit                      int
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
newsources, skyregions, bands, limits and varmetric (computed from the
measurements when varmetric.parquet is absent), and every other RUN/NAME.parquet
is a view NAME (assocskyrgn). TraP's table names work too (image,
extractedsource, runningcatalog, assocxtrsource, newsource, varmetric, ...),
and the VAST pipeline's (sources, vast_measurements, vast_associations; mJy).
docs/catalog.md maps every column. gotrap_name(ra, dec) gives a source's
IAU-style name, "GTR Jhhmmss.s+ddmmss" (prefix: [catalog] name_prefix).

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

Output is an aligned table on a terminal and CSV otherwise; --format json
writes one JSON array of objects (NaN and infinities as null), --format
parquet writes --output FILE. A table shows each named query's main columns
(--columns a,b,c chooses others), in human units: frequencies MHz, fluxes
and rms mJy (the unit follows the column name), 6 significant digits, ISO
times; columns that do not fit the terminal ($COLUMNS, else its width) are
left out and named on stderr. CSV, JSON and Parquet keep every column and
digit in the catalogue's units: times RFC 3339 UTC, positions degrees,
frequencies Hz, fluxes Jy (peak: Jy/beam). --limit N keeps the first N rows.
A query about something that does not exist (an unknown query name, a
running-catalogue id) exits with status 1.

Examples:
  gotrap query run1 transients
  gotrap query run1 transients --all --format csv
  gotrap query run1 variables
  gotrap query run1 variables 1e-6 0.2      # stricter: ALPHA 1e-6, V_MIN 0.2
  gotrap query run1 variables_trap 2
  gotrap query run1 lightcurve 16777216 --format csv
  gotrap query run1 sources --columns name,ra,dec,eta_int --limit 20
  gotrap query run1 cone 359.9 -30 0.5
  gotrap query run1 --sql "SELECT band, count(*) FROM varmetric GROUP BY band"
  gotrap query run1 --sql "SELECT name, wavg_ra, wavg_dec, eta_int FROM sources WHERE new"

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
			fs.StringVar(&qf.columns, "columns", "", "show only these comma-separated `COLUMNS`, in this order (any format but parquet)")
			fs.IntVar(&qf.limit, "limit", 0, "show at most `N` rows (0: all)")
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
			return &exitError{code: 1, err: fmt.Errorf("no query named %q (gotrap help query lists them)", f.show)}
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
			return &exitError{code: 1, err: fmt.Errorf("no query named %q (gotrap help query lists them)", rest[0])}
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
	if f.limit < 0 {
		return usageError("--limit %d: want 0 (all) or more", f.limit)
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
		if f.columns != "" {
			return usageError("--columns applies to table, csv and json output; select the columns with --sql for parquet")
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
	prefix, err := config.RunNamePrefix(run)
	if err != nil {
		return err
	}
	opt := duck.Options{Threads: f.threads, MemoryLimit: f.memLimit, FluxErrorFloor: vc.FluxErrorFloor, NamePrefix: prefix, ReadOnly: true, Readable: f.read}
	if format == "parquet" {
		opt.Writable = []string{filepath.Dir(f.output)}
	}
	// A live run (gotrap watch) publishes its commits whole: read
	// between two.
	gate, err := rundir.Read(run)
	if err != nil {
		return err
	}
	defer gate.Close()
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
	if f.limit > 0 {
		// DuckDB keeps the order of the inner query (insertion order is
		// preserved by default).
		for i, st := range stmts {
			stmts[i] = fmt.Sprintf("SELECT * FROM (%s\n) LIMIT %d", strings.TrimRight(strings.TrimSpace(st), ";"), f.limit)
		}
	}
	if format == "parquet" {
		if len(stmts) > 1 {
			return usageError("--format parquet writes one result: give one statement")
		}
		return db.CopyParquet(ctx, stmts[0], f.output)
	}
	title := ""
	if named != nil && format == "table" {
		if title, err = db.Title(ctx, *named, rest[1:]); err != nil {
			return err
		}
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
	o := rowOptions{format: format, title: title}
	switch {
	case f.columns != "":
		o.show, o.strict = strings.Split(f.columns, ","), true
	case named != nil && format == "table":
		o.show = named.Table
	}
	if format == "table" {
		o.width = terminalWidth(env.stdout)
		o.notes = env.stderr
	}
	for i, st := range stmts {
		if i > 0 {
			fmt.Fprintln(out)
		}
		var rows *sql.Rows
		if rows, err = db.SQL().QueryContext(ctx, st); err != nil {
			break
		}
		err = writeRows(out, rows, o)
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

// rowOptions says how writeRows prints.
type rowOptions struct {
	format string
	// show lists the columns to print, in order (empty: all). A name
	// that is not a column is skipped, or an error when strict
	// (--columns).
	show   []string
	strict bool
	// title is a line printed above a table ("" for none).
	title string
	// width is the terminal width a table must fit (0: no limit): the
	// columns that do not fit are left out and named on notes.
	width int
	notes io.Writer
}

// writeRows streams rows in o.format (table buffers them to align
// columns). Tables print in human units (humanUnit) with 6 significant
// digits; csv and json keep every digit and the catalogue's units.
func writeRows(w io.Writer, rows *sql.Rows, o rowOptions) error {
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	pick := make([]int, 0, len(cols)) // the columns printed
	for _, name := range o.show {
		k := slices.Index(cols, strings.TrimSpace(name))
		if k < 0 {
			if o.strict {
				return usageError("--columns: no column %q; the columns are %s", strings.TrimSpace(name), strings.Join(cols, ","))
			}
			continue
		}
		pick = append(pick, k)
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
	rec := make([]string, len(pick))
	switch o.format {
	case "csv":
		cw := csv.NewWriter(w)
		for k, i := range pick {
			rec[k] = cols[i]
		}
		cw.Write(rec)
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			for k, i := range pick {
				rec[k] = formatValue(vals[i], -1, "")
			}
			cw.Write(rec)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	case "table":
		scale := make([]float64, len(pick))
		head := make([]string, len(pick))
		for k, i := range pick {
			unit := ""
			scale[k], unit = humanUnit(cols[i])
			head[k] = cols[i]
			if unit != "" {
				head[k] += "[" + unit + "]"
			}
		}
		cells := [][]string{head}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			r := make([]string, len(pick))
			for k, i := range pick {
				v := vals[i]
				if f, ok := v.(float64); ok && scale[k] != 1 {
					v = f * scale[k]
				}
				r[k] = formatHuman(v)
			}
			cells = append(cells, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return writeTable(w, cells, o)
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
			for k, i := range pick {
				if k > 0 {
					buf = append(buf, ',')
				}
				buf = append(buf, names[i]...)
				buf = append(buf, ':')
				buf = appendJSON(buf, vals[i])
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

// tableGap is the space between the columns of a table.
const tableGap = 2

// writeTable prints cells (the header first) as left-aligned columns,
// as many as fit o.width, and names the others on o.notes.
func writeTable(w io.Writer, cells [][]string, o rowOptions) error {
	n := len(cells[0])
	widths := make([]int, n)
	for _, r := range cells {
		for k, c := range r {
			widths[k] = max(widths[k], utf8.RuneCountInString(c))
		}
	}
	keep, used := n, 0
	for k := range n {
		if k > 0 {
			used += tableGap
		}
		used += widths[k]
		if o.width > 0 && used > o.width && k > 0 {
			keep = k
			break
		}
	}
	if keep < n && o.notes != nil {
		fmt.Fprintf(o.notes, "gotrap query: %d columns do not fit the terminal's %d characters: %s (use --columns, or --format csv)\n",
			n-keep, o.width, strings.Join(cells[0][keep:], ","))
	}
	bw := bufio.NewWriter(w)
	if o.title != "" {
		fmt.Fprintln(bw, o.title)
	}
	for _, r := range cells {
		line := make([]byte, 0, used+tableGap)
		for k, c := range r[:keep] {
			line = append(line, c...)
			if k < keep-1 {
				pad := widths[k] - utf8.RuneCountInString(c) + tableGap
				line = append(line, strings.Repeat(" ", pad)...)
			}
		}
		line = append(line, '\n')
		bw.Write(line)
	}
	return bw.Flush()
}

// humanUnit returns the factor and unit a table shows column col in:
// frequencies (Hz in the catalogue) in MHz, fluxes and rms (Jy, Jy/beam)
// in mJy; 1 and "" for the others. The names are the catalogue's
// (docs/catalog.md); the VAST views are already in mJy.
func humanUnit(col string) (float64, string) {
	switch {
	case strings.HasSuffix(col, "_hz") || strings.HasPrefix(col, "freq_") && !strings.HasSuffix(col, "_mhz"):
		return 1e-6, "MHz"
	case col == "f_datapoints":
		return 1, ""
	case strings.HasPrefix(col, "f_peak") || strings.HasPrefix(col, "f_int") || strings.HasPrefix(col, "avg_f_") ||
		strings.HasPrefix(col, "nn_f_") || col == "rms" || strings.HasPrefix(col, "rms_"):
		if strings.HasSuffix(col, "_sq") || strings.HasSuffix(col, "_weight") || strings.HasPrefix(col, "avg_weighted") {
			return 1, "" // squares and weights: other units
		}
		return 1e3, "mJy"
	}
	return 1, ""
}

// formatHuman renders one value for a table: floats with 6 significant
// digits, times ISO 8601 UTC to the millisecond (trailing zeros dropped),
// NULL as NULL.
func formatHuman(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().Format("2006-01-02T15:04:05.999") + "Z"
	}
	return formatValue(v, 6, "NULL")
}

// terminalWidth returns the width a table on w must fit: $COLUMNS when
// set, else the terminal's width when w is one, else 0 (no limit).
func terminalWidth(w io.Writer) int {
	if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
		return c
	}
	f, ok := w.(*os.File)
	if !ok || !isTerminal(w) {
		return 0
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 {
		return 0
	}
	return int(ws.Col)
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
