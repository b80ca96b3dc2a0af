package rundir

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteStaged writes data to path as WriteFile does (a temporary name,
// then a rename: the file appears complete or not at all, to any reader
// and after any process death) but without syncing the file or its
// folder: the file survives a crash of the operating system only once
// SyncFS of its file system has returned. It is for the files whose
// durability is recorded later as a whole (the staged files of a
// timestep, made durable before work/commit.json counts the timestep).
// path's folder is created when missing.
func WriteStaged(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("rundir: could not create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("rundir: could not create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("rundir: could not write %s: %w", path, err)
	}
	return nil
}

// SyncFS makes durable every file written and renamed so far on the file
// system that holds dir: their data, their names and their folders
// (syncfs(2) on Linux, which also writes back what other processes left
// dirty there; sync(2) elsewhere). One call replaces a sync of each file
// and folder written with WriteStaged. Linux reports through it the
// write-back errors of the file system since the file descriptor was
// opened (kernel 5.8 and later).
func SyncFS(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("rundir: could not sync the file system of %s: %w", dir, err)
	}
	err = syncfs(d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rundir: could not sync the file system of %s: %w", dir, err)
	}
	return nil
}
