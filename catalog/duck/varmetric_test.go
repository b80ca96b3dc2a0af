package duck

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/catalog/catalogtest"
	"gotrap/internal/rundir"
)

// wholeVarMetrics runs VarMetricSQL over the whole run in one query, as
// before the runcat ranges.
func wholeVarMetrics(t *testing.T, db *DB) []catalog.VarMetric {
	t.Helper()
	rs, err := db.SQL().QueryContext(context.Background(), VarMetricSQL(0))
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out []catalog.VarMetric
	for rs.Next() {
		v, err := scanVarMetric(rs)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVarMetricRanges checks that splitting the varmetric computation
// into runcat ranges changes nothing: for range sizes from one
// association (every runcat a range of its own) to more than the run
// holds, the rows equal those of VarMetricSQL over the whole run, bit
// for bit and in order, on the hand-made run (new sources included) and
// on a random one; and varmetric.parquet is byte-identical to the file
// catalog.WriteFile writes from the whole query's rows.
func TestVarMetricRanges(t *testing.T) {
	ctx := context.Background()
	runs := map[string]func(dir string) error{
		"hand": catalogtest.WriteHandRun,
		"random": func(dir string) error {
			_, err := writeRandomRun(dir, 150, 9, 20241122)
			return err
		},
	}
	for name, write := range runs {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := write(dir); err != nil {
				t.Fatal(err)
			}
			whole := func() []catalog.VarMetric {
				db, err := Open(ctx, dir, Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				return wholeVarMetrics(t, db)
			}()
			if len(whole) < 3 {
				t.Fatalf("only %d varmetric rows: the test needs several runcats", len(whole))
			}
			newsrc := 0
			for _, v := range whole {
				if v.NewSource.Valid {
					newsrc++
				}
			}
			t.Logf("%d varmetric rows, %d with a new source", len(whole), newsrc)
			// ScanVarMetrics depends on the points only through the
			// ranges: a range size that gives the ranges of one already
			// compared is not compared again (on both runs 2 gives the
			// ranges of 1, a range per runcat, every runcat having two
			// associations or more: 150 queries on the random run; on
			// the hand-made run 1 << 20 gives the one range of 100).
			compared := map[string]int{}
			for _, points := range []int{1, 2, 7, 100, 1 << 20} {
				db, err := Open(ctx, dir, Options{Threads: 2, VarMetricPoints: points})
				if err != nil {
					t.Fatal(err)
				}
				ranges, err := db.varMetricRanges(ctx, points)
				if err != nil {
					t.Fatal(err)
				}
				for i := 1; i < len(ranges); i++ {
					if ranges[i][0] <= ranges[i-1][1] || ranges[i][0] > ranges[i][1] {
						t.Fatalf("points %d: ranges %v and %v overlap or are reversed", points, ranges[i-1], ranges[i])
					}
				}
				if points == 1 && len(ranges) < 3 {
					t.Errorf("points 1: %d ranges, want one per runcat", len(ranges))
				}
				key := fmt.Sprint(ranges)
				if p, ok := compared[key]; ok {
					db.Close()
					t.Logf("points %d: the %d ranges of points %d, compared already", points, len(ranges), p)
					continue
				}
				compared[key] = points
				got, err := db.VarMetrics(ctx)
				db.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(whole) {
					t.Fatalf("points %d (%d ranges): %d rows, want %d", points, len(ranges), len(got), len(whole))
				}
				for i := range got {
					if got[i] != whole[i] {
						t.Fatalf("points %d (%d ranges): row %d\n got %+v\nwant %+v", points, len(ranges), i, got[i], whole[i])
					}
				}
			}

			// The streamed file equals catalog.WriteFile of the rows.
			ref := filepath.Join(t.TempDir(), "varmetric.parquet")
			if err := catalog.WriteFile(ref, whole, catalog.WithConfigHash("sha256:test")); err != nil {
				t.Fatal(err)
			}
			db, err := Open(ctx, dir, Options{Threads: 1, VarMetricPoints: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			n, err := db.WriteVarMetric(ctx, catalog.WithConfigHash("sha256:test"))
			if err != nil {
				t.Fatal(err)
			}
			a, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(rundir.TablePath(dir, catalog.TableVarMetric))
			if err != nil {
				t.Fatal(err)
			}
			if n != len(whole) || !bytes.Equal(a, b) {
				t.Errorf("WriteVarMetric: %d rows, %d bytes; catalog.WriteFile: %d rows, %d bytes, identical %v",
					n, len(b), len(whole), len(a), bytes.Equal(a, b))
			}
		})
	}
}

// TestVarMetricScanStops checks that an error from the callback ends
// ScanVarMetrics with that error, that the scan removes its temporary
// folder and one a crashed scan left, and that WriteVarMetric leaves no
// file behind when the computation fails.
func TestVarMetricScanStops(t *testing.T) {
	db, dir := openHand(t)
	stale := filepath.Join(dir, varMetricTemp+"crashed")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "points.parquet"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := fmt.Errorf("enough")
	n, err := db.ScanVarMetrics(context.Background(), func(catalog.VarMetric) error { return stop })
	if err != stop || n != 0 {
		t.Errorf("ScanVarMetrics = %d, %v; want 0, %v", n, err, stop)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, varMetricTemp+"*")); len(left) > 0 {
		t.Errorf("ScanVarMetrics left %v", left)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.WriteVarMetric(ctx); err == nil {
		t.Error("WriteVarMetric with a cancelled context: no error")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), catalog.TableVarMetric) {
			t.Errorf("a failed WriteVarMetric left %s", e.Name())
		}
	}
}

// TestTwoEpochMatchesPairJoin checks gotrap_two_epoch against the
// definition written as SQL: a self-join over every pair of points of a
// light curve, the pair of the largest |Vs| first (ties to the earliest
// ids). Both compute the same floating-point operations on the same
// numbers, so the values must be equal, not close.
func TestTwoEpochMatchesPairJoin(t *testing.T) {
	dir := t.TempDir()
	if _, err := writeRandomRun(dir, 300, 16, 7); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := Open(ctx, dir, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vm, err := db.VarMetrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const pairs = `WITH pts AS (
    SELECT a.runcat, i.band, m.id AS xtrsrc, i.taustart_ts,
           m.f_int, 1 / (m.f_int_err * m.f_int_err) AS w_int,
           m.f_peak, 1 / (m.f_peak_err * m.f_peak_err) AS w_peak
    FROM associations a
    JOIN measurements m ON m.id = a.xtrsrc AND a.type <> 10
    JOIN images i ON i.id = m.image
),
pr AS (
    SELECT a.runcat, a.band, a.xtrsrc AS xa, b.xtrsrc AS xb,
           (a.f_int - b.f_int) / sqrt(1 / a.w_int + 1 / b.w_int) AS vs_int,
           CASE WHEN a.f_int + b.f_int = 0 THEN NULL ELSE 2 * (a.f_int - b.f_int) / (a.f_int + b.f_int) END AS m_int,
           (a.f_peak - b.f_peak) / sqrt(1 / a.w_peak + 1 / b.w_peak) AS vs_peak,
           CASE WHEN a.f_peak + b.f_peak = 0 THEN NULL ELSE 2 * (a.f_peak - b.f_peak) / (a.f_peak + b.f_peak) END AS m_peak
    FROM pts a
    JOIN pts b ON b.runcat = a.runcat AND b.band = a.band
     AND (a.taustart_ts < b.taustart_ts OR (a.taustart_ts = b.taustart_ts AND a.xtrsrc < b.xtrsrc))
)
SELECT vi.runcat, vi.band, vi.vs_int, vi.m_int, vp.vs_peak, vp.m_peak FROM
    (SELECT * FROM (SELECT runcat, band, vs_int, m_int,
        row_number() OVER (PARTITION BY runcat, band ORDER BY abs(vs_int) DESC, xa, xb) AS k FROM pr) WHERE k = 1) vi
JOIN
    (SELECT * FROM (SELECT runcat, band, vs_peak, m_peak,
        row_number() OVER (PARTITION BY runcat, band ORDER BY abs(vs_peak) DESC, xa, xb) AS k FROM pr) WHERE k = 1) vp
ON vp.runcat = vi.runcat AND vp.band = vi.band`
	rows, err := db.db.QueryContext(ctx, pairs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := map[[2]int64][4]float64{}
	for rows.Next() {
		var rc, band int64
		var v [4]float64
		if err := rows.Scan(&rc, &band, &v[0], &v[1], &v[2], &v[3]); err != nil {
			t.Fatal(err)
		}
		want[[2]int64{rc, band}] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vm {
		w, ok := want[[2]int64{v.Runcat, v.Band}]
		if v.NPoints < 2 {
			if ok || v.VsInt.Valid || v.MInt.Valid {
				t.Errorf("%d/%d: one point but a pair: %+v", v.Runcat, v.Band, v)
			}
			continue
		}
		n++
		got := [4]float64{v.VsInt.Float64, v.MInt.Float64, v.VsPeak.Float64, v.MPeak.Float64}
		if !ok || got != w {
			t.Errorf("%d/%d (%d points): vs_int, m_int, vs_peak, m_peak = %v, pair join %v", v.Runcat, v.Band, v.NPoints, got, w)
		}
	}
	if n < 300 {
		t.Fatalf("only %d light curves with pairs compared", n)
	}
}
