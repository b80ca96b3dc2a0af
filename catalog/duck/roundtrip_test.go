package duck

import (
	"context"
	"database/sql"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

var roundTripRows = flag.Int("roundtrip.rows", 1_000_000, "measurements in TestRoundTripDuckDB (1e5 with -short)")

// synthMeasurement returns measurement i of the synthetic catalogue: a
// function of (seed, i) alone, so the test never holds all of them.
func synthMeasurement(i int) catalog.Measurement {
	rng := rand.New(rand.NewPCG(20240503, uint64(i)))
	image := int64(i/1000) + 1
	m := catalog.Measurement{
		ID: catalog.MeasurementID(image, i%1000), Image: image,
		ExtractType: int32(rng.IntN(3)), FitType: int32(rng.IntN(2)),
	}
	if m.ExtractType == catalog.ExtractForced {
		m.FFRuncat = sql.NullInt64{Int64: rng.Int64N(1 << 40), Valid: true}
	}
	if m.ExtractType == catalog.ExtractMonitor {
		m.FFMonitor = sql.NullInt64{Int64: rng.Int64N(100), Valid: true}
	}
	// Every float column: distinct random values, some special.
	fs := []*float64{&m.RA, &m.Decl, &m.RAFitErr, &m.DeclFitErr, &m.RAErr, &m.DeclErr, &m.UncertEW, &m.UncertNS,
		&m.EWSysErr, &m.NSSysErr, &m.ErrRadius, &m.X, &m.Y, &m.Z, &m.RACosDecl, &m.FPeak, &m.FPeakErr, &m.FInt,
		&m.FIntErr, &m.DetSigma, &m.XPix, &m.XPixErr, &m.YPix, &m.YPixErr, &m.Smaj, &m.SmajErr, &m.Smin, &m.SminErr,
		&m.Theta, &m.ThetaErr, &m.SmajDC, &m.SmajDCErr, &m.SminDC, &m.SminDCErr, &m.ThetaDC, &m.ThetaDCErr,
		&m.SemiMajor, &m.SemiMajErr, &m.SemiMinor, &m.SemiMinErr, &m.PA, &m.PAErr, &m.PADC, &m.PADCErr, &m.ChiSq, &m.ReducedChiSq}
	for _, f := range fs {
		*f = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4))
	}
	if i%9973 == 0 {
		m.FInt, m.FPeak, m.ChiSq = math.Inf(1), math.Copysign(0, -1), math.MaxFloat64
	}
	m.Zone = int32(math.Floor(m.Decl))
	m.Deblended, m.Blended = rng.IntN(5) == 0, rng.IntN(7) == 0
	return m
}

// TestRoundTripDuckDB writes synthetic measurements with catalog's writer
// into four rank part files and reads every value back through DuckDB's
// measurements view. It reports write and query throughput.
func TestRoundTripDuckDB(t *testing.T) {
	n := *roundTripRows
	if testing.Short() && n > 100_000 {
		n = 100_000
	}
	run := t.TempDir()
	const ranks = 4

	// wt is the writer's share of the time: Create, Write and Close,
	// without the generation of the rows.
	var wt time.Duration
	start := time.Now()
	var ws [ranks]*catalog.FileWriter[catalog.Measurement]
	for r := range ws {
		w, err := catalog.Create[catalog.Measurement](rundir.PartPath(run, catalog.TableMeasurements, r, "blind", 0),
			catalog.WithConfigHash("roundtrip"), catalog.WithSeed(20240503))
		if err != nil {
			t.Fatal(err)
		}
		ws[r] = w
	}
	wt += time.Since(start)
	batch := make([]catalog.Measurement, 0, 4096)
	for r := range ranks { // rank r writes images r, r+ranks, ... in blocks of 1000 rows
		for i0 := r * 1000; i0 < n; i0 += ranks * 1000 {
			for i := i0; i < min(i0+1000, n); i++ {
				batch = append(batch, synthMeasurement(i))
			}
			start := time.Now()
			if err := ws[r].Write(batch...); err != nil {
				t.Fatal(err)
			}
			wt += time.Since(start)
			batch = batch[:0]
		}
	}
	var bytes int64
	for _, w := range ws {
		start := time.Now()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		wt += time.Since(start)
		st, err := os.Stat(w.Path())
		if err != nil {
			t.Fatal(err)
		}
		bytes += st.Size()
	}
	raw := float64(n) * float64(len(catalog.Columns[catalog.Measurement]())) * 8 // ~8 bytes per value
	t.Logf("write: %d rows in %v: %.3g rows/s, %.3g MB/s of values, %.3g MB/s to disk (%d bytes, %.1f B/row)",
		n, wt.Round(time.Millisecond), float64(n)/wt.Seconds(), raw/wt.Seconds()/1e6, float64(bytes)/wt.Seconds()/1e6, bytes, float64(bytes)/float64(n))

	db, err := Open(context.Background(), run, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	start = time.Now()
	var cnt int64
	var sum float64
	if err := db.SQL().QueryRow("SELECT count(*), sum(f_int) FILTER (WHERE isfinite(f_int)) FROM measurements").Scan(&cnt, &sum); err != nil {
		t.Fatal(err)
	}
	at := time.Since(start)
	t.Logf("query (aggregate scan of one column): %.3g rows/s", float64(n)/at.Seconds())
	if cnt != int64(n) {
		t.Fatalf("count = %d, want %d", cnt, n)
	}

	start = time.Now()
	rows, err := db.SQL().Query("SELECT * FROM measurements ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := 0
	var got catalog.Measurement
	dst := scanTargets(&got)
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			t.Fatal(err)
		}
		if want := synthMeasurement(i); !sameMeasurement(got, want) {
			t.Fatalf("row %d: read\n%+v\nwant\n%+v", i, got, want)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rt := time.Since(start)
	if i != n {
		t.Fatalf("read %d rows, want %d", i, n)
	}
	t.Logf("query (every column, sorted, through database/sql, compared): %d rows in %v: %.3g rows/s",
		n, rt.Round(time.Millisecond), float64(n)/rt.Seconds())
	if m, _ := filepath.Glob(filepath.Join(run, "measurements", "*", ".*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// scanTargets returns pointers to every field of m in column order.
func scanTargets(m *catalog.Measurement) []any {
	return []any{&m.ID, &m.Image, &m.ExtractType, &m.FitType, &m.FFRuncat, &m.FFMonitor,
		&m.RA, &m.Decl, &m.RAFitErr, &m.DeclFitErr, &m.RAErr, &m.DeclErr, &m.UncertEW, &m.UncertNS,
		&m.EWSysErr, &m.NSSysErr, &m.ErrRadius, &m.Zone, &m.X, &m.Y, &m.Z, &m.RACosDecl,
		&m.FPeak, &m.FPeakErr, &m.FInt, &m.FIntErr, &m.DetSigma, &m.XPix, &m.XPixErr, &m.YPix, &m.YPixErr,
		&m.Smaj, &m.SmajErr, &m.Smin, &m.SminErr, &m.Theta, &m.ThetaErr, &m.SmajDC, &m.SmajDCErr,
		&m.SminDC, &m.SminDCErr, &m.ThetaDC, &m.ThetaDCErr, &m.SemiMajor, &m.SemiMajErr, &m.SemiMinor,
		&m.SemiMinErr, &m.PA, &m.PAErr, &m.PADC, &m.PADCErr, &m.ChiSq, &m.ReducedChiSq,
		&m.Deblended, &m.Blended}
}

// sameMeasurement compares bit for bit (so -0 and +0 differ).
func sameMeasurement(a, b catalog.Measurement) bool {
	pa, pb := scanTargets(&a), scanTargets(&b)
	for i := range pa {
		switch x := pa[i].(type) {
		case *float64:
			if math.Float64bits(*x) != math.Float64bits(*pb[i].(*float64)) {
				return false
			}
		case *int64:
			if *x != *pb[i].(*int64) {
				return false
			}
		case *int32:
			if *x != *pb[i].(*int32) {
				return false
			}
		case *sql.NullInt64:
			if *x != *pb[i].(*sql.NullInt64) {
				return false
			}
		case *bool:
			if *x != *pb[i].(*bool) {
				return false
			}
		default:
			panic("sameMeasurement: unexpected field type")
		}
	}
	return true
}
