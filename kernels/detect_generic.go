//go:build !(goexperiment.simd && amd64)

package kernels

// mapsFlagsPix is mapsFlagsPixGo in the default build (no vector
// version without GOEXPERIMENT=simd on amd64).
func mapsFlagsPix(src, drow, rrow []float32, mrow []bool, fx []float64, flags []uint8, p *mapsSegParams) {
	mapsFlagsPixGo(src, drow, rrow, mrow, fx, flags, p)
}

// hasNaN is hasNaNGo in the default build.
func hasNaN(v []float32) bool { return hasNaNGo(v) }
