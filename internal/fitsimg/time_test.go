package fitsimg

import (
	"errors"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		in   any
		want time.Time
	}{
		{"2012-04-29T17:19:23.001599", utc(2012, 4, 29, 17, 19, 23, 1599000)},
		{"2012-04-29T17:19:23.001599Z", utc(2012, 4, 29, 17, 19, 23, 1599000)},
		{"2012-04-29t17:19:23z", utc(2012, 4, 29, 17, 19, 23, 0)},
		{"2012-04-29 17:19:23.5", utc(2012, 4, 29, 17, 19, 23, 5e8)},
		{"2012-04-29T19:19:23+02:00", utc(2012, 4, 29, 17, 19, 23, 0)},
		{"2012-04-29T17:19", utc(2012, 4, 29, 17, 19, 0, 0)},
		{"2006-03-22", utc(2006, 3, 22, 0, 0, 0, 0)},
		{"  2006-03-22  ", utc(2006, 3, 22, 0, 0, 0, 0)},
		{"22/03/96", utc(1996, 3, 22, 0, 0, 0, 0)},
		{"2016-12-31T23:59:60.5", utc(2017, 1, 1, 0, 0, 0, 5e8)},
		{`"2013-05-04T18:59:19.996801";extra;parts`, utc(2013, 5, 4, 18, 59, 19, 996801000)},
		// Westerbork decimal years: 1 January + fraction * 365.242199 d.
		// 0.5 * 365.242199 d = 182 d 14:54:22.9968; 0.25 * = 91 d 07:27:11.4984.
		{1998.5, utc(1998, 7, 2, 14, 54, 22, 996800000)},
		{"2000.25", utc(2000, 4, 1, 7, 27, 11, 498400000)},
		{int64(2001), utc(2001, 1, 1, 0, 0, 0, 0)},
	} {
		got, err := parseTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTime(%#v) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []any{"yesterday", "2012-13-01", "", 0.5, 1e7, true} {
		if got, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%#v) = %v, want an error", bad, got)
		}
	}
}

func TestTimeScales(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		sys  string
		want time.Duration // UTC - the time as read
	}{
		{"UTC", 0}, {"", 0}, {"UT", 0}, {"LOCAL", 0},
		{"TAI", -37 * time.Second},
		{"TT", -37*time.Second - 32184*time.Millisecond},
		{"GPS", -18 * time.Second},
	} {
		got, _ := toUTC(t0, tc.sys)
		if d := got.Sub(t0); d != tc.want {
			t.Errorf("%s: UTC - time = %v, want %v", tc.sys, d, tc.want)
		}
	}
	// Around the leap second at the end of 2016: TAI - UTC is 37 s after
	// it and 36 s before.
	got, _ := toUTC(time.Date(2017, 1, 1, 0, 0, 37, 0, time.UTC), "TAI")
	if want := time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("TAI 00:00:37 -> %v, want %v", got, want)
	}
	got, _ = toUTC(time.Date(2016, 12, 31, 23, 59, 30, 0, time.UTC), "TAI")
	if want := time.Date(2016, 12, 31, 23, 58, 54, 0, time.UTC); !got.Equal(want) {
		t.Errorf("TAI 23:59:30 -> %v, want %v", got, want)
	}
	if got := taiMinusUTC(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)); got != 10 {
		t.Errorf("before 1972: %d", got)
	}
}

func TestFromMJD(t *testing.T) {
	// MJD 51544.5 is 2000-01-01T12:00:00 (the J2000 epoch's date).
	got, err := fromMJD(51544.5)
	if err != nil || !got.Equal(time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("MJD 51544.5 = %v, %v", got, err)
	}
	// GRB201006A's MJD-OBS 59128.060148148 is DATE-OBS 01:26:36.8 within
	// the 1e-9 d (86 µs) of its printed digits.
	got, _ = fromMJD(59128.060148148)
	if d := got.Sub(time.Date(2020, 10, 6, 1, 26, 36, 8e8, time.UTC)); d < -100*time.Microsecond || d > 100*time.Microsecond {
		t.Errorf("MJD 59128.060148148 = %v", got)
	}
	if _, err := fromMJD(1e9); err == nil {
		t.Error("MJD 1e9 accepted")
	}
}

func TestIntegrationTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(h *Header)
		tau  float64
		from string
	}{
		{"none", nil, 0, ""},
		{"END_UTC", func(h *Header) { h.Set("END_UTC", "2020-01-02T03:14:05.5", "") }, 600.5, "END_UTC"},
		{"DATE-END", func(h *Header) { h.Set("DATE-END", "2020-01-02T04:04:05", "") }, 3600, "DATE-END"},
		{"END_UTC before start skipped", func(h *Header) {
			h.Set("END_UTC", "2020-01-01T00:00:00", "")
			h.Set("EXPTIME", 30, "")
		}, 30, "EXPTIME"},
		{"DURATION", func(h *Header) { h.Set("DURATION", 12.5, "") }, 12.5, "DURATION"},
		{"TAU_TIME wins", func(h *Header) {
			h.Set("TAU_TIME", 11.0, "")
			h.Set("END_UTC", "2020-01-02T03:14:05", "")
		}, 11, "TAU_TIME"},
		{"negative TAU_TIME skipped", func(h *Header) {
			h.Set("TAU_TIME", -1.0, "")
			h.Set("EXPTIME", 5, "")
		}, 5, "EXPTIME"},
	} {
		m, err := NewMeta("synth", synth(tc.edit), Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if m.TauTime != tc.tau || m.TauFrom != tc.from {
			t.Errorf("%s: tau %v from %q, want %v from %q", tc.name, m.TauTime, m.TauFrom, tc.tau, tc.from)
		}
	}
}

func TestStartTimeRules(t *testing.T) {
	// No time at all: unknown, zero, never "now".
	m, err := NewMeta("synth", synth(func(h *Header) { h.Delete("DATE-OBS"); h.Set("TAU_TIME", 3.0, "") }), Options{})
	if err != nil || m.TimeKnown || !m.TauStart.IsZero() || m.TauTime != 3 {
		t.Errorf("no time: %v known %v tau %v, %v", m.TauStart, m.TimeKnown, m.TauTime, err)
	}
	// MJD-OBS when DATE-OBS is missing; DATE-OBS wins otherwise.
	m, err = NewMeta("synth", synth(func(h *Header) { h.Set("MJD-OBS", 51544.5, "") }), Options{})
	if err != nil || m.TimeFrom != "DATE-OBS" {
		t.Errorf("DATE-OBS and MJD-OBS: from %s, %v", m.TimeFrom, err)
	}
	m, err = NewMeta("synth", synth(func(h *Header) { h.Delete("DATE-OBS"); h.Set("MJD-OBS", 51544.5, "") }), Options{})
	if err != nil || m.TimeFrom != "MJD-OBS" || !m.TauStart.Equal(time.Date(2000, 1, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("MJD-OBS: %v from %s, %v", m.TauStart, m.TimeFrom, err)
	}
	// DATE-OBS in TT is 69.184 s ahead of UTC in 2020; END_UTC is UTC
	// already.
	m, err = NewMeta("synth", synth(func(h *Header) {
		h.Set("TIMESYS", "tt", "")
		h.Set("END_UTC", "2020-01-02T03:03:28.816", "")
	}), Options{})
	if want := time.Date(2020, 1, 2, 3, 2, 55, 816e6, time.UTC); err != nil || m.TimeSys != "TT" ||
		!m.TauStart.Equal(want) || m.TauTime != 33 {
		t.Errorf("TT: sys %s start %v tau %v, %v", m.TimeSys, m.TauStart, m.TauTime, err)
	}
	for _, edit := range []func(h *Header){
		func(h *Header) { h.Set("DATE-OBS", "not a date", "") },
		func(h *Header) { h.Delete("DATE-OBS"); h.Set("MJD-OBS", "x", "") },
		func(h *Header) { h.Set("END_UTC", "later", "") },
	} {
		if _, err := NewMeta("synth", synth(edit), Options{}); !errors.Is(err, ErrBadTime) {
			t.Errorf("bad time: %v, want ErrBadTime", err)
		}
	}
}
