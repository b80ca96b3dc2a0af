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
	sch := schemaOf[T]()
	o := newOptions(opts)
	pf, err := file.NewParquetReader(r, file.WithReadProps(parquet.NewReaderProperties(o.mem)))
	if err != nil {
		return nil, fmt.Errorf("catalog: could not open %s file: %w", tableName(sch), err)
	}
	defer pf.Close()
	// The record reader reserves (and zeroes) BatchSize values per column
	// whatever the file holds: a batch no larger than the file keeps the
	// reads of small per-image files from allocating megabytes each.
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: max(1, min(1<<16, pf.NumRows()))}, o.mem)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not read %s schema: %w", tableName(sch), err)
	}
	asch, err := fr.Schema()
	if err != nil {
		return nil, fmt.Errorf("catalog: could not read %s schema: %w", tableName(sch), err)
	}
	if asch.NumFields() > len(sch.cols) || asch.NumFields() == 0 {
		return nil, fmt.Errorf("catalog: %s file has %d columns, want %d: %w", tableName(sch), asch.NumFields(), len(sch.cols), ErrSchemaMismatch)
	}
	for i, f := range asch.Fields() {
		if f.Name != sch.cols[i].Name {
			return nil, fmt.Errorf("catalog: %s column %d is %q, want %q: %w", tableName(sch), i, f.Name, sch.cols[i].Name, ErrSchemaMismatch)
		}
	}
	total := pf.NumRows()
	out := make([]T, total)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not read %s rows: %w", tableName(sch), err)
	}
	defer rr.Release()
	var pos int64
	for rr.Next() {
		rec := rr.RecordBatch()
		n := int(rec.NumRows())
		if pos+int64(n) > total {
			return nil, fmt.Errorf("catalog: %s file holds more rows than its footer says", tableName(sch))
		}
		if n > 0 {
			base := unsafe.Pointer(&out[pos])
			if err := sch.scatter(base, n, rec.Columns()); err != nil {
				return nil, err
			}
		}
		pos += int64(n)
	}
	if err := rr.Err(); err != nil {
		return nil, fmt.Errorf("catalog: could not read %s rows: %w", tableName(sch), err)
	}
	if pos != total {
		return nil, fmt.Errorf("catalog: %s file: read %d rows, footer says %d", tableName(sch), pos, total)
	}
	return out, nil
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
