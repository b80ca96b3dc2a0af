package respond

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// TestWinFiles checks the files a window reads: those whose id range
// (from their statistics) meets a wanted range, the view when all do,
// an empty read when none does, and a part replaced under its name (a
// merge) read again.
func TestWinFiles(t *testing.T) {
	run := t.TempDir()
	write := func(seq int, ids ...int64) string {
		t.Helper()
		rows := make([]catalog.Measurement, len(ids))
		for i, id := range ids {
			rows[i].ID, rows[i].Image = id, id>>catalog.MeasurementIDShift
		}
		p := rundir.PartPath(run, catalog.TableMeasurements, 0, "blind", seq)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := p + ".tmp"
		if err := catalog.WriteFile(tmp, rows); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := write(0, 10, 20, 30)
	b := write(1, 40, 50)
	c := write(2, 60, 70)
	var w winFiles
	pick := func(rs ...idRange) string {
		t.Helper()
		src, err := w.source(run, catalog.TableMeasurements, map[string][]idRange{"id": rs})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	has := func(src string) string {
		var in []string
		for _, f := range []string{a, b, c} {
			if strings.Contains(src, f) {
				in = append(in, filepath.Base(f))
			}
		}
		return strings.Join(in, " ")
	}
	for _, tc := range []struct {
		name string
		rs   []idRange
		want string
	}{
		{"newest", []idRange{{65, 80}}, "blind-00002.parquet"},
		{"one id", []idRange{{40, 40}}, "blind-00001.parquet"},
		{"two ranges", []idRange{{25, 25}, {70, 99}}, "blind-00000.parquet blind-00002.parquet"},
		{"a gap", []idRange{{31, 39}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := pick(tc.rs...)
			if got := has(src); got != tc.want {
				t.Errorf("ranges %v: files %q, want %q (%s)", tc.rs, got, tc.want, src)
			}
			if tc.want == "" && !strings.Contains(src, "WHERE false") {
				t.Errorf("ranges %v: %s, want the view with no rows", tc.rs, src)
			}
		})
	}
	if src := pick(idRange{0, 100}); src != catalog.TableMeasurements {
		t.Errorf("every file wanted: %s, want the view", src)
	}
	// A column the files have no statistics of: every file may hold it.
	if src, err := w.source(run, catalog.TableMeasurements, map[string][]idRange{"no_such_column": {{0, 0}}}); err != nil || src != catalog.TableMeasurements {
		t.Errorf("a column without statistics: %s, %v; want the view", src, err)
	}
	// A merge replaces part 1 by one holding ids of parts 1 and 2 (the
	// same name; another inode and size).
	time.Sleep(10 * time.Millisecond)
	write(1, 40, 50, 60, 70, 71)
	if err := os.Remove(c); err != nil {
		t.Fatal(err)
	}
	if got := has(pick(idRange{71, 71})); got != "blind-00001.parquet" {
		t.Errorf("after the merge, id 71: files %q, want blind-00001.parquet", got)
	}
	if _, ok := w.known[c]; ok {
		t.Errorf("a part merged away is still known")
	}
}
