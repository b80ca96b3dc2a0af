package fitsimg

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/cespare/xxhash/v2"

	"gotrap/internal/testutil"
)

// TestReadIntoHashed: the hash ReadIntoHashed makes while it reads an
// image is the hash of the whole file, for plain, gzip-compressed and
// tile-compressed FITS, and the pixels are ReadInto's.
func TestReadIntoHashed(t *testing.T) {
	fz := filepath.Join(testutil.ProjectRoot(t), "testdata", "fz")
	names, err := filepath.Glob(filepath.Join(fz, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range names {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && filepath.Ext(p) != ".sh" {
			files = append(files, p)
		}
	}
	if len(files) < 3 {
		t.Fatalf("only %d fixtures in %s", len(files), fz)
	}
	for _, p := range files {
		t.Run(filepath.Base(p), func(t *testing.T) {
			want, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			img, _, errPlain := ReadInto(nil, p, Options{})
			h := xxhash.New()
			got, _, ok, err := ReadIntoHashed(nil, p, Options{}, h)
			if (err != nil) != (errPlain != nil) {
				t.Fatalf("ReadIntoHashed error %v, ReadInto %v", err, errPlain)
			}
			if err != nil {
				return
			}
			if !ok || h.Sum64() != xxhash.Sum64(want) {
				t.Fatalf("hash %016x (ok %v), want the file's %016x", h.Sum64(), ok, xxhash.Sum64(want))
			}
			if len(got.Pix) != len(img.Pix) {
				t.Fatalf("%d pixels, ReadInto %d", len(got.Pix), len(img.Pix))
			}
			for i := range got.Pix {
				if got.Pix[i] != img.Pix[i] && !(got.Pix[i] != got.Pix[i] && img.Pix[i] != img.Pix[i]) {
					t.Fatalf("pixel %d: %v, ReadInto %v", i, got.Pix[i], img.Pix[i])
				}
			}
		})
	}
}

// TestReadIntoFrom: reading an image from its bytes in memory gives
// ReadIntoHashed's pixels, metadata and hash, for plain, gzip-compressed
// and tile-compressed FITS and a plane of a cube; without a hash it
// reports none; a file cut short is ErrTruncated.
func TestReadIntoFrom(t *testing.T) {
	root := filepath.Join(testutil.ProjectRoot(t), "testdata", "fz")
	cases := []struct {
		file  string
		plane int
	}{
		{"noise.fits", 0}, {"noise.fits.gz", 0}, {"f32-rice-q4.fits.fz", 0},
		{"i16-gzip2.fits.fz", 0}, {"noisecube.fits", 1}, {"cube-rice.fits.fz", 1},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join(root, c.file)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{Plane: c.plane}
			h := xxhash.New()
			want, wm, ok, err := ReadIntoHashed(nil, p, opts, h)
			if err != nil || !ok {
				t.Fatalf("ReadIntoHashed: %v (hashed %v)", err, ok)
			}
			g := xxhash.New()
			got, gm, gok, err := ReadIntoFrom(nil, p, data, opts, g)
			if err != nil {
				t.Fatal(err)
			}
			if !gok || g.Sum64() != h.Sum64() || g.Sum64() != xxhash.Sum64(data) {
				t.Errorf("hash %016x (ok %v), want the file's %016x", g.Sum64(), gok, xxhash.Sum64(data))
			}
			if gm.Path != p || gm.Naxis1 != wm.Naxis1 || gm.Naxis2 != wm.Naxis2 || gm.Planes != wm.Planes || !gm.TauStart.Equal(wm.TauStart) {
				t.Errorf("meta %+v, want %+v", gm, wm)
			}
			samePixels(t, "read", got.Pix, want.Pix)
			// Without a hash, into the image just read.
			again, _, hashed, err := ReadIntoFrom(got, p, data, opts, nil)
			if err != nil || hashed {
				t.Fatalf("without a hash: %v (hashed %v)", err, hashed)
			}
			if &again.Pix[0] != &got.Pix[0] {
				t.Error("reuse's storage not reused")
			}
			samePixels(t, "reused", again.Pix, want.Pix)
		})
	}
	t.Run("truncated", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(root, "noise.fits"))
		if err != nil {
			t.Fatal(err)
		}
		// Two blocks short: the header declares more data than given.
		_, _, _, err = ReadIntoFrom(nil, "cut.fits", data[:len(data)-2*BlockLen], Options{}, nil)
		var fe *Error
		if !errors.Is(err, ErrTruncated) || !errors.As(err, &fe) || fe.Path != "cut.fits" {
			t.Errorf("error %v, want ErrTruncated naming cut.fits", err)
		}
	})
}
