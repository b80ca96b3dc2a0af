package pipeline

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fuzzTree makes the small directory tree the image-list fuzzer lists:
// FITS files at two depths, a non-FITS file and an empty directory.
func fuzzTree(t testing.TB) string {
	d := t.TempDir()
	for _, p := range []string{"a.fits", "b.FITS", "sub/c.fits", "sub/deep/d.fits", "x.txt", "sp ace.fits"} {
		p = filepath.Join(d, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(d, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// escapes reports a list line or argument that could leave the fuzz tree
// (absolute paths, "..", "~"): the fuzzer must not walk the machine.
func escapes(s string) bool {
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "@"))
		if strings.HasPrefix(l, "/") || strings.HasPrefix(l, "~") || strings.HasPrefix(l, "\\") {
			return true
		}
	}
	return strings.Contains(s, "..") || strings.ContainsRune(s, 0)
}

// FuzzExpandInputs fuzzes the image-list parser: an @FILE list (its
// content) and one more argument (a path, glob or @FILE relative to the
// tree). It must not panic or hang; on success the list is non-empty,
// sorted, without duplicates, of clean paths to existing regular files;
// on failure a missing input is reported with ErrMissingInput; and the
// same input gives the same answer twice (determinism).
func FuzzExpandInputs(f *testing.F) {
	f.Add("# images\na.fits\n\nsub/c.fits\n", "*.fits")
	f.Add("sub\n@list.txt\n", "sub/*/*.fits")
	f.Add("nope.fits\n*.zz\n", "[")
	f.Add("sp ace.fits\r\n  b.FITS  \n#c\n", "empty")
	f.Add("@list2.txt\n", "x.txt")
	// One tree per fuzzing process: ExpandInputs only reads it, and each
	// input rewrites list.txt (inputs run one at a time per process).
	d := fuzzTree(f)
	f.Fuzz(func(t *testing.T, list, arg string) {
		if len(list) > 4096 || len(arg) > 256 || escapes(list) || escapes(arg) {
			t.Skip()
		}
		lp := filepath.Join(d, "list.txt")
		if err := os.WriteFile(lp, []byte(list), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"@" + lp}
		if arg != "" {
			a := arg
			if strings.HasPrefix(a, "@") {
				a = "@" + filepath.Join(d, a[1:])
			} else {
				a = filepath.Join(d, a)
			}
			args = append(args, a)
		}
		got, err := ExpandInputs(args)
		again, err2 := ExpandInputs(args)
		if (err == nil) != (err2 == nil) || !slices.Equal(got, again) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("not deterministic: %q %v, then %q %v", got, err, again, err2)
		}
		if err != nil {
			if got != nil {
				t.Errorf("error %v with a result %q", err, got)
			}
			if strings.Contains(err.Error(), "missing input") && !errors.Is(err, ErrMissingInput) {
				t.Errorf("missing inputs not marked: %v", err)
			}
			return
		}
		if len(got) == 0 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("result not a sorted, non-empty set: %q", got)
		}
		for _, p := range got {
			if p != filepath.Clean(p) {
				t.Errorf("path %q is not clean", p)
			}
			st, err := os.Stat(p)
			if err != nil || st.IsDir() {
				t.Errorf("listed %q is not an existing file: %v", p, err)
			}
		}
	})
}

// FuzzParsePosition fuzzes the --monitor RA,DEC parser: an accepted
// position is finite with |DEC| <= 90 and survives a format-parse round
// trip exactly.
func FuzzParsePosition(f *testing.F) {
	for _, s := range []string{"150.2,53.3", "10 -30", "0,90", "359.9999,-90", "1e2,\t-4.5", "nan,0", "1,91", ",", "1,2,3", "inf,0", "0x1p-2,0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePosition(s)
		if err != nil {
			if !strings.Contains(err.Error(), "RA,DEC") {
				t.Errorf("error %q does not say what is wanted", err)
			}
			return
		}
		ra, dec := p[0], p[1]
		if math.IsNaN(ra) || math.IsInf(ra, 0) || !(math.Abs(dec) <= 90) {
			t.Fatalf("%q accepted as (%g, %g)", s, ra, dec)
		}
		q, err := ParsePosition(strconv.FormatFloat(ra, 'g', -1, 64) + "," + strconv.FormatFloat(dec, 'g', -1, 64))
		if err != nil || q != p {
			t.Fatalf("%q: round trip gives %v, %v; want %v", s, q, err, p)
		}
	})
}

// FuzzReadMonitorFile fuzzes the --monitor-file parser: every accepted
// position is valid, there is at most one per line, and an error names
// the file and the line.
func FuzzReadMonitorFile(f *testing.F) {
	f.Add("# monitor list\n150.2 53.3\n10,-30 # comment\n\n")
	f.Add("1 2\n3\n")
	f.Add("1e400 0\n")
	f.Add(strings.Repeat("0 0\n", 50))
	f.Fuzz(func(t *testing.T, content string) {
		if len(content) > 1<<16 {
			t.Skip()
		}
		p := filepath.Join(t.TempDir(), "monitors.txt")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadMonitorFile(p)
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
			return
		}
		if lines := strings.Count(content, "\n") + 1; len(got) > lines {
			t.Errorf("%d positions from %d lines", len(got), lines)
		}
		for _, q := range got {
			if math.IsNaN(q[0]) || math.IsInf(q[0], 0) || !(math.Abs(q[1]) <= 90) {
				t.Errorf("invalid position %v accepted", q)
			}
		}
	})
}
