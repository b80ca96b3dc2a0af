//go:build mpi

package mpi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotrap/reduce"
)

// Environment of a benchmark child: iterations and message size.
const (
	benchItersEnv = "GOTRAP_MPI_BENCH_ITERS"
	benchSizeEnv  = "GOTRAP_MPI_BENCH_BYTES"
)

// benchChild times iters collectives of the given per-rank size; rank 0
// prints "BENCH <bytes per op> <ns per op>".
func benchChild(c reduce.Comm, mode string) error {
	iters, _ := strconv.Atoi(os.Getenv(benchItersEnv))
	size, _ := strconv.Atoi(os.Getenv(benchSizeEnv))
	iters = max(iters, 1)
	var op func() error
	switch mode {
	case "bench-allreduce":
		buf := make([]float64, size/8)
		op = func() error { return c.AllreduceFloat64(buf, reduce.Sum) }
	default:
		send := make([][]byte, c.Size())
		for j := range send {
			send[j] = make([]byte, size/c.Size())
		}
		op = func() error { _, err := c.Alltoallv(send); return err }
	}
	if err := op(); err != nil { // warm up connections
		return err
	}
	if err := c.Barrier(); err != nil {
		return err
	}
	start := time.Now()
	for range iters {
		if err := op(); err != nil {
			return err
		}
	}
	if err := c.Barrier(); err != nil {
		return err
	}
	if c.Rank() == 0 {
		fmt.Printf("BENCH %d %d\n", size, time.Since(start).Nanoseconds()/int64(iters))
	}
	return nil
}

// BenchmarkMPI runs the collectives on 2 and 4 MPI ranks. The launch is
// not timed: each child times b.N operations itself, and the benchmark
// reports that as ns/op and the per-rank payload rate as MB/s.
func BenchmarkMPI(b *testing.B) {
	for _, mode := range []string{"allreduce", "alltoallv"} {
		for _, np := range []int{2, 4} {
			for _, size := range []int{1 << 10, 1 << 20} {
				b.Run(fmt.Sprintf("%s/ranks=%d/bytes=%d", mode, np, size), func(b *testing.B) {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
					defer cancel()
					var stdout, stderr bytes.Buffer
					cmd := mpirun(b, ctx, np, "bench-"+mode,
						benchItersEnv+"="+strconv.Itoa(b.N), benchSizeEnv+"="+strconv.Itoa(size))
					cmd.Args = append(cmd.Args[:len(cmd.Args)-1], "-x", benchItersEnv, "-x", benchSizeEnv, cmd.Args[len(cmd.Args)-1])
					cmd.Stdout, cmd.Stderr = &stdout, &stderr
					if err := cmd.Run(); err != nil {
						b.Fatalf("mpirun: %v\n%s", err, stderr.String())
					}
					var ns float64
					sc := bufio.NewScanner(&stdout)
					for sc.Scan() {
						if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "BENCH" {
							ns, _ = strconv.ParseFloat(f[2], 64)
						}
					}
					if ns <= 0 {
						b.Fatalf("no BENCH line in\n%s", stdout.String())
					}
					// These replace the launcher-inflated built-ins.
					b.ReportMetric(ns, "ns/op")
					b.ReportMetric(float64(size)/ns*1e3, "MB/s")
				})
			}
		}
	}
}
