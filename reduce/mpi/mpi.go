//go:build mpi

package mpi

/*
#cgo pkg-config: ompi
#include <mpi.h>
#include <stdint.h>

// Small wrappers: MPI_COMM_WORLD, MPI_IN_PLACE and the ops are macros that
// cgo cannot name directly in Open MPI.

static int gt_init(int *provided) {
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc != MPI_SUCCESS) return rc;
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}
static int gt_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int gt_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int gt_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int gt_bcast(void *buf, int count, int root) {
	return MPI_Bcast(buf, count, MPI_BYTE, root, MPI_COMM_WORLD);
}
static MPI_Op gt_op(int op) {
	switch (op) {
	case 0: return MPI_SUM;
	case 1: return MPI_MIN;
	default: return MPI_MAX;
	}
}
static int gt_allreduce_f64(double *buf, int n, int op) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, gt_op(op), MPI_COMM_WORLD);
}
static int gt_allreduce_i64(int64_t *buf, int n, int op) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_INT64_T, gt_op(op), MPI_COMM_WORLD);
}
static int gt_allgather_i64(int64_t v, int64_t *out) {
	return MPI_Allgather(&v, 1, MPI_INT64_T, out, 1, MPI_INT64_T, MPI_COMM_WORLD);
}
static int gt_allgatherv(void *send, int n, void *recv, int *counts, int *displs) {
	return MPI_Allgatherv(send, n, MPI_BYTE, recv, counts, displs, MPI_BYTE, MPI_COMM_WORLD);
}
static int gt_alltoall_i64(int64_t *send, int64_t *recv) {
	return MPI_Alltoall(send, 1, MPI_INT64_T, recv, 1, MPI_INT64_T, MPI_COMM_WORLD);
}
static int gt_alltoallv(void *send, int *scounts, int *sdispls, void *recv, int *rcounts, int *rdispls) {
	return MPI_Alltoallv(send, scounts, sdispls, MPI_BYTE, recv, rcounts, rdispls, MPI_BYTE, MPI_COMM_WORLD);
}
static int gt_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int gt_finalize(void) { return MPI_Finalize(); }
static int gt_error_string(int code, char *buf, int *len) { return MPI_Error_string(code, buf, len); }
*/
import "C"

import (
	"fmt"
	"math"
	"os"
	"sync"
	"unsafe"

	"gotrap/reduce"
)

// Available reports whether this binary was built with the mpi tag.
const Available = true

// maxChunk is the element count of one MPI call: MPI counts are C ints.
const maxChunk = math.MaxInt32

var (
	initOnce sync.Once
	world    *Comm
	initErr  error
)

// Comm is MPI_COMM_WORLD as a [reduce.Comm]. Calls are serialised by a
// mutex (MPI_THREAD_SERIALIZED); Abort does not wait for it.
type Comm struct {
	mu         sync.Mutex
	rank, size int
	finalized  bool
}

var _ reduce.Comm = (*Comm)(nil)

// Init initialises MPI with MPI_THREAD_SERIALIZED and returns the world
// communicator. Later calls return the same Comm (or the same error); MPI
// cannot be initialised again after Finalize.
func Init() (*Comm, error) {
	initOnce.Do(func() {
		var provided C.int
		if rc := C.gt_init(&provided); rc != C.MPI_SUCCESS {
			initErr = mpiError("MPI_Init_thread", rc)
			return
		}
		if provided < C.MPI_THREAD_SERIALIZED {
			initErr = fmt.Errorf("mpi: MPI_Init_thread provided thread level %d, need MPI_THREAD_SERIALIZED", int(provided))
			return
		}
		var r, s C.int
		if rc := C.gt_rank(&r); rc != C.MPI_SUCCESS {
			initErr = mpiError("MPI_Comm_rank", rc)
			return
		}
		if rc := C.gt_size(&s); rc != C.MPI_SUCCESS {
			initErr = mpiError("MPI_Comm_size", rc)
			return
		}
		world = &Comm{rank: int(r), size: int(s)}
	})
	return world, initErr
}

// Finalize ends MPI on this rank; every rank must call it before exiting
// normally (Open MPI's launcher treats an exit without it as a failure and
// stops the job). Collectives after Finalize return an error.
func (c *Comm) Finalize() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalized {
		return nil
	}
	c.finalized = true
	if rc := C.gt_finalize(); rc != C.MPI_SUCCESS {
		return mpiError("MPI_Finalize", rc)
	}
	return nil
}

func (c *Comm) Rank() int { return c.rank }
func (c *Comm) Size() int { return c.size }

// Abort writes "reduce/mpi: rank R of N aborts the job: err" to stderr and
// calls MPI_Abort(MPI_COMM_WORLD, 1), which makes the launcher kill every
// rank and exit non-zero. It does not return.
func (c *Comm) Abort(err error) {
	fmt.Fprintf(os.Stderr, "reduce/mpi: rank %d of %d aborts the job: %v\n", c.rank, c.size, err)
	// Not under c.mu: a collective of another goroutine may hold it, and
	// aborting must not wait for it.
	C.gt_abort(1)
	// MPI_Abort returning is not expected; make sure the process ends.
	panic(fmt.Sprintf("reduce/mpi: MPI_Abort returned (rank %d): %v", c.rank, err))
}

func (c *Comm) lock(op string) error {
	c.mu.Lock()
	if c.finalized {
		c.mu.Unlock()
		return fmt.Errorf("mpi: %s after Finalize", op)
	}
	return nil
}

func (c *Comm) Barrier() error {
	if err := c.lock("Barrier"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	return check("MPI_Barrier", C.gt_barrier())
}

// Bcast broadcasts the length, then the payload in chunks of at most
// MaxInt32 bytes.
func (c *Comm) Bcast(data []byte, root int) ([]byte, error) {
	if root < 0 || root >= c.size {
		panic(badRoot)
	}
	if err := c.lock("Bcast"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	n := []C.int64_t{0}
	if c.rank == root {
		n[0] = C.int64_t(len(data))
	}
	if err := check("MPI_Bcast", C.gt_bcast(unsafe.Pointer(&n[0]), 8, C.int(root))); err != nil {
		return nil, err
	}
	out := make([]byte, int(n[0]))
	if c.rank == root {
		copy(out, data)
	}
	for lo := 0; lo < len(out); lo += maxChunk {
		hi := min(lo+maxChunk, len(out))
		if err := check("MPI_Bcast", C.gt_bcast(unsafe.Pointer(&out[lo]), C.int(hi-lo), C.int(root))); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *Comm) AllreduceFloat64(buf []float64, op reduce.Op) error {
	checkOp(op)
	if err := c.lock("Allreduce"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for lo := 0; lo < len(buf); lo += maxChunk {
		hi := min(lo+maxChunk, len(buf))
		p := (*C.double)(unsafe.Pointer(&buf[lo]))
		if err := check("MPI_Allreduce", C.gt_allreduce_f64(p, C.int(hi-lo), C.int(op))); err != nil {
			return err
		}
	}
	return nil
}

func (c *Comm) AllreduceInt64(buf []int64, op reduce.Op) error {
	checkOp(op)
	if err := c.lock("Allreduce"); err != nil {
		return err
	}
	defer c.mu.Unlock()
	for lo := 0; lo < len(buf); lo += maxChunk {
		hi := min(lo+maxChunk, len(buf))
		p := (*C.int64_t)(unsafe.Pointer(&buf[lo]))
		if err := check("MPI_Allreduce", C.gt_allreduce_i64(p, C.int(hi-lo), C.int(op))); err != nil {
			return err
		}
	}
	return nil
}

// Allgatherv gathers the lengths, then the bytes into one buffer. A total
// above MaxInt32 bytes is an error on every rank alike (all know all
// lengths), so no rank is left waiting.
func (c *Comm) Allgatherv(send []byte) ([][]byte, error) {
	if err := c.lock("Allgatherv"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	lens := make([]C.int64_t, c.size)
	if err := check("MPI_Allgather", C.gt_allgather_i64(C.int64_t(len(send)), &lens[0])); err != nil {
		return nil, err
	}
	counts := make([]C.int, c.size)
	displs := make([]C.int, c.size)
	total := 0
	for i, l := range lens {
		counts[i], displs[i] = C.int(l), C.int(total)
		total += int(l)
		if total > maxChunk {
			return nil, fmt.Errorf("mpi: Allgatherv of %d+ bytes exceeds the MPI count limit of %d", total, maxChunk)
		}
	}
	recv := make([]byte, total)
	if err := check("MPI_Allgatherv", C.gt_allgatherv(ptr(send), C.int(len(send)), ptr(recv), &counts[0], &displs[0])); err != nil {
		return nil, err
	}
	return split(recv, counts, displs), nil
}

// Alltoallv exchanges the lengths, agrees on the count limit with one
// small Allreduce (a rank over the limit must not leave the others in
// MPI_Alltoallv), then packs and exchanges the bytes.
func (c *Comm) Alltoallv(send [][]byte) ([][]byte, error) {
	if len(send) != c.size {
		panic(badAlltoallv)
	}
	if err := c.lock("Alltoallv"); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	slens := make([]C.int64_t, c.size)
	stotal := 0
	for j, s := range send {
		slens[j] = C.int64_t(len(s))
		stotal += len(s)
	}
	rlens := make([]C.int64_t, c.size)
	if err := check("MPI_Alltoall", C.gt_alltoall_i64(&slens[0], &rlens[0])); err != nil {
		return nil, err
	}
	rtotal := 0
	for _, l := range rlens {
		rtotal += int(l)
	}
	big := []C.int64_t{C.int64_t(max(stotal, rtotal))}
	if err := check("MPI_Allreduce", C.gt_allreduce_i64(&big[0], 1, C.int(reduce.Max))); err != nil {
		return nil, err
	}
	if big[0] > maxChunk {
		return nil, fmt.Errorf("mpi: Alltoallv moving %d bytes on one rank exceeds the MPI count limit of %d", int64(big[0]), maxChunk)
	}
	sbuf := make([]byte, 0, stotal)
	scounts := make([]C.int, c.size)
	sdispls := make([]C.int, c.size)
	for j, s := range send {
		scounts[j], sdispls[j] = C.int(len(s)), C.int(len(sbuf))
		sbuf = append(sbuf, s...)
	}
	rcounts := make([]C.int, c.size)
	rdispls := make([]C.int, c.size)
	off := 0
	for i, l := range rlens {
		rcounts[i], rdispls[i] = C.int(l), C.int(off)
		off += int(l)
	}
	recv := make([]byte, rtotal)
	if err := check("MPI_Alltoallv", C.gt_alltoallv(ptr(sbuf), &scounts[0], &sdispls[0], ptr(recv), &rcounts[0], &rdispls[0])); err != nil {
		return nil, err
	}
	return split(recv, rcounts, rdispls), nil
}

// ptr is the address of b's first byte, or nil for an empty b (MPI reads
// no bytes for a zero count).
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

func split(buf []byte, counts, displs []C.int) [][]byte {
	out := make([][]byte, len(counts))
	for i := range counts {
		lo, hi := int(displs[i]), int(displs[i])+int(counts[i])
		out[i] = buf[lo:hi:hi]
	}
	return out
}

func checkOp(op reduce.Op) {
	if op != reduce.Sum && op != reduce.Min && op != reduce.Max {
		panic(badOp)
	}
}

func check(op string, rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	return mpiError(op, rc)
}

func mpiError(op string, rc C.int) error {
	var buf [C.MPI_MAX_ERROR_STRING]C.char
	var n C.int
	msg := "unknown error"
	if C.gt_error_string(rc, &buf[0], &n) == C.MPI_SUCCESS && n > 0 {
		msg = C.GoStringN(&buf[0], n)
	}
	return fmt.Errorf("mpi: %s: %s (error code %d)", op, msg, int(rc))
}

// Run initialises MPI, runs fn on this process's rank and finalises. When
// fn returns an error or panics, Run reports the rank and reason on stderr
// and aborts the whole job (MPI_Abort): it does not return then, and the
// launcher (mpirun, srun) exits non-zero after killing every rank. Run
// returns an error only when MPI cannot be initialised or finalised.
func Run(fn func(c reduce.Comm) error) error {
	c, err := Init()
	if err != nil {
		return err
	}
	if err := runRank(c, fn); err != nil {
		c.Abort(err)
	}
	return c.Finalize()
}

func runRank(c *Comm, fn func(c reduce.Comm) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return fn(c)
}
