package fitsimg

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
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
	// planeBeams, when not nil, gives each plane its restoring beam (a
	// CASA cube with per-plane beams and no common beam).
	planeBeams *planeBeams
}

// resolve returns opts with Plane set to the plane that opts.Stokes and
// opts.Channel select, when set.
func (s *source) resolve(opts Options) (Options, error) {
	if opts.Stokes == "" && opts.Channel == 0 {
		return opts, nil
	}
	if opts.Plane < 0 || opts.Plane >= s.lay.planes {
		return opts, fmt.Errorf("%w: plane %d requested, the image has %d (axes %v)", ErrNoPlane, opts.Plane, s.lay.planes, s.lay.axes)
	}
	idx := s.lay.planeIndex(opts.Plane)
	stokesAxis, freqAxis := s.axesOf()
	if want := strings.ToUpper(strings.TrimSpace(opts.Stokes)); want != "" {
		if stokesAxis < 0 {
			if want != "I" {
				return opts, fmt.Errorf("%w: Stokes %s requested, the image has no STOKES axis (it is Stokes I)", ErrNoPlane, want)
			}
		} else {
			n := s.lay.axes[stokesAxis-1]
			var have []string
			found := -1
			for i := range n {
				idx[stokesAxis-3] = i
				name := s.stokesAt(stokesAxis, idx)
				have = append(have, name)
				if name == want && found < 0 {
					found = i
				}
			}
			if found < 0 {
				return opts, fmt.Errorf("%w: Stokes %s requested, the image has %s", ErrNoPlane, want, strings.Join(have, ", "))
			}
			idx[stokesAxis-3] = found
		}
	}
	if opts.Channel != 0 {
		n := 1
		if freqAxis > 0 {
			n = s.lay.axes[freqAxis-1]
		}
		if opts.Channel < 1 || opts.Channel > n {
			return opts, fmt.Errorf("%w: channel %d requested, the image has %d (1 to %d)", ErrNoPlane, opts.Channel, n, n)
		}
		if freqAxis > 0 {
			idx[freqAxis-3] = opts.Channel - 1
		}
	}
	p := 0
	for k := len(idx) - 1; k >= 0; k-- {
		p = p*s.lay.axes[k+2] + idx[k]
	}
	opts.Plane = p
	return opts, nil
}

// axesOf returns the 1-based FITS axes (3 or more) of the first STOKES
// and the first frequency axis, -1 for none.
func (s *source) axesOf() (stokesAxis, freqAxis int) { return axesOf(s.h, s.lay.axes) }

// axesOf returns the 1-based FITS axes (3 or more) of h's first STOKES
// and first frequency axis among axes, -1 for none.
func axesOf(h *Header, axes []int) (stokesAxis, freqAxis int) {
	stokesAxis, freqAxis = -1, -1
	for k := 3; k <= len(axes); k++ {
		ct, _ := h.String("CTYPE" + strconv.Itoa(k))
		ct = strings.TrimSpace(ct)
		switch {
		case strings.EqualFold(ct, "STOKES") && stokesAxis < 0:
			stokesAxis = k
		case isFreqType(ct) && freqAxis < 0:
			freqAxis = k
		}
	}
	return stokesAxis, freqAxis
}

// stokesAt names the polarisation at index vector idx (along axes 3...).
func (s *source) stokesAt(axis int, idx []int) string {
	if s.stokes != nil && s.stokesAxis == axis-1 {
		if i := idx[axis-3]; i < len(s.stokes) {
			return s.stokes[i]
		}
	}
	return stokes(s.h, s.lay.axes, idx)
}

// meta interprets the source's header for plane opts.Plane.
func (s *source) meta(opts Options) (*Meta, error) {
	perPlane := s.planeBeams != nil && opts.Beam == nil && opts.Plane >= 0 && opts.Plane < s.lay.planes
	if perPlane {
		stokesAxis, freqAxis := s.axesOf()
		b := s.planeBeams.beam(s.lay.planeIndex(opts.Plane), freqAxis, stokesAxis)
		opts.Beam = &b
	}
	m, err := newMeta(s.h, s.lay, opts)
	if err != nil {
		return nil, err
	}
	if perPlane {
		m.BeamFrom = "perplanebeams"
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
func open(path string) (*source, error) { return openHashed(path, nil) }

// openHeader is open for reading the header alone (ReadHeader,
// ReadMeta): the file's reads are announced as random (readsFew), so
// that the kernel reads the blocks asked for, not its read-ahead window
// beyond them (up to the device's read_ahead_kb: 327 KB a file of the
// RSM stack here, 12 KB with the hint; docs/performance.md "Session 11").
func openHeader(path string) (*source, error) { return openWith(path, nil, true) }

// openHashed is open, handing every byte the readers read of a file to
// hf (nil: none; see ReadIntoHashed).
func openHashed(path string, hf *hashedFile) (*source, error) { return openWith(path, hf, false) }

// openWith is openHashed, with the file's reads announced as random
// (readsFew) when few.
func openWith(path string, hf *hashedFile, few bool) (*source, error) {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return openCASA(path)
	}
	osf, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	if few {
		readsFew(osf)
	}
	var f fileReader = osf
	if hf != nil {
		hf.f, hf.size = osf, size
		f = hf
	}
	src, err := openFormat(f, size)
	if err != nil {
		f.Close()
	}
	return src, err
}

// openFormat reads the header of the file f (size bytes), choosing the
// reader by its first bytes: gzip-compressed FITS, a tile-compressed
// image, or FITS. The source's close closes f; on an error f is left
// open.
func openFormat(f fileReader, size int64) (*source, error) {
	var head [2]byte
	if n, _ := f.ReadAt(head[:], 0); n == 2 && head == gzipMagic {
		return openGzip(f, f.Close)
	}
	h, lay, err := readHeader(f, size)
	if errors.Is(err, ErrNoImage) {
		// An empty primary HDU may precede a tile-compressed image.
		if src, terr := openTiled(f, size, f.Close); terr == nil || !errors.Is(terr, ErrNoImage) {
			return src, terr
		}
	}
	if err != nil {
		return nil, err
	}
	return &source{h: h, lay: lay, read: fitsPlanes(f, lay), close: f.Close}, nil
}
