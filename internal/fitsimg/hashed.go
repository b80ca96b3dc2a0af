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

// hashedFile is an open file whose bytes go to a hash as the readers
// read them: a read that continues where the hashed prefix ends extends
// it (overlaps are hashed once); Finish hashes the rest of the file. A
// reader that reads the file in order (a FITS image's header, then its
// data) so makes the file's hash without reading any byte twice.
type hashedFile struct {
	f    *os.File
	size int64
	h    hash.Hash
	off  int64 // bytes [0, off) are hashed
	pos  int64 // the position of Read
}

func (hf *hashedFile) add(p []byte, at int64) {
	if end := at + int64(len(p)); at <= hf.off && end > hf.off {
		hf.h.Write(p[hf.off-at:])
		hf.off = end
	}
}

func (hf *hashedFile) Read(p []byte) (int, error) {
	n, err := hf.f.Read(p)
	hf.add(p[:n], hf.pos)
	hf.pos += int64(n)
	return n, err
}

func (hf *hashedFile) ReadAt(p []byte, at int64) (int, error) {
	n, err := hf.f.ReadAt(p, at)
	hf.add(p[:n], at)
	return n, err
}

func (hf *hashedFile) Close() error { return hf.f.Close() }

// finish hashes the bytes of the file not hashed yet.
func (hf *hashedFile) finish() error {
	buf := make([]byte, 256<<10)
	for hf.off < hf.size {
		n, err := hf.f.ReadAt(buf[:min(int64(len(buf)), hf.size-hf.off)], hf.off)
		hf.h.Write(buf[:n])
		hf.off += int64(n)
		if err != nil && !(errors.Is(err, io.EOF) && hf.off == hf.size) {
			return fmt.Errorf("cannot read: %w", err)
		}
	}
	return nil
}

// ReadIntoHashed is ReadInto that also writes the whole file to h, in
// order, reading each byte once where the image's reader reads the file
// in order (FITS and gzip-compressed FITS: the pipeline hashes its inputs
// on the read that extracts them). It reports whether h holds the file's
// hash: false for a CASA image (a directory), and when the image could
// not be read (the error).
func ReadIntoHashed(reuse *kernels.Image, path string, opts Options, h hash.Hash) (*kernels.Image, *Meta, bool, error) {
	hf := &hashedFile{h: h}
	src, err := openHashed(path, hf)
	if err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	defer src.close()
	if opts, err = src.resolve(opts); err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	m, err := src.meta(opts)
	if err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	m.Path = path
	reuse, fresh, err := planesImage(reuse, src.lay, opts.Planes)
	if err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	img, err := pixels(src.read, src.lay, opts.Plane, reuse)
	if err != nil {
		kernels.FreeImage(opts.Planes, fresh)
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	if hf.f == nil {
		return img, m, false, nil
	}
	if err := hf.finish(); err != nil {
		return nil, nil, false, &Error{Path: path, Err: err}
	}
	return img, m, true, nil
}
