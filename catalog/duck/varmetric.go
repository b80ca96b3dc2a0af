package duck

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"gotrap/catalog"
)

// DefaultVarMetricPoints is the default of Options.VarMetricPoints: the
// light-curve points (associations) one varmetric query reads. DuckDB
// holds every point of the (runcat, band) groups it aggregates (the
// ordered sums and the medians do not spill to disk), about 3.2 kB per
// point in gotrap's queries (measured on rsm-mini, docs/performance.md),
// so a range of 16384 points needs about 55 MB whatever the run's size.
const DefaultVarMetricPoints = 1 << 14

// varMetricRanges splits the runcats of the associations view into
// ranges [lo, hi] of about points associations each (a runcat with more
// is a range of its own), in runcat order.
func (d *DB) varMetricRanges(ctx context.Context, points int) ([][2]int64, error) {
	rs, err := d.db.QueryContext(ctx, "SELECT runcat, count(*) FROM associations GROUP BY runcat ORDER BY runcat")
	if err != nil {
		return nil, fmt.Errorf("duck: varmetric ranges: %w", err)
	}
	defer rs.Close()
	var out [][2]int64
	var lo, last int64
	n, open := 0, false
	for rs.Next() {
		var rc sql.NullInt64
		var c int
		if err := rs.Scan(&rc, &c); err != nil {
			return nil, fmt.Errorf("duck: varmetric ranges: %w", err)
		}
		if !rc.Valid {
			return nil, fmt.Errorf("duck: varmetric: the associations table has a NULL runcat")
		}
		if !open {
			lo, n, open = rc.Int64, 0, true
		}
		last = rc.Int64
		if n += c; n >= points {
			out = append(out, [2]int64{lo, last})
			open = false
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("duck: varmetric ranges: %w", err)
	}
	if open {
		out = append(out, [2]int64{lo, last})
	}
	return out, nil
}

// ScanVarMetrics computes the varmetric table with VarMetricSQL and calls
// fn with each row, in (runcat, band) order, stopping at fn's first
// error. It returns the number of rows; it writes in the run directory,
// so the DB must not be ReadOnly.
//
// The points (the associations with their measurements' fluxes and
// weights and their images' bands and times, ~70 bytes each) are joined
// once and written sorted by runcat to a Parquet file in a temporary
// folder of the run directory, the new sources to another; the
// aggregates then run over successive runcat ranges of about
// Options.VarMetricPoints points each, each range reading its own row
// groups of the file, so DuckDB's memory does not grow with the run and
// the catalogue is joined once, not once a range. The rows equal those
// of VarMetricSQL over the whole run (each (runcat, band) group is
// aggregated whole, its sums in measurement-id order, in the same
// order). The folder goes when the scan ends, and a crashed scan's the
// next time.
func (d *DB) ScanVarMetrics(ctx context.Context, fn func(catalog.VarMetric) error) (n int, err error) {
	ranges, err := d.varMetricRanges(ctx, d.points)
	if err != nil || len(ranges) == 0 {
		return 0, err
	}
	q, done, err := d.varMetricFiles(ctx)
	if err != nil {
		return 0, err
	}
	defer func() {
		if rerr := done(); err == nil {
			err = rerr
		}
	}()
	for _, r := range ranges {
		rs, err := d.db.QueryContext(ctx, q, r[0], r[1])
		if err != nil {
			return n, fmt.Errorf("duck: varmetric (runcats %d to %d): %w", r[0], r[1], err)
		}
		for rs.Next() {
			v, err := scanVarMetric(rs)
			if err != nil {
				rs.Close()
				return n, fmt.Errorf("duck: varmetric row %d: %w", n, err)
			}
			if err := fn(v); err != nil {
				rs.Close()
				return n, err
			}
			n++
		}
		err = rs.Err()
		if cerr := rs.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return n, fmt.Errorf("duck: varmetric (runcats %d to %d): %w", r[0], r[1], err)
		}
		// What the range's queries freed goes back to the system when
		// DuckDB's allocator keeps more than DefaultRetain of it.
		if _, err := ReleaseAbove(DefaultRetain); err != nil {
			return n, err
		}
	}
	return n, nil
}

// varMetricTemp is the prefix of ScanVarMetrics's temporary folders in
// the run directory (a dot: no view reads them).
const varMetricTemp = ".varmetric-"

// varMetricFiles writes ScanVarMetrics's points and new sources to a
// temporary folder of the run directory, removing those a crashed scan
// left. It returns the varmetric query over a runcat range [$1, $2] of
// them, and done, which removes the folder.
func (d *DB) varMetricFiles(ctx context.Context) (q string, done func() error, err error) {
	old, _ := filepath.Glob(filepath.Join(d.run, varMetricTemp+"*"))
	for _, o := range old {
		if err := os.RemoveAll(o); err != nil {
			return "", nil, fmt.Errorf("duck: varmetric: %w", err)
		}
	}
	dir, err := os.MkdirTemp(d.run, varMetricTemp)
	if err != nil {
		return "", nil, fmt.Errorf("duck: varmetric: %w", err)
	}
	done = func() error {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("duck: varmetric: %w", err)
		}
		return nil
	}
	pts, ns := filepath.Join(dir, "points.parquet"), filepath.Join(dir, "newsources.parquet")
	// Row groups of about a range's points: a range reads its own.
	group := max(d.points, 2048)
	for _, c := range []string{
		fmt.Sprintf("COPY (%s\n    ORDER BY a.runcat) TO %s (FORMAT parquet, ROW_GROUP_SIZE %d)", varMetricPoints(d.floor), quote(pts), group),
		fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet)", varMetricNewSources, quote(ns)),
	} {
		if _, err := d.db.ExecContext(ctx, c); err != nil {
			done()
			return "", nil, fmt.Errorf("duck: varmetric: %w", err)
		}
	}
	in := func(f string) string {
		return "    SELECT * FROM read_parquet(" + quote(f) + ") WHERE runcat BETWEEN $1 AND $2"
	}
	return varMetricWith(in(pts), in(ns)), done, nil
}

// scanVarMetric reads the current row of a varmetric query (columns in
// catalog.VarMetric's order), with times in UTC.
func scanVarMetric(rs *sql.Rows) (catalog.VarMetric, error) {
	var v catalog.VarMetric
	err := rs.Scan(&v.Runcat, &v.Band, &v.NPoints, &v.NForced, &v.EtaInt, &v.VInt, &v.EtaPeak, &v.VPeak,
		&v.FIntMax, &v.FIntMean, &v.FIntMedian, &v.FPeakMax, &v.FPeakMean, &v.FPeakMedian,
		&v.FirstTime, &v.LastTime, &v.NewSource, &v.NewSrcType, &v.SigmaRMSMin, &v.SigmaRMSMax,
		&v.DOF, &v.Chi2Int, &v.PInt, &v.SigmaInt, &v.Chi2Peak, &v.PPeak, &v.SigmaPeak,
		&v.VsInt, &v.MInt, &v.VsPeak, &v.MPeak)
	v.FirstTime, v.LastTime = v.FirstTime.UTC(), v.LastTime.UTC()
	return v, err
}
