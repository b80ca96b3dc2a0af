package fitsimg

import "errors"

// DirectAlign is the alignment that ReadDirect needs of its buffer: the
// start of the buffer a multiple of it (O_DIRECT's rule; 4 KiB covers
// the logical block size of every usual device).
const DirectAlign = 4096

// ErrNoDirect: ReadDirect did not read the file, which is to be read by
// its path as usual (ReadInto): the reason is in the message (the file
// system refuses O_DIRECT, the file does not fit the buffer, it is not a
// regular file, not Linux...). ErrCached is one of its reasons.
var ErrNoDirect = errors.New("not read directly")

// ErrCached: ReadDirect did not read the file because most of it is in
// the page cache already, where a read through the cache costs less than
// a read from storage (docs/performance.md "Session 10"). It matches
// ErrNoDirect too.
var ErrCached = &cachedError{}

type cachedError struct{}

func (*cachedError) Error() string        { return "most of the file is in the page cache" }
func (*cachedError) Is(target error) bool { return target == ErrNoDirect }

// ReadDirect reads the whole file path into buf and returns buf[:size]:
// on Linux with O_DIRECT, the device's DMA into buf without the page
// cache (a quarter of the CPU of a read through the cache of a file not
// in it; docs/performance.md "Session 10"), for a pipeline that reads
// each image once, ahead of its use (internal/pipeline's read-ahead).
// buf must start on a multiple of DirectAlign and hold the file; bytes
// past the file's end up to the next multiple of DirectAlign may be
// overwritten when buf has room for them, else the last partial block is
// read through the page cache.
//
// It reads nothing and returns an error matching ErrNoDirect when the
// file is better read by path: buf unaligned or too small, not a regular
// file, a file system that refuses O_DIRECT, most of the file's pages in
// the page cache (ErrCached: resident pages are counted with mincore(2)
// first), or not Linux. Other errors (the file is missing, a read fails
// or ends early) are *Error naming the file; the reader by path reports
// them as it would without ReadDirect.
func ReadDirect(buf []byte, path string) ([]byte, error) {
	data, err := readDirect(buf, path)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	return data, nil
}
