package duck

import (
	"context"

	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
)

// ErrNotAQuery reports SQL that is not a query (SELECT, EXPLAIN and what
// DuckDB turns into one: DESCRIBE, SHOW, SUMMARIZE, FROM ..., VALUES): a
// COPY, ATTACH, INSTALL, SET, CREATE and the like are refused before they
// run.
var ErrNotAQuery = errors.New("duck: only queries may run on a run's catalogue")

// ErrSeveral reports SQL text with more than one statement where one was
// expected.
var ErrSeveral = errors.New("duck: more than one SQL statement")

// lockDown restricts the database of a read-only Open: no extension is
// installed or loaded on demand, files are read only below the run
// directory and the paths of readable (the user's, named explicitly) and
// the folders of writable (an output file's), and
// no later SET can undo it (lock_configuration). DuckDB checks file
// access when a query reads, so the views made before keep working.
func (d *DB) lockDown(ctx context.Context, readable, writable []string) error {
	abs := func(p string) (string, error) {
		a, err := filepath.Abs(p)
		if err != nil {
			return "", err
		}
		if r, err := filepath.EvalSymlinks(a); err == nil {
			a = r
		}
		return a, nil
	}
	run, err := abs(d.run)
	if err != nil {
		return fmt.Errorf("duck: %w", err)
	}
	dirs := []string{run + string(filepath.Separator)}
	var paths []string
	for _, p := range writable {
		a, err := abs(p)
		if err != nil {
			return fmt.Errorf("duck: %w", err)
		}
		dirs = append(dirs, a+string(filepath.Separator))
	}
	for _, p := range readable {
		a, err := abs(p)
		if err != nil {
			return fmt.Errorf("duck: %w", err)
		}
		if st, err := os.Stat(a); err == nil && st.IsDir() {
			dirs = append(dirs, a+string(filepath.Separator))
		} else {
			paths = append(paths, a)
		}
	}
	list := func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	stmts := []string{
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET allowed_directories = " + list(dirs),
	}
	if len(paths) > 0 {
		stmts = append(stmts, "SET allowed_paths = "+list(paths))
	}
	stmts = append(stmts, "SET enable_external_access = false", "SET lock_configuration = true")
	for _, s := range stmts {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("duck: %s: %w", s, err)
		}
	}
	return nil
}

// Statements splits text into its SQL statements and checks each: it
// must be one statement DuckDB can prepare, and a query (ErrNotAQuery
// otherwise). With several statements and !several, the error wraps
// ErrSeveral. Nothing is executed.
func (d *DB) Statements(ctx context.Context, text string, several bool) ([]string, error) {
	parts := SplitStatements(text)
	if len(parts) == 0 {
		return nil, fmt.Errorf("duck: no SQL statement in %q", text)
	}
	if len(parts) > 1 && !several {
		return nil, fmt.Errorf("%w (%d): run one per --sql, or allow several with --multi", ErrSeveral, len(parts))
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("duck: %w", err)
	}
	defer conn.Close()
	for _, p := range parts {
		err := conn.Raw(func(dc any) error {
			c, ok := dc.(*duckdb.Conn)
			if !ok {
				return fmt.Errorf("duck: unexpected driver connection %T", dc)
			}
			// Prepare without a context refuses text of several
			// statements: a split this function missed is an error.
			st, err := c.Prepare(p)
			if err != nil {
				return err
			}
			defer st.Close()
			typ, err := st.(*duckdb.Stmt).StatementType()
			if err != nil {
				return err
			}
			if typ != duckdb.STATEMENT_TYPE_SELECT && typ != duckdb.STATEMENT_TYPE_EXPLAIN {
				return fmt.Errorf("%w: %s", ErrNotAQuery, firstWords(p))
			}
			return nil
		})
		if err != nil {
			if errors.Is(err, ErrNotAQuery) {
				return nil, err
			}
			return nil, fmt.Errorf("duck: %s: %w", firstWords(p), err)
		}
	}
	return parts, nil
}

// firstWords is the start of a statement, for messages.
func firstWords(s string) string {
	f := strings.Fields(s)
	if len(f) > 6 {
		return strings.Join(f[:6], " ") + " ..."
	}
	return strings.Join(f, " ")
}

// SplitStatements splits SQL text at the semicolons that end statements:
// those outside quoted strings and identifiers ('...', "...", E'...'),
// dollar-quoted strings ($tag$...$tag$) and comments (-- and /* */). Empty
// statements are dropped; each part is trimmed.
func SplitStatements(text string) []string {
	var out []string
	start := 0
	emit := func(end int) {
		if s := strings.TrimSpace(text[start:end]); s != "" && !onlyComments(s) {
			out = append(out, s)
		}
		start = end + 1
	}
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '\'' || c == '"':
			for i++; i < len(text); i++ {
				if text[i] == c {
					if i+1 < len(text) && text[i+1] == c { // doubled quote
						i++
						continue
					}
					break
				}
			}
		case c == '-' && i+1 < len(text) && text[i+1] == '-':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += j + 3
			} else {
				i = len(text)
			}
		case c == '$':
			j := strings.IndexByte(text[i+1:], '$')
			if j < 0 {
				continue
			}
			tag := text[i : i+j+2]
			if !isTag(tag[1 : len(tag)-1]) {
				continue
			}
			if k := strings.Index(text[i+len(tag):], tag); k >= 0 {
				i += len(tag) + k + len(tag) - 1
			} else {
				i = len(text)
			}
		case c == ';':
			emit(i)
		}
	}
	if start < len(text) {
		emit(len(text))
	}
	return out
}

// isTag reports a dollar-quote tag: empty or an identifier (not $1).
func isTag(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// onlyComments reports text that holds nothing but comments.
func onlyComments(s string) bool {
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return true
			}
			s = s[i+1:]
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return true
			}
			s = s[i+2:]
		default:
			return false
		}
	}
	return true
}
