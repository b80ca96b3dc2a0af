package fitsimg

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident returns how many of the pages of f's first size bytes are in
// the page cache (mincore(2)), and the number of pages.
func resident(t *testing.T, f *os.File, size int) (int, int) {
	t.Helper()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (size+page-1)/page)
	// x/sys/unix has no Mincore wrapper for linux/amd64.
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n, len(vec)
}

// TestWillNeedReadsAhead: after the page cache of a file is dropped,
// WillNeed brings the announced range back into it without a read by
// the process, and only that range.
func TestWillNeedReadsAhead(t *testing.T) {
	const size = 8 << 20
	path := filepath.Join(t.TempDir(), "img.fits")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if n, all := resident(t, f, size); n == all {
		t.Skipf("the file system of %s keeps files in memory (tmpfs?): the page cache cannot be dropped to test the hint", path)
	}
	// The first half only: the second must stay out of the cache.
	WillNeed(path, 0, size/2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, all := resident(t, f, size/2)
		if n == all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d pages of the announced range in the page cache after 10 s", n, all)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The kernel's own readahead may take a little beyond the range
	// (its window, 128 KiB by default), not the 4 MiB that follow.
	if n, all := resident(t, f, size); n > all/2+all/8 {
		t.Errorf("%d of %d pages in the page cache after announcing the first half", n, all)
	}
	// A directory and a missing file are ignored (the read reports them).
	WillNeed(t.TempDir(), 0, 0)
	WillNeed(filepath.Join(t.TempDir(), "missing.fits"), 0, 0)
}

// TestHeaderReadsFew: ReadMeta and ReadHeader of a file not in the page
// cache bring into it the pages of what they read (the header, in
// chunks of headerChunk bytes) and no more: the read-ahead is off for
// their reads (readsFew). A plain read of the same bytes brings the
// kernel's read-ahead window beyond them (logged, as it depends on the
// device's read_ahead_kb: 32 pages here, and 327 KB a file of the RSM
// stack through ReadMeta before the hint, docs/performance.md "Session
// 11").
func TestHeaderReadsFew(t *testing.T) {
	path, data := coldImage(t, t.TempDir(), 1024, 1024) // 4 MiB of pixels
	page := os.Getpagesize()
	// The first chunk holds this header; its pages, plus one that the
	// chunk's end straddles.
	want := (headerChunk+page-1)/page + 1
	for _, c := range []struct {
		name string
		read func() error
	}{
		{"ReadMeta", func() error { _, err := ReadMeta(path, Options{}); return err }},
		{"ReadHeader", func() error { _, err := ReadHeader(path); return err }},
		{"plain", func() error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.ReadAt(make([]byte, headerChunk), 0)
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dropCache(t, path)
			if err := c.read(); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			n, all := resident(t, f, len(data))
			if c.name == "plain" {
				t.Logf("a plain read of %d bytes brought %d of %d pages into the page cache", headerChunk, n, all)
				return
			}
			if n < 1 || n > want {
				t.Errorf("%d of %d pages in the page cache after the read, want 1 to %d (a read of %d bytes)", n, all, want, headerChunk)
			}
		})
	}
}
