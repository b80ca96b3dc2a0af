//go:build front

package main

// The front build (go build -tags front, CGO_ENABLED=0: make build's
// bin/gotrap) holds the commands that need neither DuckDB nor MPI
// (version, extract, info, wcs, simulate) in a static pure-Go binary: the
// files of the other commands say //go:build !front. It hands the rest to
// gotrap-full (execFull, in delegate.go).

func init() { delegate = execFull }
