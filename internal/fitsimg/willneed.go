package fitsimg

import "os"

// WillNeed tells the operating system that bytes [off, off+n) of the file
// path (n = 0: to its end) will be read soon, so that it fetches them
// from storage in the background while the caller computes: the read that
// follows then copies from the page cache instead of waiting on the disk.
// On Linux it is posix_fadvise(POSIX_FADV_WILLNEED), which starts the
// reads and returns; elsewhere it does nothing. It is a hint: it holds no
// memory of the process (the kernel may drop the pages again under
// memory pressure, and the read then goes to the disk as without it), it
// changes no byte read, and its errors are ignored (a directory such as
// a CASA image, a file gone or unreadable: the read that follows reports
// what is wrong with the file).
func WillNeed(path string, off, n int64) {
	willNeed(path, off, n)
}

// readsFew tells the operating system that few of the file f's bytes
// will be read, here and there (a header): on Linux
// posix_fadvise(POSIX_FADV_RANDOM), which turns the read-ahead of f's
// reads off, so a read fetches the pages it asks for alone; elsewhere
// nothing. It concerns this open file only, and its error is ignored
// (it changes no byte read).
func readsFew(f *os.File) { adviseRandom(f) }
