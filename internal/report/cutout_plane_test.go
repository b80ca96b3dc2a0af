package report

import (
	"path/filepath"
	"testing"

	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
)

// TestCutoutPlane: a cut-out reads the plane of its image
// (images.plane), not the file's first: each plane of a cube gives its
// own pixels.
func TestCutoutPlane(t *testing.T) {
	path := filepath.Join(testutil.ProjectRoot(t), "testdata", "fits", "cube.fits")
	meta, err := fitsimg.ReadMeta(path, fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if meta.Planes < 2 {
		t.Fatalf("%s has %d planes, the test needs 2", path, meta.Planes)
	}
	ra, dec, err := meta.WCS.PixToSky(float64(meta.Naxis1/2), float64(meta.Naxis2/2))
	if err != nil {
		t.Fatal(err)
	}
	const size = 4
	for p := range 2 {
		c := &cutout{RA: ra, Dec: dec}
		cutImage(path, p, []*cutout{c}, size)
		if c.Err != "" {
			t.Fatalf("plane %d: %s", p, c.Err)
		}
		img, _, err := fitsimg.Read(path, fitsimg.Options{Plane: p})
		if err != nil {
			t.Fatal(err)
		}
		x0, y0 := meta.Naxis1/2-size/2, meta.Naxis2/2-size/2
		for j := range size {
			for i := range size {
				if got, want := c.Pix[j*size+i], img.Pix[img.PixOffset(x0+i, y0+j)]; got != want {
					t.Fatalf("plane %d pixel (%d, %d): %v, the plane has %v", p, x0+i, y0+j, got, want)
				}
			}
		}
	}
	a, b := &cutout{RA: ra, Dec: dec}, &cutout{RA: ra, Dec: dec}
	cutImage(path, 0, []*cutout{a}, size)
	cutImage(path, 1, []*cutout{b}, size)
	same := true
	for i := range a.Pix {
		same = same && a.Pix[i] == b.Pix[i]
	}
	if same {
		t.Error("planes 0 and 1 gave the same cut-out")
	}
}
