package fitsimg

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// alignedBuf returns n bytes starting on a multiple of DirectAlign.
func alignedBuf(n int) []byte {
	b := make([]byte, n+DirectAlign)
	skip := (DirectAlign - int(uintptr(unsafe.Pointer(&b[0]))%DirectAlign)) % DirectAlign
	return b[skip : skip+n : skip+n]
}

// coldImage writes a FITS image of w x h float32 pixels to dir and drops
// it from the page cache; it skips the test where the file system keeps
// files in memory (the page cache cannot be dropped).
func coldImage(t *testing.T, dir string, w, h int) (string, []byte) {
	t.Helper()
	path := filepath.Join(dir, "img.fits")
	if err := WriteFile(path, randomImage(w, h, 7), simHeader()); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dropCache(t, path)
	return path, want
}

// dropCache syncs path and drops its pages from the page cache (skipping
// the test where they stay).
func dropCache(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if n, _ := resident(t, f, int(st.Size())); n > 0 {
		t.Skipf("the file system of %s keeps files in memory (tmpfs?): %d pages still cached, no cold read to test", path, n)
	}
}

// TestReadDirect: ReadDirect reads a file not in the page cache whole and
// exactly, with O_DIRECT (its pages stay out of the page cache), whether
// or not its size is a multiple of 4 KiB: with room in the buffer for the
// last whole block the tail is read directly too; with a buffer of the
// file's size exactly, the tail goes through the page cache (its page
// alone is cached afterwards).
func TestReadDirect(t *testing.T) {
	for _, c := range []struct {
		name       string
		w, h       int
		exact      bool // a buffer of the file's size: the tail through the cache
		tailCached bool
	}{
		{name: "roomy", w: 300, h: 200},
		{name: "exact", w: 300, h: 200, exact: true, tailCached: true},
		{name: "one-block", w: 10, h: 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, want := coldImage(t, t.TempDir(), c.w, c.h)
			if len(want)%DirectAlign == 0 {
				t.Fatalf("the file's %d bytes are whole blocks: no tail to test", len(want))
			}
			n := (len(want) + DirectAlign - 1) / DirectAlign * DirectAlign
			if c.exact {
				n = len(want)
			}
			buf := alignedBuf(n)
			got, err := ReadDirect(buf, path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Fatalf("%d bytes read, not the file's %d", len(got), len(want))
			}
			if &got[0] != &buf[0] {
				t.Error("the bytes are not in the buffer given")
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			page := os.Getpagesize()
			all, _ := resident(t, f, len(want))
			tail, _ := resident(t, f, len(want)/page*page)
			tail = all - tail
			if c.tailCached {
				if all != 1 || tail != 1 {
					t.Errorf("%d pages cached (%d of the tail), want the tail's alone", all, tail)
				}
			} else if all != 0 {
				t.Errorf("%d pages cached after the read: not an O_DIRECT read", all)
			}
		})
	}
}

// TestReadDirectRefused: the cases left to the read by path give errors
// matching ErrNoDirect and read nothing; a missing file is the
// operating system's error.
func TestReadDirectRefused(t *testing.T) {
	dir := t.TempDir()
	path, want := coldImage(t, dir, 64, 48)
	roomy := alignedBuf(len(want) + DirectAlign)

	t.Run("unaligned", func(t *testing.T) {
		if _, err := ReadDirect(roomy[1:], path); !errors.Is(err, ErrNoDirect) {
			t.Errorf("error %v, want ErrNoDirect", err)
		}
	})
	t.Run("small", func(t *testing.T) {
		if _, err := ReadDirect(alignedBuf(len(want)-1), path); !errors.Is(err, ErrNoDirect) {
			t.Errorf("error %v, want ErrNoDirect", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := ReadDirect(roomy, dir); !errors.Is(err, ErrNoDirect) {
			t.Errorf("error %v, want ErrNoDirect", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		p := filepath.Join(dir, "pipe.fits")
		if err := unix.Mkfifo(p, 0o644); err != nil {
			t.Skipf("no named pipe: %v", err)
		}
		// Opening must not wait for a writer.
		if _, err := ReadDirect(roomy, p); !errors.Is(err, ErrNoDirect) {
			t.Errorf("error %v, want ErrNoDirect", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		_, err := ReadDirect(roomy, filepath.Join(dir, "missing.fits"))
		var fe *Error
		if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNoDirect) || !errors.As(err, &fe) || fe.Path == "" {
			t.Errorf("error %v, want a *Error naming the file, fs.ErrNotExist", err)
		}
	})
	t.Run("refused", func(t *testing.T) {
		// A file system that refuses O_DIRECT fails the fcntl with EINVAL.
		setFlags = func(fd, flags int) error {
			if flags&unix.O_DIRECT != 0 {
				return unix.EINVAL
			}
			_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
			return err
		}
		defer func() { setFlags = setFlagsSys }()
		if _, err := ReadDirect(roomy, path); !errors.Is(err, ErrNoDirect) || errors.Is(err, ErrCached) {
			t.Errorf("error %v, want ErrNoDirect (not ErrCached)", err)
		}
	})
	t.Run("cached", func(t *testing.T) {
		// Read through the page cache: most pages resident.
		if _, err := os.ReadFile(path); err != nil {
			t.Fatal(err)
		}
		_, err := ReadDirect(roomy, path)
		if !errors.Is(err, ErrCached) || !errors.Is(err, ErrNoDirect) {
			t.Errorf("error %v, want ErrCached matching ErrNoDirect", err)
		}
	})
}

// TestResident: the share of a file in the page cache, from the windows
// residentShare looks at: none after the cache is dropped, half after the
// first half is read (without the kernel's read-ahead), all after the
// whole file is; a small file is looked at whole.
func TestResident(t *testing.T) {
	for _, c := range []struct {
		name  string
		w, h  int
		parts []float64 // of the file read: the share expected after each
	}{
		{name: "large", w: 512, h: 512, parts: []float64{0, 0.5, 1}}, // 1 MiB: 257 pages
		{name: "small", w: 40, h: 40, parts: []float64{0, 1}},        // 3 pages, all looked at
	} {
		t.Run(c.name, func(t *testing.T) {
			path, want := coldImage(t, t.TempDir(), c.w, c.h)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM); err != nil {
				t.Fatal(err)
			}
			page := os.Getpagesize()
			for _, part := range c.parts {
				n := int(part * float64(len(want)))
				n = n / page * page
				if part == 1 {
					n = len(want)
				}
				if _, err := f.ReadAt(make([]byte, n), 0); err != nil {
					t.Fatal(err)
				}
				got, err := Resident(path)
				if err != nil {
					t.Fatal(err)
				}
				if got != part {
					t.Errorf("%d of %d bytes read: share %v, want %v", n, len(want), got, part)
				}
			}
		})
	}
}
