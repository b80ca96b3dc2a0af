// Package reducetest checks an implementation of [reduce.Comm] against a
// direct computation. The in-process engine's tests and the MPI binding's
// tests (run under mpirun) call the same [Check], so the two engines are
// held to the same contract and their per-rank digests can be compared.
//
// # Payloads
//
// Every payload is a function of (seed, round, rank) through math/rand/v2's
// PCG, so each rank can recompute every other rank's contribution and hence
// the expected result of each collective without communicating. Lengths
// vary from zero up, and differ between ranks where the collective allows.
//
// # Digest
//
// [Result.Digest] hashes every result that must be bit-identical on any
// correct engine: Bcast, integer reductions, float Min and Max, Allgatherv,
// Alltoallv and the fixed-order [reduce.AllMerge] of ExactSum, Neumaier and
// Moments. Float Sum from AllreduceFloat64 is checked against the direct
// sum within the rounding bound of any summation order and left out of the
// digest, because MPI chooses its own order.
package reducetest
