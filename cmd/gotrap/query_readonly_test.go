package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQueryReadOnly is the red team's case 3: "gotrap query --sql" wrote
// the run's tables, attached and created a database, and tried to
// download an extension. Each statement is refused (exit 2) and the run's
// files are unchanged; reading outside the run needs --read.
func TestQueryReadOnly(t *testing.T) {
	dir := handRun(t)
	runcat := filepath.Join(dir, "runcat.parquet")
	before, err := os.ReadFile(runcat)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "mine.csv")
	if err := os.WriteFile(outside, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dbfile := filepath.Join(t.TempDir(), "x.duckdb")
	for _, c := range []struct{ name, sql string }{
		{"copy over a table", "COPY (SELECT 1 AS x) TO '" + runcat + "' (FORMAT parquet)"},
		{"copy as csv", "COPY runcat TO '" + filepath.Join(dir, "x.csv") + "'"},
		{"attach", "ATTACH '" + dbfile + "' AS x"},
		{"create", "CREATE TABLE t AS SELECT 1"},
		{"install", "INSTALL httpfs"},
		{"load", "LOAD httpfs"},
		{"set", "SET enable_external_access = true"},
		{"export", "EXPORT DATABASE '" + t.TempDir() + "'"},
		{"two statements", "SELECT 1; SELECT 2"},
		{"a write after a query", "SELECT 1; COPY (SELECT 1) TO '" + runcat + "'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Now()
			_, errs, code := runGotrap(t, "query", dir, "--sql", c.sql)
			// 2: refused as not a query; EXPORT fails already when
			// DuckDB prepares it (its folder is outside the run): 1.
			if code != 2 && !(c.name == "export" && code == 1) {
				t.Errorf("exit %d, want 2; stderr %s", code, errs)
			}
			// No download is tried: the refusal is immediate.
			if dt := time.Since(t0); dt > 10*time.Second {
				t.Errorf("took %v", dt)
			}
		})
	}
	after, _ := os.ReadFile(runcat)
	if !bytes.Equal(before, after) {
		t.Fatal("runcat.parquet changed")
	}
	for _, p := range []string{dbfile, filepath.Join(dir, "x.csv")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists: %v", p, err)
		}
	}
	// Reading: the run's files yes, the user's only when named.
	q := "SELECT count(*) AS n FROM read_csv('" + outside + "')"
	if _, errs, code := runGotrap(t, "query", dir, "--sql", q); code != 1 || !strings.Contains(strings.ToLower(errs), "permission") {
		t.Errorf("read outside the run without --read: exit %d, %s", code, errs)
	}
	if out, errs, code := runGotrap(t, "query", dir, "--read", outside, "--sql", q); code != 0 || out != "n\n1\n" {
		t.Errorf("read with --read: exit %d %q %s", code, out, errs)
	}
	if _, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT * FROM read_text('/etc/hostname')"); code != 1 {
		t.Errorf("read_text of /etc/hostname: exit %d %s", code, errs)
	}
	// An extension that is not built in is neither installed nor
	// loaded on demand (no network is tried: it fails at once).
	t0 := time.Now()
	if _, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT * FROM read_parquet('https://example.invalid/x.parquet')"); code == 0 {
		t.Errorf("https read: exit 0 %s", errs)
	}
	if dt := time.Since(t0); dt > 10*time.Second {
		t.Errorf("https read took %v: a download was tried", dt)
	}
	// Several statements with --multi: each result in turn.
	out, errs, code := runGotrap(t, "query", dir, "--multi", "--sql", "SELECT 1 AS a; SELECT 'x;y' AS b -- ; comment\n;")
	if code != 0 || out != "a\n1\n\nb\nx;y\n" {
		t.Errorf("--multi: exit %d %q %s", code, out, errs)
	}
	// --output inside the run is refused; parquet output elsewhere works.
	if _, _, code := runGotrap(t, "query", dir, "stats", "--output", filepath.Join(dir, "stats.csv")); code != 2 {
		t.Errorf("--output inside the run: exit %d, want 2", code)
	}
	pq := filepath.Join(t.TempDir(), "runcat.parquet")
	if _, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT * FROM runcat", "--format", "parquet", "--output", pq); code != 0 {
		t.Errorf("--format parquet: exit %d %s", code, errs)
	}
	if out, errs, code := runGotrap(t, "query", dir, "--read", pq, "--sql", "SELECT count(*) = (SELECT count(*) FROM runcat) AS same FROM read_parquet('"+pq+"')"); code != 0 || out != "same\ntrue\n" {
		t.Errorf("parquet output read back: exit %d %q %s", code, out, errs)
	}
}

// TestQueryExitCodes is the red team's case 9: questions about nothing.
// An unknown light curve is a failure (1), arguments out of their domain
// are usage errors (2), a folder that is not a run is a failure (1).
func TestQueryExitCodes(t *testing.T) {
	dir := handRun(t)
	notRun := t.TempDir()
	os.WriteFile(filepath.Join(notRun, "notes.txt"), []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"lightcurve", "987654321"}, 1, "no running-catalogue source 987654321"},
		{[]string{"variables", "-3"}, 2, "ALPHA = -3: must be a probability in (0, 1]"},
		{[]string{"variables_trap", "-3"}, 2, "N = -3: must not be negative"},
		{[]string{"cone", "10", "20", "-1"}, 2, "must be positive"},
		{[]string{"cone", "10", "20", "0"}, 2, "must be positive"},
		{[]string{"cone", "10", "95", "1"}, 2, "[-90, 90]"},
	} {
		t.Run(strings.Join(c.args, "_"), func(t *testing.T) {
			_, errs, code := runGotrap(t, append([]string{"query", dir}, c.args...)...)
			if code != c.code || !strings.Contains(errs, c.msg) {
				t.Errorf("exit %d %q, want %d with %q", code, errs, c.code, c.msg)
			}
		})
	}
	if _, errs, code := runGotrap(t, "query", notRun, "stats"); code != 1 || !strings.Contains(errs, "not a gotrap run") {
		t.Errorf("query of a folder that is not a run: exit %d %s", code, errs)
	}
	// A light curve that exists is exit 0.
	out, errs, code := runGotrap(t, "query", dir, "--sql", "SELECT min(id) FROM runcat")
	id := strings.TrimSpace(strings.Split(out, "\n")[1])
	if code != 0 || id == "" {
		t.Fatalf("runcat id: %d %s", code, errs)
	}
	if _, errs, code := runGotrap(t, "query", dir, "lightcurve", id); code != 0 {
		t.Errorf("lightcurve %s: exit %d %s", id, code, errs)
	}
}
