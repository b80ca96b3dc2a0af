//go:build !linux

package fitsimg

import "fmt"

func readDirect([]byte, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: O_DIRECT reads are made on Linux only", ErrNoDirect)
}

// DirectReads reports whether ReadDirect reads files on this system
// (Linux); elsewhere it always returns ErrNoDirect.
const DirectReads = false

// Resident returns the share of the pages of the file path that are in
// the page cache: unknown (0) on this system.
func Resident(string) (float64, error) { return 0, nil }
