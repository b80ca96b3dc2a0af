//go:build linux

package hugemem

import (
	"bufio"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// mapping is one entry of /proc/self/smaps.
type mapping struct {
	start, end uintptr
	flags      map[string]bool // VmFlags ("hg": advised MADV_HUGEPAGE)
	anonHugeKB int             // AnonHugePages
}

// findMapping returns the mapping of /proc/self/smaps that holds p.
func findMapping(t *testing.T, p uintptr) (mapping, bool) {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cur mapping
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			if found {
				return cur, true
			}
			s, err1 := strconv.ParseUint(lo, 16, 64)
			e, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				cur = mapping{start: uintptr(s), end: uintptr(e), flags: map[string]bool{}}
				found = cur.start <= p && p < cur.end
			}
			continue
		}
		if !found {
			continue
		}
		switch fields[0] {
		case "VmFlags:":
			for _, fl := range fields[1:] {
				cur.flags[fl] = true
			}
		case "AnonHugePages:":
			cur.anonHugeKB, _ = strconv.Atoi(fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cur, found
}

// checkMappings checks, after TestAlloc's requests (got), that the arena
// mapped the chunks it should, chunk-aligned and advised to use huge
// pages, and that each plane lies in one of them.
func checkMappings(t *testing.T, a *Arena, got [][]byte) {
	t.Helper()
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
	// Shared chunks: the requests up to ChunkSize/2 (1+64+64+128+256K+1M
	// rounded to 64-byte lines) fit one chunk; then one mapping of a chunk
	// for ChunkSize/2+1 and four for the 6.25 MB plane.
	if want := (1 + 1 + 4) * ChunkSize; a.Mapped() != want {
		t.Errorf("mapped %d bytes, want %d", a.Mapped(), want)
	}
	if !a.Huge() {
		t.Logf("the kernel refused MADV_HUGEPAGE: the arena's pages are 4 KB")
	}
	for _, b := range got {
		if len(b) > ChunkSize/2 && addr(b)%ChunkSize != 0 {
			t.Errorf("a mapping of its own at %#x is not aligned to %d bytes", addr(b), ChunkSize)
		}
		m, ok := findMapping(t, addr(b))
		if !ok {
			t.Fatalf("%d bytes at %#x: in no mapping of /proc/self/smaps", len(b), addr(b))
		}
		if m.start%ChunkSize != 0 || m.end < addr(b)+uintptr(len(b)) {
			t.Errorf("%d bytes at %#x: mapping %#x-%#x is not chunk-aligned or too short", len(b), addr(b), m.start, m.end)
		}
		if a.Huge() && !m.flags["hg"] {
			t.Errorf("mapping %#x-%#x: not advised to use huge pages (VmFlags %v)", m.start, m.end, m.flags)
		}
		t.Logf("%d bytes at %#x: mapping %#x-%#x, AnonHugePages %d kB", len(b), addr(b), m.start, m.end, m.anonHugeKB)
	}
}

// TestFree checks that a chunk is unmapped once its allocations are all
// freed, and only then; that Free ignores slices the arena did not hand
// out and double frees; and that Close unmaps everything.
func TestFree(t *testing.T) {
	a := New()
	defer a.Close()
	big := a.Alloc(3 << 20) // two chunks of its own
	if a.Mapped() != 2*ChunkSize {
		t.Fatalf("mapped %d bytes after a 3 MB plane, want %d", a.Mapped(), 2*ChunkSize)
	}
	p := addr(big)
	a.Free(big)
	if a.Mapped() != 0 {
		t.Fatalf("mapped %d bytes after freeing the only plane", a.Mapped())
	}
	if _, ok := findMapping(t, p); ok {
		t.Fatalf("%#x is still mapped after Free", p)
	}

	// Two planes share the current chunk; a third that does not fit opens
	// a new one. The first chunk goes when both of its planes are freed.
	x, y := a.Alloc(600<<10), a.Alloc(600<<10)
	z := a.Alloc(1 << 20)
	if a.Mapped() != 2*ChunkSize {
		t.Fatalf("mapped %d bytes for 600K+600K+1M, want two chunks", a.Mapped())
	}
	a.Free(x)
	a.Free(x)                // double free: ignored
	a.Free(make([]byte, 64)) // not the arena's: ignored
	a.Free(y[64:])           // not the start of an allocation: ignored
	if a.Mapped() != 2*ChunkSize {
		t.Fatalf("mapped %d bytes with y and z live, want two chunks", a.Mapped())
	}
	a.Free(y)
	if a.Mapped() != ChunkSize {
		t.Fatalf("mapped %d bytes after freeing x and y, want one chunk (z's)", a.Mapped())
	}
	for i := range z {
		z[i] = 1 // z's chunk is still there
	}
	w := a.Alloc(100)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Mapped() != 0 {
		t.Fatalf("mapped %d bytes after Close", a.Mapped())
	}
	for _, b := range [][]byte{z, w} {
		if _, ok := findMapping(t, addr(b)); ok {
			t.Fatalf("%#x is still mapped after Close", addr(b))
		}
	}
	// After Close, Alloc falls back on the Go heap.
	h := a.Alloc(5000)
	checkPlane(t, h, 5000)
	if a.Mapped() != 0 {
		t.Fatalf("Alloc after Close: %#x, %d bytes mapped", addr(h), a.Mapped())
	}
	if err := a.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestCollapseHeap checks that CollapseHeap leaves the Go heap around a
// fresh allocation backed by a huge page, and its contents unchanged.
func TestCollapseHeap(t *testing.T) {
	before := make([]byte, 100<<10)
	for i := range before {
		before[i] = byte(i * 13)
	}
	err := CollapseHeap()
	if errors.Is(err, unix.EINVAL) {
		t.Skipf("the kernel has no MADV_COLLAPSE (Linux 6.1): %v", err)
	}
	if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.ENOMEM) {
		t.Skipf("no huge page to be had, or the heap's 2 MB not all mapped: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	m, ok := findMapping(t, addr(heapSink[:]))
	if !ok {
		t.Fatal("the heap probe is in no mapping")
	}
	t.Logf("heap mapping %#x-%#x: AnonHugePages %d kB", m.start, m.end, m.anonHugeKB)
	if m.anonHugeKB < ChunkSize>>10 {
		t.Errorf("after CollapseHeap the heap's mapping has %d kB of huge pages, want at least %d", m.anonHugeKB, ChunkSize>>10)
	}
	for i, v := range before {
		if v != byte(i*13) {
			t.Fatalf("byte %d of a heap slice changed by the collapse", i)
		}
	}
}
