package catalog

import (
	"fmt"
	"io"
	"slices"
	"unsafe"

	"gotrap/catalog/internal/pq"
)

// ReaderAtSeeker is what the readers read a file from: an *os.File or a
// *bytes.Reader. Seek finds the file's size.
type ReaderAtSeeker interface {
	io.ReaderAt
	io.Seeker
}

// Read reads every row of a Parquet file written for record type T. The
// file's columns must be T's columns in order (by name and type), or a
// leading part of them (a file written before columns were added at the
// end of the record: the missing ones read as zero values); otherwise the
// error wraps ErrSchemaMismatch. A file that is not readable Parquet
// gives an error naming the problem. No option applies.
func Read[T any](r ReaderAtSeeker, opts ...Option) ([]T, error) {
	var out []T
	err := read(r, 0, func(rows int) ([]T, func() error) {
		// Grown per row group, once its columns are decoded: the
		// memory follows the data read, not what the footer claims.
		out = slices.Grow(out, rows)
		b := out[len(out) : len(out)+rows]
		return b, func() error { out = out[:len(out)+rows]; return nil }
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []T{} // an empty file reads as an empty, non-nil slice
	}
	return out, nil
}

// ReadEach reads the rows of a Parquet file as Read does, in batches of
// at most batch rows, and calls fn with each batch in file order; the
// slice is reused by the next call. Memory holds one batch and one row
// group's decoded columns, whatever the file's size.
func ReadEach[T any](r ReaderAtSeeker, batch int, fn func([]T) error, opts ...Option) error {
	var buf []T // grown to the largest batch the file gives
	return read(r, max(1, batch), func(rows int) ([]T, func() error) {
		if rows > len(buf) {
			buf = make([]T, rows)
		}
		b := buf[:rows]
		clear(b) // columns a file lacks read as zero values
		return b, func() error { return fn(b) }
	})
}

// read is Read and ReadEach: it decodes each row group's columns and
// scatters them into the slices that each returns, batch rows at a time
// (0: a row group at once), calling the function each returns after
// every batch.
func read[T any](r ReaderAtSeeker, batch int, each func(rows int) ([]T, func() error)) error {
	sch := schemaOf[T]()
	tbl := tableName(sch)
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("catalog: could not open %s file: %w", tbl, err)
	}
	pf, err := pq.Open(r, size)
	if err != nil {
		return fmt.Errorf("catalog: could not open %s file: %w", tbl, err)
	}
	fields := pf.Fields()
	if len(fields) > len(sch.cols) || len(fields) == 0 {
		return fmt.Errorf("catalog: %s file has %d columns, want %d: %w", tbl, len(fields), len(sch.cols), ErrSchemaMismatch)
	}
	for j, f := range fields {
		if err := sch.cols[j].checkField(tbl, j, f); err != nil {
			return err
		}
	}
	vals := make([]pq.Values, len(fields))
	strs := make([]string, len(fields))
	cur := make([]cursor, len(fields))
	for g := range pf.RowGroups() {
		rows := pf.RowGroupRows(g)
		for j := range fields {
			if err := pf.ReadColumn(g, j, &vals[j]); err != nil {
				return fmt.Errorf("catalog: could not read %s rows: %w", tbl, err)
			}
			strs[j] = ""
			if sch.cols[j].kind == kString {
				strs[j] = string(vals[j].Data) // one allocation; values share it
			}
			cur[j] = cursor{}
		}
		step := rows
		if batch > 0 {
			step = min(rows, batch)
		}
		for off := 0; off < rows; off += step {
			n := min(step, rows-off)
			dst, done := each(n)
			if err := sch.scatter(unsafe.Pointer(unsafe.SliceData(dst)), n, vals, strs, cur); err != nil {
				return fmt.Errorf("%w (%s file)", err, tbl)
			}
			if err := done(); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReadMetadata returns a Parquet file's key-value metadata.
func ReadMetadata(r ReaderAtSeeker) (map[string]string, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not open file: %w", err)
	}
	pf, err := pq.Open(r, size)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not open file: %w", err)
	}
	kv := pf.KeyValues()
	out := make(map[string]string, len(kv))
	for _, e := range kv {
		out[e.Key] = e.Value
	}
	return out, nil
}

// Int64Range returns the smallest and largest value of a Parquet file's
// Int64 column (an id) from its row groups' statistics, without reading
// the data; ok is false when the file does not say (no such column, no
// rows, or a row group without statistics).
func Int64Range(r ReaderAtSeeker, column string) (lo, hi int64, ok bool, err error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, 0, false, fmt.Errorf("catalog: could not open file: %w", err)
	}
	pf, err := pq.Open(r, size)
	if err != nil {
		return 0, 0, false, fmt.Errorf("catalog: could not open file: %w", err)
	}
	lo, hi, ok = pf.Int64Range(column)
	return lo, hi, ok, nil
}
