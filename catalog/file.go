package catalog

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"gotrap/internal/rundir"
)

// A FileWriter is a Writer that writes to a temporary file beside path
// (rundir.Create: ".NAME.<random>.tmp", unique to the writer, which no
// "*.parquet" glob matches) and, on Close, syncs the file, renames it to
// path and syncs the directory. Until Close returns nil, path does not
// exist (or keeps its previous content); a process killed mid-write leaves
// only the temporary file (rundir.RemoveTemps removes such files).
type FileWriter[T any] struct {
	*Writer[T]
	f    *rundir.File
	bw   *bufio.Writer
	done bool
}

// Create starts writing records of type T to path, creating its directory.
func Create[T any](path string, opts ...Option) (*FileWriter[T], error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("catalog: could not create directory: %w", err)
	}
	f, err := rundir.Create(path)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	bw := fileBufs.Get().(*bufio.Writer)
	bw.Reset(f)
	w, err := NewWriter[T](bw, opts...)
	if err != nil {
		putFileBuf(bw)
		f.Abort()
		return nil, err
	}
	return &FileWriter[T]{Writer: w, f: f, bw: bw}, nil
}

// fileBufs holds the 1 MiB write buffers of FileWriters: the pipeline
// writes small staged files per image, and a new buffer each was half of
// the bytes a run allocated.
var fileBufs = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 1<<20) }}

// putFileBuf returns bw to fileBufs, holding no reference to its file.
func putFileBuf(bw *bufio.Writer) {
	bw.Reset(nil)
	fileBufs.Put(bw)
}

// Path returns the final path of the file.
func (w *FileWriter[T]) Path() string { return w.f.Path() }

// TempPath returns the temporary file's path (until Close).
func (w *FileWriter[T]) TempPath() string { return w.f.Name() }

// Close finishes the file and makes it visible under its final name. On
// error the temporary file is removed and the final name is untouched.
func (w *FileWriter[T]) Close() error { return w.close(nil) }

// CloseTo finishes the file as Close does, but leaves its commit to b:
// it gets its final name when b is committed (rundir.Batch.Commit, which
// syncs the batch's files together: fewer journal commits than a Close
// each), and b.Abort removes it. On error the temporary file is removed
// and b does not hold it.
func (w *FileWriter[T]) CloseTo(b *rundir.Batch) error { return w.close(b) }

func (w *FileWriter[T]) close(b *rundir.Batch) error {
	if w.done {
		return w.Writer.err
	}
	w.done = true
	err := w.Writer.Close()
	if err == nil {
		err = w.bw.Flush()
	}
	putFileBuf(w.bw)
	w.bw = nil
	switch {
	case err != nil:
		w.f.Abort()
	case b != nil:
		b.Add(w.f)
	default:
		err = w.f.Commit()
	}
	if err != nil {
		w.Writer.err = fmt.Errorf("catalog: could not write %s: %w", w.f.Path(), err)
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
	w.Writer.cols = nil
	w.Writer.pw.Release()
	putFileBuf(w.bw)
	w.bw = nil
	w.f.Abort()
}

// WriteFile writes rows to path atomically (Create, Write, Close).
func WriteFile[T any](path string, rows []T, opts ...Option) error {
	w, err := Create[T](path, opts...)
	if err != nil {
		return err
	}
	if err := w.writeAll(rows); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// Encode writes rows to w as one Parquet file (NewWriter, Write, Close),
// through a pooled write buffer that it flushes: for a caller that
// commits the file itself (rundir.Batch). It does not close w.
func Encode[T any](w io.Writer, rows []T, opts ...Option) error {
	bw := fileBufs.Get().(*bufio.Writer)
	bw.Reset(w)
	defer putFileBuf(bw)
	pw, err := NewWriter[T](bw, opts...)
	if err != nil {
		return err
	}
	if err := pw.writeAll(rows); err != nil {
		pw.Close()
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
