package catstage

import (
	"testing"

	"gotrap/catalog/duck"
)

// TestVarMetricPoints checks the varmetric range size that a DuckDB
// memory_limit gives: the default unless the limit is small, one
// association per 16 KiB of it, never below 1024.
func TestVarMetricPoints(t *testing.T) {
	for _, c := range []struct {
		limit string
		want  int
	}{
		{"", duck.DefaultVarMetricPoints},
		{"80%", duck.DefaultVarMetricPoints}, // not a size ParseMemory reads
		{"2GB", duck.DefaultVarMetricPoints},
		{"6144MiB", duck.DefaultVarMetricPoints},
		{"256MiB", 16384},
		{"64MiB", 4096},
		{"100MB", 6103},
		{"1MiB", 1024},
	} {
		if got := varMetricPoints(c.limit); got != c.want {
			t.Errorf("varMetricPoints(%q) = %d, want %d", c.limit, got, c.want)
		}
	}
}

// TestDuckDBMemory: DuckDB gets the Go runtime's three quarters of the
// allowance, and at least 64 MiB.
func TestDuckDBMemory(t *testing.T) {
	for _, c := range []struct {
		name             string
		allowance, limit int64
	}{
		{"8 GiB", 8 << 30, 6 << 30},
		{"10 MiB floor", 10 << 20, 64 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := DuckDBMemory(c.allowance); got != c.limit {
				t.Errorf("DuckDBMemory(%d) = %d, want %d", c.allowance, got, c.limit)
			}
		})
	}
}
