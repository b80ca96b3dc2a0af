// Package mpi binds gotrap's [reduce.Comm] to the system Open MPI through
// cgo. It is compiled with the build tag mpi; without it the package only
// reports [Available] = false and [Init] and [Run] return [ErrNotBuilt], so
// the default build and its tests need no MPI installation.
//
// # Build and test
//
//	go build -tags mpi ./cmd/gotrap          # needs libopenmpi-dev (pkg-config ompi)
//	go vet -tags mpi ./reduce/...
//	go test -tags mpi ./reduce/mpi/          # launches mpirun -np 1, 2, 4
//	go test -tags mpi -run '^$' -bench . ./reduce/mpi/
//
// The tests re-execute their own binary under mpirun with --oversubscribe
// --bind-to none (and the variables that allow running as root), and skip
// when mpirun is not installed.
//
// # Launching
//
//	mpirun -np 4 --bind-to none gotrap run ...     # or: -c N to give each rank N cores
//	srun --mpi=pmix gotrap run ...
//
// mpirun binds each rank to one core by default, so Go sees GOMAXPROCS=1:
// pass --bind-to none or -c N. With more ranks than cores set
// OMPI_MCA_mpi_yield_when_idle=1, or busy-polling ranks starve each other.
// As root, Open MPI needs OMPI_ALLOW_RUN_AS_ROOT=1 and
// OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1. [Launched] tells whether a launcher
// started the process.
//
// # Threads
//
// MPI is initialised with MPI_THREAD_SERIALIZED: goroutines may call from
// any OS thread, and a mutex in [Comm] makes the calls one at a time.
// Collectives are blocking; one goroutine per rank should drive them.
//
// # Limits
//
// MPI counts are C ints. Allreduce and Bcast split larger buffers into
// chunks; Allgatherv and Alltoallv return an error, on every rank alike,
// when one rank would receive or send more than MaxInt32 bytes.
//
// # Failure
//
// MPI errors are returned (MPI_ERRORS_RETURN), wrapped with the call's
// name and the library's message. [Comm.Abort] prints the rank and reason
// to stderr and calls MPI_Abort, so mpirun kills every rank and exits
// non-zero; [Run] does that when the rank's function returns an error or
// panics. A rank that dies (SIGKILL, OOM) is detected by the launcher,
// which ends the job the same way (measured: about 1 s after SIGKILL, under
// 0.1 s after MPI_Abort). A rank that exits without Finalize also ends the
// job.
package mpi
