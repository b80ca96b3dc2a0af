package catalog

import "errors"

// Panic messages for programmer errors (a record type the writer cannot
// store, misuse of a closed writer, an id out of range).
const (
	errNotStruct   = "catalog: record type %v is not a struct"
	errFieldType   = "catalog: record type %v: field %s has unsupported type %v"
	errDupColumn   = "catalog: duplicate column %q in %v"
	errNoColumns   = "catalog: record type %v has no parquet columns"
	errClosed      = "catalog: write to a closed writer"
	errBadImageID  = "catalog: image id out of range [0, 2^39)"
	errBadSrcIndex = "catalog: source index out of range [0, 2^24)"
	errBadRowGroup = "catalog: row group size must be in [1, MaxRowGroupRows]"
)

// Errors returned for data problems; test with errors.Is.
var (
	// ErrSchemaMismatch means a file's columns do not match the record type.
	ErrSchemaMismatch = errors.New("catalog: schema mismatch")
	// ErrAborted is returned by writes after Abort.
	ErrAborted = errors.New("catalog: writer aborted")
)
