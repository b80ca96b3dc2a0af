package reduce

import "bytes"

// Solo is the Comm of a single rank without a group (a run that is not
// under mpirun and asked for no in-process ranks): rank 0 of 1, every
// collective returns this rank's own contribution, copied. Like every
// Comm it panics on misuse a single rank can see (an unknown Op, a root
// other than 0, an Alltoallv without exactly one slice).
type Solo struct{}

// Rank returns 0.
func (Solo) Rank() int { return 0 }

// Size returns 1.
func (Solo) Size() int { return 1 }

// Barrier returns at once.
func (Solo) Barrier() error { return nil }

// Bcast returns a copy of data.
func (Solo) Bcast(data []byte, root int) ([]byte, error) {
	if root != 0 {
		panic(badRoot)
	}
	return bytes.Clone(data), nil
}

// AllreduceFloat64 leaves buf as it is (the reduction of one part).
func (Solo) AllreduceFloat64(_ []float64, op Op) error {
	checkOp(op)
	return nil
}

// AllreduceInt64 leaves buf as it is (the reduction of one part).
func (Solo) AllreduceInt64(_ []int64, op Op) error {
	checkOp(op)
	return nil
}

// Allgatherv returns a copy of send as the only part.
func (Solo) Allgatherv(send []byte) ([][]byte, error) {
	return [][]byte{bytes.Clone(send)}, nil
}

// Alltoallv returns a copy of send[0], the part this rank sent itself.
func (Solo) Alltoallv(send [][]byte) ([][]byte, error) {
	if len(send) != 1 {
		panic(badAlltoallv)
	}
	return [][]byte{bytes.Clone(send[0])}, nil
}

// Abort does nothing: there is no group to end. The caller returns its
// error.
func (Solo) Abort(error) {}
