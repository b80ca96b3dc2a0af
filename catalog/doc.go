// Package catalog defines gotrap's catalogue records and writes and reads
// them as Parquet files in the run directory. It is pure Go, with a
// Parquet writer and reader of its own (catalog/internal/pq, written from
// the Parquet format specification; no Apache arrow-go, whose import alone
// cost the front binary 18 ms of start-up); the DuckDB views and named
// queries over these files
// live in the sub-package catalog/duck, the only place that links DuckDB.
//
// # Package split
//
// DuckDB needs cgo and a 70 MB static library. The pipeline's extraction
// and association stages only write Parquet, so they import catalog and
// their test binaries do not link DuckDB; only the catalogue stage, the
// query command and catalog/duck's tests do. This is "the one catalog file
// set that opens DuckDB" of DESIGN.md, made a package so that the Go
// linker, not a build tag, keeps it out of everything else.
//
// # Records and tables
//
// Each table of the run directory has a plain struct record type, filled
// by the pipeline: Image, Measurement, Association, Runcat, RuncatFlux,
// NewSource, SkyRegion, Band and VarMetric. A field's `parquet` tag is its
// column name (TraP's database names, and PySE's extraction CSV names
// where TraP has none); its `unit` tag goes into the file metadata.
// Supported field types are int64, int32, float64, bool, string,
// time.Time (stored as a UTC timestamp in microseconds: finer precision is
// dropped) and sql.NullInt64 / sql.NullFloat64 for nullable columns.
// Tables and Columns describe the schemas; docs/catalog.md lists them.
//
// # Units and conventions
//
// Positions and angles on the sky are degrees, except the TraP columns in
// arcsec (error_radius, *_sys_err, semimajor, semiminor, distance_arcsec);
// fluxes are Jy (integrated) and Jy/beam (peak); frequencies Hz; times
// UTC. Pixel coordinates are 0-based with x along FITS axis 1.
//
// # Identifiers
//
// Ids are int64 and do not depend on the number of ranks. Image ids come
// from the sorted image table; MeasurementID(image, index) = image<<24 |
// index; a running-catalogue source takes the id of the measurement that
// created it.
//
// # Files
//
// A Writer streams records into one Parquet file (zstd, row groups of at
// most WithRowGroupRows rows), holding at most one row group of records;
// each full row group is encoded column by column (PLAIN values, which
// the writer's buffers keep from one row group to the next) and written
// at once. Every file carries
// key-value metadata: gotrap.schema_version, gotrap.version (from
// runtime/debug.ReadBuildInfo), gotrap.table, gotrap.config_hash,
// gotrap.seed and gotrap.units. The same records, options and binary give
// byte-identical files.
//
// Create writes a file under a temporary name unique to the writer
// (rundir.Create: ".NAME.<random>.tmp", which no "*.parquet" glob matches) and Close syncs it, renames it to path and
// syncs the directory, so a killed writer never leaves a file that looks
// whole. Single-file tables go to rundir.TablePath(run, table); the
// measurements, written by every rank, go to rundir.PartPath(run, table,
// rank, stage, seq) under a Hive partition directory rank=RRRR.
//
// # Variability
//
// FluxStats is the running-mean state of SPEC 5.3 with the incremental
// eta and V of SPEC 7.1; the association stage stores its values on each
// Association. catalog/duck recomputes them in SQL from the stored
// measurements, and the tests check that both agree.
//
// # Errors
//
// A record type that cannot be stored (unsupported field type, duplicate
// column) and writing to a closed Writer are programmer errors and panic.
// I/O failures and files that do not match the record type return errors;
// the latter wrap ErrSchemaMismatch. A Writer's first error is sticky.
//
// # Parquet
//
// What the files are: Parquet format version 1 files with a flat schema,
// one column chunk per column and row group, v1 data pages of at most
// about 1 MiB of values (PLAIN encoding; definition levels, maximum 1,
// in the RLE/bit-packed hybrid for nullable columns), zstd, and chunk
// statistics: null count always, min and max except for double chunks
// holding a NaN (DuckDB sorts NaN above every number, so a max that left
// it out would wrongly skip the row group in x > c). int64, int32,
// float64 and bool are INT64, INT32, DOUBLE and BOOLEAN; strings
// BYTE_ARRAY with logical type STRING (converted UTF8); times INT64 with
// logical type TIMESTAMP(isAdjustedToUTC, MICROS) (converted
// TIMESTAMP_MICROS); sql.Null* columns are OPTIONAL, all others REQUIRED.
//
// What the reader reads besides: dictionary pages (PLAIN_DICTIONARY,
// RLE_DICTIONARY), v2 data pages, RLE booleans, BYTE_STREAM_SPLIT,
// uncompressed and snappy pages, OPTIONAL columns for required fields
// (an error if a null is found): the files gotrap wrote with arrow-go
// before (testdata/arrowgo) and what DuckDB's COPY writes by default.
// Nested schemas, DELTA encodings and other codecs are errors that say
// so, as is any corrupt file; the reader's allocations follow the bytes
// it decodes, within bounds (MaxRowGroupRows, 64 MiB per page).
//
// # Memory
//
// A Writer's buffers (one row group of records and its encoded columns)
// are released by Close. Strings read by Read share one allocation per
// row group and column.
package catalog
