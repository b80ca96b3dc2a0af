// Package duck opens a run directory's Parquet catalogue in DuckDB
// (github.com/duckdb/duckdb-go/v2) and holds gotrap's catalogue SQL: the
// varmetric computation and the named queries of "gotrap query".
//
// # Why a sub-package
//
// DuckDB needs cgo and links a 70 MB static library. This package is the
// one place in gotrap that opens DuckDB; package catalog, which the
// pipeline's writing stages import, stays pure Go, so their binaries and
// test binaries do not link DuckDB.
//
// # Views
//
// Open creates an in-memory database with one view per table of
// catalog.Tables: images, measurements, associations, runcat, runcat_flux,
// newsources, skyregions, bands, varmetric and limits, and the computed
// view vetting (VettingSQL). A view reads RUN/NAME.parquet
// and RUN/NAME/**/*.parquet (Hive-partitioned: measurements/rank=0003/...;
// the partition columns are not part of the view) and selects the table's
// columns by name, so every view has the same columns whatever its files.
// Temporary files of unfinished writers (".NAME.<random>.tmp") never match.
// A table with no files is an empty view with the right columns and types,
// so queries run on a partial run; varmetric without varmetric.parquet is
// computed on the fly by VarMetricSQL (with Options.FluxErrorFloor).
// Files are listed when Open runs. Files of an older schema version that
// lack columns added since read them as nulls (the view then reads with
// union_by_name). Open registers the scalar functions
// gotrap_chi2_log10_sf and gotrap_gauss_sigma (catalog.Log10ChiSquareSF,
// catalog.GaussSigma) that the varmetric SQL calls; they are available
// to any SQL run on the DB.
//
// Every other RUN/NAME.parquet (assocskyrgn, events), with its parts
// RUN/NAME/rank=RRRR/*.parquet (a live run's events), is a view NAME of its
// columns as written. CompatViews adds views under TraP's table names
// (image, extractedsource, runningcatalog, ...) and the VAST pipeline's
// (sources, vast_measurements, vast_associations; fluxes mJy), and the
// macro gotrap_name(ra, dec) (NameSQL) gives the IAU-style name "PREFIX
// Jhhmmss.s+ddmmss", truncated, with Options.NamePrefix.
//
// # Resources
//
// Options.Threads (default runtime.GOMAXPROCS(0)) and Options.MemoryLimit
// set DuckDB's threads and memory_limit; every connection runs with
// TimeZone UTC. The varmetric computation holds every point of the groups
// it aggregates, so ScanVarMetrics runs it over runcat ranges of about
// Options.VarMetricPoints associations each: its memory is bounded by
// that, not by the size of the run. The points are joined once and
// written sorted by runcat to a temporary Parquet file in the run
// directory (RUN/.varmetric-*/, removed when done), which each range
// reads its own row groups of.
//
// # Variability and named queries
//
// VarMetricSQL computes, per (runcat, band), n_points, n_forced, eta and V
// (integrated and peak flux, SPEC 7.1 by the two-pass textbook forms), flux
// max, mean and median, the new-source columns of SPEC 8.1, the chi-square
// with its degrees of freedom, false-alarm probability and Gaussian
// significance, and the two-epoch Vs and m of the most significant pair
// (docs/variability.md); each point's errors get Options.FluxErrorFloor. Sums are
// compensated and taken in measurement-id order, so results do not depend
// on the thread count, nor on the runcat ranges ScanVarMetrics splits it
// into. WriteVarMetric streams it to varmetric.parquet.
// Queries lists the named queries (transients, variables, variables_trap,
// lightcurve, cone, images, stats, sources); each one's SQL is in Query.SQL, with parameters
// written $name and bound as number literals by Query.Bind (a Param.Flag
// parameter is a command-line switch, set by Query.BindFlags). Query.Table
// names the columns a terminal table shows. A query with Query.Exists
// (lightcurve) checks its subject first: DB.Check, and Named, return an
// error wrapping ErrNotFound for a runcat that does not exist.
//
// # Vetting
//
// VettingSQL (the vetting view) computes per (runcat, band), on the new
// source's trigger or the brightest blind detection, the nearest
// neighbour, blend, edge, extended and new-source significance flags
// (docs/catalog.md "Vetting flags"); the transients query joins it, ranks
// unflagged new sources first and hides the flagged ones unless --all.
//
// # Units
//
// Query outputs use degrees for positions (ra, dec), Jy for integrated
// and Jy/beam for peak fluxes, Hz for frequencies, and TIMESTAMPTZ (UTC)
// for times.
//
// # Errors
//
// Everything returns errors wrapped with context; a named query that uses
// an undeclared parameter is a programmer error and panics in Bind.
package duck
