package reduce_test

import (
	"fmt"
	"testing"

	"gotrap/reduce"
)

// BenchmarkLocal times the in-process collectives. Every rank runs b.N
// operations; SetBytes is the payload one rank contributes per operation,
// so MB/s is the per-rank rate.
func BenchmarkLocal(b *testing.B) {
	for _, mode := range []string{"allreduce", "alltoallv"} {
		for _, n := range []int{2, 4} {
			for _, size := range []int{1 << 10, 1 << 20} {
				b.Run(fmt.Sprintf("%s/ranks=%d/bytes=%d", mode, n, size), func(b *testing.B) {
					b.ReportAllocs()
					b.SetBytes(int64(size))
					iters := b.N
					err := reduce.Run(n, func(c reduce.Comm) error {
						buf := make([]float64, size/8)
						send := make([][]byte, n)
						for j := range send {
							send[j] = make([]byte, size/n)
						}
						if c.Rank() == 0 {
							b.ResetTimer()
						}
						for range iters {
							var err error
							if mode == "allreduce" {
								err = c.AllreduceFloat64(buf, reduce.Sum)
							} else {
								_, err = c.Alltoallv(send)
							}
							if err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				})
			}
		}
	}
}

// BenchmarkExactSumAdd is the cost of one exact addition (the reason to
// keep ExactSum out of pixel loops).
func BenchmarkExactSumAdd(b *testing.B) {
	var s reduce.ExactSum
	x := 0.1
	b.SetBytes(8) // one float64 added
	b.ReportAllocs()
	for b.Loop() {
		s.Add(x)
		x *= 1.0000001
	}
}
