package fitsimg

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/astrogo/fitsio"

	"gotrap/kernels"
)

// longObserver needs CONTINUE cards. (Trailing blanks of FITS strings are
// not significant and are not read back, so it has none.)
var longObserver = strings.TrimSpace(strings.Repeat("a long observer string ", 6))

// simHeader is the kind of header the simulator writes: 4 axes with FREQ
// and STOKES, time, beam and the LOFAR keywords.
func simHeader() *Header {
	h := NewHeader()
	h.Set("BUNIT", "JY/BEAM", "pixel unit")
	h.Set("BMAJ", 0.0125, "[deg] restoring beam FWHM major axis")
	h.Set("BMIN", 0.01, "[deg] restoring beam FWHM minor axis")
	h.Set("BPA", 35.5, "[deg] restoring beam position angle")
	for _, c := range []struct {
		k string
		v any
	}{
		{"CTYPE1", "RA---SIN"}, {"CRVAL1", 123.4}, {"CRPIX1", 33.0}, {"CDELT1", -0.0025}, {"CUNIT1", "deg"},
		{"CTYPE2", "DEC--SIN"}, {"CRVAL2", 56.7}, {"CRPIX2", 25.0}, {"CDELT2", 0.0025}, {"CUNIT2", "deg"},
		{"CTYPE3", "FREQ"}, {"CRVAL3", 1.5e8}, {"CRPIX3", 1.0}, {"CDELT3", 1.953125e6}, {"CUNIT3", "Hz"},
		{"CTYPE4", "STOKES"}, {"CRVAL4", 1.0}, {"CRPIX4", 1.0}, {"CDELT4", 1.0}, {"CUNIT4", ""},
	} {
		h.Set(c.k, c.v, "")
	}
	h.Set("DATE-OBS", "2014-08-01T12:00:00.250", "start of the integration, UTC")
	h.Set("TIMESYS", "UTC", "")
	h.Set("TAU_TIME", 11.0, "[s] integration time")
	h.Set("TELESCOP", "LOFAR", "")
	h.Set("ANTENNA", "HBA_DUAL_INNER", "antenna set")
	h.Set("NCORE", 24, "core stations")
	h.Set("NREMOTE", 14, "remote stations")
	h.Set("NINTL", 0, "international stations")
	h.Set("SUBBANDS", 10, "")
	h.Set("SUBBANDW", 195312.5, "[Hz]")
	h.Set("OBSERVER", longObserver, "CONTINUE convention")
	h.Set("ORIGIN", "gotrap test", "")
	h.AddHistory("written by TestWrite " + strings.Repeat("x", 80))
	return h
}

// randomImage returns a w x h image of seeded normal values with a NaN.
func randomImage(w, h int, seed uint64) *kernels.Image {
	img, err := kernels.NewImage(image.Rect(0, 0, w, h))
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(seed, 3))
	for i := range img.Pix {
		img.Pix[i] = float32(rng.NormFloat64())
	}
	img.Pix[3] = float32(math.NaN())
	return img
}

func TestWriteReadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := randomImage(64, 48, 5)
	for _, bitpix := range []int{-32, -64, 8, 16, 32, 64} {
		t.Run(fmt.Sprint(bitpix), func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("rt%d.fits", bitpix))
			o := WriteOptions{Bitpix: bitpix, Naxis: 4, BScale: 1e-3, BZero: 0.5}
			if err := WriteFileOptions(path, src, simHeader(), o); err != nil {
				t.Fatal(err)
			}
			img, m, err := Read(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(m.Axes, []int{64, 48, 1, 1}) || m.Bitpix != bitpix {
				t.Errorf("axes %v bitpix %d", m.Axes, m.Bitpix)
			}
			for i, v := range img.Pix {
				w := src.Pix[i]
				if math.IsNaN(float64(w)) {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("pixel %d: NaN read back as %v", i, v)
					}
					continue
				}
				// Floats are exact; integers within half a step of
				// BSCALE 1e-3 plus float32 rounding (values below 5:
				// 5e-7), except 8 bit, clamped to [0.5, 0.754].
				tol := 0.0
				switch {
				case bitpix == 8:
					w = float32(math.Min(math.Max(float64(w), 0.5), 0.5+254e-3))
					tol = 5e-4 + 5e-7
				case bitpix > 0:
					tol = 5e-4 + 5e-7
				}
				if d := math.Abs(float64(v - w)); d > tol {
					t.Fatalf("pixel %d: wrote %v, read %v", i, w, v)
				}
			}
			// Metadata survives: the simulator's header as the pipeline
			// reads it.
			if !m.LOFAR || *m.NCore != 24 || m.TauTime != 11 || m.FreqEff != 1.5e8 || m.FreqBW != 1.953125e6 ||
				m.Beam != (Beam{0.0125, 0.01, 35.5}) || m.PixelScale != 0.0025 ||
				!m.TauStart.Equal(time.Date(2014, 8, 1, 12, 0, 0, 25e7, time.UTC)) {
				t.Errorf("metadata %+v", m)
			}
			// Every card of the header given comes back, in order, with
			// its value and comment (the comment of a long string is on
			// its last CONTINUE card).
			want := simHeader().Cards()
			var got []Card
			for _, c := range m.Header.Cards() {
				if !writerKey(c.Key) {
					got = append(got, c)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("%d cards back, want %d", len(got), len(want))
			}
			for i := range want {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("card %d: got %#v, want %#v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestWriteFormat checks the bytes of a written file against the FITS
// standard's rules for the header, and that fitsio reads it.
func TestWriteFormat(t *testing.T) {
	var buf bytes.Buffer
	src := randomImage(5, 3, 9)
	if err := Encode(&buf, src, simHeader(), WriteOptions{Naxis: 4}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b)%BlockLen != 0 {
		t.Fatalf("%d bytes, not whole blocks", len(b))
	}
	wantFirst := []string{"SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "NAXIS4"}
	end := -1
	for off := 0; off < len(b); off += CardLen {
		c := string(b[off : off+CardLen])
		if !printable(c) {
			t.Fatalf("card %d has non-ASCII bytes: %q", off/CardLen, c)
		}
		key := strings.TrimRight(c[:8], " ")
		if i := off / CardLen; i < len(wantFirst) {
			if key != wantFirst[i] || c[8:10] != "= " || c[29] == ' ' {
				t.Errorf("card %d %q: want %s in fixed format (value ending in column 30)", i, c, wantFirst[i])
			}
		}
		if key == "END" {
			end = off
			break
		}
	}
	if end < 0 {
		t.Fatal("no END card")
	}
	for _, ch := range b[end+CardLen : (end/BlockLen+1)*BlockLen] {
		if ch != ' ' {
			t.Fatal("header padding is not blanks")
		}
	}
	f, err := fitsio.Open(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("fitsio cannot read the file: %v", err)
	}
	hdu := f.HDU(0).(fitsio.Image)
	if hdu.Header().Bitpix() != -32 || !reflect.DeepEqual(hdu.Header().Axes(), []int{5, 3, 1, 1}) {
		t.Errorf("fitsio sees BITPIX %d axes %v", hdu.Header().Bitpix(), hdu.Header().Axes())
	}
	if c := hdu.Header().Get("SUBBANDW"); c == nil || c.Value != 195312.5 {
		t.Errorf("fitsio SUBBANDW card %+v", c)
	}
	pix := make([]float32, 15)
	if err := hdu.Read(&pix); err != nil {
		t.Fatal(err)
	}
	equalPixels(t, "fitsio reads the written pixels", pix, src.Pix)
}

func TestWriteSubImage(t *testing.T) {
	big := randomImage(10, 8, 1)
	sub := big.SubImage(image.Rect(2, 3, 7, 6)) // stride 10, 5 x 3
	var buf bytes.Buffer
	if err := Encode(&buf, sub, nil, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	img, _, err := Decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Rect != image.Rect(0, 0, 5, 3) {
		t.Fatalf("rect %v", img.Rect)
	}
	for y := 0; y < 3; y++ {
		for x := 0; x < 5; x++ {
			if g, w := img.At(x, y), big.At(x+2, y+3); g != w && !(math.IsNaN(float64(g)) && math.IsNaN(float64(w))) {
				t.Fatalf("(%d, %d) = %v, want %v", x, y, g, w)
			}
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "img.fits")
	if err := WriteFile(path, randomImage(4, 4, 1), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	// A header value FITS cannot hold: the error names the file, the old
	// file is untouched and no temporary file is left.
	h := NewHeader()
	h.Set("BAD", math.NaN(), "")
	err := WriteFile(path, randomImage(4, 4, 2), h)
	if !errors.Is(err, ErrUnwritable) || !strings.Contains(err.Error(), path) {
		t.Errorf("NaN card: %v, want ErrUnwritable naming the file", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("a failed write changed the file")
	}
	if err := WriteFile(path, randomImage(4, 4, 3), nil); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1 (temporary files left?)", len(entries))
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	if err := WriteFile(filepath.Join(dir, "no", "such", "dir.fits"), randomImage(2, 2, 1), nil); err == nil ||
		!strings.Contains(err.Error(), "dir.fits") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestWritePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil image": func() { Encode(&bytes.Buffer{}, nil, nil, WriteOptions{}) },
		"bitpix":    func() { Encode(&bytes.Buffer{}, randomImage(2, 2, 1), nil, WriteOptions{Bitpix: 24}) },
		"naxis":     func() { Encode(&bytes.Buffer{}, randomImage(2, 2, 1), nil, WriteOptions{Naxis: 1}) },
		"bscale": func() {
			Encode(&bytes.Buffer{}, randomImage(2, 2, 1), nil, WriteOptions{Bitpix: 16, BScale: math.Inf(1)})
		},
	} {
		func() {
			defer func() {
				if r, ok := recover().(string); !ok || !strings.HasPrefix(r, "fitsimg: ") {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			f()
		}()
	}
}

// astropyScript prints what astropy (wcslib, cfitsio-compatible header
// rules) reads from a file, after verifying it strictly.
const astropyScript = `
import json, sys, warnings
warnings.simplefilter("error")
from astropy.io import fits
with fits.open(sys.argv[1]) as hdul:
    hdul.verify("exception")
    h = hdul[0].header
    d = hdul[0].data
    print(json.dumps({
        "shape": list(d.shape), "dtype": str(d.dtype),
        "pix": [None if v != v else float(v) for v in d.ravel()[:8]],
        "BMAJ": h["BMAJ"], "SUBBANDW": h["SUBBANDW"], "NCORE": h["NCORE"],
        "OBSERVER": h["OBSERVER"], "DATE-OBS": h["DATE-OBS"], "TELESCOP": h["TELESCOP"],
        "comment_BPA": h.comments["BPA"],
    }))
`

// TestWriteAstropy cross-checks the writer with astropy when the system
// Python has it (STYLE 19); it skips otherwise.
func TestWriteAstropy(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import astropy.io.fits").Run(); err != nil {
		t.Skipf("no astropy in %s (apt-get install python3-astropy): %v", py, err)
	}
	path := filepath.Join(t.TempDir(), "astropy.fits")
	src := randomImage(6, 4, 21)
	if err := WriteFileOptions(path, src, simHeader(), WriteOptions{Naxis: 4}); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, "-c", astropyScript, path).CombinedOutput()
	if err != nil {
		t.Fatalf("astropy rejects the file: %v\n%s", err, out)
	}
	var got struct {
		Shape    []int      `json:"shape"`
		Dtype    string     `json:"dtype"`
		Pix      []*float64 `json:"pix"` // null for NaN
		BMAJ     float64
		SUBBANDW float64
		NCORE    int
		OBSERVER string
		DateObs  string `json:"DATE-OBS"`
		TELESCOP string
		Comment  string `json:"comment_BPA"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !reflect.DeepEqual(got.Shape, []int{1, 1, 4, 6}) || got.Dtype != ">f4" {
		t.Errorf("astropy shape %v dtype %s, want [1 1 4 6] >f4", got.Shape, got.Dtype)
	}
	if len(got.Pix) != 8 {
		t.Fatalf("astropy gave %d pixels", len(got.Pix))
	}
	for i, v := range got.Pix {
		w := float64(src.Pix[i])
		if v == nil && !math.IsNaN(w) || v != nil && *v != w {
			t.Errorf("astropy pixel %d = %v, want %v", i, v, w)
		}
	}
	if got.BMAJ != 0.0125 || got.SUBBANDW != 195312.5 || got.NCORE != 24 || got.TELESCOP != "LOFAR" ||
		got.OBSERVER != longObserver || got.DateObs != "2014-08-01T12:00:00.250" ||
		got.Comment != "[deg] restoring beam position angle" {
		t.Errorf("astropy reads %+v", got)
	}
}
