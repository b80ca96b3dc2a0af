package rundir

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// A File is a file being written under a temporary name (Create); Commit
// gives it its final name.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path: a new file ".BASE.<random>.tmp" in path's
// folder (which must exist), unique to this call, so that writers in
// other processes or goroutines never share it. Until Commit returns nil
// path does not exist or keeps its previous content.
func Create(path string) (*File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("rundir: could not create %s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// Path is the final name.
func (f *File) Path() string { return f.path }

// Commit syncs and closes the file, gives it mode 0644, renames it to its
// final name and syncs the folder. On error the temporary file is removed
// and the final name is untouched.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("rundir: %s: already closed", f.path)
	}
	f.done = true
	err := f.Chmod(0o644)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(f.path))
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("rundir: could not write %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file; after Commit it does
// nothing.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// WriteFile writes data to path atomically (Create, Write, Commit),
// creating path's folder when missing.
func WriteFile(path string, data []byte) error {
	return WriteFunc(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc writes path atomically with what write writes (Create,
// write, Commit), creating path's folder when missing. When write fails,
// path is untouched and the error names it.
func WriteFunc(path string, write func(io.Writer) error) error {
	f, err := createWith(path, write)
	if err != nil {
		return err
	}
	return f.Commit()
}

// createWith creates path's folder when missing and path's temporary
// file (Create), and writes it with write; when write fails, the
// temporary file is removed and the error names path.
func createWith(path string, write func(io.Writer) error) (*File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("rundir: could not create %s: %w", filepath.Dir(path), err)
	}
	f, err := Create(path)
	if err != nil {
		return nil, err
	}
	if err := write(f); err != nil {
		f.Abort()
		return nil, fmt.Errorf("rundir: could not write %s: %w", path, err)
	}
	return f, nil
}

// A Batch writes several files that are committed together, for a
// command that writes a few small files at once (gotrap extract's
// STEM.csv, STEM.parquet, STEM.reg): each file is written under a
// temporary name as Create's, and Commit makes them durable with fewer
// syncs than one Commit each (which syncs every file and then its folder,
// two journal commits a file on ext4): it syncs the files' data
// concurrently, so that a journaling file system can commit them in one
// transaction, then renames each to its final name, then syncs each
// folder once. The guarantees are Commit's: a final name holds its old
// content or the whole new file, never part of it, and once Commit
// returns nil the files survive a crash. A Batch is not safe for
// concurrent use.
type Batch struct {
	files []*File
}

// Add puts f, a file written with Create and neither committed nor
// aborted, in the batch: Commit commits it with the others, Abort
// removes it.
func (b *Batch) Add(f *File) { b.files = append(b.files, f) }

// WriteFunc writes path's temporary file with what write writes (Create,
// write), creating path's folder when missing; Commit gives it its final
// name. When write fails, the temporary file is removed, path is
// untouched and the error names it; the files written before stay in the
// batch.
func (b *Batch) WriteFunc(path string, write func(io.Writer) error) error {
	f, err := createWith(path, write)
	if err != nil {
		return err
	}
	b.files = append(b.files, f)
	return nil
}

// Commit syncs the batch's files, renames them to their final names in
// the order they were written and syncs their folders, each once. On an
// error before the renames no final name is touched and every temporary
// file is removed; a rename or folder sync that fails leaves the files
// renamed before it in place (each whole). The batch is empty afterwards.
func (b *Batch) Commit() error {
	files := b.files
	b.files = nil
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		f.done = true
		wg.Go(func() {
			err := f.Chmod(0o644)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			for _, f := range files {
				os.Remove(f.Name())
			}
			return fmt.Errorf("rundir: could not write %s: %w", files[i].path, err)
		}
	}
	var dirs []string
	for i, f := range files {
		if err := os.Rename(f.Name(), f.path); err != nil {
			for _, g := range files[i:] {
				os.Remove(g.Name())
			}
			return fmt.Errorf("rundir: could not write %s: %w", f.path, err)
		}
		if d := filepath.Dir(f.path); !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	for _, d := range dirs {
		if err := SyncDir(d); err != nil {
			return fmt.Errorf("rundir: could not sync %s: %w", d, err)
		}
	}
	return nil
}

// Abort removes the temporary files of the batch; the final names are
// untouched. The batch is empty afterwards.
func (b *Batch) Abort() {
	for _, f := range b.files {
		f.Abort()
	}
	b.files = nil
}

// CreateDir starts writing the folder dir as a whole: it returns a new
// empty folder ".BASE.<random>.tmp" beside dir (mode 0755), creating
// dir's parent when missing. Fill it, then CommitDir it, or remove it.
func CreateDir(dir string) (string, error) {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("rundir: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".*.tmp")
	if err != nil {
		return "", fmt.Errorf("rundir: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's is 0700
		os.RemoveAll(tmp)
		return "", fmt.Errorf("rundir: %w", err)
	}
	return tmp, nil
}

// CommitDir marks the finished folder tmp (Mark) and renames it to dir.
// An existing dir must be replaceable (CheckReplaceable: only gotrap's
// files; the error wraps ErrNotOurs otherwise); it is renamed aside
// first and removed after, so dir always holds a whole folder. On error
// tmp is removed.
func CommitDir(tmp, dir string) error {
	err := Mark(tmp)
	if err == nil {
		err = CheckReplaceable(dir)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	old := ""
	if _, err := os.Lstat(dir); err == nil {
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			os.RemoveAll(tmp)
			return fmt.Errorf("rundir: could not replace %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		os.RemoveAll(tmp)
		return fmt.Errorf("rundir: could not replace %s: %w", dir, err)
	}
	if err := SyncDir(filepath.Dir(dir)); err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	if old != "" {
		// Checked above: only files gotrap wrote.
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("rundir: %w", err)
		}
	}
	return nil
}

// SyncDir syncs a folder, so that a rename in it survives a crash. File
// systems that cannot sync folders are not an error.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, os.ErrInvalid) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// IsTemp reports whether a file name is a temporary name of Create:
// ".NAME.<digits>.tmp".
func IsTemp(name string) bool {
	s, ok := strings.CutSuffix(name, ".tmp")
	if !ok || !strings.HasPrefix(s, ".") {
		return false
	}
	i := strings.LastIndexByte(s, '.')
	if i <= 1 || i == len(s)-1 {
		return false
	}
	for _, c := range s[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RemoveTemps removes the temporary files (IsTemp) below dir: what killed
// writers left. Call it only while holding dir's Lock, when no writer of
// this run can be alive. It returns how many it removed.
func RemoveTemps(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() && IsTemp(d.Name()) {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, fmt.Errorf("rundir: %w", err)
	}
	return n, nil
}

// CreateName reserves a temporary name for path, as Create, for a writer
// that opens files by name (DuckDB's COPY): the file exists, empty, when
// CreateName returns. Finish with Rename, or remove the file.
func CreateName(path string) (string, error) {
	f, err := Create(path)
	if err != nil {
		return "", err
	}
	f.done = true
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("rundir: %w", err)
	}
	return f.Name(), nil
}

// Rename syncs the finished temporary file tmp, renames it to path and
// syncs the folder; on error tmp is removed and path untouched.
func Rename(tmp, path string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err == nil {
		err = f.Chmod(0o644)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rundir: could not write %s: %w", path, err)
	}
	return nil
}
