package duck

import (
	"context"
	"slices"
	"testing"
	"unicode/utf8"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

func TestSplitStatements(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string
	}{
		{"one", "SELECT 1", []string{"SELECT 1"}},
		{"trailing semicolon", "SELECT 1;  ", []string{"SELECT 1"}},
		{"two", "SELECT 1; SELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"semicolon in a string", "SELECT 'a;b'; SELECT 2", []string{"SELECT 'a;b'", "SELECT 2"}},
		{"doubled quote", "SELECT 'it''s;'", []string{"SELECT 'it''s;'"}},
		{"quoted identifier", `SELECT 1 AS "x;y"`, []string{`SELECT 1 AS "x;y"`}},
		{"line comment", "SELECT 1 -- ; not a split\n", []string{"SELECT 1 -- ; not a split"}},
		{"block comment", "SELECT /* ; */ 1", []string{"SELECT /* ; */ 1"}},
		{"dollar quote", "SELECT $$a;b$$; SELECT $t$;$t$", []string{"SELECT $$a;b$$", "SELECT $t$;$t$"}},
		{"only comments after", "SELECT 1; -- done", []string{"SELECT 1"}},
		{"empty", " ; ;", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SplitStatements(c.in); !slices.Equal(got, c.want) {
				t.Errorf("SplitStatements(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// TestHostileStrings writes every string column of the catalogue with
// names that are not UTF-8 (a Unix file name may be any bytes) and reads
// them back with DuckDB (which refuses invalid UTF-8): each is stored
// escaped (rundir.EscapeName), valid names as given. The images table is
// the only one with string columns; a new one must join this test.
func TestHostileStrings(t *testing.T) {
	for _, tb := range catalog.Tables() {
		for _, c := range tb.Columns {
			if c.SQLType == "VARCHAR" && tb.Name != catalog.TableImages {
				t.Errorf("table %s has string column %s: add it to TestHostileStrings", tb.Name, c.Name)
			}
		}
	}
	run := t.TempDir()
	names := []string{"obs/é.fits", "bad\xff\xfe.fits", "a\\b\xc3.fits", "quote'\"\n.fits", ""}
	rows := make([]catalog.Image, len(names))
	for i, n := range names {
		rows[i] = catalog.Image{ID: int64(i + 1), URL: n, RejectComment: "comment " + n}
	}
	if err := catalog.WriteFile(rundir.TablePath(run, catalog.TableImages), rows); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), run, Options{Threads: 1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := db.SQL().Query("SELECT url, reject_comment FROM images ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	i := 0
	for ; r.Next(); i++ {
		var url, comment string
		if err := r.Scan(&url, &comment); err != nil {
			t.Fatal(err)
		}
		if want := rundir.EscapeName(names[i]); url != want || comment != rundir.EscapeName("comment "+names[i]) {
			t.Errorf("row %d: %q %q, want %q", i, url, comment, want)
		}
		if !utf8.ValidString(url) || rundir.UnescapeName(url) != names[i] && url != names[i] {
			t.Errorf("row %d: %q does not give back %q", i, url, names[i])
		}
	}
	if err := r.Err(); err != nil || i != len(names) {
		t.Fatalf("%d rows: %v", i, err)
	}
}
