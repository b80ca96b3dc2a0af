package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestExpandInputsCASA: a CASA image directory is one input, whether
// given directly, matched by a glob or found below a directory, and input
// listing does not descend into it; a table of another type is not an
// image. Compressed FITS (.fits.gz, .fits.fz) below a directory are
// images too.
func TestExpandInputsCASA(t *testing.T) {
	d := t.TempDir()
	write := func(p, s string) {
		p = filepath.Join(d, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, img := range []string{"obs/a.image", "obs/deep/b.image", "c.image"} {
		write(img+"/table.dat", "")
		write(img+"/table.info", "Type = Image\nSubType = \n")
		write(img+"/inside.fits", "") // never listed: the image is not descended into
	}
	write("obs/ms.table/table.dat", "")
	write("obs/ms.table/table.info", "Type = Measurement Set\n")
	write("obs/x.fits", "")
	write("obs/y.FITS.gz", "")
	write("obs/z.fits.fz", "")
	write("obs/notes.txt", "")
	got, err := ExpandInputs([]string{filepath.Join(d, "obs"), filepath.Join(d, "c.image"), filepath.Join(d, "*.image")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(d, "c.image"), filepath.Join(d, "obs/a.image"), filepath.Join(d, "obs/deep/b.image"),
		filepath.Join(d, "obs/x.fits"), filepath.Join(d, "obs/y.FITS.gz"), filepath.Join(d, "obs/z.fits.fz")}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
