//go:build !linux

package pipeline

// physicalMemory is the machine's memory in bytes: unknown (0) here,
// where the read-ahead makes no direct reads (fitsimg.DirectReads).
func physicalMemory() int64 { return 0 }
