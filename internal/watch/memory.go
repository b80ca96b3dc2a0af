package watch

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// Memory is where a watch process's memory lies, for a dashboard and for
// the soak of `gotrap bench live` (docs/live.md "Memory"): RSS is what
// the kernel counts; GoResident what the Go runtime holds and has not
// returned to the kernel (heap, stacks, runtime metadata); the rest of
// RSS is the binary's touched pages and C memory (DuckDB, the C
// allocator). GoHeapLive is the heap that the last garbage collection
// found in use. DuckDB is the resident memory of DuckDB's allocator, and
// Malloc the bytes in use of the C allocator (C and C++ other than
// DuckDB's buffers); both are filled by the caller that links them
// (cmd/gotrap through catalog/duck), 0 otherwise.
type Memory struct {
	RSS        int64 `json:"rss_bytes"`
	GoResident int64 `json:"go_resident_bytes"`
	GoHeapLive int64 `json:"go_heap_live_bytes"`
	DuckDB     int64 `json:"duckdb_bytes"`
	Malloc     int64 `json:"malloc_bytes"`
}

// memorySamples are the runtime metrics ReadMemory reads.
var memorySamples = []string{
	"/memory/classes/total:bytes",
	"/memory/classes/heap/released:bytes",
	"/gc/heap/live:bytes",
}

// ReadMemory reads this process's Memory. RSS is 0 where /proc/self/statm
// cannot be read (not Linux).
func ReadMemory() Memory {
	s := make([]metrics.Sample, len(memorySamples))
	for i, name := range memorySamples {
		s[i].Name = name
	}
	metrics.Read(s)
	u := func(i int) int64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(s[i].Value.Uint64())
	}
	return Memory{RSS: selfRSS(), GoResident: u(0) - u(1), GoHeapLive: u(2)}
}

// selfRSS is the resident set of this process from /proc/self/statm (its
// second field, in pages), or 0.
func selfRSS() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * int64(os.Getpagesize())
}
