package pipeline

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/cespare/xxhash/v2"

	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
)

// ErrMissingInput reports input files that do not exist; the message
// lists them.
var ErrMissingInput = errors.New("pipeline: missing input files")

// ExpandInputs turns the INPUT arguments of "gotrap run" into a sorted,
// de-duplicated list of images (ExpandInputsWarn without warnings).
func ExpandInputs(args []string) ([]string, error) { return ExpandInputsWarn(args, nil) }

// ExpandInputsWarn turns the INPUT arguments of "gotrap run" into a
// sorted, de-duplicated list of images. An argument is a file, a CASA
// image directory, a directory (every *.fits, *.fits.gz and *.fits.fz
// file, in any case, and every CASA image below it, recursively; a CASA
// image is not descended into), a glob (a pattern that matches nothing is
// an error), or @FILE: a list of further arguments (one per line; blank
// lines and lines starting with '#' are skipped; relative paths are
// relative to FILE's directory).
//
// Only inputs named explicitly (a file argument, a line of @FILE) stop
// the run: every missing one is reported at once in one error wrapping
// ErrMissingInput, and one that cannot be opened is an error. What a
// directory listing or a glob finds that is not a readable regular file
// (a dangling link, an unreadable file, a named pipe, a socket, a folder
// that cannot be listed) stays in the list: the plan stage rejects it
// with a recorded reason, and the run goes on.
//
// One file reached under several spellings (relative and absolute, a
// symbolic or hard link: the same device and inode) is kept once, under
// the first spelling in sorted order; warn, when not nil, is told of each
// one dropped.
func ExpandInputsWarn(args []string, warn func(msg string)) ([]string, error) {
	var out, missing []string
	var walk func(arg, base string, depth int) error
	walk = func(arg, base string, depth int) error {
		if depth > 8 {
			return fmt.Errorf("pipeline: @FILE lists nested deeper than 8 at %s", arg)
		}
		if list, ok := strings.CutPrefix(arg, "@"); ok {
			if base != "" && !filepath.IsAbs(list) {
				list = filepath.Join(base, list)
			}
			b, err := os.ReadFile(list)
			if err != nil {
				return fmt.Errorf("pipeline: input list: %w", err)
			}
			dir := filepath.Dir(list)
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				l := strings.TrimSpace(sc.Text())
				if l == "" || l[0] == '#' {
					continue
				}
				if err := walk(l, dir, depth+1); err != nil {
					return err
				}
			}
			return sc.Err()
		}
		if base != "" && !filepath.IsAbs(arg) {
			arg = filepath.Join(base, arg)
		}
		if strings.ContainsAny(arg, "*?[") {
			m, err := filepath.Glob(arg)
			if err != nil {
				return fmt.Errorf("pipeline: bad glob %q: %w", arg, err)
			}
			if len(m) == 0 {
				missing = append(missing, arg+" (no match)")
			}
			for _, p := range m {
				if st, err := os.Stat(p); err != nil || !st.IsDir() || isImageDir(p) {
					out = append(out, p) // a dangling link: rejected later
				}
			}
			return nil
		}
		st, err := os.Stat(arg)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			missing = append(missing, arg)
			return nil
		case err != nil:
			return fmt.Errorf("pipeline: input: %w", err)
		case st.IsDir() && !isImageDir(arg):
			return filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					if p == arg {
						return fmt.Errorf("pipeline: input: %w", err)
					}
					// A folder below it that cannot be listed: the
					// plan stage rejects it as unreadable.
					out = append(out, p)
					if d != nil && d.IsDir() {
						return fs.SkipDir
					}
					return nil
				}
				if d.IsDir() && p != arg && isImageDir(p) {
					out = append(out, p)
					return filepath.SkipDir
				}
				if !d.IsDir() && fitsimg.IsImageName(p) {
					out = append(out, p)
				}
				return nil
			})
		}
		if st.Mode().IsRegular() {
			f, err := os.Open(arg)
			if err != nil {
				return fmt.Errorf("pipeline: input: %w", err)
			}
			f.Close()
		}
		out = append(out, arg)
		return nil
	}
	for _, a := range args {
		if err := walk(a, "", 0); err != nil {
			return nil, err
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w (%d): %s", ErrMissingInput, len(missing), strings.Join(missing, ", "))
	}
	for i, p := range out {
		out[i] = filepath.Clean(p)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	out = dropSameFiles(out, warn)
	if len(out) == 0 {
		return nil, fmt.Errorf("pipeline: no input images")
	}
	return out, nil
}

// dropSameFiles keeps the first path of each file (device and inode) in
// paths and tells warn of the others. Paths that cannot be stat'ed stay.
func dropSameFiles(paths []string, warn func(string)) []string {
	type key struct{ dev, ino uint64 }
	seen := map[key]string{}
	return slices.DeleteFunc(paths, func(p string) bool {
		st, err := os.Stat(p)
		if err != nil {
			return false
		}
		sys, ok := st.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		k := key{uint64(sys.Dev), sys.Ino}
		if first, dup := seen[k]; dup {
			if warn != nil {
				warn(fmt.Sprintf("input %s is the same file as %s (device %d, inode %d): used once", p, first, k.dev, k.ino))
			}
			return true
		}
		seen[k] = p
		return false
	})
}

// isImageDir reports whether the directory p is one image (a CASA image
// table) rather than a folder of images: input listing takes it whole and
// does not descend into it.
func isImageDir(p string) bool { return fitsimg.IsCASAImage(p) }

// fingerprintRun returns the manifest entry of the input path (statInput)
// with, when cats (input -> catalogue, Options.Catalogues) names one, its
// catalogue's and those of the Selavy maps shipped beside the image
// (hashed whole: catalogues and maps are small).
func fingerprintRun(path string, cats map[string]string) (rundir.InputFile, error) {
	in, err := statInput(path)
	if err != nil {
		return in, err
	}
	if cat, ok := cats[path]; ok {
		c, err := fingerprint(cat)
		if err != nil {
			return in, err
		}
		in.Catalogue = &c
		img := Image{Path: path, Catalogue: cat}
		if noise, mean := img.catalogueMaps(); noise != "" {
			for _, p := range []string{noise, mean} {
				m, err := fingerprint(p)
				if err != nil {
					return in, err
				}
				in.Maps = append(in.Maps, m)
			}
		}
	}
	return in, nil
}

// inputEntry is the manifest entry of path without size and hash: the
// path (escaped when not UTF-8, its bytes kept) and, when st is not nil,
// the modification time.
func inputEntry(path string, st os.FileInfo) rundir.InputFile {
	in := rundir.InputFile{Path: rundir.EscapeName(path)}
	if in.Path != path {
		in.PathRaw = []byte(path)
	}
	if st != nil {
		in.ModTime = st.ModTime().UTC().Format("2006-01-02T15:04:05.000000000Z")
	}
	return in
}

// statInput returns the manifest entry of path from its metadata: path,
// size and modification time. The content hash (XXH64) of an image file
// is made later, on the read that extracts it (extractStage.extract), so
// that each input is read once. A directory (a CASA image) is
// fingerprinted whole here.
func statInput(path string) (rundir.InputFile, error) {
	st, err := os.Stat(path)
	if err != nil || st.IsDir() || !st.Mode().IsRegular() {
		return fingerprint(path)
	}
	in := inputEntry(path, st)
	in.Size = st.Size()
	return in, nil
}

// fingerprint returns the manifest entry of path, reading the whole file
// for its hash; a CASA image directory gets the hash of its files
// (hashImageDir). A path that is not a regular file (a named pipe, another
// directory, a dangling link found in a listed folder) or that cannot be
// opened gets no hash and is not opened (a pipe could block): the plan
// stage rejects it as unreadable. Inputs named on the command line were
// checked by ExpandInputs already.
func fingerprint(path string) (rundir.InputFile, error) {
	st, err := os.Stat(path)
	in := inputEntry(path, st)
	if err != nil {
		return in, nil
	}
	if st.IsDir() && isImageDir(path) {
		n, h, err := hashImageDir(path)
		if err != nil {
			return in, nil // unreadable: the plan stage rejects it
		}
		in.Size, in.XXH64 = n, h
		return in, nil
	}
	if !st.Mode().IsRegular() {
		return in, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return in, nil
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return in, fmt.Errorf("pipeline: %w", err)
	}
	h := xxhash.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return in, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	in.Size = n
	in.XXH64 = fmt.Sprintf("%016x", h.Sum64())
	return in, nil
}

// hashImageDir returns the total size and the content hash (xxHash64,
// hex) of a CASA image directory: its regular files in sorted order of
// their paths relative to dir (filepath.WalkDir's lexical order), each
// hashed as its relative path (slash-separated), a NUL, its size (8 bytes,
// little-endian) and its bytes. Symbolic links and other non-regular
// entries are left out. Copying the image elsewhere keeps the hash;
// changing, adding, removing or renaming any table file changes it.
func hashImageDir(dir string) (int64, string, error) {
	h := xxhash.New()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		var size [8]byte
		binary.LittleEndian.PutUint64(size[:], uint64(st.Size()))
		h.WriteString(filepath.ToSlash(rel))
		h.Write([]byte{0})
		h.Write(size[:])
		n, err := io.Copy(h, f)
		total += n
		return err
	})
	if err != nil {
		return 0, "", fmt.Errorf("pipeline: %s: %w", dir, err)
	}
	return total, fmt.Sprintf("%016x", h.Sum64()), nil
}

// sameFile reports whether two entries name the same file content.
func sameFile(a, b rundir.InputFile) bool {
	return a.Path == b.Path && bytes.Equal(a.PathRaw, b.PathRaw) && a.Size == b.Size && a.XXH64 == b.XXH64
}

// catalogueDiff says how the catalogue of an input (and the Selavy maps
// beside it) now differs from the run's (old), "" when it does not
// (--catalogues; checkResume compares the image files).
func catalogueDiff(old, now rundir.InputFile) string {
	switch {
	case old.Catalogue == nil && now.Catalogue != nil:
		return fmt.Sprintf("input %s: the run extracted it, now the catalogue %s replaces it (--catalogues)", now.Path, now.Catalogue.Path)
	case old.Catalogue != nil && now.Catalogue == nil:
		return fmt.Sprintf("input %s: the run used the catalogue %s; resume with the same --catalogues, or with --resume --out RUN alone", now.Path, old.Catalogue.Path)
	case old.Catalogue != nil && !sameFile(*old.Catalogue, *now.Catalogue):
		return fmt.Sprintf("input %s: its catalogue %s changed or differs from the run's %s", now.Path, now.Catalogue.Path, old.Catalogue.Path)
	case !slices.EqualFunc(old.Maps, now.Maps, sameFile):
		return fmt.Sprintf("input %s: its Selavy noise and mean maps changed, appeared or went (the run's: %d files, now %d)", now.Path, len(old.Maps), len(now.Maps))
	}
	return ""
}
