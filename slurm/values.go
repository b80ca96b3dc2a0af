package slurm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// maxValueLen caps the Slurm values the parsers accept; longer ones are
// errors, not work.
const maxValueLen = 64

// ParseMemory parses a Slurm memory size as --mem and --mem-per-cpu take
// it: a non-negative integer with an optional unit K, M, G or T (either
// case, powers of 1024), megabytes when the unit is absent. It returns
// bytes. Zero is valid (to Slurm, --mem=0 means all the memory of the
// node). Errors wrap [ErrParse].
func ParseMemory(s string) (int64, error) {
	if len(s) == 0 || len(s) > maxValueLen {
		return 0, parseErr("memory size %q", s)
	}
	num, unit := s, byte('M')
	if c := s[len(s)-1]; c < '0' || c > '9' {
		num, unit = s[:len(s)-1], c
	}
	var shift uint
	switch unit {
	case 'K', 'k':
		shift = 10
	case 'M', 'm':
		shift = 20
	case 'G', 'g':
		shift = 30
	case 'T', 't':
		shift = 40
	default:
		return 0, parseErr("memory size %q: unit must be K, M, G or T", s)
	}
	n, err := parseUint(num)
	if err != nil {
		return 0, parseErr("memory size %q", s)
	}
	if n > math.MaxInt64>>shift {
		return 0, parseErr("memory size %q is too large", s)
	}
	return n << shift, nil
}

// ParseTimeLimit parses a Slurm time limit as --time takes it: "M",
// "M:S", "H:M:S", "D-H", "D-H:M" or "D-H:M:S". The leading field may be
// any size (48:00:00 is two days); the others must be below 60 (minutes,
// seconds) or 24 (hours after days). "0", "INFINITE" and "UNLIMITED" (any
// case) mean no limit and return 0. Errors wrap [ErrParse].
func ParseTimeLimit(s string) (time.Duration, error) {
	if len(s) == 0 || len(s) > maxValueLen {
		return 0, parseErr("time limit %q", s)
	}
	switch strings.ToUpper(s) {
	case "INFINITE", "UNLIMITED":
		return 0, nil
	}
	bad := func() (time.Duration, error) {
		return 0, parseErr("time limit %q: want M, M:S, H:M:S, D-H, D-H:M or D-H:M:S", s)
	}
	var days int64 = -1
	rest := s
	if d, r, ok := strings.Cut(s, "-"); ok {
		n, err := parseUint(d)
		if err != nil {
			return bad()
		}
		days, rest = n, r
	}
	var f [3]int64
	parts := strings.Split(rest, ":")
	if len(parts) > 3 {
		return bad()
	}
	for i, p := range parts {
		n, err := parseUint(p)
		if err != nil {
			return bad()
		}
		f[i] = n
	}
	var h, m, sec int64
	switch {
	case days >= 0:
		// D-H, D-H:M, D-H:M:S
		h, m, sec = f[0], f[1], f[2]
		if h >= 24 || m >= 60 || sec >= 60 {
			return bad()
		}
	case len(parts) == 1:
		m = f[0]
	case len(parts) == 2:
		m, sec = f[0], f[1]
		if sec >= 60 {
			return bad()
		}
	default:
		h, m, sec = f[0], f[1], f[2]
		if m >= 60 || sec >= 60 {
			return bad()
		}
	}
	if days < 0 {
		days = 0
	}
	// Sum in seconds with overflow checks: every field is at most
	// 10^18 (parseUint caps at 18 digits).
	const maxSec = math.MaxInt64 / int64(time.Second)
	total := sec
	for _, t := range []struct{ n, unit int64 }{{m, 60}, {h, 3600}, {days, 86400}} {
		if t.n > (maxSec-total)/t.unit {
			return 0, parseErr("time limit %q is too long", s)
		}
		total += t.n * t.unit
	}
	return time.Duration(total) * time.Second, nil
}

// FormatTimeLimit formats d, rounded up to whole seconds, as Slurm prints
// a time limit: "D-HH:MM:SS" from one day on, "HH:MM:SS" below;
// "UNLIMITED" for d <= 0. ParseTimeLimit reads it back.
func FormatTimeLimit(d time.Duration) string {
	if d <= 0 {
		return "UNLIMITED"
	}
	s := int64(d / time.Second)
	if d%time.Second != 0 {
		s++
	}
	days, s := s/86400, s%86400
	hms := fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	if days > 0 {
		return fmt.Sprintf("%d-%s", days, hms)
	}
	return hms
}

// parseUint parses 1 to 18 decimal digits (no sign, no spaces).
func parseUint(s string) (int64, error) {
	if len(s) == 0 || len(s) > 18 {
		return 0, strconv.ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, strconv.ErrSyntax
		}
	}
	return strconv.ParseInt(s, 10, 64)
}
