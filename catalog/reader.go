package catalog

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Read reads every row of a Parquet file written for record type T. The
// file's columns must be T's columns in order (by name and type), or a
// leading part of them (a file written before columns were added at the
// end of the record: the missing ones read as zero values); otherwise the
// error wraps ErrSchemaMismatch. Only WithAllocator applies.
func Read[T any](r parquet.ReaderAtSeeker, opts ...Option) ([]T, error) {
	var out []T
	err := read(r, opts, 0, func(n int64) []T {
		out = make([]T, n)
		return out
	}, nil)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadEach reads the rows of a Parquet file as Read does, in batches of
// at most batch rows, and calls fn with each batch in file order; the
// slice is reused by the next call. Memory holds one batch, whatever the
// file's size.
func ReadEach[T any](r parquet.ReaderAtSeeker, batch int, fn func([]T) error, opts ...Option) error {
	var buf []T // grown to the largest batch the file gives
	return read(r, opts, int64(max(1, batch)), nil, func(rows int) ([]T, func() error) {
		if rows > len(buf) {
			buf = make([]T, rows)
		}
		b := buf[:rows]
		clear(b) // columns a file lacks read as zero values
		return b, func() error { return fn(b) }
	})
}

// read is Read and ReadEach: with all, it reads every row into the slice
// all returns for the file's row count; otherwise into each's slices,
// one record batch of at most batch rows at a time, calling the function
// each returns after every batch.
func read[T any](r parquet.ReaderAtSeeker, opts []Option, batch int64, all func(n int64) []T, each func(rows int) ([]T, func() error)) error {
	sch := schemaOf[T]()
	o := newOptions(opts)
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(o.mem)))
	if err != nil {
		return fmt.Errorf("catalog: could not open %s file: %w", tableName(sch), err)
	}
	defer pf.Close()
	// The record reader reserves (and zeroes) BatchSize values per column
	// whatever the file holds: a batch no larger than the file keeps the
	// reads of small per-image files from allocating megabytes each.
	size := min(1<<16, pf.NumRows())
	if batch > 0 {
		size = min(size, batch)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: max(1, size)}, o.mem)
	if err != nil {
		return fmt.Errorf("catalog: could not read %s schema: %w", tableName(sch), err)
	}
	asch, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("catalog: could not read %s schema: %w", tableName(sch), err)
	}
	if asch.NumFields() > len(sch.cols) || asch.NumFields() == 0 {
		return fmt.Errorf("catalog: %s file has %d columns, want %d: %w", tableName(sch), asch.NumFields(), len(sch.cols), ErrSchemaMismatch)
	}
	for i, f := range asch.Fields() {
		if f.Name != sch.cols[i].Name {
			return fmt.Errorf("catalog: %s column %d is %q, want %q: %w", tableName(sch), i, f.Name, sch.cols[i].Name, ErrSchemaMismatch)
		}
	}
	total := pf.NumRows()
	var out []T
	if all != nil {
		out = all(total)
	}
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("catalog: could not read %s rows: %w", tableName(sch), err)
	}
	defer rr.Release()
	var pos int64
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumRows())
		if pos+int64(n) > total {
			return fmt.Errorf("catalog: %s file holds more rows than its footer says", tableName(sch))
		}
		if n > 0 {
			var dst []T
			done := func() error { return nil }
			if each != nil {
				dst, done = each(n)
			} else {
				dst = out[pos:]
			}
			if err := sch.scatter(unsafe.Pointer(&dst[0]), n, rec.Columns()); err != nil {
				return err
			}
			if err := done(); err != nil {
				return err
			}
		}
		pos += int64(n)
	}
	if err := rr.Err(); err != nil {
		return fmt.Errorf("catalog: could not read %s rows: %w", tableName(sch), err)
	}
	if pos != total {
		return fmt.Errorf("catalog: %s file: read %d rows, footer says %d", tableName(sch), pos, total)
	}
	return nil
}

// ReadMetadata returns a Parquet file's key-value metadata.
func ReadMetadata(r parquet.ReaderAtSeeker) (map[string]string, error) {
	pf, err := file.NewParquetReader(r)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not open file: %w", err)
	}
	defer pf.Close()
	kv := pf.MetaData().KeyValueMetadata()
	out := make(map[string]string, kv.Len())
	for i, k := range kv.Keys() {
		out[k] = kv.Values()[i]
	}
	return out, nil
}
