package hugemem

import (
	"sync"
	"testing"
)

// sizes are requests around the arena's thresholds: tiny, one cache
// line, a small image's plane, the largest request that shares a chunk,
// the smallest with a mapping of its own, a 1280x1280 float32 plane.
var sizes = []int{1, 63, 64, 65, 256 << 10, ChunkSize / 2, ChunkSize/2 + 1, 1280 * 1280 * 4}

// checkPlane checks that b has length and capacity n, is aligned to 64
// bytes, reads zero everywhere and keeps what is written.
func checkPlane(t *testing.T, b []byte, n int) {
	t.Helper()
	if len(b) != n || cap(b) != n {
		t.Fatalf("Alloc(%d): len %d cap %d", n, len(b), cap(b))
	}
	if p := addr(b); p%align != 0 {
		t.Fatalf("Alloc(%d) at %#x: not aligned to %d bytes", n, p, align)
	}
	for i, v := range b {
		if v != 0 {
			t.Fatalf("Alloc(%d): byte %d is %d, not zero", n, i, v)
		}
	}
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	for i, v := range b {
		if v != byte(i*7+1) {
			t.Fatalf("Alloc(%d): byte %d reads %d after writing %d", n, i, v, byte(i*7+1))
		}
	}
}

func TestAlloc(t *testing.T) {
	a := New()
	defer a.Close()
	var got [][]byte
	for _, n := range sizes {
		b := a.Alloc(n)
		checkPlane(t, b, n)
		got = append(got, b)
	}
	// No two allocations overlap: each still holds its own pattern.
	for k, b := range got {
		for i, v := range b {
			if v != byte(i*7+1) {
				t.Fatalf("allocation %d (%d bytes): byte %d overwritten by a later one", k, len(b), i)
			}
		}
	}
	if a.Alloc(0) != nil || a.Alloc(-1) != nil {
		t.Error("Alloc of no bytes is not nil")
	}
	checkMappings(t, a, got)
}

// TestConcurrent allocates and frees from several goroutines at once
// (the background's clippers do); every plane must be zeroed and its
// own. Run it with -race to check the locking.
func TestConcurrent(t *testing.T) {
	a := New()
	defer a.Close()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				n := 1000 + (g*50+i)*4096
				b := a.Alloc(n)
				for k, v := range b {
					if v != 0 {
						t.Errorf("goroutine %d: plane %d byte %d is %d, not zero", g, i, k, v)
						return
					}
				}
				for k := range b {
					b[k] = byte(g)
				}
				for k, v := range b {
					if v != byte(g) {
						t.Errorf("goroutine %d: plane %d byte %d changed by another goroutine", g, i, k)
						return
					}
				}
				if i%2 == 0 {
					a.Free(b)
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestHeapBytes checks the fallback's alignment and size.
func TestHeapBytes(t *testing.T) {
	for _, n := range []int{1, 7, 8, 4097} {
		b := heapBytes(n)
		checkPlane(t, b, n)
	}
}
