//go:build linux

package hugemem

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// heapSink keeps CollapseHeap's probe on the heap.
var heapSink *[64]byte

// CollapseHeap asks the kernel to back the ChunkSize-aligned 2 MB of the
// Go heap that hold a fresh allocation with one huge page
// (madvise(MADV_COLLAPSE), Linux 6.1 and later): the pages touched so far
// are copied into it, and the heap's next allocations there cost no page
// fault. The Go runtime does not advise its heap, so where transparent
// huge pages are in "madvise" mode every heap page is otherwise a 4 KB
// fault on first touch. A short process that allocates a few hundred KB
// (gotrap extract of a small image: about 150 faults) calls it once, early;
// the contents of the memory do not change. It returns the kernel's
// error (EINVAL before Linux 6.1, EAGAIN or ENOMEM when no huge page
// could be had, ENOMEM where the 2 MB are not all mapped yet), which the
// caller may ignore.
func CollapseHeap() error {
	p := new([64]byte)
	heapSink = p
	// The range is an address, not a Go pointer: it reaches beyond p's
	// object, where pointer arithmetic is invalid (checkptr says so).
	base := uintptr(unsafe.Pointer(p)) &^ (ChunkSize - 1)
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, base, ChunkSize, unix.MADV_COLLAPSE); e != 0 {
		return fmt.Errorf("hugemem: madvise(MADV_COLLAPSE) of the heap at %#x: %w", base, e)
	}
	return nil
}
