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
// 1 GB per thread).
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
	"time"

	"gotrap/catalog"
	"gotrap/catalog/duck"
	"gotrap/internal/pipeline"
)

// Options set DuckDB's resources.
type Options struct {
	Threads     int
	MemoryLimit string
}

// Run writes RUN/varmetric.parquet and records the catalogue stage in
// the manifest. It returns the number of varmetric rows. With resume, a
// catalogue stage the manifest records as done is skipped (rows -1).
func Run(ctx context.Context, run string, opt Options, resume bool) (int, time.Duration, error) {
	t0 := time.Now()
	m, err := pipeline.ReadManifest(run)
	if err != nil {
		return 0, 0, err
	}
	if !m.Done(pipeline.StageAssociate) {
		return 0, 0, fmt.Errorf("catstage: %s: the association stage is not complete", run)
	}
	if resume && m.Done(pipeline.StageCatalogue) {
		return -1, 0, nil
	}
	th := opt.Threads
	if th <= 0 {
		th = runtime.GOMAXPROCS(0)
	}
	mem := opt.MemoryLimit
	if mem == "" {
		mem = fmt.Sprintf("%dGB", th)
	}
	db, err := duck.Open(ctx, run, duck.Options{Threads: th, MemoryLimit: mem})
	if err != nil {
		return 0, 0, fmt.Errorf("catstage: %s: %w", run, err)
	}
	n, err := db.WriteVarMetric(ctx, catalog.WithConfigHash(m.ConfigHash))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, fmt.Errorf("catstage: %s: %w", run, err)
	}
	if err := pipeline.MarkStage(run, pipeline.StageCatalogue, t0, n); err != nil {
		return 0, 0, err
	}
	return n, time.Since(t0), nil
}
