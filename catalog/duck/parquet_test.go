package duck

import (
	"database/sql"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"gotrap/catalog"
)

// allKinds has a column of every kind catalog writes.
type allKinds struct {
	ID  int64           `parquet:"id"`
	I32 int32           `parquet:"i32"`
	F   float64         `parquet:"f"`
	B   bool            `parquet:"b"`
	S   string          `parquet:"s"`
	T   time.Time       `parquet:"t"`
	NI  sql.NullInt64   `parquet:"ni"`
	NF  sql.NullFloat64 `parquet:"nf"`
}

// kindRows returns n rows with the awkward values among them: NaN, ±Inf,
// -0, empty and non-ASCII strings, nulls, times before 1970.
func kindRows(n int) []allKinds {
	specials := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0}
	words := []string{"", "a", "ünï©ødé", "GRB120422A-120429.fits", "x,y\"z'"}
	rows := make([]allKinds, n)
	for i := range rows {
		f := float64(i)*1.5 - 100
		if i%17 == 0 {
			f = specials[(i/17)%len(specials)]
		}
		rows[i] = allKinds{
			ID:  int64(i) * 1000003,
			I32: int32(i*7919) - 1<<20,
			F:   f,
			B:   i%3 == 0,
			S:   words[i%len(words)],
			T:   time.UnixMicro(int64(i)*3_600_000_001 - 1e15).UTC(),
			NI:  sql.NullInt64{Int64: int64(-i), Valid: i%4 != 0},
			NF:  sql.NullFloat64{Float64: f / 3, Valid: i%5 != 0},
		}
		if !rows[i].NI.Valid {
			rows[i].NI.Int64 = 0
		}
		if !rows[i].NF.Valid {
			rows[i].NF.Float64 = 0
		}
	}
	return rows
}

// TestDuckDBReadsCatalogParquet writes a file with every column kind in
// many row groups with catalog's own Parquet writer and reads it back
// through DuckDB: the same values, the column types DuckDB sees, the
// statistics it reads from the footer (so that a filtered scan can skip
// row groups) and filtered queries whose answers the Go side computes.
func TestDuckDBReadsCatalogParquet(t *testing.T) {
	const n, group = 1000, 200 // 5 row groups; chunks of 200 int32s or booleans are small enough to be stored uncompressed, the others zstd
	rows := kindRows(n)
	dir := t.TempDir()
	path := filepath.Join(dir, "kinds.parquet")
	if err := catalog.WriteFile(path, rows, catalog.WithRowGroupRows(group)); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.parquet")
	if err := catalog.WriteFile[allKinds](empty, nil); err != nil {
		t.Fatal(err)
	}
	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	src := fmt.Sprintf("read_parquet('%s')", path)

	t.Run("types", func(t *testing.T) {
		want := map[string]string{"id": "BIGINT", "i32": "INTEGER", "f": "DOUBLE", "b": "BOOLEAN", "s": "VARCHAR",
			"t": "TIMESTAMP WITH TIME ZONE", "ni": "BIGINT", "nf": "DOUBLE"}
		r, err := db.Query("DESCRIBE SELECT * FROM " + src)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		seen := 0
		for r.Next() {
			var name, typ string
			var null, key, def, extra sql.NullString
			if err := r.Scan(&name, &typ, &null, &key, &def, &extra); err != nil {
				t.Fatal(err)
			}
			if want[name] != typ {
				t.Errorf("column %s: DuckDB type %s, want %s", name, typ, want[name])
			}
			seen++
		}
		if seen != len(want) {
			t.Errorf("%d columns, want %d", seen, len(want))
		}
	})

	t.Run("values", func(t *testing.T) {
		r, err := db.Query("SELECT id, i32, f, b, s, epoch_us(t), ni, nf FROM " + src + " ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		i := 0
		for ; r.Next(); i++ {
			var g allKinds
			var us int64
			if err := r.Scan(&g.ID, &g.I32, &g.F, &g.B, &g.S, &us, &g.NI, &g.NF); err != nil {
				t.Fatal(err)
			}
			g.T = time.UnixMicro(us).UTC()
			w := rows[i]
			same := g.ID == w.ID && g.I32 == w.I32 && sameFloat(g.F, w.F) && g.B == w.B && g.S == w.S &&
				g.T.Equal(w.T) && g.NI == w.NI && g.NF.Valid == w.NF.Valid && sameFloat(g.NF.Float64, w.NF.Float64)
			if !same {
				t.Fatalf("row %d: DuckDB read %+v, wrote %+v", i, g, w)
			}
		}
		if i != n {
			t.Fatalf("DuckDB read %d rows, want %d", i, n)
		}
	})

	t.Run("statistics", func(t *testing.T) {
		// DuckDB's view of the footer: one row per row group of id, with
		// min and max as written.
		r, err := db.Query(fmt.Sprintf(`SELECT row_group_id, row_group_num_rows, stats_min_value, stats_max_value, stats_null_count
			FROM parquet_metadata('%s') WHERE path_in_schema = 'id' ORDER BY row_group_id`, path))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		g := 0
		for ; r.Next(); g++ {
			var id, nrows, nulls int64
			var lo, hi string
			if err := r.Scan(&id, &nrows, &lo, &hi, &nulls); err != nil {
				t.Fatal(err)
			}
			first, last := g*group, min(n, (g+1)*group)-1
			if nrows != int64(last-first+1) || lo != fmt.Sprint(rows[first].ID) || hi != fmt.Sprint(rows[last].ID) || nulls != 0 {
				t.Errorf("row group %d: %d rows, id min %s max %s nulls %d; want %d rows, %d..%d, 0",
					g, nrows, lo, hi, nulls, last-first+1, rows[first].ID, rows[last].ID)
			}
		}
		if g != (n+group-1)/group {
			t.Errorf("%d row groups, want %d", g, (n+group-1)/group)
		}
	})

	// DuckDB skips row groups by the statistics: with row group 0's pages
	// overwritten by garbage, a scan of all rows fails, but one for an id
	// that the statistics place in a later row group does not read them.
	t.Run("pruning", func(t *testing.T) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var start, size int64
		err = db.QueryRow(fmt.Sprintf(`SELECT min(coalesce(dictionary_page_offset, data_page_offset)), sum(total_compressed_size)
			FROM parquet_metadata('%s') WHERE row_group_id = 0`, path)).Scan(&start, &size)
		if err != nil {
			t.Fatal(err)
		}
		for i := start; i < start+size; i++ {
			b[i] = 0xa5
		}
		bad := filepath.Join(dir, "bad0.parquet")
		if err := os.WriteFile(bad, b, 0o644); err != nil {
			t.Fatal(err)
		}
		var c int
		if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FROM read_parquet('%s') WHERE i32 <> 12345", bad)).Scan(&c); err == nil {
			t.Fatalf("a scan of every row group read the garbage without an error (%d rows): the test proves nothing", c)
		}
		id := rows[3*group+5].ID
		if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FROM read_parquet('%s') WHERE id = %d", bad, id)).Scan(&c); err != nil || c != 1 {
			t.Errorf("id = %d: count %d, err %v; want 1 with row group 0 skipped by its statistics", id, c, err)
		}
	})

	t.Run("filters", func(t *testing.T) {
		count := func(where string) int {
			t.Helper()
			var c int
			if err := db.QueryRow("SELECT count(*) FROM " + src + " WHERE " + where).Scan(&c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		want := func(keep func(allKinds) bool) int {
			c := 0
			for _, r := range rows {
				if keep(r) {
					c++
				}
			}
			return c
		}
		// An id in one row group only: the others' statistics exclude it.
		if got := count(fmt.Sprintf("id = %d", rows[537].ID)); got != 1 {
			t.Errorf("id = rows[537].id: %d rows, want 1", got)
		}
		if got := count("id = 1"); got != 0 {
			t.Errorf("id = 1: %d rows, want 0", got)
		}
		// In DuckDB NaN sorts above every number: the row groups with a
		// NaN must not be skipped for f > a large number.
		if got, w := count("f > 1e300"), want(func(r allKinds) bool { return math.IsNaN(r.F) || r.F > 1e300 }); got != w {
			t.Errorf("f > 1e300: %d rows, want %d (NaN and +Inf)", got, w)
		}
		if got, w := count("nf IS NULL"), want(func(r allKinds) bool { return !r.NF.Valid }); got != w {
			t.Errorf("nf IS NULL: %d rows, want %d", got, w)
		}
		if got, w := count("s = ''"), want(func(r allKinds) bool { return r.S == "" }); got != w {
			t.Errorf("s = '': %d rows, want %d", got, w)
		}
		if got, w := count("t < TIMESTAMPTZ '1970-01-01 00:00:00+00'"), want(func(r allKinds) bool { return r.T.Before(time.Unix(0, 0)) }); got != w {
			t.Errorf("t before 1970: %d rows, want %d", got, w)
		}
		if got, w := count("b AND i32 > 0"), want(func(r allKinds) bool { return r.B && r.I32 > 0 }); got != w {
			t.Errorf("b AND i32 > 0: %d rows, want %d", got, w)
		}
	})

	// And back: catalog reads what DuckDB writes (its defaults, snappy,
	// and zstd as CopyParquet asks): OPTIONAL columns, dictionary pages.
	for _, opts := range []string{"", ", COMPRESSION zstd", ", COMPRESSION uncompressed, ROW_GROUP_SIZE 100"} {
		t.Run("duckdb writes"+opts, func(t *testing.T) {
			out := filepath.Join(dir, fmt.Sprintf("copy%d.parquet", len(opts)))
			if _, err := db.Exec(fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY id) TO '%s' (FORMAT parquet%s)", src, out, opts)); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := catalog.Read[allKinds](f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d rows, want %d", len(got), n)
			}
			for i, g := range got {
				w := rows[i]
				same := g.ID == w.ID && g.I32 == w.I32 && sameFloat(g.F, w.F) && g.B == w.B && g.S == w.S &&
					g.T.Equal(w.T) && g.T.Location() == time.UTC && g.NI == w.NI && g.NF.Valid == w.NF.Valid && sameFloat(g.NF.Float64, w.NF.Float64)
				if !same {
					t.Fatalf("row %d: read %+v, DuckDB had %+v", i, g, w)
				}
			}
		})
	}

	// DuckDB's PARQUET_VERSION V2: v2 data pages, and for doubles and
	// booleans encodings the reader knows (BYTE_STREAM_SPLIT, RLE); its
	// integers and strings come DELTA-encoded, which the reader names in
	// its error.
	t.Run("duckdb writes v2", func(t *testing.T) {
		type fb struct {
			F  float64         `parquet:"f"`
			B  bool            `parquet:"b"`
			NF sql.NullFloat64 `parquet:"nf"`
		}
		out := filepath.Join(dir, "v2.parquet")
		if _, err := db.Exec(fmt.Sprintf("COPY (SELECT f, b, nf FROM %s ORDER BY id) TO '%s' (FORMAT parquet, PARQUET_VERSION V2)", src, out)); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		got, err := catalog.Read[fb](f)
		if err != nil {
			t.Fatal(err)
		}
		for i, g := range got {
			w := rows[i]
			if !sameFloat(g.F, w.F) || g.B != w.B || g.NF.Valid != w.NF.Valid || !sameFloat(g.NF.Float64, w.NF.Float64) {
				t.Fatalf("row %d: read %+v, DuckDB had %+v", i, g, w)
			}
		}
		out2 := filepath.Join(dir, "v2all.parquet")
		if _, err := db.Exec(fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY id) TO '%s' (FORMAT parquet, PARQUET_VERSION V2)", src, out2)); err != nil {
			t.Fatal(err)
		}
		f2, err := os.Open(out2)
		if err != nil {
			t.Fatal(err)
		}
		defer f2.Close()
		if _, err = catalog.Read[allKinds](f2); err == nil || !strings.Contains(err.Error(), "column id") || !strings.Contains(err.Error(), "DELTA_BINARY_PACKED") {
			t.Errorf("DELTA-encoded ids: err = %v, want one naming the column and the encoding", err)
		}
	})

	// Chunks of several pages: more than 1 MiB of strings in a row group
	// of the default 65536 rows.
	t.Run("pages", func(t *testing.T) {
		big := kindRows(140_000)
		wantLen := 0
		for i := range big {
			big[i].S = strings.Repeat(string(rune('a'+i%26)), i%40)
			wantLen += len(big[i].S)
		}
		p := filepath.Join(dir, "pages.parquet")
		if err := catalog.WriteFile(p, big); err != nil {
			t.Fatal(err)
		}
		var c, l, maxID int64
		err := db.QueryRow(fmt.Sprintf("SELECT count(*), sum(length(s)), max(id) FROM read_parquet('%s')", p)).Scan(&c, &l, &maxID)
		if err != nil {
			t.Fatal(err)
		}
		if c != int64(len(big)) || l != int64(wantLen) || maxID != big[len(big)-1].ID {
			t.Errorf("DuckDB: %d rows, %d string bytes, max id %d; want %d, %d, %d", c, l, maxID, len(big), wantLen, big[len(big)-1].ID)
		}
	})

	t.Run("empty", func(t *testing.T) {
		var c int
		if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", empty)).Scan(&c); err != nil || c != 0 {
			t.Errorf("empty file: count %d, err %v", c, err)
		}
	})
}

// sameFloat compares bit for bit, except that any NaN equals any NaN
// (DuckDB may canonicalise NaN payloads).
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}
