package duck

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"
)

// TestReleaseMemory: memory DuckDB frees stays resident in its allocator
// until ReleaseMemory returns it to the kernel.
func TestReleaseMemory(t *testing.T) {
	base, held := freedTable(t)
	if err := ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	after, _ := CMemory()
	t.Logf("DuckDB resident: %d MB open, %d MB after the table was dropped, %d MB after ReleaseMemory", base>>20, held>>20, after>>20)
	// The table alone is 80 MB: if fewer than 40 MB were held after the
	// drop, the allocator returned it itself and the test shows nothing.
	if held-base < 40<<20 {
		t.Skipf("DuckDB held only %d MB after the drop: the allocator returned the memory itself", (held-base)>>20)
	}
	// What is left after the release is the open database's own (base)
	// plus what the allocator keeps per thread: well under half the table.
	if after-base > (held-base)/2 {
		t.Errorf("ReleaseMemory left %d MB of the %d MB held after the drop", (after-base)>>20, (held-base)>>20)
	}
}

// freedTable opens a DuckDB, fills a table of about 80 MB (two
// BIGINT/DOUBLE columns) and drops it, and returns what DuckDB's
// allocator held resident when open and after the drop. It skips the test
// when the allocator has no statistics. The database is closed with the
// test.
func freedTable(t *testing.T) (base, held int64) {
	t.Helper()
	db, err := Open(context.Background(), t.TempDir(), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if base, _ = CMemory(); base == 0 {
		t.Skip("DuckDB's allocator has no statistics in this build: nothing to measure")
	}
	for _, q := range []string{
		"CREATE TABLE x AS SELECT range AS i, random() AS r FROM range(5000000)",
		"DROP TABLE x",
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	held, _ = CMemory()
	return base, held
}

// TestReleaseMemoryMalloc: glibc's malloc keeps freed memory that is not
// at the top of its heap (DuckDB's C++ objects held 150 MB that way in
// session 8's soak); ReleaseMemory returns it.
func TestReleaseMemoryMalloc(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	base := residentBytes(t)
	release := mallocHold(50000, 4000) // 200 MB freed, pinned by the last block
	defer release()
	held := residentBytes(t)
	if err := ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	after := residentBytes(t)
	t.Logf("resident: %d MB before, %d MB with the freed blocks held, %d MB after ReleaseMemory", base>>20, held>>20, after>>20)
	if held-base < 100<<20 {
		t.Skipf("malloc held only %d MB of the 200 MB freed: it returned the memory itself", (held-base)>>20)
	}
	// Returned: all but what other goroutines allocated meanwhile (a few
	// MB); half the held memory is a wide margin.
	if after-base > (held-base)/2 {
		t.Errorf("ReleaseMemory left %d MB of the %d MB that malloc held", (after-base)>>20, (held-base)>>20)
	}
}

// residentBytes is this process's resident set (/proc/self/statm).
func residentBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	var size, res int64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		t.Fatalf("/proc/self/statm: %v", err)
	}
	return res * int64(os.Getpagesize())
}

// TestReleaseAbove: ReleaseAbove returns the memory only when DuckDB's
// allocator holds more than the limit.
func TestReleaseAbove(t *testing.T) {
	_, held := freedTable(t)
	if did, err := ReleaseAbove(held + 1<<30); err != nil || did {
		t.Errorf("ReleaseAbove(a limit 1 GB over the %d MB held) = %v, %v; want false, nil", held>>20, did, err)
	}
	if did, err := ReleaseAbove(0); err != nil || !did {
		t.Errorf("ReleaseAbove(0) with %d MB held = %v, %v; want true, nil", held>>20, did, err)
	}
}
