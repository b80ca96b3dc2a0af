// Package catstage is the catalogue stage of "gotrap run": it opens the
// run directory's Parquet catalogue in DuckDB (catalog/duck) and
// materialises varmetric.parquet (SPEC 7, per runcat and band). It is a
// package of its own so that only it, not the rest of internal/pipeline
// and its tests, links DuckDB.
//
// # Resources
//
// DuckDB gets Options.Threads threads (0: GOMAXPROCS, the CPUs this
// process was given, never the whole node) and Options.MemoryLimit ("":
// 1 GB per thread; "gotrap run" passes three quarters of the rank's
// memory allowance, docs/performance.md "Memory"). varmetric is computed
// over runcat ranges (duck.DB.ScanVarMetrics) of at most
// duck.DefaultVarMetricPoints associations, fewer when the memory limit
// is small (one per 16 KiB of it, at least 1024), so the stage's memory
// does not grow with the run; what DuckDB's allocator keeps between
// ranges is returned above duck.DefaultRetain. Before DuckDB starts, the
// Go heap that the earlier stages left is returned to the operating
// system, and DuckDB's memory after it closes.
//
// # Errors
//
// Errors wrap DuckDB's and catalog's with the run directory named; the
// manifest records the stage only when varmetric.parquet is complete.
package catstage

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/rundir"
	"gotrap/reduce"
)

// Options set DuckDB's resources.
type Options struct {
	Threads     int    // DuckDB's threads (0: GOMAXPROCS)
	MemoryLimit string // DuckDB's memory_limit, e.g. "768MiB" ("": 1 GB per thread)
}

// minDuckDB is the smallest memory_limit DuckDBMemory gives DuckDB.
const minDuckDB = 64 << 20

// DuckDBMemory returns DuckDB's memory_limit (bytes) for a rank's memory
// allowance: reduce.GoMemoryLimit's three quarters, as the Go runtime's
// (the two are not busy at the same time: the catalogue stage runs after
// the others), and at least 64 MiB. It panics if allowance is not
// positive.
func DuckDBMemory(allowance int64) int64 {
	return max(reduce.GoMemoryLimit(allowance), minDuckDB)
}

// bytesPerPoint is the DuckDB memory_limit budgeted per association of
// a varmetric range: about 5 times the 3.2 kB measured
// (duck.DefaultVarMetricPoints).
const bytesPerPoint = 16 << 10

// varMetricPoints returns the associations per varmetric range for a
// DuckDB memory_limit: duck.DefaultVarMetricPoints, or one per
// bytesPerPoint of the limit when that is fewer (at least 1024). A limit
// config.ParseMemory cannot read leaves the default.
func varMetricPoints(memoryLimit string) int {
	b, err := config.ParseMemory(memoryLimit)
	if err != nil {
		return duck.DefaultVarMetricPoints
	}
	return int(max(min(b/bytesPerPoint, duck.DefaultVarMetricPoints), 1024))
}

// writeVarMetric writes RUN/varmetric.parquet with DuckDB.
func writeVarMetric(ctx context.Context, run, configHash string, opt Options) (int, error) {
	th := opt.Threads
	if th <= 0 {
		th = runtime.GOMAXPROCS(0)
	}
	mem := opt.MemoryLimit
	if mem == "" {
		mem = fmt.Sprintf("%dGB", th)
	}
	// The earlier stages' garbage would otherwise stay resident next to
	// DuckDB's memory, which the Go runtime does not see.
	debug.FreeOSMemory()
	vc, err := config.RunVariability(run)
	if err != nil {
		return 0, fmt.Errorf("catstage: %s: %w", run, err)
	}
	db, err := duck.Open(ctx, run, duck.Options{Threads: th, MemoryLimit: mem, VarMetricPoints: varMetricPoints(mem), FluxErrorFloor: vc.FluxErrorFloor})
	if err != nil {
		return 0, fmt.Errorf("catstage: %s: %w", run, err)
	}
	n, err := db.WriteVarMetric(ctx, catalog.WithConfigHash(configHash))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	// What DuckDB freed goes back to the system before the events
	// (internal/respond), which open DuckDB again.
	if rerr := duck.ReleaseMemory(); err == nil {
		err = rerr
	}
	if err != nil {
		return 0, fmt.Errorf("catstage: %s: %w", run, err)
	}
	return n, nil
}

// Run writes RUN/varmetric.parquet and records the catalogue stage in
// the manifest. It returns the number of varmetric rows. With resume, a
// catalogue stage the manifest records as done is skipped (rows -1).
func Run(ctx context.Context, run string, opt Options, resume bool) (int, time.Duration, error) {
	t0 := time.Now()
	m, err := rundir.ReadManifest(run)
	if err != nil {
		return 0, 0, err
	}
	if !m.Done(pipeline.StageTables) {
		return 0, 0, fmt.Errorf("catstage: %s: the catalogue tables are not complete", run)
	}
	if resume && m.Done(pipeline.StageVarMetric) {
		return -1, 0, nil
	}
	n, err := writeVarMetric(ctx, run, m.ConfigHash, opt)
	if err != nil {
		return 0, 0, err
	}
	if err := rundir.MarkStage(run, pipeline.StageVarMetric, t0, n); err != nil {
		return 0, 0, err
	}
	return n, time.Since(t0), nil
}
