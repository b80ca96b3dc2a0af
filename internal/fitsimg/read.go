package fitsimg

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"unsafe"

	"gotrap/kernels"
)

// Options choose what the reading functions take from a file.
type Options struct {
	// Plane is the flat index of the 2-D plane to read among the axes
	// beyond the second, NAXIS3 varying fastest: plane p of an image with
	// NAXIS3 = n3 has index p mod n3 along axis 3, (p / n3) mod n4 along
	// axis 4, and so on. 0 (the default) is the first plane: Stokes I and
	// the first channel of a usual radio image.
	Plane int
	// Stokes, when not "", selects the plane of that polarisation ("I",
	// "Q", "U", "V", "RR", ... "YX", any case) along the image's STOKES
	// axis: it replaces Plane's index along that axis. An image without a
	// STOKES axis is Stokes I.
	Stokes string
	// Channel, when not 0, selects channel Channel (1-based, as FITS
	// pixel numbers) along the image's frequency axis: it replaces
	// Plane's index along that axis.
	Channel int
	// Beam, when not nil, overrides the restoring beam of the header
	// (full widths and position angle in degrees).
	Beam *Beam
	// Planes, when not nil, supplies the storage of the image that
	// ReadInto and ReadIntoHashed return when reuse cannot hold it
	// (kernels.NewImageFrom); the caller gives it back
	// (kernels.FreeImage). Read and the other readers ignore it.
	Planes kernels.Planes
}

// headerChunk is how many bytes the header reader asks for at a time.
const headerChunk = 8 * BlockLen

// readHeader reads the primary header from r (size bytes) and checks the
// layout of its data array against size. It reads only header blocks.
func readHeader(r io.ReaderAt, size int64) (*Header, layout, error) {
	if size <= 0 {
		return nil, layout{}, fmt.Errorf("%w: the file is empty", ErrNotFITS)
	}
	var buf []byte
	for off := int64(0); ; {
		n := min(int64(headerChunk), size-off)
		if n <= 0 {
			break
		}
		start := len(buf) - len(buf)%CardLen
		buf = slices.Grow(buf, int(n))
		k, err := r.ReadAt(buf[len(buf):len(buf)+int(n)], off)
		if k < int(n) && err != nil && !errors.Is(err, io.EOF) {
			return nil, layout{}, fmt.Errorf("cannot read the header: %w", err)
		}
		buf = buf[:len(buf)+k]
		if off == 0 && !bytes.HasPrefix(buf, []byte("SIMPLE  ")) {
			return nil, layout{}, fmt.Errorf("%w: it does not start with a SIMPLE card", ErrNotFITS)
		}
		if hasEnd(buf[start:]) || len(buf) >= MaxHeaderBytes || k < int(n) {
			break
		}
		off += int64(k)
	}
	h, hdrLen, err := ParseHeader(buf)
	if err != nil {
		return nil, layout{}, err
	}
	lay, err := layoutOf(h, int64(hdrLen), size)
	if err != nil {
		return nil, layout{}, err
	}
	return h, lay, nil
}

// hasEnd reports whether b, starting at a card boundary, holds an END card.
func hasEnd(b []byte) bool {
	for off := 0; off+CardLen <= len(b); off += CardLen {
		if isEnd(b[off : off+CardLen]) {
			return true
		}
	}
	return false
}

// readChunk is the size of the reads of the data array: small enough to
// stay in the L2 cache while it is decoded. A plane of 4-byte values
// (BITPIX -32 and 32) that fits in one chunk is read straight into the
// image's storage and decoded in place, so reading a small image (gotrap
// extract of a cut-out) touches no memory but the image's. Larger planes
// and other BITPIX go through a reused buffer (chunkPool): read in place,
// a 1280x1280 plane took 6% longer and a 2048x2048 one 14% (the kernel's
// copy of a large read seems to leave the data out of the cache, so the
// decoding reads it again from memory), while the pooled chunk stays in
// the cache.
const readChunk = 256 << 10

// chunkPool holds the reused read buffers (*[]byte of readChunk bytes).
var chunkPool = sync.Pool{New: func() any {
	b := make([]byte, readChunk)
	return &b
}}

// readPlane reads plane of the checked layout lay from r and decodes it
// into dst, which holds the plane's NAXIS1 x NAXIS2 values: the data unit
// is read at its offset (known from the header) readChunk bytes at a time
// and each chunk decoded by DecodeTo, so the pixels are those of DecodeTo
// on the whole plane. A plane of 4-byte values that fits in one chunk is
// read into dst's own bytes and decoded in place (DecodeTo reads each
// value before it writes it). loadPlane (fitsio) is the reference twin in the tests. A reader
// that ends before the plane does (a file that shrank after its size was
// checked) gives ErrTruncated.
func readPlane(dst []float32, r io.ReaderAt, lay layout, plane int) error {
	if m, ok := r.(*memFile); ok {
		return m.decodePlane(dst, lay, plane)
	}
	nb := bytesPerValue(lay.scaling.Bitpix)
	inPlace := nb == 4 && 4*int64(len(dst)) <= readChunk
	var buf []byte
	if !inPlace {
		bp := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(bp)
		buf = *bp
	}
	per := readChunk / nb // values per chunk
	off := lay.hdrLen + int64(plane)*lay.planeLen
	done := int64(0)
	for len(dst) > 0 {
		k := min(len(dst), per)
		var b []byte
		if inPlace {
			b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(dst))), 4*k)
		} else {
			b = buf[:k*nb]
		}
		n, err := r.ReadAt(b, off+done)
		if n < len(b) {
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%w: the data array ends after %d of its %d bytes", ErrTruncated, done+int64(n), lay.planeLen)
			}
			return fmt.Errorf("cannot read the data array: %w", err)
		}
		DecodeTo(dst[:k], b, lay.scaling)
		dst = dst[k:]
		done += int64(len(b))
	}
	return nil
}

// decodePlane is readPlane on a file in memory: each chunk of readChunk
// bytes of the plane is a view of m's bytes (hashed by view) decoded by
// DecodeTo, so the bytes are read from memory once and then from the
// cache.
func (m *memFile) decodePlane(dst []float32, lay layout, plane int) error {
	nb := bytesPerValue(lay.scaling.Bitpix)
	per := readChunk / nb // values per chunk
	off := lay.hdrLen + int64(plane)*lay.planeLen
	done := int64(0)
	for len(dst) > 0 {
		k := min(len(dst), per)
		b := m.view(k*nb, off+done)
		if len(b) < k*nb {
			return fmt.Errorf("%w: the data array ends after %d of its %d bytes", ErrTruncated, done+int64(len(b)), lay.planeLen)
		}
		DecodeTo(dst[:k], b, lay.scaling)
		dst = dst[k:]
		done += int64(len(b))
	}
	return nil
}

// padBlock pads b with c to a whole number of FITS blocks.
func padBlock(b []byte, c byte) []byte {
	for len(b)%BlockLen != 0 {
		b = append(b, c)
	}
	return b
}

// decodeImage reads plane opts.Plane of the primary image from r.
func decodeImage(r io.ReaderAt, size int64, opts Options) (*kernels.Image, *Header, layout, error) {
	h, lay, err := readHeader(r, size)
	if err != nil {
		return nil, nil, lay, err
	}
	if opts.Plane < 0 || opts.Plane >= lay.planes {
		return nil, nil, lay, fmt.Errorf("%w: plane %d requested, the image has %d (axes %v)", ErrNoPlane, opts.Plane, lay.planes, lay.axes)
	}
	img, err := pixels(fitsPlanes(r, lay), lay, opts.Plane, nil)
	if err != nil {
		return nil, nil, lay, err
	}
	return img, h, lay, nil
}

// planeReader decodes one plane of an image into dst (NAXIS1 x NAXIS2
// values): each input format has one.
type planeReader func(dst []float32, plane int) error

// pixels loads and decodes plane of the checked layout lay with read into
// a new image, or into reuse's storage when reuse is not nil and large
// enough.
func pixels(read planeReader, lay layout, plane int, reuse *kernels.Image) (*kernels.Image, error) {
	var err error
	rect := image.Rect(0, 0, lay.axes[0], lay.axes[1])
	var img *kernels.Image
	if n := rect.Dx() * rect.Dy(); reuse != nil && cap(reuse.Pix) >= n {
		// Decoding writes every pixel: no clearing needed.
		img = &kernels.Image{Pix: reuse.Pix[:n], Stride: rect.Dx(), Rect: rect}
	} else if img, err = kernels.NewImage(rect); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	if err := read(img.Pix, plane); err != nil {
		return nil, err
	}
	return img, nil
}

// fitsPlanes returns the plane reader of an uncompressed FITS file.
func fitsPlanes(r io.ReaderAt, lay layout) planeReader {
	return func(dst []float32, plane int) error { return readPlane(dst, r, lay, plane) }
}

// DecodeHeader reads and checks the primary header of a FITS file held in
// r (size bytes), without decoding pixels. The checks are those of Decode:
// it fails for a file Decode would reject, except for a plane out of range.
// Errors are *Error with an empty Path.
func DecodeHeader(r io.ReaderAt, size int64) (*Header, error) {
	h, _, err := readHeader(r, size)
	if err != nil {
		return nil, &Error{Err: err}
	}
	return h, nil
}

// Decode reads plane opts.Plane of the primary image of a FITS file held
// in r (size bytes) and returns it with its header. It interprets no
// metadata (opts.Beam is ignored); NewMeta does. Memory use is bounded by
// the size of the input: the declared data size is checked against size
// before anything is allocated. Errors are *Error with an empty Path.
func Decode(r io.ReaderAt, size int64, opts Options) (*kernels.Image, *Header, error) {
	img, h, _, err := decodeImage(r, size, opts)
	if err != nil {
		return nil, nil, &Error{Err: err}
	}
	return img, h, nil
}

// openFile opens path for reading and returns it with its size. A path
// that is not a regular file is refused before it is opened: opening a
// named pipe (FIFO) for reading would block until a writer appears.
func openFile(path string) (*os.File, int64, error) {
	if st, err := os.Stat(path); err == nil && !st.Mode().IsRegular() {
		return nil, 0, fmt.Errorf("%w: not a regular file (%v)", ErrNotFITS, st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, 0, fmt.Errorf("cannot open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("cannot stat: %w", err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%w: not a regular file (%v)", ErrNotFITS, st.Mode().Type())
	}
	return f, st.Size(), nil
}

// ReadHeader reads and checks the primary header of the image path
// without reading its pixels: the header blocks and the file's size are
// all it looks at (for a CASA image, the header made from its table). It
// fails as Read would for the structure of the file (not FITS, truncated,
// not a 2-D image...), not for its metadata.
func ReadHeader(path string) (*Header, error) {
	src, err := openHeader(path)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	defer src.close()
	return src.h, nil
}

// ReadMeta reads the metadata of the image path from its header only (no
// pixels are read), for planning runs over many images.
func ReadMeta(path string, opts Options) (*Meta, error) {
	src, err := openHeader(path)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	defer src.close()
	if opts, err = src.resolve(opts); err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	m, err := src.meta(opts)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	m.Path = path
	return m, nil
}

// ReadImage reads plane opts.Plane of the image path and its header,
// interpreting no metadata (for images that need no sky coordinates, such
// as a PSF).
func ReadImage(path string, opts Options) (*kernels.Image, *Header, error) {
	src, err := open(path)
	if err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	defer src.close()
	if opts, err = src.resolve(opts); err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	if opts.Plane < 0 || opts.Plane >= src.lay.planes {
		return nil, nil, &Error{Path: path, Err: fmt.Errorf("%w: plane %d requested, the image has %d (axes %v)", ErrNoPlane, opts.Plane, src.lay.planes, src.lay.axes)}
	}
	img, err := pixels(src.read, src.lay, opts.Plane, nil)
	if err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	return img, src.h, nil
}

// Read reads plane opts.Plane of the image path and its metadata. The
// metadata are checked before the pixels are read, so an image without
// frequency, beam or WCS costs only its header.
func Read(path string, opts Options) (*kernels.Image, *Meta, error) {
	return ReadInto(nil, path, opts)
}

// ReadInto is Read decoding the pixels into the storage of reuse when
// reuse is not nil and its Pix has the capacity for the image: a reader
// of many images of one size (a pipeline worker) then allocates, and
// faults in, no new image. The returned image is compact (Stride = width)
// and shares reuse's storage, whose old contents are overwritten; with
// reuse nil or too small it is a new image, as Read's.
func ReadInto(reuse *kernels.Image, path string, opts Options) (*kernels.Image, *Meta, error) {
	src, err := open(path)
	if err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	defer src.close()
	return readSource(src, reuse, path, opts)
}

// readSource is ReadInto's reading of the opened image src (path names
// it); errors are *Error.
func readSource(src *source, reuse *kernels.Image, path string, opts Options) (*kernels.Image, *Meta, error) {
	opts, err := src.resolve(opts)
	if err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	m, err := src.meta(opts)
	if err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	m.Path = path
	reuse, fresh, err := planesImage(reuse, src.lay, opts.Planes)
	if err != nil {
		return nil, nil, &Error{Path: path, Err: err}
	}
	img, err := pixels(src.read, src.lay, opts.Plane, reuse)
	if err != nil {
		kernels.FreeImage(opts.Planes, fresh)
		return nil, nil, &Error{Path: path, Err: err}
	}
	return img, m, nil
}

// planesImage returns reuse, or, with p not nil and reuse unable to hold
// the plane of lay, a new image (also returned as fresh) whose storage is
// p's.
func planesImage(reuse *kernels.Image, lay layout, p kernels.Planes) (img, fresh *kernels.Image, err error) {
	rect := image.Rect(0, 0, lay.axes[0], lay.axes[1])
	if p == nil || reuse != nil && cap(reuse.Pix) >= rect.Dx()*rect.Dy() {
		return reuse, nil, nil
	}
	if fresh, err = kernels.NewImageFrom(p, rect); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	return fresh, fresh, nil
}
