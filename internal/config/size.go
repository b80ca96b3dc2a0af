package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrMemorySize reports a memory size that ParseMemory cannot read.
var ErrMemorySize = errors.New("config: invalid memory size")

// ParseMemory parses a memory size as "gotrap run --memory", [pipeline]
// memory and DuckDB memory limits take it: a positive number (a decimal fraction is
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
