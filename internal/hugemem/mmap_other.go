//go:build !linux

package hugemem

// mapAligned is the twin of the Linux mapping where the arena maps no
// memory of its own: a chunk of the Go heap (page-aligned, as every large
// Go allocation), never advised.
func mapAligned(size int) (mem []byte, huge bool, err error) {
	return heapBytes(size), false, nil
}

// unmap does nothing: the garbage collector frees the chunk once the
// arena drops it.
func unmap([]byte) error { return nil }
