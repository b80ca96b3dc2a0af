package pipeline

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// ParsePosition parses "RA,DEC" or "RA DEC" (degrees) into a monitor
// position.
func ParsePosition(s string) ([2]float64, error) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(f) != 2 {
		return [2]float64{}, fmt.Errorf("want RA,DEC in degrees, got %q", s)
	}
	ra, err1 := strconv.ParseFloat(f[0], 64)
	dec, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || math.IsNaN(ra) || math.IsInf(ra, 0) || !(math.Abs(dec) <= 90) {
		return [2]float64{}, fmt.Errorf("want RA,DEC in degrees with |DEC| <= 90, got %q", s)
	}
	return [2]float64{ra, dec}, nil
}

// ReadMonitorFile reads a monitoring list: one "RA DEC" or "RA,DEC" per
// line (degrees); blank lines and '#' comments are skipped. Errors name
// the file and line.
func ReadMonitorFile(path string) ([][2]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pipeline: monitor list: %w", err)
	}
	defer f.Close()
	var out [][2]float64
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		p, err := ParsePosition(l)
		if err != nil {
			return nil, fmt.Errorf("pipeline: %s:%d: %w", path, n, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return out, nil
}
