package duck

import (
	"slices"
	"testing"
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
