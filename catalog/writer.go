package catalog

import (
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"unsafe"

	"gotrap/catalog/internal/pq"
)

// DefaultRowGroupRows is the default number of rows per row group: about
// 30 MB of Measurement records buffered per writer, and large enough for
// DuckDB to scan row groups in parallel.
const DefaultRowGroupRows = 1 << 16

// Key-value metadata keys written to every file.
const (
	MetaSchemaVersion = "gotrap.schema_version"
	MetaVersion       = "gotrap.version"
	MetaTable         = "gotrap.table"
	MetaConfigHash    = "gotrap.config_hash"
	MetaSeed          = "gotrap.seed"
	MetaUnits         = "gotrap.units" // JSON object: column -> unit
)

// An Option configures a Writer or a reader.
type Option func(*options)

type options struct {
	rowGroup   int
	configHash string
	seed       string
	meta       map[string]string
}

func newOptions(opts []Option) options {
	o := options{rowGroup: DefaultRowGroupRows}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// MaxRowGroupRows is the most rows per row group that WithRowGroupRows
// accepts and the readers read (a bound on what a corrupt file can make
// them allocate).
const MaxRowGroupRows = pq.MaxRows

// WithRowGroupRows bounds the rows per row group, and so the rows a writer
// buffers. It panics if n < 1 or n > MaxRowGroupRows.
func WithRowGroupRows(n int) Option {
	if n < 1 || n > MaxRowGroupRows {
		panic(errBadRowGroup)
	}
	return func(o *options) { o.rowGroup = n }
}

// WithConfigHash records the hash of the run configuration.
func WithConfigHash(h string) Option { return func(o *options) { o.configHash = h } }

// WithSeed records the run's random seed.
func WithSeed(seed uint64) Option {
	return func(o *options) { o.seed = strconv.FormatUint(seed, 10) }
}

// WithMetadata adds one key-value pair to the file metadata.
func WithMetadata(key, value string) Option {
	return func(o *options) {
		if o.meta == nil {
			o.meta = map[string]string{}
		}
		o.meta[key] = value
	}
}

// Version returns gotrap's version as recorded in each file: the main
// module's version and VCS revision when the binary carries them.
func Version() string { return versionOnce() }

var versionOnce = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			v += " " + s.Value
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v
})

// A Writer streams records of type T into one Parquet file. It buffers at
// most one row group of records and writes each full row group at once,
// so its memory does not grow with the number of rows. A Writer is not
// safe for concurrent use.
//
// The same records in the same order with the same options give the same
// bytes.
type Writer[T any] struct {
	sch    *schema
	o      options
	pw     *pq.Writer
	md     []pq.KeyValue
	cols   []pq.Column // the row group being written, in PLAIN encoding
	buf    []T
	rows   int64
	groups int
	err    error // sticky
	closed bool
}

// NewWriter returns a Writer that writes a Parquet file with T's columns
// to w. Closing the Writer does not close w.
func NewWriter[T any](w io.Writer, opts ...Option) (*Writer[T], error) {
	sch := schemaOf[T]()
	o := newOptions(opts)
	md := map[string]string{
		MetaSchemaVersion: strconv.Itoa(SchemaVersion),
		MetaVersion:       Version(),
		MetaTable:         sch.table,
		MetaConfigHash:    o.configHash,
		MetaSeed:          o.seed,
		MetaUnits:         sch.units,
	}
	for k, v := range o.meta {
		md[k] = v
	}
	kv := make([]pq.KeyValue, 0, len(md))
	for _, k := range sortedKeys(md) {
		kv = append(kv, pq.KeyValue{Key: k, Value: md[k]})
	}
	fields := make([]pq.Field, len(sch.cols))
	for i := range sch.cols {
		fields[i] = sch.cols[i].pqField()
	}
	pw, err := pq.NewWriter(w, fields)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not start %s file: %w", tableName(sch), err)
	}
	// buf is allocated by the first Write that must buffer: a file
	// written whole (WriteFile) never copies its rows.
	return &Writer[T]{sch: sch, o: o, pw: pw, md: kv, cols: make([]pq.Column, len(sch.cols))}, nil
}

func tableName(s *schema) string {
	if s.table != "" {
		return s.table
	}
	return s.typ.String()
}

// Write appends rows. Full row groups are written as they fill; a slice of
// at least one row group is written without being copied.
func (w *Writer[T]) Write(rows ...T) error {
	if w.closed {
		panic(errClosed)
	}
	if w.err != nil {
		return w.err
	}
	for len(rows) > 0 {
		if len(w.buf) == 0 && len(rows) >= w.o.rowGroup {
			if err := w.flush(rows[:w.o.rowGroup]); err != nil {
				return err
			}
			rows = rows[w.o.rowGroup:]
			continue
		}
		n := min(len(rows), w.o.rowGroup-len(w.buf))
		if w.buf == nil {
			// Grown by append as rows come: a small file does not
			// pay for a large buffer.
			w.buf = make([]T, 0, min(w.o.rowGroup, max(n, 64)))
		}
		w.buf = append(w.buf, rows[:n]...)
		rows = rows[n:]
		if len(w.buf) == w.o.rowGroup {
			if err := w.flush(w.buf); err != nil {
				return err
			}
			clear(w.buf) // drop string references
			w.buf = w.buf[:0]
		}
	}
	return nil
}

// writeAll writes rows, the whole content of a file, as full row groups
// and one last partial group, without copying them: the same row groups,
// and so the same bytes, as Write(rows...) then Close.
func (w *Writer[T]) writeAll(rows []T) error {
	if w.closed {
		panic(errClosed)
	}
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 {
		return w.Write(rows...)
	}
	for len(rows) > 0 {
		n := min(len(rows), w.o.rowGroup)
		if err := w.flush(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// flush writes rows as one row group.
func (w *Writer[T]) flush(rows []T) error {
	n := len(rows)
	w.sch.gather(w.cols, unsafe.Pointer(unsafe.SliceData(rows)), n)
	if err := w.pw.WriteRowGroup(n, w.cols); err != nil {
		w.err = fmt.Errorf("catalog: could not write %s row group %d: %w", tableName(w.sch), w.groups, err)
		return w.err
	}
	w.groups++
	w.rows += int64(n)
	return nil
}

// Rows returns the number of rows written so far, buffered ones included.
func (w *Writer[T]) Rows() int64 { return w.rows + int64(len(w.buf)) }

// Close writes the buffered rows and the file footer. It does not close
// the underlying io.Writer. Close may be called more than once.
func (w *Writer[T]) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil && len(w.buf) > 0 {
		w.flush(w.buf) // sets w.err
	}
	w.buf = nil
	w.cols = nil
	if w.err != nil {
		w.pw.Release()
	} else if err := w.pw.Close(w.md, "gotrap version "+Version()); err != nil {
		w.err = fmt.Errorf("catalog: could not finish %s file: %w", tableName(w.sch), err)
	}
	return w.err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
