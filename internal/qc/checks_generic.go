//go:build !(goexperiment.simd && amd64)

package qc

// scanPix is scanPixGo in the default build (no vector version without
// GOEXPERIMENT=simd on amd64).
func scanPix(pix []float32, stride, w, h int, dst []float32) (lo, hi float32, nan int) {
	return scanPixGo(pix, stride, w, h, dst)
}
