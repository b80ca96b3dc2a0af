package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// startTrace starts an execution trace written to file (none when file
// is empty) and returns the function that stops it: go tool trace shows
// where goroutines ran and waited (-pprof=syscall, -pprof=sync).
func startTrace(file string) (stop func() error, err error) {
	if file == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--trace: %w", err)
	}
	return func() error {
		trace.Stop()
		if err := f.Close(); err != nil {
			return fmt.Errorf("--trace: %w", err)
		}
		return nil
	}, nil
}

// startProfiles starts a CPU profile written to cpuFile (when not empty)
// and returns the function that stops it and writes the heap profile
// (allocations since the start of the process, and the live heap) to
// memFile (when not empty). gotrap bench passes these to gotrap run.
func startProfiles(cpuFile, memFile string) (stop func() error, err error) {
	var cpu *os.File
	if cpuFile != "" {
		if cpu, err = os.Create(cpuFile); err != nil {
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		if err = pprof.StartCPUProfile(cpu); err != nil {
			cpu.Close()
			return nil, fmt.Errorf("--cpuprofile: %w", err)
		}
	}
	return func() error {
		var err error
		if cpu != nil {
			pprof.StopCPUProfile()
			if cerr := cpu.Close(); cerr != nil {
				err = fmt.Errorf("--cpuprofile: %w", cerr)
			}
		}
		if memFile != "" {
			f, ferr := os.Create(memFile)
			if ferr != nil {
				return fmt.Errorf("--memprofile: %w", ferr)
			}
			runtime.GC()
			werr := pprof.Lookup("allocs").WriteTo(f, 0)
			if cerr := f.Close(); werr == nil {
				werr = cerr
			}
			if werr != nil && err == nil {
				err = fmt.Errorf("--memprofile: %w", werr)
			}
		}
		return err
	}, nil
}

// writeHeapProfile writes the Go heap in use (after a collection) and the
// allocations since the start as a pprof heap profile to file
// (`go tool pprof -sample_index=inuse_space`).
func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("--memprofile: %w", err)
	}
	runtime.GC()
	werr := pprof.Lookup("heap").WriteTo(f, 0)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("--memprofile: %w", werr)
	}
	return nil
}
