package reduce

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// ErrMemorySize reports a memory size that ParseMemory cannot read.
var ErrMemorySize = errors.New("reduce: invalid memory size")

// ParseMemory parses a memory size as "gotrap run --memory" and
// [pipeline] memory take it: a positive number (a decimal fraction is
// allowed) and a unit, B, K, M, G or T or KiB, MiB, GiB or TiB (powers of
// 1024, as Slurm's --mem), or KB, MB, GB or TB (powers of 1000, as
// DuckDB's memory_limit), in either case, with or without a space. A
// number without a unit is an error: Slurm would read megabytes where a
// reader expects bytes. It returns bytes, rounded down; errors wrap
// ErrMemorySize.
func ParseMemory(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if num == "" || len(t) > 64 {
		return 0, fmt.Errorf("%w: %q (want a number and a unit, e.g. 8GiB or 512MB)", ErrMemorySize, s)
	}
	var scale float64
	switch unit {
	case "b":
		scale = 1
	case "k", "kib":
		scale = 1 << 10
	case "m", "mib":
		scale = 1 << 20
	case "g", "gib":
		scale = 1 << 30
	case "t", "tib":
		scale = 1 << 40
	case "kb":
		scale = 1e3
	case "mb":
		scale = 1e6
	case "gb":
		scale = 1e9
	case "tb":
		scale = 1e12
	case "":
		return 0, fmt.Errorf("%w: %q has no unit (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)", ErrMemorySize, s)
	default:
		return 0, fmt.Errorf("%w: %q: unknown unit %q (B, KiB, MiB, GiB, TiB, or KB, MB, GB, TB)", ErrMemorySize, s, t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v > 0) {
		return 0, fmt.Errorf("%w: %q (want a positive number and a unit)", ErrMemorySize, s)
	}
	b := v * scale
	if b < 1 || b >= math.MaxInt64 {
		return 0, fmt.Errorf("%w: %q is out of range", ErrMemorySize, s)
	}
	return int64(b), nil
}

// unlimitedCgroup is where a cgroup v1 memory.limit_in_bytes stops
// meaning a limit: the kernel writes 2^63 rounded down to a page for
// "none".
const unlimitedCgroup = 1 << 62

// CgroupMemory returns the memory limit of the cgroup this process runs
// in, in bytes, or 0 when there is none: the smallest memory.max (cgroup
// v2) or memory.limit_in_bytes (cgroup v1, the memory controller's
// hierarchy) of the process's cgroup, as /proc/self/cgroup names it, and
// of its ancestors up to the mount's root (which is all a container sees
// of its own cgroup). "max" and v1's near-2^63 values mean no limit.
// Files that cannot be read are skipped. readFile is os.ReadFile in the
// command (STYLE 5); tests pass a map's lookup.
func CgroupMemory(readFile func(string) ([]byte, error)) int64 {
	b, err := readFile("/proc/self/cgroup")
	if err != nil {
		return 0
	}
	var lim int64
	take := func(file string) {
		v, err := readFile(file)
		if err != nil {
			return
		}
		s := strings.TrimSpace(string(v))
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n >= unlimitedCgroup {
			return // "max", or no limit
		}
		if lim == 0 || n < lim {
			lim = n
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		// hierarchy-ID:controllers:path
		f := strings.SplitN(sc.Text(), ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			continue
		}
		var root, file string
		switch {
		case f[0] == "0" && f[1] == "":
			root, file = "/sys/fs/cgroup", "memory.max"
		case hasController(f[1], "memory"):
			root, file = "/sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean(f[2]); ; p = path.Dir(p) {
			take(path.Join(root, p, file))
			if p == "/" {
				break
			}
		}
	}
	return lim
}

func hasController(list, c string) bool {
	for _, s := range strings.Split(list, ",") {
		if s == c {
			return true
		}
	}
	return false
}

// Shares of a rank's memory allowance. The stages run one after the
// other: the Go heap is large while images are extracted, fitted and
// associated, DuckDB's memory while varmetric is computed afterwards, so
// each may have most of the allowance; the rest is for what neither
// counts (goroutine stacks, cgo and Parquet buffers outside the Go heap,
// the binary).
const (
	goShareNum, goShareDen = 3, 4 // Go's soft memory limit: 3/4
	minDuckDB              = 64 << 20
)

// GoMemoryLimit returns the soft memory limit the Go runtime gets from a
// rank's memory allowance (bytes): three quarters of it. It panics if
// allowance is not positive.
func GoMemoryLimit(allowance int64) int64 {
	if allowance <= 0 {
		panic("reduce: memory allowance must be positive")
	}
	return allowance / goShareDen * goShareNum
}

// DuckDBMemory returns DuckDB's memory_limit (bytes) for a rank's memory
// allowance: three quarters of it, as the Go runtime's (the two are not
// busy at the same time), and at least 64 MiB. It panics if allowance is
// not positive.
func DuckDBMemory(allowance int64) int64 {
	return max(GoMemoryLimit(allowance), minDuckDB)
}

// SetGoMemoryLimit sets the Go runtime's soft memory limit
// (debug.SetMemoryLimit) to GoMemoryLimit(allowance), unless the
// GOMEMLIMIT environment variable is set (the user's explicit choice
// wins, as for GOMAXPROCS in CPUs). It returns the limit in effect
// (math.MaxInt64: none). getenv is os.Getenv in the command.
func SetGoMemoryLimit(allowance int64, getenv func(string) string) int64 {
	if allowance <= 0 || strings.TrimSpace(getenv("GOMEMLIMIT")) != "" {
		return debug.SetMemoryLimit(-1)
	}
	lim := GoMemoryLimit(allowance)
	debug.SetMemoryLimit(lim)
	return lim
}
