package catalog

import (
	"math"
	"math/rand/v2"
	"testing"
)

// twoEpochBrute is the definition: every pair a < b, the largest |Vs|
// (NaN largest), ties to the smallest (x[a], x[b]).
func twoEpochBrute(f, w []float64, x []int64) (a, b int, ok bool) {
	var idx []int
	for i := range f {
		if !math.IsNaN(f[i]) && !math.IsNaN(w[i]) {
			idx = append(idx, i)
		}
	}
	if len(idx) < 2 {
		return 0, 0, false
	}
	a, b = twoEpochAll(f, w, x, idx)
	return a, b, true
}

func TestTwoEpochMax(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 1))
	for _, tc := range []struct {
		name  string
		quant float64 // fluxes and errors rounded to multiples of this (ties), 0: none
		zero  bool    // some zero errors (the exhaustive path)
		nan   bool    // some missing values
	}{
		{name: "continuous"},
		{name: "ties", quant: 0.5},
		{name: "missing", nan: true},
		{name: "zero-errors", zero: true, quant: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for trial := range 2000 {
				n := 1 + r.IntN(40)
				f, w, x := make([]float64, n), make([]float64, n), make([]int64, n)
				for i := range n {
					f[i] = 10 + 3*r.NormFloat64()
					e := 0.1 + r.Float64()*2
					if tc.quant > 0 {
						f[i] = math.Round(f[i]/tc.quant) * tc.quant
						e = math.Max(tc.quant, math.Round(e/tc.quant)*tc.quant)
					}
					if tc.zero && r.IntN(4) == 0 {
						e = 0
					}
					w[i] = 1 / (e * e)
					if tc.nan && r.IntN(5) == 0 {
						f[i] = math.NaN()
					}
					x[i] = int64(i*3 + r.IntN(3)) // increasing, as ids in time order
				}
				a, b, ok := TwoEpochMax(f, w, x)
				wa, wb, wok := twoEpochBrute(f, w, x)
				if ok != wok || (ok && (a != wa || b != wb)) {
					t.Fatalf("trial %d: got (%d, %d, %v), exhaustive search (%d, %d, %v)\nf=%v\nw=%v", trial, a, b, ok, wa, wb, wok, f, w)
				}
				if ok && a >= b {
					t.Fatalf("trial %d: pair (%d, %d) not in time order", trial, a, b)
				}
			}
		})
	}
}

func TestTwoEpoch(t *testing.T) {
	// Two points 10 +- 3 and 6 +- 4: Vs = 4/5, m = 2*4/16.
	vs, m := TwoEpoch(10, 1.0/9, 6, 1.0/16)
	if vs != 0.8 || m != 0.5 {
		t.Fatalf("TwoEpoch = %v, %v; want 0.8, 0.5", vs, m)
	}
	if _, m := TwoEpoch(1, 1, -1, 1); !math.IsNaN(m) {
		t.Fatalf("m for S_a + S_b = 0 is %v, want NaN (NULL)", m)
	}
}
