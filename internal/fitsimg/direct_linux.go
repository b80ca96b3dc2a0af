package fitsimg

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// setFlags sets the status flags of fd (fcntl F_SETFL): ReadDirect sets
// O_DIRECT so, after its checks, where a file system that refuses
// O_DIRECT fails with EINVAL. Tests replace it to stand for such a file
// system (tmpfs accepts O_DIRECT since Linux 6.6).
var setFlags = setFlagsSys

func setFlagsSys(fd, flags int) error {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, flags)
	return err
}

// cachedShare is the share of a file's pages in the page cache from
// which ReadDirect leaves the file to a read through the cache: half
// (docs/performance.md "Session 10": a read of a page in the cache costs
// less CPU than the direct read of it, and a direct read of pages in the
// cache goes to storage again).
var cachedShare = 0.5

func readDirect(buf []byte, path string) ([]byte, error) {
	if len(buf) == 0 || uintptr(unsafe.Pointer(unsafe.SliceData(buf)))%DirectAlign != 0 {
		return nil, fmt.Errorf("%w: the buffer does not start on a multiple of %d bytes", ErrNoDirect, DirectAlign)
	}
	var fd int
	// O_NONBLOCK: opening a named pipe must not wait for a writer (it is
	// refused after the fstat); cleared before the reads.
	err := retryEINTR(func() (err error) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot open: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("cannot stat: %w", err)
	}
	size := st.Size
	switch {
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		return nil, fmt.Errorf("%w: not a regular file", ErrNoDirect)
	case size <= 0:
		return nil, fmt.Errorf("%w: the file is empty", ErrNoDirect)
	case size > int64(len(buf)):
		return nil, fmt.Errorf("%w: the file's %d bytes do not fit the buffer's %d", ErrNoDirect, size, len(buf))
	}
	if residentShare(fd, size) >= cachedShare {
		return nil, ErrCached
	}
	flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err == nil {
		err = setFlags(fd, flags&^unix.O_NONBLOCK|unix.O_DIRECT)
	}
	if err != nil {
		// EINVAL: the file system refuses O_DIRECT.
		return nil, fmt.Errorf("%w: the file system refuses O_DIRECT (%v)", ErrNoDirect, err)
	}
	// Whole blocks with O_DIRECT, the last one too when buf has room for
	// it (the read stops at the file's end); what is left, the last
	// partial block or the rest after a read that ended off a block
	// boundary, through the page cache.
	end := size &^ (DirectAlign - 1)
	if up := (size + DirectAlign - 1) &^ (DirectAlign - 1); up <= int64(len(buf)) {
		end = up
	}
	n, err := preadFull(fd, buf[:end], 0, true)
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return nil, err
	}
	if n < size {
		// Without O_DIRECT: a file system may refuse a direct read of
		// the tail (EINVAL) where it accepted the blocks before it.
		if err := setFlags(fd, flags&^(unix.O_NONBLOCK|unix.O_DIRECT)); err != nil {
			return nil, fmt.Errorf("cannot read without O_DIRECT: %w", err)
		}
		m, err := preadFull(fd, buf[n:size], n, false)
		if n += m; err != nil {
			return nil, err
		}
	}
	if n != size {
		return nil, fmt.Errorf("%w: read %d of the file's %d bytes (it changed while read)", ErrTruncated, n, size)
	}
	return buf[:size], nil
}

// preadFull reads into b from offset off of fd until b is full or the
// file ends; with direct it stops at a read that ends off a block
// boundary (the next would be unaligned). It returns the bytes read.
func preadFull(fd int, b []byte, off int64, direct bool) (int64, error) {
	n := int64(0)
	for n < int64(len(b)) {
		var k int
		err := retryEINTR(func() (err error) { k, err = unix.Pread(fd, b[n:], off+n); return err })
		if err != nil {
			return n, fmt.Errorf("cannot read: %w", err)
		}
		if k == 0 {
			break
		}
		n += int64(k)
		if direct && (off+n)%DirectAlign != 0 {
			break
		}
	}
	return n, nil
}

// residentShare is the share of the pages of fd's size bytes that are in
// the page cache (mincore(2) on a mapping of the file), estimated from
// residentWindows windows of residentWindow pages each, centred on equal
// parts of the file (every page of a file of no more pages); 0 when it
// cannot be known.
func residentShare(fd int, size int64) float64 {
	m, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return 0
	}
	defer unix.Munmap(m)
	page := int64(os.Getpagesize())
	pages := (size + page - 1) / page
	windows, width := int64(residentWindows), int64(residentWindow)
	if pages <= windows*width {
		windows, width = 1, pages
	}
	var vec [residentWindow * residentWindows]byte
	in := 0
	for j := range windows {
		// The window centred on the middle of the j-th of windows parts.
		first := max(0, min(pages-width, (2*j+1)*pages/(2*windows)-width/2))
		// x/sys/unix has no Mincore wrapper for linux/amd64.
		if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[first*page])), uintptr(width*page), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
			return 0
		}
		for _, v := range vec[:width] {
			in += int(v & 1)
		}
	}
	return float64(in) / float64(windows*width)
}

// residentWindows windows of residentWindow pages are what residentShare
// looks at: mincore over every page of a 6.5 MB file (1,602 pages) took
// 72-76 us, a call of one page about 3 us in this VM (docs/performance.md
// "Session 10"), so four calls of eight pages each.
const residentWindows, residentWindow = 4, 8

// retryEINTR calls f until it fails with another error than EINTR.
func retryEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// DirectReads reports whether ReadDirect reads files on this system
// (Linux); elsewhere it always returns ErrNoDirect.
const DirectReads = true

// Resident returns the share of the pages of the file path that are in
// the page cache (mincore(2); estimated from 32 pages spread over the
// file, residentShare), 0 to 1: what ReadDirect compares with half.
func Resident(path string) (float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, &Error{Path: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, &Error{Path: path, Err: err}
	}
	if st.Size() == 0 {
		return 0, nil
	}
	return residentShare(int(f.Fd()), st.Size()), nil
}
