//go:build !linux

package hugemem

// CollapseHeap does nothing where the arena maps no memory of its own
// (see the Linux version).
func CollapseHeap() error { return nil }
