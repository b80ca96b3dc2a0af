package catalog

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// TableFile returns the path of a table written as one file:
// RUN/NAME.parquet (images, associations, runcat, ...).
func TableFile(run, table string) string {
	return filepath.Join(run, table+".parquet")
}

// PartFile returns the path of one part file of a partitioned table:
// RUN/TABLE/rank=RRRR/STAGE-SSSSS.parquet, for example
// measurements/rank=0003/blind-00000.parquet. The rank=RRRR directory is a
// Hive partition, so DuckDB reads it with hive_partitioning; stage names
// the pipeline stage ("blind", "forced") and seq numbers the files a rank
// writes in that stage.
func PartFile(run, table string, rank int, stage string, seq int) string {
	if stage == "" {
		stage = "part"
	}
	return filepath.Join(run, table, fmt.Sprintf("rank=%04d", rank), fmt.Sprintf("%s-%05d.parquet", stage, seq))
}

// TempName returns the name a file is written under until it is complete:
// ".NAME.tmp" in the same directory. It neither ends in ".parquet" nor is
// visible to a "*" glob, so no reader mistakes it for a finished file.
func TempName(path string) string {
	dir, base := filepath.Split(path)
	return filepath.Join(dir, "."+base+".tmp")
}

// A FileWriter is a Writer that writes to TempName(path) and, on Close,
// syncs the file, renames it to path and syncs the directory. Until Close
// returns nil, path does not exist (or keeps its previous content); a
// process killed mid-write leaves only the temporary file.
type FileWriter[T any] struct {
	*Writer[T]
	f         *os.File
	bw        *bufio.Writer
	path, tmp string
	done      bool
}

// Create starts writing records of type T to path, creating its directory.
// A stale temporary file of an earlier, killed writer is overwritten.
func Create[T any](path string, opts ...Option) (*FileWriter[T], error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("catalog: could not create directory: %w", err)
	}
	tmp := TempName(path)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("catalog: could not create %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := NewWriter[T](bw, opts...)
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	return &FileWriter[T]{Writer: w, f: f, bw: bw, path: path, tmp: tmp}, nil
}

// Path returns the final path of the file.
func (w *FileWriter[T]) Path() string { return w.path }

// Close finishes the file and makes it visible under its final name. On
// error the temporary file is removed and the final name is untouched.
func (w *FileWriter[T]) Close() error {
	if w.done {
		return w.Writer.err
	}
	w.done = true
	err := w.Writer.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.tmp, w.path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(w.path))
	}
	if err != nil {
		os.Remove(w.tmp)
		w.Writer.err = fmt.Errorf("catalog: could not write %s: %w", w.path, err)
		return w.Writer.err
	}
	return nil
}

// Abort abandons the file: it releases the writer's buffers and removes
// the temporary file. Abort after Close does nothing.
func (w *FileWriter[T]) Abort() {
	if w.done {
		return
	}
	w.done = true
	if w.Writer.err == nil {
		w.Writer.err = ErrAborted
	}
	w.Writer.buf = nil // nothing more to flush
	w.Writer.closed = true
	w.Writer.fw.Close()
	w.f.Close()
	os.Remove(w.tmp)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, os.ErrInvalid) { // some file systems cannot sync directories
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// WriteFile writes rows to path atomically (Create, Write, Close).
func WriteFile[T any](path string, rows []T, opts ...Option) error {
	w, err := Create[T](path, opts...)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}
