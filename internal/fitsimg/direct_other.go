//go:build !linux

package fitsimg

import "fmt"

func readDirect([]byte, string) ([]byte, error) {
	return nil, fmt.Errorf("%w: O_DIRECT reads are made on Linux only", ErrNoDirect)
}
