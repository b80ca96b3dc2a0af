package pipeline

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gotrap/internal/fitsimg"
)

// ErrMissingInput reports input files that do not exist; the message
// lists them.
var ErrMissingInput = errors.New("pipeline: missing input files")

// ExpandInputs turns the INPUT arguments of "gotrap run" into a sorted,
// de-duplicated list of images. An argument is a file, a CASA image
// directory, a directory (every *.fits, *.fits.gz and *.fits.fz file, in
// any case, and every CASA image below it, recursively; a CASA image is
// not descended into), a glob (a pattern
// that matches nothing is an error), or @FILE: a list of further arguments
// (one per line; blank lines and lines starting with '#' are skipped;
// relative paths are relative to FILE's directory). Every missing file is
// reported at once in one error wrapping ErrMissingInput.
func ExpandInputs(args []string) ([]string, error) {
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
				if st, err := os.Stat(p); err == nil && (!st.IsDir() || isImageDir(p)) {
					out = append(out, p)
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
					return err
				}
				if d.IsDir() && p != arg && isImageDir(p) {
					out = append(out, p)
					return filepath.SkipDir
				}
				if !d.IsDir() && isImageName(p) {
					out = append(out, p)
				}
				return nil
			})
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
	if len(out) == 0 {
		return nil, fmt.Errorf("pipeline: no input images")
	}
	return out, nil
}

// isImageName reports whether a file found below an input directory is
// taken as an image: *.fits, and its compressed forms *.fits.gz and
// *.fits.fz, in any case.
func isImageName(p string) bool {
	n := strings.ToLower(p)
	return strings.HasSuffix(n, ".fits") || strings.HasSuffix(n, ".fits.gz") || strings.HasSuffix(n, ".fits.fz")
}

// isImageDir reports whether the directory p is one image (a CASA image
// table) rather than a folder of images: input listing takes it whole and
// does not descend into it.
func isImageDir(p string) bool { return fitsimg.IsCASAImage(p) }

// headBytes is how much of each input file the manifest hashes: the
// header blocks and the first pixels of any FITS image with fewer than
// ~900 header cards.
const headBytes = 64 << 10

// InputFile is a manifest entry: an input's identity for --resume.
type InputFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// ModTime is informational (copies change it); identity is Path, Size
	// and HeadSHA256, the SHA-256 of the first 64 KiB.
	ModTime    string `json:"mtime"`
	HeadSHA256 string `json:"head_sha256"`
}

// fingerprint returns the manifest entry of path. A path that is not a
// regular file (a named pipe, a directory given as an input) is not
// opened, which could block, and gets no hash: the plan stage rejects it
// as unreadable.
func fingerprint(path string) (InputFile, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return InputFile{Path: path, ModTime: st.ModTime().UTC().Format("2006-01-02T15:04:05.000000000Z")}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return InputFile{}, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return InputFile{}, fmt.Errorf("pipeline: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, headBytes)); err != nil {
		return InputFile{}, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return InputFile{Path: path, Size: st.Size(), ModTime: st.ModTime().UTC().Format("2006-01-02T15:04:05.000000000Z"),
		HeadSHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// sameInput reports whether two entries name the same file content.
func sameInput(a, b InputFile) bool {
	return a.Path == b.Path && a.Size == b.Size && a.HeadSHA256 == b.HeadSHA256
}
