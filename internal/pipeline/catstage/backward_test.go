package catstage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"gotrap/catalog"
	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/pipeline"
)

// runWith runs the pipeline and the catalogue stage over data with cfg.
func runWith(t *testing.T, data string, cfg config.Config) string {
	t.Helper()
	return runInto(t, data, filepath.Join(t.TempDir(), "run"), cfg)
}

// runInto is runWith into the folder run.
func runInto(t *testing.T, data, run string, cfg config.Config) string {
	t.Helper()
	inputs, err := pipeline.ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(context.Background(), pipeline.Options{Run: run, Inputs: inputs, Config: cfg}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Run(context.Background(), run, Options{Threads: 1}, false); err != nil {
		t.Fatal(err)
	}
	return run
}

// TestBackwardQueries: with backward fits, the lightcurve query of a
// source first detected after the first timestep starts with its
// backward fits (extract_type 3, assoc_type 10), all before its first
// detection, and varmetric leaves them out: it equals a run without
// them, row for row.
func TestBackwardQueries(t *testing.T) {
	data, runOff := tinyRun(t) // the default: no backward fits
	on := config.Default()
	on.ForcedFits.Backward = true
	runOn := runWith(t, data, on)

	read := func(run string) []catalog.VarMetric {
		db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		v, err := db.VarMetrics(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	vOn, vOff := read(runOn), read(runOff)
	if len(vOn) == 0 || len(vOn) != len(vOff) {
		t.Fatalf("varmetric: %d rows with backward fits, %d without", len(vOn), len(vOff))
	}
	for i := range vOn {
		if a, b := fmt.Sprintf("%+v", vOn[i]), fmt.Sprintf("%+v", vOff[i]); a != b {
			t.Fatalf("varmetric row %d differs:\n%s\n%s", i, a, b)
		}
	}

	db, err := duck.Open(context.Background(), runOn, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rcs []int64
	rows, err := db.SQL().QueryContext(context.Background(), "SELECT DISTINCT runcat FROM associations WHERE type = 10 ORDER BY runcat")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r int64
		if err := rows.Scan(&r); err != nil {
			t.Fatal(err)
		}
		rcs = append(rcs, r)
	}
	rows.Close()
	if len(rcs) == 0 {
		t.Fatal("no runcat with backward fits")
	}
	for _, rc := range rcs {
		rows, err := db.Named(context.Background(), "lightcurve", []string{fmt.Sprint(rc)})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		nBack := 0
		for rows.Next() {
			var runcat, image, band int64
			var extract, atype, xtrsrc sql.NullInt64
			var kind string
			var ts, freq, fmhz, fp, fpe, fi, fie, lim, rms, ra, dec, sig any
			if err := rows.Scan(&runcat, &image, &ts, &band, &freq, &fmhz, &kind, &extract, &atype, &fp, &fpe, &fi, &fie, &lim, &rms, &ra, &dec, &sig, &xtrsrc); err != nil {
				t.Fatal(err)
			}
			if kind == "limit" {
				continue // upper limits (limits.parquet) sit beside the fits
			}
			back := extract.Int64 == catalog.ExtractBackward
			if back != (atype.Int64 == catalog.AssocBackward) || back != (kind == "backward") {
				t.Errorf("runcat %d: measurement %d has kind %s, extract_type %d, assoc_type %d", rc, xtrsrc.Int64, kind, extract.Int64, atype.Int64)
			}
			if back {
				nBack++
				types = append(types, "B")
			} else {
				types = append(types, "D")
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		// In time order: the backward fits, then the rest.
		k := slices.Index(types, "D")
		if nBack == 0 || k != nBack {
			t.Errorf("runcat %d: light curve %v: want its %d backward fits first", rc, types, nBack)
		}
	}
}
