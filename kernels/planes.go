package kernels

import "unsafe"

// Planes supplies the storage of a Detector's image-sized planes
// (Detector.SetPlanes): memory outside the Go heap, such as
// internal/hugemem's arena of huge pages. Alloc returns n zeroed bytes
// aligned to at least 8 bytes, or nil to fall back on the Go heap; Free
// gives back a whole slice that Alloc returned and ignores any other
// slice. The memory holds only float32, float64, int32 and bool values,
// never a Go pointer. Alloc and Free may be called from several
// goroutines at once.
type Planes interface {
	Alloc(n int) []byte
	Free(b []byte)
}

// planeElem are the element types of planes.
type planeElem interface {
	~float32 | ~float64 | ~int32 | ~bool
}

// makePlane returns a zeroed slice of n values from p, or make's when p
// is nil or refuses.
func makePlane[T planeElem](p Planes, n int) []T {
	if p == nil || n == 0 {
		return make([]T, n)
	}
	var z T
	b := p.Alloc(n * int(unsafe.Sizeof(z)))
	if b == nil {
		return make([]T, n)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// freePlane gives s's whole storage back to p (nothing for p nil or a
// Go-allocated s, which p ignores).
func freePlane[T planeElem](p Planes, s []T) {
	if p == nil || cap(s) == 0 {
		return
	}
	var z T
	p.Free(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), cap(s)*int(unsafe.Sizeof(z))))
}

// growPlane returns s when its capacity holds n values, else frees it and
// returns a new zeroed plane of n values from p. Like make, the new
// plane's contents are zero; s's are not kept.
func growPlane[T planeElem](p Planes, s []T, n int) []T {
	if cap(s) >= n {
		return s
	}
	freePlane(p, s)
	return makePlane[T](p, n)
}
