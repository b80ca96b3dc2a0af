//go:build goexperiment.simd && amd64

package qc

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestScanPixVectorMatchesGo runs the vector scan and its plain twin
// scanPixGo on the same images (widths 0-70 and 1283, strides beyond the
// width, NaN, infinities, signed zeros) and asserts the same NaN count,
// the same extremes (bit for bit, except that a zero extreme may have
// either sign: StatsCopy then takes statsRef's) and the same copies.
func TestScanPixVectorMatchesGo(t *testing.T) {
	if !haveAVX2 {
		t.Skip("the CPU has no AVX2: the vector scan does not run here (scanPix is the twin)")
	}
	g := rand.New(rand.NewPCG(18, 12))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-42}
	widths := []int{1283, 1283}
	for w := range 71 {
		widths = append(widths, w)
	}
	for trial, w := range widths {
		h := 1 + g.IntN(7)
		stride := w + g.IntN(5)
		pix := make([]float32, (h-1)*stride+w)
		pSpecial := []float64{0, 0.002, 0.1, 1}[trial%4]
		for i := range pix {
			pix[i] = float32(g.NormFloat64() * 10)
			if g.Float64() < pSpecial {
				pix[i] = specials[g.IntN(len(specials))]
			}
		}
		got, want := make([]float32, w*h), make([]float32, w*h)
		glo, ghi, gnan := scanPix(pix, stride, w, h, got)
		wlo, whi, wnan := scanPixGo(pix, stride, w, h, want)
		same := func(a, b float32) bool {
			return math.Float32bits(a) == math.Float32bits(b) || a == 0 && b == 0
		}
		if gnan != wnan || !same(glo, wlo) || !same(ghi, whi) {
			t.Fatalf("trial %d (%dx%d stride %d): vector lo %v hi %v NaN %d, twin lo %v hi %v NaN %d", trial, w, h, stride, glo, ghi, gnan, wlo, whi, wnan)
		}
		if !slices.EqualFunc(got, want, func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }) {
			t.Fatalf("trial %d (%dx%d stride %d): the copies differ", trial, w, h, stride)
		}
		if pSpecial == 0 && w >= 16 && (glo == float32(math.Inf(1)) || gnan != 0) {
			t.Fatalf("trial %d: no extremes found on a NaN-free image", trial)
		}
	}
}
