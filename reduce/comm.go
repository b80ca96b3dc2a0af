package reduce

import (
	"errors"
	"fmt"
)

// Comm is a group of ranks that run the same program and meet in
// collectives. Every rank must call the same collectives in the same order
// with compatible arguments (the MPI rule); a collective returns only when
// every rank has entered it, or with an error when the group has failed.
//
// A Comm is used by one goroutine at a time (its rank's); the MPI
// implementation additionally serialises calls with a mutex.
type Comm interface {
	// Rank is this rank's number in [0, Size).
	Rank() int
	// Size is the number of ranks.
	Size() int

	// Barrier returns when every rank has entered it.
	Barrier() error

	// Bcast returns a copy of root's data on every rank. Other ranks'
	// data arguments are ignored (pass nil); lengths need not be known in
	// advance.
	Bcast(data []byte, root int) ([]byte, error)

	// AllreduceFloat64 replaces buf element-wise by op over all ranks'
	// bufs, which must have the same length on every rank. Sum is rounded
	// in an order that the implementation chooses (see the package doc,
	// # Determinism): use [AllMerge] where bits must not depend on the
	// number of ranks.
	AllreduceFloat64(buf []float64, op Op) error
	// AllreduceInt64 is AllreduceFloat64 for int64. Sum wraps on overflow
	// (two's complement), which keeps it exact and order-independent.
	AllreduceInt64(buf []int64, op Op) error

	// Allgatherv returns every rank's send slice, indexed by rank.
	// Contributions may differ in length and may be empty. The result is
	// owned by the caller; its slices may share one backing array.
	Allgatherv(send []byte) ([][]byte, error)

	// Alltoallv sends send[j] to rank j and returns recv, where recv[i] is
	// what rank i sent to this rank. len(send) must equal Size (it panics
	// otherwise). The result is owned by the caller; its slices may share
	// one backing array.
	Alltoallv(send [][]byte) ([][]byte, error)

	// Abort stops the whole group because of err. Under MPI it calls
	// MPI_Abort and does not return. In-process, it marks the group as
	// failed (every rank blocked in, or later entering, a collective gets
	// an error wrapping [ErrRankFailed]) and returns; the caller then
	// returns its error.
	Abort(err error)
}

// Op is a reduction operator of AllreduceFloat64 and AllreduceInt64.
type Op int

const (
	Sum Op = iota
	Min
	Max
)

func (op Op) String() string {
	switch op {
	case Sum:
		return "sum"
	case Min:
		return "min"
	case Max:
		return "max"
	}
	return fmt.Sprintf("Op(%d)", int(op))
}

// ErrRankFailed marks an error caused by the failure of a rank: returned
// from the collectives of the surviving ranks and from [Run]. Test for it
// with errors.Is and extract the rank with errors.As on *[RankError].
var ErrRankFailed = errors.New("rank failed")

// RankError is the failure of one rank: the error it returned or passed to
// Abort, or the panic it raised. It matches [ErrRankFailed] under errors.Is
// and unwraps to the rank's own error.
type RankError struct {
	Rank int
	Err  error
}

func (e *RankError) Error() string {
	return fmt.Sprintf("reduce: rank %d failed: %v", e.Rank, e.Err)
}

// Unwrap returns the rank's own error.
func (e *RankError) Unwrap() error { return e.Err }

// Is reports whether target is ErrRankFailed.
func (e *RankError) Is(target error) bool { return target == ErrRankFailed }
