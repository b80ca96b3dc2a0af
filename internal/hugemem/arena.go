package hugemem

import (
	"sync"
	"unsafe"
)

// ChunkSize is the size and alignment of the arena's mappings: the
// x86-64 (and arm64 with 4 KB pages) huge page.
const ChunkSize = 2 << 20

// align is the alignment of every allocation (a cache line).
const align = 64

// chunk is one mapping: bytes [off, len(mem)) are unused.
type chunk struct {
	mem  []byte
	off  int // next free byte (shared chunks)
	live int // allocations not yet freed
}

// Arena hands out planes from mappings of its own (package doc).
type Arena struct {
	mu     sync.Mutex
	cur    *chunk             // the shared chunk being filled
	allocs map[uintptr]*chunk // start of each live allocation -> its chunk
	chunks map[*chunk]struct{}
	mapped int // bytes mapped now
	huge   bool
	closed bool
	err    error // the first failure of the system's calls
}

// New returns an empty arena; it maps nothing until the first Alloc.
func New() *Arena {
	return &Arena{allocs: map[uintptr]*chunk{}, chunks: map[*chunk]struct{}{}, huge: true}
}

// Alloc returns n zeroed bytes (package doc). n <= 0 gives nil.
func (a *Arena) Alloc(n int) []byte {
	if n <= 0 {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return heapBytes(n)
	}
	var c *chunk
	if n > ChunkSize/2 {
		if c = a.mapChunk((n + ChunkSize - 1) / ChunkSize * ChunkSize); c == nil {
			return heapBytes(n)
		}
	} else {
		if a.cur == nil || a.cur.off+n > len(a.cur.mem) {
			if a.cur != nil && a.cur.live == 0 {
				a.unmapChunk(a.cur)
			}
			if a.cur = a.mapChunk(ChunkSize); a.cur == nil {
				return heapBytes(n)
			}
		}
		c = a.cur
	}
	b := c.mem[c.off : c.off+n : c.off+n]
	c.off = min(len(c.mem), (c.off+n+align-1)/align*align)
	c.live++
	a.allocs[addr(b)] = c
	return b
}

// Free gives back b, which Alloc returned; other slices are ignored.
func (a *Arena) Free(b []byte) {
	if cap(b) == 0 {
		return
	}
	p := addr(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.allocs[p]
	if !ok {
		return
	}
	delete(a.allocs, p)
	if c.live--; c.live == 0 && c != a.cur {
		a.unmapChunk(c)
	}
}

// Close releases every mapping: the arena's slices must no longer be
// used. It is safe to call more than once.
func (a *Arena) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	var err error
	for c := range a.chunks {
		if e := a.unmapChunk(c); err == nil {
			err = e
		}
	}
	a.cur = nil
	clear(a.allocs)
	return err
}

// Mapped returns the bytes the arena has mapped now (whole chunks).
func (a *Arena) Mapped() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mapped
}

// Huge reports whether every mapping so far was advised to use huge
// pages (true before the first).
func (a *Arena) Huge() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.huge
}

// Err returns the first error of the arena's mmap(2) or munmap(2) calls
// (nil when none failed): Alloc fell back on the Go heap after a failed
// mmap, and a failed munmap leaves memory mapped until the process ends.
func (a *Arena) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// mapChunk maps a chunk of size bytes (a multiple of ChunkSize), or
// returns nil when the system refuses.
func (a *Arena) mapChunk(size int) *chunk {
	mem, huge, err := mapAligned(size)
	if err != nil {
		if a.err == nil {
			a.err = err
		}
		return nil
	}
	a.huge = a.huge && huge
	c := &chunk{mem: mem}
	a.chunks[c] = struct{}{}
	a.mapped += size
	return c
}

// unmapChunk releases c.
func (a *Arena) unmapChunk(c *chunk) error {
	delete(a.chunks, c)
	if a.cur == c {
		a.cur = nil
	}
	a.mapped -= len(c.mem)
	err := unmap(c.mem)
	if err != nil && a.err == nil {
		a.err = err
	}
	return err
}

// heapBytes is the fallback: n zeroed bytes of the Go heap, aligned to
// 64 bytes like the arena's (a []uint64's storage, 8-byte aligned, cut at
// the first 64-byte boundary).
func heapBytes(n int) []byte {
	w := make([]uint64, (n+align)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), 8*len(w))
	off := int((align - addr(b)%align) % align)
	return b[off : off+n : off+n]
}

// addr is the address of b's first byte.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
