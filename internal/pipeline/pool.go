package pipeline

import (
	"context"
	"runtime"
	"sync"
)

// forEach calls fn(i) for i in [0, n) on at most workers goroutines
// (<= 0: GOMAXPROCS). Each call must write only its own outputs, so the
// result does not depend on workers. It returns the error of the lowest
// failing i (later items may have run), or ctx's error.
func forEach(ctx context.Context, n, workers int, fn func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	var cerr error
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			cerr = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return cerr
}
