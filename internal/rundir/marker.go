package rundir

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// MarkerFile marks a folder that gotrap made (a report folder): it lists,
// one per line, the files gotrap wrote there, relative to the folder.
const MarkerFile = ".gotrap-made"

// ErrNotOurs reports a folder that gotrap may not replace: it holds files
// gotrap did not write.
var ErrNotOurs = errors.New("rundir: the folder holds files gotrap did not write")

// Mark writes dir's marker listing every file below dir (the marker
// excepted). Call it when dir is complete.
func Mark(dir string) error {
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("# gotrap made this folder; it may replace it as a whole. Files it wrote:\n")
	for _, f := range files {
		b.WriteString(f)
		b.WriteByte('\n')
	}
	return WriteFile(filepath.Join(dir, MarkerFile), b.Bytes())
}

// CheckReplaceable reports whether dir may be replaced by a new folder
// gotrap writes: it is absent, empty, or marked (Mark) and holds no file
// but those its marker lists. Otherwise the error wraps ErrNotOurs and
// names the first foreign file.
func CheckReplaceable(dir string) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s is not a folder", ErrNotOurs, dir)
	}
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, MarkerFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s is not empty and gotrap did not make it (no %s); name a new or empty folder", ErrNotOurs, dir, MarkerFile)
	}
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	var ours []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			ours = append(ours, l)
		}
	}
	slices.Sort(ours)
	for _, f := range files {
		if _, found := slices.BinarySearch(ours, f); !found {
			return fmt.Errorf("%w: %s holds %s, which gotrap did not write; move it away or name another folder", ErrNotOurs, dir, f)
		}
	}
	return nil
}

// listFiles returns every non-folder entry below dir but the marker, as
// slash paths relative to dir, sorted.
func listFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if rel = filepath.ToSlash(rel); rel != MarkerFile {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rundir: %w", err)
	}
	slices.Sort(out)
	return out, nil
}
