//go:build !(goexperiment.simd && amd64)

package fitsimg

// swap32 is swap32Go in the default build.
func swap32(dst []float32, raw []byte) { swap32Go(dst, raw) }
