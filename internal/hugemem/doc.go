// Package hugemem is an arena of memory outside the Go heap for the
// image-sized planes of one extraction worker (kernels.Planes): float32,
// int32 and bool planes that hold no Go pointers, so the garbage
// collector never scans them.
//
// # Why
//
// A fresh 4 KB page costs a page fault on its first touch; in a virtual
// machine one costs 13-27 us (docs/performance.md "Session 9"), which
// for a one-image `gotrap extract` of a 256x256 image is most of its run.
// Where transparent huge pages are enabled in "madvise" mode the Go
// runtime's heap gets none (the runtime does not advise it), while memory
// of this arena is mapped with mmap(2) and advised with
// madvise(MADV_HUGEPAGE): a 2 MB page is one fault.
//
// # Contract
//
// Alloc(n) returns n zeroed bytes, aligned to 64 bytes, valid until they
// are freed or the arena is closed; their capacity is n. Requests of up to
// half a chunk (ChunkSize, 2 MB, the x86-64 huge page) share chunks, bump
// allocated; larger ones get a mapping of their own, rounded up to whole
// chunks. On Linux every mapping starts on a chunk boundary, so the kernel
// can back it with huge pages. Memory is never handed out twice: Free(b) releases
// b's chunk when every allocation in it has been freed (munmap), and
// Close releases all. Free ignores slices that Alloc did not return (such
// as Go-allocated ones) and double frees. After Close the arena's memory
// is gone: a slice of it still in use faults (SIGSEGV), it is never read
// silently. Alloc after Close, or when mmap fails, falls back on the Go
// heap (zeroed and aligned alike), so a caller never has to check.
//
// An Arena is safe for concurrent use (the background's clippers allocate
// from their goroutines).
//
// # The Go heap
//
// CollapseHeap asks the kernel (madvise(MADV_COLLAPSE), Linux 6.1) to
// put the Go heap's current 2 MB into one huge page, for a short process
// whose heap fits in it: gotrap extract calls it once at its start. It
// changes no memory's contents; a refusal changes nothing.
//
// # Platforms
//
// On Linux the arena maps memory as above; Huge reports whether the
// kernel accepted MADV_HUGEPAGE (it refuses where transparent huge pages
// are not built in; the memory is then used with 4 KB pages). Elsewhere
// (a build-tagged twin) the chunks are Go heap memory, never advised,
// which the garbage collector frees once the arena lets go of them.
package hugemem
