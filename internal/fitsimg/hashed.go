package fitsimg

import (
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"gotrap/kernels"
)

// fileReader is what the readers need of an open file.
type fileReader interface {
	io.Reader
	io.ReaderAt
	Close() error
}

// prefixHash hashes a file's bytes as its readers read them: a read that
// continues where the hashed prefix ends extends it (overlaps are hashed
// once). A reader that reads the file in order (a FITS image's header,
// then its data) so makes the file's hash without reading any byte
// twice. A nil *prefixHash hashes nothing.
type prefixHash struct {
	h   hash.Hash
	off int64 // bytes [0, off) are hashed
}

// add hashes what p, the file's bytes at offset at, adds to the prefix.
func (ph *prefixHash) add(p []byte, at int64) {
	if ph == nil {
		return
	}
	if end := at + int64(len(p)); at <= ph.off && end > ph.off {
		ph.h.Write(p[ph.off-at:])
		ph.off = end
	}
}

// hashedFile is an open file whose bytes go to a hash as the readers
// read them (prefixHash); finish hashes the rest of the file.
type hashedFile struct {
	f    *os.File
	size int64
	ph   prefixHash
	pos  int64 // the position of Read
}

func (hf *hashedFile) Read(p []byte) (int, error) {
	n, err := hf.f.Read(p)
	hf.ph.add(p[:n], hf.pos)
	hf.pos += int64(n)
	return n, err
}

func (hf *hashedFile) ReadAt(p []byte, at int64) (int, error) {
	n, err := hf.f.ReadAt(p, at)
	hf.ph.add(p[:n], at)
	return n, err
}

func (hf *hashedFile) Close() error { return hf.f.Close() }

// finish hashes the bytes of the file not hashed yet.
func (hf *hashedFile) finish() error {
	if hf.ph.off >= hf.size {
		return nil
	}
	buf := make([]byte, min(256<<10, hf.size-hf.ph.off))
	for hf.ph.off < hf.size {
		n, err := hf.f.ReadAt(buf[:min(int64(len(buf)), hf.size-hf.ph.off)], hf.ph.off)
		hf.ph.h.Write(buf[:n])
		hf.ph.off += int64(n)
		if err != nil && !(errors.Is(err, io.EOF) && hf.ph.off == hf.size) {
			return fmt.Errorf("cannot read: %w", err)
		}
	}
	return nil
}

// memFile is a whole file's bytes in memory (read ahead by ReadDirect)
// as a fileReader. With ph not nil the bytes its readers take go to ph's
// hash. Its plane reader decodes from b without copying (view).
type memFile struct {
	b   []byte
	pos int64
	ph  *prefixHash
}

func (m *memFile) ReadAt(p []byte, at int64) (int, error) {
	if at < 0 {
		return 0, errors.New("negative offset")
	}
	if at >= int64(len(m.b)) {
		return 0, io.EOF
	}
	n := copy(p, m.b[at:])
	m.ph.add(p[:n], at)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFile) Read(p []byte) (int, error) {
	n, err := m.ReadAt(p, m.pos)
	m.pos += int64(n)
	if n > 0 && errors.Is(err, io.EOF) {
		err = nil
	}
	return n, err
}

func (m *memFile) Close() error { return nil }

// view returns the file's bytes [at, at+n) (fewer at its end), hashed as
// a read of them would be, without copying them.
func (m *memFile) view(n int, at int64) []byte {
	if at < 0 || at >= int64(len(m.b)) {
		return nil
	}
	v := m.b[at:min(at+int64(n), int64(len(m.b)))]
	m.ph.add(v, at)
	return v
}

// finish hashes the bytes of the file not hashed yet.
func (m *memFile) finish() {
	if m.ph != nil && m.ph.off < int64(len(m.b)) {
		m.view(len(m.b), m.ph.off)
	}
}

// ReadIntoHashed is ReadInto that also writes the whole file to h, in
// order, reading each byte once where the image's reader reads the file
// in order (FITS and gzip-compressed FITS: the pipeline hashes its inputs
// on the read that extracts them). It reports whether h holds the file's
// hash: false for a CASA image (a directory), and when the image could
// not be read (the error).
func ReadIntoHashed(reuse *kernels.Image, path string, opts Options, h hash.Hash) (*kernels.Image, *Meta, bool, error) {
	hf := &hashedFile{ph: prefixHash{h: h}}
	src, err := openHashed(path, hf)
	if err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	defer src.close()
	img, m, err := readSource(src, reuse, path, opts)
	if err != nil {
		return nil, nil, false, err
	}
	if hf.f == nil {
		return img, m, false, nil
	}
	if err := hf.finish(); err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	return img, m, true, nil
}

// ReadIntoFrom is ReadIntoHashed reading from data, the whole file path
// already in memory (read ahead, as by ReadDirect), instead of from
// storage: the same image, metadata and hash (h nil: no hash, and false
// reported). path names the file in Meta and in errors; it must be a
// file, not a CASA image. The pixels are decoded from data in chunks
// (each hashed, then decoded, while in the CPU's cache), without a copy;
// data is not kept.
func ReadIntoFrom(reuse *kernels.Image, path string, data []byte, opts Options, h hash.Hash) (*kernels.Image, *Meta, bool, error) {
	mf := &memFile{b: data}
	if h != nil {
		mf.ph = &prefixHash{h: h}
	}
	src, err := openFormat(mf, int64(len(data)))
	if err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	defer src.close()
	img, m, err := readSource(src, reuse, path, opts)
	if err != nil {
		return nil, nil, false, err
	}
	mf.finish()
	return img, m, h != nil, nil
}
