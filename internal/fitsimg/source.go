package fitsimg

import (
	"errors"
	"os"
)

// source is an image opened for reading, whatever its format: its header
// (a FITS header, or one made from another format's metadata), the
// layout of its planes and the reader of one plane.
type source struct {
	h     *Header
	lay   layout
	read  planeReader
	close func() error
	// stokes, when not nil, names the polarization of each index along the
	// Stokes axis (a CASA image whose Stokes list is not a linear FITS
	// axis), overriding the header's.
	stokes     []string
	stokesAxis int // the 0-based axis of stokes
}

// meta interprets the source's header for plane opts.Plane.
func (s *source) meta(opts Options) (*Meta, error) {
	m, err := newMeta(s.h, s.lay, opts)
	if err != nil {
		return nil, err
	}
	if s.stokes != nil && s.stokesAxis >= 2 {
		if i := s.lay.planeIndex(opts.Plane)[s.stokesAxis-2]; i < len(s.stokes) {
			m.Stokes = s.stokes[i]
		}
	}
	return m, nil
}

// open opens the image path, choosing the reader by what path is: a CASA
// image (a directory holding a casacore table of type Image), a
// gzip-compressed FITS file (by its first bytes, whatever its name), a
// tile-compressed FITS image, or a FITS file.
func open(path string) (*source, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return openCASA(path)
	}
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	var head [2]byte
	if n, _ := f.ReadAt(head[:], 0); n == 2 && head == gzipMagic {
		src, err := openGzip(f, f.Close)
		if err != nil {
			f.Close()
		}
		return src, err
	}
	h, lay, err := readHeader(f, size)
	if errors.Is(err, ErrNoImage) {
		// An empty primary HDU may precede a tile-compressed image.
		if src, terr := openTiled(f, size, f.Close); terr == nil || !errors.Is(terr, ErrNoImage) {
			if terr != nil {
				f.Close()
			}
			return src, terr
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &source{h: h, lay: lay, read: fitsPlanes(f, lay), close: f.Close}, nil
}
