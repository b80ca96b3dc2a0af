// Package fitsimg reads FITS images into kernels.Image with the image
// metadata the pipeline needs (beam, frequency, time, telescope, WCS), and
// writes FITS images.
//
// # Layout and units
//
// An image is the primary HDU's data array. Its first two axes are the
// image: pixel (x, y) is 0-based, x along FITS axis 1 (NAXIS1) and y along
// axis 2, and FITS pixel = x + 1 (SPEC 0.1). The pixels come out as
// float32 in a kernels.Image with Rect (0, 0)-(NAXIS1, NAXIS2) and Stride
// NAXIS1, row-major with x fastest: FITS storage order, no transpose.
// Axes beyond the second (frequency, Stokes) select a plane
// (Options.Plane, a flat index with NAXIS3 fastest; 0 = Stokes I, first
// channel). Physical values are BZERO + BSCALE * stored; stored integers
// equal to BLANK become NaN (BLANK applies to integer BITPIX only). BITPIX
// 8, 16, 32, 64, -32 and -64 are read.
//
// Angles in Meta are degrees except BeamPx.Theta (radians); frequencies
// are Hz, times UTC, durations seconds. The beam in degrees is the header's
// (full widths, BPA); in pixels it is SPEC 0.3's semi-axes (half widths)
// and angle from +y towards -x.
//
// # Reading
//
// Read gives pixels and Meta; ReadMeta gives Meta from the header alone,
// for planning runs over thousands of images; ReadHeader gives the raw
// header; ReadImage gives pixels and header without interpreting metadata.
// Decode and DecodeHeader read from an io.ReaderAt (bytes in memory), and
// NewMeta interprets a header.
//
// ReadDirect reads a whole file into a 4 KiB-aligned buffer of the
// caller's with O_DIRECT on Linux (no page cache; the last partial block
// through it when the buffer has no room for the whole block), and
// refuses (ErrNoDirect, ErrCached) what is better read by path: a file
// system without O_DIRECT, a file that does not fit, a file half or more
// in the page cache (mincore(2) over 32 pages spread over it: Resident).
// ReadIntoFrom then decodes such bytes as ReadIntoHashed decodes the
// file: the same pixels, metadata and hash, decoded from the bytes without
// a copy.
//
// The header is parsed by this package (ParseHeader): it keeps every card
// in order with its comment, joins CONTINUE long strings, accepts D and
// lower-case exponents, and tolerates unparseable non-structural cards
// (listed by Header.Problems). Before anything is allocated for pixels,
// the data size the header declares is checked against the file size, so
// a corrupt NAXIS cannot cause a huge allocation: memory is bounded by the
// file size plus MaxHeaderBytes.
//
// The data array of the chosen plane is read by this package too: the
// header gives its offset, and the plane's bytes are read from there in
// chunks of 256 KiB into a reused buffer (a sync.Pool), each chunk
// converted by DecodeTo, which byte-swaps the big-endian values and
// applies BSCALE, BZERO and BLANK (DecodeToRef is its plain reference
// twin; built with GOEXPERIMENT=simd on an AVX2 CPU the BITPIX -32 byte
// swap is a vector loop, the same bits). No buffer of the plane's size is
// allocated, so a worker that reads into its previous image (ReadInto)
// faults in no new memory. A reader that ends before the plane does is
// ErrTruncated. The tests keep
// github.com/astrogo/fitsio as the reference: handed a structural header
// (SIMPLE, BITPIX, NAXIS1, NAXIS2) and the plane's bytes (its own header
// parser panics on repeated keywords, which real files have), it must give
// the same bits on every real image and fixture.
//
// # Formats
//
// The path functions (Read, ReadInto, ReadMeta, ReadImage, ReadHeader)
// choose the reader by what the path is (source.go): a directory is a
// CASA image (casa.go: a casacore table read with internal/casatable,
// turned into the FITS header casacore's FITS conversion writes, the
// default mask applied as NaN, per-plane beams giving each plane its
// beam when there is no common one); a file starting with the gzip magic bytes
// is a gzip-compressed FITS file, decompressed as a stream (gzip.go); a
// file whose primary HDU is empty and whose first extension has ZIMAGE = T
// is a tile-compressed image (tiled.go: RICE_1, GZIP_1, GZIP_2, quantised
// floats with or without dithering, FITS 4.0 section 10), of which only
// the tiles the plane crosses are decompressed; any other file is FITS.
// Whatever the format, the metadata come from a FITS header through the
// rules below. Decode and DecodeHeader take uncompressed FITS bytes only.
// docs/inputs.md lists what each format gives and what is refused.
//
// # Metadata decisions
//
// SPEC 10.4 lists what TraP reads; fitsimg follows it with these changes,
// each an improvement over TraP/PySE:
//
//   - Frequency: RESTFRQ (bandwidth RESTBW or 1 MHz), then a FREQ axis 3
//     or 4 (CRVAL, bandwidth |CDELT|), then RESTFREQ (1 MHz). CTYPE is
//     matched in any case and FREQ-xxx variants (FREQ-OBS...) count; CUNIT
//     Hz, kHz, MHz, GHz (any case; blank is Hz) is applied, and another
//     unit on a frequency axis is an error. A VOPT axis gives a
//     velocity, not a frequency: with a rest frequency it gives
//     RESTFREQ / (1 + v/c) and a 1 MHz bandwidth, never CDELT as bandwidth.
//     A frequency axis longer than 1 (a cube) gives the plane's channel,
//     CRVAL + (i + 1 - CRPIX) * CDELT, before RESTFRQ. Bandwidths are
//     positive (absolute values; 1 MHz when zero). No frequency is
//     ErrNoFrequency (TraP raises TypeError).
//   - Start time: DATE-OBS (ISO 8601 with or without 'T', fraction and
//     zone; a date alone; dd/mm/yy; SPEC's ';'-separated form with double
//     quotes; a number is a Westerbork decimal year), else DATE-BEG, else
//     MJD-OBS, else MJD-BEG. TIMESYS TAI, TT (TDT, ET, TDB) and GPS are
//     converted to UTC with the leap-second table; UTC, UT, GMT, a missing
//     TIMESYS and unknown ones are taken as UTC. Without a start time, Meta
//     has the zero TauStart and TimeKnown false, never "now" as TraP does.
//     A time keyword that cannot be read is ErrBadTime.
//   - Integration time: TAU_TIME, else END_UTC - start, else DATE-END -
//     start, else EXPTIME, else DURATION, else 0. Negative values are
//     skipped.
//   - Beam: Options.Beam, else BMAJ/BMIN/BPA, else the first AIPS HISTORY
//     card "BMAJ= x BMIN= y BPA= z", else CLEANBMJ/CLEANBMN/CLEANBPA (PySE
//     fails there). A missing position angle is 0; non-positive axes do not
//     count. No beam is ErrNoBeam.
//   - WCS: wcs.FromHeader; ErrNoWCS wraps its error. Pixels must be square
//     within SquareTolerance (ErrNonSquarePixels). The centre is
//     p2s(NAXIS1/2, NAXIS2/2) in floating point, RA in [0, 360).
//   - LOFAR: Meta.LOFAR is TELESCOP == 'LOFAR' with ANTENNA present (as
//     TraP decides); the LOFAR keywords are recorded when present and
//     their absence is not an error here (image QC decides).
//
// # Writing
//
// WriteFile and WriteFileOptions write an image atomically (a temporary
// file in the same directory, synced and renamed). Header cards are built
// with Header.Set, AddHistory and AddComment, kept in order with their
// comments, and formatted per the FITS standard: fixed-format values
// right-justified in columns 11-30, reals always with a '.' or exponent in
// the shortest form that reads back exactly, strings quoted with long ones
// split by the CONTINUE convention. The writer sets the structural cards
// itself (WriteOptions: BITPIX -32 by default, -64, or integers with
// BSCALE/BZERO/BLANK; extra degenerate axes for FREQ/STOKES headers).
//
// # Errors and panics
//
// Problems with files and data return an *Error naming the file and
// wrapping a sentinel checkable with errors.Is: ErrNotFITS, ErrTruncated,
// ErrBadHeader, ErrNoImage, ErrNot2D, ErrNoPlane, ErrNoWCS,
// ErrNoFrequency, ErrNoBeam, ErrNonSquarePixels, ErrBadTime,
// ErrUnwritable, ErrBadCASA (a CASA image's table cannot be read; the
// message names the table file), ErrBadCompression, or an
// operating-system error (fs.ErrNotExist, fs.ErrPermission). Reading never
// panics, whatever the bytes (the fuzz tests FuzzRead, FuzzParseHeader,
// FuzzTiled and FuzzGzip here, FuzzTableDat and FuzzTSMHeader in
// casatable check it). Memory: an uncompressed file's declared size is
// checked against the file; compressed data may legitimately expand
// without limit, so a compressed image may allocate its declared plane
// (at most kernels.MaxPixels pixels) before finding its data short. Programmer errors panic
// with a message starting "fitsimg:": an invalid keyword given to
// Header.Set, slice lengths that do not match in DecodeTo, an invalid
// BITPIX or axis count in WriteOptions, a nil image.
package fitsimg

//go:generate go run ../../testdata/fits/gen.go -out ../../testdata/fits -corpus testdata/fuzz
