//go:build ignore

// Startuptime times the start-up of commands: it runs each command N
// times, taking turns (one run of each per round, so all see the same
// load), and prints per command the minimum, median and maximum wall time
// of a run (fork, exec, run, wait; output discarded), with the load
// average before and after. The start-up figures of docs/performance.md.
//
//	go run scripts/startuptime.go [-n 30] -c 'bin/gotrap version' -c 'bin/gotrap-full version'
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

type cmds [][]string

func (c *cmds) String() string { return fmt.Sprint(*c) }
func (c *cmds) Set(s string) error {
	f := strings.Fields(s)
	if len(f) == 0 {
		return fmt.Errorf("empty command")
	}
	*c = append(*c, f)
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func main() {
	n := flag.Int("n", 30, "runs of each command")
	var cs cmds
	flag.Var(&cs, "c", "a command with its arguments, split at spaces (repeatable)")
	flag.Parse()
	if len(cs) == 0 {
		fmt.Fprintln(os.Stderr, "usage: go run scripts/startuptime.go [-n N] -c 'COMMAND ARGS...' [-c ...]")
		os.Exit(2)
	}
	before := loadavg()
	ts := make([][]time.Duration, len(cs))
	for range *n {
		for i, c := range cs {
			cmd := exec.Command(c[0], c[1:]...)
			t0 := time.Now()
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "startuptime: %s: %v\n", strings.Join(c, " "), err)
				os.Exit(1)
			}
			ts[i] = append(ts[i], time.Since(t0))
		}
	}
	after := loadavg()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for i, c := range cs {
		t := ts[i]
		slices.Sort(t)
		fmt.Printf("%-64s n=%d  min %6.1f ms  median %6.1f ms  max %6.1f ms\n",
			strings.Join(c, " "), len(t), ms(t[0]), ms(t[(len(t)-1)/2]), ms(t[len(t)-1]))
	}
	fmt.Printf("load average before %s, after %s\n", before, after)
}
