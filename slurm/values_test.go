package slurm

import (
	"errors"
	"testing"
	"time"
)

func TestParseMemory(t *testing.T) {
	const mib = 1 << 20
	good := map[string]int64{
		"0": 0, "4000": 4000 * mib, "4000M": 4000 * mib, "512k": 512 << 10, "8G": 8 << 30,
		"2t": 2 << 40, "1g": 1 << 30, "8796093022207M": 8796093022207 * mib,
	}
	for in, want := range good {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "G", "8GB", "-1", "1.5G", " 8G", "8 G", "8P", "8796093022208M", "99999999999999999999"} {
		if got, err := ParseMemory(in); !errors.Is(err, ErrParse) {
			t.Errorf("ParseMemory(%q) = %d, %v; want ErrParse", in, got, err)
		}
	}
}

func TestParseTimeLimit(t *testing.T) {
	h, m, s, d := time.Hour, time.Minute, time.Second, 24*time.Hour
	good := map[string]time.Duration{
		"0": 0, "INFINITE": 0, "unlimited": 0,
		"30": 30 * m, "90": 90 * m, "5:30": 5*m + 30*s, "2:00:00": 2 * h, "48:00:00": 48 * h,
		"1-0": d, "1-12": d + 12*h, "1-12:30": d + 12*h + 30*m, "7-23:59:59": 7*d + 23*h + 59*m + 59*s,
		"365-00:00:00": 365 * d,
	}
	for in, want := range good {
		if got, err := ParseTimeLimit(in); err != nil || got != want {
			t.Errorf("ParseTimeLimit(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1:2:3:4", "1-24", "1-1:60", "1:60", "1:00:60", "-1", "1-", "a", "1h",
		"1-2-3", ":", "1::2", "999999999999999999-0"} {
		if got, err := ParseTimeLimit(in); !errors.Is(err, ErrParse) {
			t.Errorf("ParseTimeLimit(%q) = %v, %v; want ErrParse", in, got, err)
		}
	}
}

func TestFormatTimeLimit(t *testing.T) {
	cases := map[time.Duration]string{
		0: "UNLIMITED", -time.Second: "UNLIMITED", time.Second: "00:00:01", 1500 * time.Millisecond: "00:00:02",
		2 * time.Hour: "02:00:00", 36 * time.Hour: "1-12:00:00", 400*24*time.Hour + 61*time.Second: "400-00:01:01",
	}
	for d, want := range cases {
		got := FormatTimeLimit(d)
		if got != want {
			t.Errorf("FormatTimeLimit(%v) = %q, want %q", d, got, want)
		}
		back, err := ParseTimeLimit(got)
		if err != nil || (d > 0 && back != d.Round(time.Second) && back != d.Truncate(time.Second)+time.Second) {
			t.Errorf("ParseTimeLimit(%q) = %v, %v; want %v", got, back, err, d)
		}
	}
}
