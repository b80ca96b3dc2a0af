package fitsimg

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math"
)

// ErrBadCompression: a compressed FITS file whose compressed data cannot
// be decoded (a corrupt gzip stream, a tile that does not decompress to
// its size, an unsupported compression algorithm).
var ErrBadCompression = errors.New("invalid compressed FITS data")

// gzipMagic starts every gzip stream (RFC 1952).
var gzipMagic = [2]byte{0x1f, 0x8b}

// openGzip reads a gzip-compressed FITS file (a .fits.gz: the whole file
// compressed) as a stream: the header blocks are decompressed until the
// END card, and the plane reader decompresses on, discarding the planes
// before the requested one and decoding the plane chunk by chunk. Nothing
// of the file's size is held in memory but the plane itself.
func openGzip(f io.Reader, closeFn func() error) (*source, error) {
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 256<<10))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %v", ErrBadCompression, err)
	}
	h, hdrLen, err := readHeaderStream(zr)
	if err != nil {
		return nil, err
	}
	lay, err := layoutOf(h, int64(hdrLen), math.MaxInt64)
	if err != nil {
		return nil, err
	}
	used := false
	read := func(dst []float32, plane int) error {
		if used {
			return fmt.Errorf("%w: a gzip stream is read once", ErrBadCompression)
		}
		used = true
		if _, err := io.CopyN(io.Discard, zr, int64(plane)*lay.planeLen); err != nil {
			return gzipErr(err, "before the plane")
		}
		nb := bytesPerValue(lay.scaling.Bitpix)
		bp := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(bp)
		per := len(*bp) / nb
		for len(dst) > 0 {
			k := min(len(dst), per)
			b := (*bp)[:k*nb]
			if _, err := io.ReadFull(zr, b); err != nil {
				return gzipErr(err, "inside the plane")
			}
			DecodeTo(dst[:k], b, lay.scaling)
			dst = dst[k:]
		}
		if plane == lay.planes-1 {
			// Only the padding follows the last plane: reading to the end
			// checks the stream's CRC and length.
			if _, err := io.Copy(io.Discard, zr); err != nil {
				return gzipErr(err, "after the data")
			}
		}
		return nil
	}
	return &source{h: h, lay: lay, read: read, close: closeFn}, nil
}

// gzipErr wraps an error of the decompressed stream: an early end is a
// truncated file, anything else a corrupt stream.
func gzipErr(err error, where string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the decompressed data end %s", ErrTruncated, where)
	}
	return fmt.Errorf("%w: gzip: %v", ErrBadCompression, err)
}

// readHeaderStream reads header blocks from r up to the one holding END
// and parses them.
func readHeaderStream(r io.Reader) (*Header, int, error) {
	var buf []byte
	for len(buf) < MaxHeaderBytes {
		start := len(buf)
		buf = append(buf, make([]byte, BlockLen)...)
		if _, err := io.ReadFull(r, buf[start:]); err != nil {
			if start == 0 {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, 0, fmt.Errorf("%w: the decompressed file is shorter than one FITS block", ErrNotFITS)
				}
				return nil, 0, gzipErr(err, "in the header")
			}
			return nil, 0, gzipErr(err, "in the header")
		}
		if start == 0 && string(buf[:8]) != "SIMPLE  " {
			return nil, 0, fmt.Errorf("%w: the decompressed file does not start with a SIMPLE card", ErrNotFITS)
		}
		if hasEnd(buf[start:]) {
			break
		}
	}
	return ParseHeader(buf)
}
