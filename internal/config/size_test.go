package config

import (
	"errors"
	"testing"
)

func TestParseMemory(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
	}{
		{"8GiB", 8 << 30},
		{"8G", 8 << 30},
		{"8g", 8 << 30},
		{"8 GiB", 8 << 30},
		{" 512MiB ", 512 << 20},
		{"512M", 512 << 20},
		{"1.5GiB", 3 << 29},
		{"2GB", 2e9},
		{"6000MB", 6e9},
		{"100KB", 1e5},
		{"64KiB", 64 << 10},
		{"1T", 1 << 40},
		{"1TB", 1e12},
		{"4096B", 4096},
	} {
		got, err := ParseMemory(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{"", "4096", "GB", "0GB", "-1GB", "1.2.3GB", "8 gigabytes", "8X", "nanGB", "1e3GB", "0.1B",
		"99999999999TB", "1" + string(make([]byte, 80))} {
		if got, err := ParseMemory(in); !errors.Is(err, ErrMemorySize) {
			t.Errorf("ParseMemory(%q) = %d, %v; want an ErrMemorySize", in, got, err)
		}
	}
}
