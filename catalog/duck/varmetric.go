package duck

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"gotrap/catalog"
)

// DefaultVarMetricPoints is the default of Options.VarMetricPoints: the
// light-curve points (associations) one varmetric query reads. DuckDB
// holds every point of the (runcat, band) groups it aggregates (the
// ordered sums and the medians do not spill to disk), about 3.2 kB per
// point in gotrap's queries (measured on rsm-mini, docs/performance.md),
// so a range of 16384 points needs about 55 MB whatever the run's size.
const DefaultVarMetricPoints = 1 << 14

// restrictRuncats inserts the runcat range [$1, $2] into the pts and ns
// parts of a varmetric query: the points and the new sources are
// filtered, so every (runcat, band) group in the range is whole and gets
// the same row as from the whole query, in the same order. It panics when the query does not have them (a
// programmer error, caught by the package's tests at start-up).
func restrictRuncats(q string) string {
	for _, r := range []struct{ after, where string }{
		{"    JOIN images i ON i.id = m.image\n", "    WHERE a.runcat BETWEEN $1 AND $2\n"},
		{"    JOIN images l ON l.id = n.previous_limits_image\n", "    WHERE n.runcat BETWEEN $1 AND $2\n"},
	} {
		if strings.Count(q, r.after) != 1 {
			panic("duck: VarMetricSQL no longer has the line " + strings.TrimSpace(r.after))
		}
		q = strings.Replace(q, r.after, r.after+r.where, 1)
	}
	return q
}

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
// error. It runs the query over successive runcat ranges of about
// Options.VarMetricPoints associations each, so DuckDB's memory does not
// grow with the run; the rows equal those of VarMetricSQL over the whole
// run (each (runcat, band) group is aggregated whole, in the same order).
// It returns the number of rows.
func (d *DB) ScanVarMetrics(ctx context.Context, fn func(catalog.VarMetric) error) (int, error) {
	ranges, err := d.varMetricRanges(ctx, d.points)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range ranges {
		rs, err := d.db.QueryContext(ctx, d.rangeSQL, r[0], r[1])
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
