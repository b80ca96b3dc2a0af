//go:build linux

package hugemem

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mapAligned maps size bytes (a multiple of ChunkSize) of anonymous
// private memory starting on a ChunkSize boundary, and advises it to use
// huge pages (huge reports whether the kernel accepted the advice).
// unix.Mmap's slices cannot be unmapped in part, hence the pointer calls.
func mapAligned(size int) (mem []byte, huge bool, err error) {
	// Over-map by one chunk, then unmap the unaligned head and the tail
	// beyond size.
	raw, err := unix.MmapPtr(-1, 0, nil, uintptr(size+ChunkSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return nil, false, fmt.Errorf("hugemem: mmap %d bytes: %w", size+ChunkSize, err)
	}
	head := int((ChunkSize - uintptr(raw)%ChunkSize) % ChunkSize)
	if head > 0 {
		if err := unix.MunmapPtr(raw, uintptr(head)); err != nil {
			return nil, false, fmt.Errorf("hugemem: munmap: %w", err)
		}
	}
	start := unsafe.Add(raw, head)
	if tail := ChunkSize - head; tail > 0 {
		if err := unix.MunmapPtr(unsafe.Add(start, size), uintptr(tail)); err != nil {
			return nil, false, fmt.Errorf("hugemem: munmap: %w", err)
		}
	}
	mem = unsafe.Slice((*byte)(start), size)
	huge = unix.Madvise(mem, unix.MADV_HUGEPAGE) == nil
	return mem, huge, nil
}

// unmap releases a mapping of mapAligned.
func unmap(mem []byte) error {
	if err := unix.MunmapPtr(unsafe.Pointer(unsafe.SliceData(mem)), uintptr(len(mem))); err != nil {
		return fmt.Errorf("hugemem: munmap: %w", err)
	}
	return nil
}
