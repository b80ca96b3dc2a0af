package pipeline

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// staging writes one rank's staged files (RUN/work/extract, work/forced)
// under the commit rule of the timesteps (docs/pipeline.md "Resume"): the
// files of a timestep not yet committed are written complete under their
// final names (temporary name, rename) but not synced one by one; before
// rank 0 records the timestep in work/commit.json, every rank makes them
// durable with one sync of the file system (sync). A resumed run trusts
// staged files only in the timesteps committed (reusable), so a file
// that a crash of the system left short or empty in a later timestep is
// never read: that timestep is redone. Files of a timestep committed
// before this call (written again: an input changed, other requests) are
// each synced before their rename, as they replace durable ones.
type staging struct {
	run string
	// committed is the number of timesteps committed when the stage
	// started (work/commit.json).
	committed int64
	// unsynced counts the files written without a sync since the last
	// sync.
	unsynced atomic.Int64
	// bufs are the buffers staged Parquet files are encoded in before
	// their one write.
	bufs sync.Pool
}

// reusable reports whether the staged files of an image of timestep t
// may be trusted: t was committed, so they were durable before.
func (st *staging) reusable(t int64) bool { return t >= 0 && t < st.committed }

// file writes data to path, a staged file of an image of timestep t.
func (st *staging) file(t int64, path string, data []byte) error {
	if st.reusable(t) {
		return rundir.WriteFile(path, data)
	}
	if err := rundir.WriteStaged(path, data); err != nil {
		return err
	}
	st.unsynced.Add(1)
	return nil
}

// stageRows writes rows to path, a staged Parquet file of an image of
// timestep t: the same bytes as catalog.WriteFile.
func stageRows[T any](st *staging, t int64, path string, rows []T, copts []catalog.Option) error {
	if st.reusable(t) {
		return catalog.WriteFile(path, rows, copts...)
	}
	b, _ := st.bufs.Get().(*bytes.Buffer)
	if b == nil {
		b = new(bytes.Buffer)
	}
	defer st.bufs.Put(b)
	b.Reset()
	if n := len(rows); n > 0 && n <= catalog.DefaultRowGroupRows {
		// One row group of every row, written without copying them, as
		// catalog.WriteFile writes a file of at most one row group.
		copts = append(copts[:len(copts):len(copts)], catalog.WithRowGroupRows(len(rows)))
	}
	w, err := catalog.NewWriter[T](b, copts...)
	if err != nil {
		return err
	}
	err = w.Write(rows...)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return st.file(t, path, b.Bytes())
}

// sync makes the files written so far durable (rundir.SyncFS) unless
// none was written unsynced since the last call.
func (st *staging) sync() error {
	if st.unsynced.Swap(0) == 0 {
		return nil
	}
	return syncFS(rundir.WorkDir(st.run))
}

// syncFS is rundir.SyncFS; tests make it fail.
var syncFS = rundir.SyncFS
