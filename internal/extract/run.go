package extract

import (
	"context"
	"runtime"
	"sync"
)

func maxProcs() int { return runtime.GOMAXPROCS(0) }

// Run extracts the files paths with at most workers images at a time
// (workers <= 0: one per CPU Go may use, at most len(paths)), each worker
// with its own Worker, and calls emit for every file in input order with
// its result or error, from the calling goroutine. The output therefore
// does not depend on workers or on scheduling. At most 2*workers results
// are held at once. A file's error does not stop the others; an error
// returned by emit, or ctx's, stops Run (files in flight finish first) and
// is returned. Invalid options return an error before any file is read.
// Run closes its Workers (Worker.Close) before it returns.
func Run(ctx context.Context, paths []string, opt Options, workers int, emit func(i int, r *Result, err error) error) error {
	if workers <= 0 {
		workers = maxProcs()
	}
	workers = max(1, min(workers, len(paths)))
	ws := make([]*Worker, workers)
	for i := range ws {
		w, err := NewWorker(opt)
		if err != nil {
			return err
		}
		ws[i] = w
	}
	type done struct {
		r   *Result
		err error
	}
	slots := make([]chan done, len(paths))
	for i := range slots {
		slots[i] = make(chan done, 1)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	window := make(chan struct{}, 2*workers) // results in flight or waiting
	jobs := make(chan int)
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r, err := w.File(paths[i])
				slots[i] <- done{r, err}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range paths {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range paths {
		var d done
		select {
		case d = <-slots[i]:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			err = ctx.Err()
			break
		}
		<-window
		if err = emit(i, d.r, d.err); err != nil {
			break
		}
	}
	cancel()
	wg.Wait()
	for _, w := range ws {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
