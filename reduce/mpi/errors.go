package mpi

import "errors"

// Panic messages for programmer errors (the same misuse panics in the
// in-process engine).
const (
	badRoot      = "reduce/mpi: root rank out of range"
	badOp        = "reduce/mpi: unknown Op"
	badAlltoallv = "reduce/mpi: Alltoallv needs one send slice per rank"
)

// ErrNotBuilt is returned by Init and Run in a binary built without the
// mpi build tag.
var ErrNotBuilt = errors.New("reduce/mpi: gotrap was built without MPI support (rebuild with -tags mpi)")
