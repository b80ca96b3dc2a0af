package duck

/*
#include <malloc.h>
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

// DuckDB's own allocations go through the jemalloc it is built with
// (symbols prefixed duckdb_je_); everything else of C and C++ through
// glibc's malloc.
extern int duckdb_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);

// gotrap_je_resident is jemalloc's resident bytes (0 where its statistics
// are not built in).
static size_t gotrap_je_resident(void) {
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	if (duckdb_je_mallctl("epoch", &epoch, &sz, &epoch, sz) != 0) {
		return 0;
	}
	size_t v = 0;
	sz = sizeof(v);
	if (duckdb_je_mallctl("stats.resident", &v, &sz, NULL, 0) != 0) {
		return 0;
	}
	return v;
}

// gotrap_je_purge returns the freed pages of every jemalloc arena to the
// kernel (4096 is MALLCTL_ARENAS_ALL).
static int gotrap_je_purge(void) {
	return duckdb_je_mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
}

// gotrap_malloc_trim returns the free pages of every glibc malloc arena
// to the kernel.
static void gotrap_malloc_trim(void) {
	malloc_trim(0);
}

// gotrap_malloc_hold allocates n blocks of size bytes, touches them and
// frees all but the last, which keeps the freed memory from being
// returned at the top of the heap: what DuckDB's objects leave behind
// (TestReleaseMemory). It returns the last block (free it with free).
static void *gotrap_malloc_hold(size_t n, size_t size) {
	void *last = NULL;
	void **blocks = malloc(n * sizeof(void *));
	if (blocks == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		blocks[i] = malloc(size);
		if (blocks[i] != NULL) {
			memset(blocks[i], 1, size);
		}
	}
	for (size_t i = 0; i + 1 < n; i++) {
		free(blocks[i]);
	}
	last = blocks[n - 1];
	free(blocks);
	return last;
}

static size_t gotrap_malloc_in_use(void) {
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// CMemory is the C memory of this process: DuckDB's (the resident bytes of
// the jemalloc it is built with, freed pages not yet returned included;
// 0 where its statistics are not built in) and the rest of C and C++
// (glibc malloc's bytes in use, mmapped blocks included). `gotrap watch`
// puts it in RUN/status.json (docs/live.md "Memory").
func CMemory() (duckdbResident, mallocInUse int64) {
	return int64(C.gotrap_je_resident()), int64(C.gotrap_malloc_in_use())
}

// ReleaseMemory returns the memory that DuckDB and the C and C++ code
// have freed to the kernel. DuckDB's allocator keeps freed pages for
// reuse and returns them only when that allocator is busy again: a
// process that opens DuckDB over and over, or keeps one open across a
// long run (`gotrap watch`'s events stream), sees its resident memory
// creep up by what each query freed (about 0.8 MB per commit on the
// aartfaac preset; docs/live.md "Memory"). The rest of DuckDB's C++
// objects come from glibc's malloc, whose per-thread arenas keep freed
// memory too: in session 8's soak they held about 150 MB resident for 5
// MB in use (malloc_trim returns it). The watch calls it after each
// commit; it costs a few milliseconds.
func ReleaseMemory() error {
	if rc := C.gotrap_je_purge(); rc != 0 {
		return fmt.Errorf("duck: release memory: jemalloc error %d", int(rc))
	}
	C.gotrap_malloc_trim()
	return nil
}

// DefaultRetain is the memory that DuckDB's allocator may keep between
// the pieces of a computation made in pieces (ScanVarMetrics' ranges,
// the run's events in windows) before ReleaseAbove returns it. Measured
// on the RSM-scale catalogue's varmetric (docs/performance.md, session
// 9): without it the allocator kept 150-300 MB from range to range;
// returning the memory after every range held the stage at about 140 MB
// but cost 45% more CPU time (the pages are faulted in again by the next
// range), at 128 MB still 20-30% more; at 192 MB it releases only
// when the memory piles up, at no measurable cost.
const DefaultRetain = 192 << 20

// ReleaseAbove calls ReleaseMemory when DuckDB's allocator holds more
// than limit bytes resident (CMemory), and reports whether it did. Where
// the allocator's statistics are not built in, it does nothing.
func ReleaseAbove(limit int64) (bool, error) {
	if je, _ := CMemory(); je <= limit {
		return false, nil
	}
	return true, ReleaseMemory()
}

// mallocHold makes glibc's malloc hold about n*size freed bytes (for
// TestReleaseMemory); release frees the block that pins them.
func mallocHold(n, size int) (release func()) {
	p := C.gotrap_malloc_hold(C.size_t(n), C.size_t(size))
	return func() { C.free(unsafe.Pointer(p)) }
}
