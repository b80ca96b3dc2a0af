//go:build ignore

// gen writes the small FITS fixtures of testdata/fits and the seed corpus
// of the fitsimg fuzz tests. It formats cards and data itself, without
// gotrap's FITS writer, so that the fixtures check the reader
// independently. Run it through go generate in internal/fitsimg:
//
//	go generate ./internal/fitsimg/
//
// which runs
//
//	go run ../../testdata/fits/gen.go -out ../../testdata/fits -corpus testdata/fuzz
//
// The output is deterministic (a seeded PCG, no clock): running it twice
// gives the same bytes.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// card formats one 80-byte card: a value already in FITS form and a
// comment. Values shorter than 20 characters are right-justified in
// columns 11-30 (strings left-justified), as the fixed format wants.
func card(key, value, comment string) string {
	var s string
	switch {
	case key == "COMMENT" || key == "HISTORY":
		s = fmt.Sprintf("%-8s%s", key, value)
	case strings.HasPrefix(value, "'"):
		s = fmt.Sprintf("%-8s= %-20s", key, value)
	default:
		s = fmt.Sprintf("%-8s= %20s", key, value)
	}
	if comment != "" {
		s += " / " + comment
	}
	if len(s) > 80 {
		log.Fatalf("card too long: %q", s)
	}
	return s + strings.Repeat(" ", 80-len(s))
}

func str(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	for len(s) < 8 {
		s += " "
	}
	return "'" + s + "'"
}

func flt(v float64) string {
	s := strconv.FormatFloat(v, 'G', -1, 64)
	if !strings.ContainsAny(s, ".E") {
		s += ".0"
	}
	return s
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// hdr collects cards in order.
type hdr []string

func (h *hdr) add(key, value, comment string) { *h = append(*h, card(key, value, comment)) }
func (h *hdr) raw(c string)                   { *h = append(*h, c+strings.Repeat(" ", 80-len(c))) }

// bytes returns the header with END, padded with blanks to 2880 bytes.
func (h hdr) bytes() []byte {
	var b bytes.Buffer
	for _, c := range h {
		b.WriteString(c)
	}
	b.WriteString("END" + strings.Repeat(" ", 77))
	for b.Len()%2880 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes()
}

// structural starts a primary header.
func structural(bitpix int, axes ...int) hdr {
	var h hdr
	h.add("SIMPLE", "T", "conforms to the FITS standard")
	h.add("BITPIX", itoa(int64(bitpix)), "array data type")
	h.add("NAXIS", itoa(int64(len(axes))), "number of array dimensions")
	for i, n := range axes {
		h.add("NAXIS"+strconv.Itoa(i+1), itoa(int64(n)), "")
	}
	return h
}

// sky appends a SIN celestial WCS centred on the image, with 36" pixels.
func (h *hdr) sky(nx, ny int) {
	h.add("CTYPE1", str("RA---SIN"), "")
	h.add("CRVAL1", flt(150), "[deg]")
	h.add("CRPIX1", flt(float64(nx/2+1)), "")
	h.add("CDELT1", flt(-0.01), "[deg]")
	h.add("CUNIT1", str("deg"), "")
	h.add("CTYPE2", str("DEC--SIN"), "")
	h.add("CRVAL2", flt(30), "[deg]")
	h.add("CRPIX2", flt(float64(ny/2+1)), "")
	h.add("CDELT2", flt(0.01), "[deg]")
	h.add("CUNIT2", str("deg"), "")
}

// meta appends the usual metadata: beam, frequency, time, telescope.
func (h *hdr) meta() {
	h.add("BMAJ", flt(0.05), "[deg] restoring beam major axis FWHM")
	h.add("BMIN", flt(0.03), "[deg] restoring beam minor axis FWHM")
	h.add("BPA", flt(20), "[deg] restoring beam position angle")
	h.add("RESTFRQ", flt(1.4e9), "[Hz]")
	h.add("DATE-OBS", str("2021-03-04T05:06:07.5"), "")
	h.add("TIMESYS", str("UTC"), "")
	h.add("TELESCOP", str("GOTRAP-FIXTURE"), "")
	h.add("BUNIT", str("JY/BEAM"), "")
}

// data returns the big-endian bytes of vals for bitpix, padded with zeros
// to a whole block. Integer values are stored as they are.
func data(bitpix int, ints []int64, floats []float64) []byte {
	var b []byte
	n := max(len(ints), len(floats))
	for i := 0; i < n; i++ {
		switch bitpix {
		case 8:
			b = append(b, byte(ints[i]))
		case 16:
			b = binary.BigEndian.AppendUint16(b, uint16(ints[i]))
		case 32:
			b = binary.BigEndian.AppendUint32(b, uint32(ints[i]))
		case 64:
			b = binary.BigEndian.AppendUint64(b, uint64(ints[i]))
		case -32:
			b = binary.BigEndian.AppendUint32(b, math.Float32bits(float32(floats[i])))
		case -64:
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(floats[i]))
		}
	}
	for len(b)%2880 != 0 {
		b = append(b, 0)
	}
	return b
}

// intFixture is an integer image whose first four stored values are BLANK,
// the type's minimum, its maximum (or one less when that is BLANK) and 0,
// the rest seeded random values over the whole range.
type intFixture struct {
	bitpix        int
	bscale, bzero float64
	blank         int64
	lo, hi        int64
}

func (f intFixture) values(n int, rng *rand.Rand) []int64 {
	v := make([]int64, n)
	hi := f.hi
	if hi == f.blank {
		hi--
	}
	lo := f.lo
	if lo == f.blank {
		lo++
	}
	v[0], v[1], v[2], v[3] = f.blank, lo, hi, 0
	for i := 4; i < n; i++ {
		// Uniform over [lo, hi] without overflow for 64-bit.
		u := rng.Uint64()
		switch f.bitpix {
		case 64:
			v[i] = int64(u)
			if v[i] == f.blank {
				v[i] = 0
			}
		default:
			v[i] = lo + int64(u%uint64(hi-lo+1))
		}
	}
	return v
}

func main() {
	out := flag.String("out", ".", "directory of the FITS fixtures")
	corpus := flag.String("corpus", "", "directory of the fuzz seed corpus (testdata/fuzz of internal/fitsimg); empty: none")
	flag.Parse()
	rng := rand.New(rand.NewPCG(20240501, 1))
	files := map[string][]byte{}

	// Integer BITPIX with BSCALE/BZERO/BLANK, 7 x 5 (odd sizes).
	const nx, ny = 7, 5
	for _, f := range []intFixture{
		{8, 0.5, -10, 255, 0, 255},
		{16, 1, 32768, 32767, math.MinInt16, math.MaxInt16},
		{32, 0.001, 5, math.MinInt32, math.MinInt32, math.MaxInt32},
		{64, 2.5, -1, math.MinInt64, math.MinInt64, math.MaxInt64},
	} {
		h := structural(f.bitpix, nx, ny)
		h.add("BSCALE", flt(f.bscale), "")
		h.add("BZERO", flt(f.bzero), "")
		h.add("BLANK", itoa(f.blank), "")
		h.sky(nx, ny)
		h.meta()
		files[fmt.Sprintf("bitpix%d.fits", f.bitpix)] = append(h.bytes(), data(f.bitpix, f.values(nx*ny, rng), nil)...)
	}

	// Float BITPIX: special values first (NaN, -0, +Inf, -Inf, the smallest
	// denormal, the largest float32), then seeded normals. BITPIX -32 has
	// a BLANK card, which float data must ignore; BITPIX -64 is scaled.
	floats := make([]float64, nx*ny)
	copy(floats, []float64{math.NaN(), math.Copysign(0, -1), math.Inf(1), math.Inf(-1),
		float64(math.SmallestNonzeroFloat32), math.MaxFloat32})
	for i := 6; i < len(floats); i++ {
		floats[i] = rng.NormFloat64()
	}
	{
		h := structural(-32, nx, ny)
		h.add("BLANK", itoa(-1), "ignored for float data")
		h.sky(nx, ny)
		h.meta()
		files["bitpix-32.fits"] = append(h.bytes(), data(-32, nil, floats)...)
	}
	{
		h := structural(-64, nx, ny)
		h.add("BSCALE", flt(2), "")
		h.add("BZERO", flt(1), "")
		h.sky(nx, ny)
		h.meta()
		floats64 := append([]float64(nil), floats...)
		floats64[5] = 1e300 // beyond float32 after scaling: +Inf
		files["bitpix-64.fits"] = append(h.bytes(), data(-64, nil, floats64)...)
	}

	// A cube: 6 x 5 x 2 channels x 1 Stokes; plane p holds 100*p + i.
	{
		const cx, cy = 6, 5
		h := structural(-32, cx, cy, 2, 1)
		h.sky(cx, cy)
		h.add("CTYPE3", str("FREQ"), "")
		h.add("CRVAL3", flt(1.4e8), "[Hz]")
		h.add("CRPIX3", flt(1), "")
		h.add("CDELT3", flt(2e5), "[Hz]")
		h.add("CUNIT3", str("Hz"), "")
		h.add("CTYPE4", str("STOKES"), "")
		h.add("CRVAL4", flt(1), "")
		h.add("CRPIX4", flt(1), "")
		h.add("CDELT4", flt(1), "")
		h.add("BMAJ", flt(0.05), "")
		h.add("BMIN", flt(0.03), "")
		h.add("BPA", flt(-30), "")
		h.add("DATE-OBS", str("2021-03-04T05:06:07Z"), "")
		h.add("TELESCOP", str("GOTRAP-FIXTURE"), "")
		v := make([]float64, cx*cy*2)
		for i := range v {
			v[i] = float64(100*(i/(cx*cy)) + i%(cx*cy))
		}
		files["cube.fits"] = append(h.bytes(), data(-32, nil, v)...)
	}

	ramp := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = float64(i) / 8
		}
		return v
	}

	// The beam in an AIPS HISTORY card (after an unrelated one).
	{
		h := structural(-32, 8, 6)
		h.sky(8, 6)
		h.add("RESTFRQ", flt(3e9), "")
		h.add("DATE-OBS", str("1998-07-01"), "")
		h.add("TELESCOP", str("VLA"), "")
		h.add("HISTORY", "AIPS   IMAGR BMAJ is not here", "")
		h.add("HISTORY", "AIPS   CLEAN BMAJ=  1.3889E-02 BMIN=  8.3333E-03 BPA=  45.00", "")
		files["history_beam.fits"] = append(h.bytes(), data(-32, nil, ramp(48))...)
	}

	// The beam in CLEANBMJ/CLEANBMN/CLEANBPA (Obit), frequency on a
	// FREQ-OBS axis in MHz, a date without time.
	{
		h := structural(-32, 8, 6)
		h.sky(8, 6)
		h.add("CTYPE3", str("FREQ-OBS"), "")
		h.add("CRVAL3", flt(325.5), "")
		h.add("CDELT3", flt(-6.25), "")
		h.add("CUNIT3", str("MHz"), "")
		h.add("DATE-OBS", str("2006-03-22"), "")
		h.add("CLEANBMJ", flt(0.02), "[deg] Convolving Gaussian major axis FWHM")
		h.add("CLEANBMN", flt(0.015), "[deg] Convolving Gaussian minor axis FWHM")
		h.add("CLEANBPA", flt(-10), "[deg] Convolving Gaussian position angle")
		files["cleanbeam.fits"] = append(h.bytes(), data(-32, nil, ramp(48))...)
	}

	// A CD matrix rotated by 30 degrees, MJD-OBS in TAI, EXPTIME.
	{
		const cdelt, rho = 0.01, 30 * math.Pi / 180
		s, c := math.Sincos(rho)
		h := structural(-32, 8, 6)
		h.add("CTYPE1", str("RA---TAN"), "")
		h.add("CRVAL1", flt(10.5), "")
		h.add("CRPIX1", flt(4.5), "")
		h.add("CTYPE2", str("DEC--TAN"), "")
		h.add("CRVAL2", flt(-45), "")
		h.add("CRPIX2", flt(3.5), "")
		h.add("CD1_1", flt(-cdelt*c), "")
		h.add("CD1_2", flt(-cdelt*s), "")
		h.add("CD2_1", flt(-cdelt*s), "")
		h.add("CD2_2", flt(cdelt*c), "")
		h.add("BMAJ", flt(0.04), "")
		h.add("BMIN", flt(0.04), "")
		h.add("BPA", flt(0), "")
		h.add("RESTFRQ", flt(8.4e8), "")
		h.add("RESTBW", flt(-2.88e8), "negative: the absolute value is used")
		h.add("MJD-OBS", flt(59000.5), "[d]")
		h.add("TIMESYS", str("TAI"), "")
		h.add("EXPTIME", flt(900), "[s]")
		h.add("TELESCOP", str("ASKAP"), "")
		files["cd_matrix.fits"] = append(h.bytes(), data(-32, nil, ramp(48))...)
	}

	// A LOFAR image as TraP's tkp-inject leaves it: 4 axes, the LOFAR
	// keywords, TAU_TIME (which wins over END_UTC), a long string in the
	// CONTINUE convention.
	{
		h := structural(-32, 8, 6, 1, 1)
		h.sky(8, 6)
		h.add("CTYPE3", str("FREQ"), "")
		h.add("CRVAL3", flt(1.5e8), "[Hz]")
		h.add("CRPIX3", flt(1), "")
		h.add("CDELT3", flt(1953125), "[Hz]")
		h.add("CUNIT3", str("Hz"), "")
		h.add("CTYPE4", str("STOKES"), "")
		h.add("CRVAL4", flt(1), "")
		h.add("CRPIX4", flt(1), "")
		h.add("CDELT4", flt(1), "")
		h.add("BMAJ", flt(0.03), "")
		h.add("BMIN", flt(0.02), "")
		h.add("BPA", flt(75), "")
		h.add("DATE-OBS", str("2014-08-01T12:00:00.000"), "")
		h.add("END_UTC", str("2014-08-01T12:11:00.000"), "")
		h.add("TAU_TIME", flt(660.5), "[s]")
		h.add("TELESCOP", str("LOFAR"), "")
		h.add("ANTENNA", str("HBA_DUAL_INNER"), "")
		h.add("NCORE", itoa(24), "")
		h.add("NREMOTE", itoa(14), "")
		h.add("NINTL", itoa(0), "")
		h.add("SUBBANDS", itoa(10), "")
		h.add("SUBBANDW", flt(195312.5), "[Hz]")
		h.raw("OBSERVER= 'The LOFAR Transients Key Science Project, observing the radio sky &'")
		h.raw("CONTINUE  'for transients and variables'")
		files["lofar.fits"] = append(h.bytes(), data(-32, nil, ramp(48))...)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(*out, name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	if *corpus == "" {
		return
	}

	// Fuzz seeds for FuzzRead: the fixtures and broken variants of one.
	read := map[string][]byte{}
	for name, b := range files {
		read[strings.TrimSuffix(name, ".fits")] = b
	}
	base := files["bitpix16.fits"]
	replace := func(b []byte, key, value string) []byte {
		c := []byte(card(key, value, ""))
		out := append([]byte(nil), b...)
		for off := 0; off+80 <= 2880; off += 80 {
			if strings.HasPrefix(string(out[off:off+8]), fmt.Sprintf("%-8s", key)) {
				copy(out[off:off+80], c)
				return out
			}
		}
		log.Fatalf("no %s card", key)
		return nil
	}
	read["empty"] = nil
	read["truncated-data"] = base[:2880+10]
	read["truncated-header"] = base[:1000]
	read["naxis1-huge"] = replace(base, "NAXIS1", "1000000000")
	read["naxis-1"] = replace(base, "NAXIS", "1")
	read["naxis2-zero"] = replace(base, "NAXIS2", "0")
	read["naxis2-negative"] = replace(base, "NAXIS2", "-5")
	read["bitpix-invalid"] = replace(base, "BITPIX", "12")
	read["simple-false"] = replace(base, "SIMPLE", "F")
	read["blank-string"] = replace(base, "BLANK", "'x'")
	read["no-end"] = bytes.ReplaceAll(base[:2880], []byte("END     "), []byte("XND     "))
	read["not-fits"] = []byte("P6\n7 5\n255\n")

	// Seeds for FuzzParseHeader: the header blocks and tricky cards.
	parse := map[string][]byte{}
	for name, b := range files {
		end := bytes.Index(b, []byte("END     "))
		parse[strings.TrimSuffix(name, ".fits")] = b[:(end/2880+1)*2880]
	}
	var tricky hdr
	tricky.raw("SIMPLE  =                    T")
	tricky.raw("STR     = 'it''s a ''quoted'' string  ' / comment")
	tricky.raw("EMPTY   = ''")
	tricky.raw("UNDEF   =                      / undefined value")
	tricky.raw("DEXP    =             1.5D-03 / D exponent")
	tricky.raw("LOWEXP  = 2.5e+10")
	tricky.raw("BIGINT  = 123456789012345678901234567890")
	tricky.raw("CPLX    = (1.0, 2.0)")
	tricky.raw("BADNUM  = 1.2.3")
	tricky.raw("NOQUOTE = 'unterminated")
	tricky.raw("lower   = 7")
	tricky.raw("HIERARCH ESO DET CHIP TEMP = 150.5 / hierarch")
	tricky.raw("LONG    = 'first part &'")
	tricky.raw("CONTINUE  'second part &'")
	tricky.raw("CONTINUE  'third' / continued")
	tricky.raw("CONTINUE  'orphan'")
	tricky.raw("COMMENT = not a value")
	tricky.raw("HISTORY AIPS   CLEAN BMAJ=  1.3889E-03 BMIN=  1.3889E-03 BPA=   0.00")
	tricky.raw("JUNK    =                   42 trailing junk")
	parse["tricky"] = tricky.bytes()

	for dir, seeds := range map[string]map[string][]byte{"FuzzRead": read, "FuzzParseHeader": parse} {
		d := filepath.Join(*corpus, dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			log.Fatal(err)
		}
		for name, b := range seeds {
			text := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if err := os.WriteFile(filepath.Join(d, "seed-"+name), []byte(text), 0o644); err != nil {
				log.Fatal(err)
			}
		}
	}
}
