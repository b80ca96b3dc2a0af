package fitsimg

import (
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
