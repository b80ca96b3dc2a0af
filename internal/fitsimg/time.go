package fitsimg

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// leapSeconds lists TAI - UTC in seconds from each date on (IERS Bulletin
// C; the last leap second was at the end of 2016). Before 1972 UTC had no
// whole-second offset; the first entry is used for earlier dates.
var leapSeconds = []struct {
	from time.Time
	off  int
}{
	{date(1972, 1, 1), 10}, {date(1972, 7, 1), 11}, {date(1973, 1, 1), 12},
	{date(1974, 1, 1), 13}, {date(1975, 1, 1), 14}, {date(1976, 1, 1), 15},
	{date(1977, 1, 1), 16}, {date(1978, 1, 1), 17}, {date(1979, 1, 1), 18},
	{date(1980, 1, 1), 19}, {date(1981, 7, 1), 20}, {date(1982, 7, 1), 21},
	{date(1983, 7, 1), 22}, {date(1985, 7, 1), 23}, {date(1988, 1, 1), 24},
	{date(1990, 1, 1), 25}, {date(1991, 1, 1), 26}, {date(1992, 7, 1), 27},
	{date(1993, 7, 1), 28}, {date(1994, 7, 1), 29}, {date(1996, 1, 1), 30},
	{date(1997, 7, 1), 31}, {date(1999, 1, 1), 32}, {date(2006, 1, 1), 33},
	{date(2009, 1, 1), 34}, {date(2012, 7, 1), 35}, {date(2015, 7, 1), 36},
	{date(2017, 1, 1), 37},
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// taiMinusUTC returns TAI - UTC in seconds at the UTC time t.
func taiMinusUTC(t time.Time) int {
	off := leapSeconds[0].off
	for _, l := range leapSeconds {
		if t.Before(l.from) {
			break
		}
		off = l.off
	}
	return off
}

// toUTC converts a time read as if it were UTC from the time scale sys
// (TIMESYS) to UTC. TAI, TT (also TDT, ET; TDB within 2 ms of TT is taken
// as TT) and GPS are converted with the leap-second table; UTC, UT, GMT,
// an empty TIMESYS and any other scale are taken as UTC. It returns whether
// the scale was recognised.
func toUTC(t time.Time, sys string) (time.Time, bool) {
	var shift time.Duration // scale - TAI
	switch sys {
	case "", "UTC", "UT", "GMT", "Z":
		return t, true
	case "TAI", "IAT":
	case "TT", "TDT", "ET", "TDB":
		shift = 32184 * time.Millisecond
	case "GPS":
		shift = -19 * time.Second
	default:
		return t, false
	}
	tai := t.Add(-shift)
	guess := tai.Add(-time.Duration(taiMinusUTC(tai)) * time.Second)
	return tai.Add(-time.Duration(taiMinusUTC(guess)) * time.Second), true
}

var mjdEpoch = date(1858, 11, 17)

// fromMJD converts a modified Julian date to a time, rounded to the
// microsecond (a float64 MJD resolves about 1 µs today).
func fromMJD(mjd float64) (time.Time, error) {
	// Years 1 to 9999.
	if !(mjd > -678575 && mjd < 2973483) {
		return time.Time{}, fmt.Errorf("MJD %v is outside the years 1 to 9999", mjd)
	}
	days := math.Floor(mjd)
	us := math.Round((mjd - days) * 86400e6)
	return mjdEpoch.AddDate(0, 0, int(days)).Add(time.Duration(us) * time.Microsecond), nil
}

// fromDecimalYear converts a Westerbork-style decimal year: 1 January of
// the year plus the fraction times 365.242199 days (SPEC 10.4), rounded to
// the microsecond.
func fromDecimalYear(y float64) (time.Time, error) {
	if !(y >= 1 && y < 10000) {
		return time.Time{}, fmt.Errorf("decimal year %v is outside 1 to 9999", y)
	}
	year := math.Floor(y)
	us := math.Round((y - year) * 365.242199 * 86400e6)
	return date(int(year), 1, 1).Add(time.Duration(us) * time.Microsecond), nil
}

// dateLayouts are the ISO 8601 forms accepted, tried in order. Fractional
// seconds are accepted after the seconds of any layout (time.Parse does).
var dateLayouts = []string{
	"2006-1-2T15:04:05Z07:00",
	"2006-1-2T15:04:05",
	"2006-1-2 15:04:05Z07:00",
	"2006-1-2 15:04:05",
	"2006-1-2T15:04Z07:00",
	"2006-1-2T15:04",
	"2006-1-2",
	"02/01/06", // the pre-2000 FITS form dd/mm/yy, meaning 19yy
}

// parseTime parses a time keyword value: an ISO 8601 string with or
// without 'T', fraction and zone ("Z" or an offset), a date alone, the old
// dd/mm/yy form, a string with ';'-separated parts of which the first
// holds the time in double quotes (SPEC 10.4), or a number: a
// Westerbork-style decimal year. A leap second (second 60) is read as the
// start of the next minute.
func parseTime(v any) (time.Time, error) {
	switch v := v.(type) {
	case float64:
		return fromDecimalYear(v)
	case int64:
		return fromDecimalYear(float64(v))
	case string:
		s := strings.TrimSpace(v)
		if i := strings.IndexByte(s, ';'); i >= 0 {
			s = s[:i]
			if a := strings.IndexByte(s, '"'); a >= 0 {
				if b := strings.IndexByte(s[a+1:], '"'); b >= 0 {
					s = s[a+1 : a+1+b]
				}
			}
			s = strings.TrimSpace(s)
		}
		if n, err := parseNumber(s); err == nil {
			return parseTime(n)
		}
		s = strings.ToUpper(s)
		var leap time.Duration
		if i := strings.Index(s, ":60"); i >= 0 && strings.Count(s[:i], ":") == 1 {
			s = s[:i] + ":59" + s[i+3:]
			leap = time.Second
		}
		for _, layout := range dateLayouts {
			t, err := time.Parse(layout, s)
			if err != nil {
				continue
			}
			if layout == "02/01/06" && t.Year() >= 2000 {
				t = t.AddDate(-100, 0, 0)
			}
			return t.UTC().Add(leap), nil
		}
		return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date", v)
	}
	return time.Time{}, fmt.Errorf("%v is neither a date string nor a number", v)
}

// readTime sets the start time, time system and integration time of m
// from h (SPEC 10.4, with the decisions documented in doc.go).
func (m *Meta) readTime(h *Header) error {
	m.TimeSys = "UTC"
	if s, ok := h.String("TIMESYS"); ok && strings.TrimSpace(s) != "" {
		m.TimeSys = strings.ToUpper(strings.TrimSpace(s))
	}
	for _, key := range []string{"DATE-OBS", "DATE-BEG", "MJD-OBS", "MJD-BEG"} {
		v, ok := h.Get(key)
		if !ok {
			continue
		}
		var t time.Time
		var err error
		if strings.HasPrefix(key, "MJD") {
			f, isNum := h.Float(key)
			if !isNum {
				return fmt.Errorf("%w: %s = %v is not a number", ErrBadTime, key, v)
			}
			t, err = fromMJD(f)
		} else {
			t, err = parseTime(v)
		}
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadTime, key, err)
		}
		m.TauStart, _ = toUTC(t, m.TimeSys)
		m.TimeKnown, m.TimeFrom = true, key
		break
	}

	if f, ok := h.Float("TAU_TIME"); ok && f >= 0 {
		m.TauTime, m.TauFrom = f, "TAU_TIME"
		return nil
	}
	if m.TimeKnown {
		for _, key := range []string{"END_UTC", "DATE-END"} {
			v, ok := h.Get(key)
			if !ok {
				continue
			}
			end, err := parseTime(v)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrBadTime, key, err)
			}
			if key == "DATE-END" {
				end, _ = toUTC(end, m.TimeSys)
			}
			if d := end.Sub(m.TauStart).Seconds(); d >= 0 {
				m.TauTime, m.TauFrom = d, key
				return nil
			}
		}
	}
	for _, key := range []string{"EXPTIME", "DURATION"} {
		if f, ok := h.Float(key); ok && f >= 0 {
			m.TauTime, m.TauFrom = f, key
			return nil
		}
	}
	return nil
}
