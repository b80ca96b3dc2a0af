package reduce

import (
	"bufio"
	"bytes"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

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

// Go's share of a rank's memory allowance (GoMemoryLimit). The stages
// run one after the other: the Go heap is large while images are
// extracted, fitted and associated, the catalogue engine's memory while
// the catalogue is computed afterwards, so each may have most of the
// allowance; the rest is for what neither counts (goroutine stacks, cgo
// and Parquet buffers outside the Go heap, the binary).
const goShareNum, goShareDen = 3, 4

// GoMemoryLimit returns the soft memory limit the Go runtime gets from a
// rank's memory allowance (bytes): three quarters of it. It panics if
// allowance is not positive.
func GoMemoryLimit(allowance int64) int64 {
	if allowance <= 0 {
		panic("reduce: memory allowance must be positive")
	}
	return allowance / goShareDen * goShareNum
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
