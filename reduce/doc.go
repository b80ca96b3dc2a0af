// Package reduce is gotrap's communication layer: the [Comm] interface of
// a group of ranks and its collectives, an in-process engine ([Run]) whose
// ranks are goroutines, and mergeable statistics reduced in a fixed rank
// order ([AllMerge]). The MPI engine is in reduce/mpi and implements the
// same interface. reduce knows bytes and numbers, not sources.
//
// # Collectives
//
// Every rank calls the same collectives in the same order (the MPI rule):
// Barrier, Bcast, AllreduceFloat64 and AllreduceInt64 (Sum, Min, Max,
// element-wise, in place), Allgatherv and Alltoallv of byte slices of any
// length, zero included. Arguments are not retained: a caller may reuse its
// buffers as soon as a call returns, and owns the slices it gets back.
// Results for the same inputs are identical on both engines, except the
// rounding of a float Sum (see # Determinism). Under MPI, Min and Max of
// NaN and of signed zeros follow the MPI library; in-process they follow
// math.Min and math.Max.
//
// [Solo] is the Comm of a single rank without a group, and [Counting]
// wraps any Comm to count the calls, bytes and time of its collectives
// ([CommStat]).
//
// # Determinism
//
// STYLE 13: a result must not change with the number of ranks. Three
// levels are available, from cheapest to strongest:
//
//   - AllreduceFloat64 with Sum rounds in an order the engine chooses: the
//     in-process engine adds in rank order, Open MPI picks an algorithm by
//     message size and rank count. Its bits can differ between rank counts
//     and engines (by up to (n-1)·u·Σ|x|, u = 2^-53). Use it only where
//     that cannot change a decision or an output: integer-valued floats
//     below 2^53 (exact in any order), progress and timing totals, or
//     values used as a tolerance. Integer sums (AllreduceInt64) and
//     Min/Max are exact and order-independent; prefer counting in int64.
//   - [AllMerge] gathers each rank's encoded [Mergeable] state and merges
//     the parts in rank order 0..n-1 on every rank, so all ranks and both
//     engines get the same bits for the same split. [Neumaier] (compensated
//     sum) and [Moments] (weighted mean and M2, Chan-Golub-LeVeque merge)
//     are accurate but still round per merge, so a different split may
//     change the last bits.
//   - [ExactSum] never rounds until [ExactSum.Float64], which returns the
//     correctly rounded sum: with AllMerge it is bit-identical for any
//     number of ranks and any split. Use it for every float total that is
//     written to the catalogue or compared across runs.
//
// Where a statistic needs more than sums (a median, an ordered scan),
// gather the items themselves with Allgatherv keyed by a rank-independent
// id and compute on the sorted whole.
//
// # Failure
//
// A rank fails when its function returns an error, panics or calls
// [Comm.Abort]. In-process, the group is then poisoned: every rank blocked
// in, or later entering, a collective returns an error wrapping the first
// failure, a *[RankError] that matches [ErrRankFailed] and names the rank
// and reason; [Run] returns that *RankError once all ranks have returned.
// A rank that returns nil while others wait in a collective, and ranks
// whose calls do not match (kind, op, root, length), also fail the group,
// so no rank hangs. Under MPI, a failure aborts the job (MPI_Abort) and the
// launcher ends every rank (reduce/mpi).
//
// # Panics and errors
//
// Misuse that a single rank can see panics: an unknown Op, a root out of
// range, an Alltoallv without one slice per rank (under Run a panic is a
// rank failure). Failures of the group, mismatched calls between ranks and
// undecodable state (ErrCorrupt) are errors.
//
// # CPUs
//
// Inside a rank, kernels use a worker pool of [CPUs] goroutines: Go 1.26
// already derives GOMAXPROCS from the affinity mask (mpirun or Slurm
// binding) and cgroup quota; CPUs adds Slurm's SLURM_CPUS_PER_TASK, which
// no mask enforces when tasks are not bound. [LimitGOMAXPROCS] applies it.
package reduce
