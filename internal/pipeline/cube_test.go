package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/config"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/kernels"
)

// cubeFreqs are the two channels of the test cubes: the tiny preset's
// bands, which CRVAL3 + CDELT3 reproduces exactly (multiples of 0.25 Hz
// add exactly in binary floating point).
var cubeFreqs = [2]float64{120019531.25, 160058593.75}

// writeCubeSet writes, from the tiny preset's images, the same data twice
// into dir: as one 2-D image per band (dir/planes/tTTTT_bandB.fits) and
// as one cube per timestep with the two bands as channels 1 and 2 of a
// FREQ axis (dir/cubes/tTTTT.fits). Both carry band 0's header with
// CRVAL3/CDELT3 set for the channel(s), so a plane and its 2-D file have
// the same metadata: the beam is band 0's in both (a FITS cube has one
// beam), the bandwidth CDELT3, and they are not LOFAR images.
func writeCubeSet(t *testing.T, data, dir string) (planes, cubes string) {
	t.Helper()
	planes, cubes = filepath.Join(dir, "planes"), filepath.Join(dir, "cubes")
	for _, d := range []string{planes, cubes} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	step := cubeFreqs[1] - cubeFreqs[0]
	for ts := 0; ; ts++ {
		var pix [2]*kernels.Image
		var hdr *fitsimg.Header
		for b := range 2 {
			p := filepath.Join(data, "images", fmt.Sprintf("t%04d_beam0_band%d.fits", ts, b))
			img, meta, err := fitsimg.Read(p, fitsimg.Options{})
			if os.IsNotExist(err) || (err != nil && strings.Contains(err.Error(), "no such file")) {
				if b == 0 && ts > 0 {
					return planes, cubes
				}
				t.Fatal(err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(meta.FreqEff-cubeFreqs[b]) > 0.5 {
				t.Fatalf("%s: frequency %v Hz, the test expects %v", p, meta.FreqEff, cubeFreqs[b])
			}
			pix[b] = img
			if b == 0 {
				hdr = meta.Header.Clone()
			}
		}
		// The cube's channel width (CDELT3, 40 MHz) is its bandwidth,
		// against which LOFAR's theoretical-noise check would reject
		// every image: without ANTENNA the images are not LOFAR's.
		hdr.Delete("ANTENNA")
		hdr.Set("CTYPE3", "FREQ", "")
		hdr.Set("CDELT3", step, "")
		hdr.Set("CRPIX3", 1.0, "")
		for b := range 2 {
			hdr.Set("CRVAL3", cubeFreqs[b], "")
			p := filepath.Join(planes, fmt.Sprintf("t%04d_band%d.fits", ts, b))
			if err := fitsimg.WriteFileOptions(p, pix[b], hdr, fitsimg.WriteOptions{Naxis: 4}); err != nil {
				t.Fatal(err)
			}
		}
		hdr.Set("CRVAL3", cubeFreqs[0], "")
		writeCube(t, filepath.Join(cubes, fmt.Sprintf("t%04d.fits", ts)), pix[:], hdr)
	}
}

// writeCube writes planes (float32, same size) as a FITS cube with
// NAXIS3 = len(planes) and NAXIS4 = 1, with the cards of hdr.
func writeCube(t *testing.T, path string, planes []*kernels.Image, hdr *fitsimg.Header) {
	t.Helper()
	writeCubeAxis(t, path, planes, hdr, 3)
}

// writeCubeAxis writes planes as a FITS cube of 4 axes whose axis (3 or
// 4) has len(planes) pixels, the other 1.
func writeCubeAxis(t *testing.T, path string, planes []*kernels.Image, hdr *fitsimg.Header, axis int) {
	t.Helper()
	r := planes[0].Rect
	head, err := fitsimg.EncodeHeader(r.Dx(), r.Dy(), hdr, fitsimg.WriteOptions{Naxis: 4})
	if err != nil {
		t.Fatal(err)
	}
	// The writer writes 2-D images: NAXISn becomes the number of planes.
	one, n := fmt.Sprintf("NAXIS%d  = %20d", axis, 1), fmt.Sprintf("NAXIS%d  = %20d", axis, len(planes))
	if bytes.Count(head, []byte(one)) != 1 {
		t.Fatalf("no NAXIS%d = 1 card in the encoded header", axis)
	}
	var b bytes.Buffer
	b.Write(bytes.Replace(head, []byte(one), []byte(n), 1))
	for _, p := range planes {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if err := binary.Write(&b, binary.BigEndian, p.Row(y)); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.Write(make([]byte, (fitsimg.BlockLen-b.Len()%fitsimg.BlockLen)%fitsimg.BlockLen))
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestCubeChannels: a run over cubes with [pipeline] channels = "all"
// reads each channel as its own image and band, and gives the catalogue
// of the same planes as separate 2-D files, table by table and exactly
// (the pixels and metadata are the same), but for images.url and
// images.plane, which name the plane read.
func TestCubeChannels(t *testing.T) {
	data := tiny(t)
	planes, cubes := writeCubeSet(t, data, t.TempDir())
	cfg := testConfig()
	ref := runInputs(t, planes, cfg)
	cfg.Pipeline.Channels = "all"
	got := runInputs(t, cubes, cfg)

	ca, cb := pipetest.ReadCatalogue(t, ref), pipetest.ReadCatalogue(t, got)
	if len(ca.Images) != 16 || len(cb.Images) != 16 {
		t.Fatalf("%d and %d images, want 16 (8 timesteps x 2 channels)", len(ca.Images), len(cb.Images))
	}
	for i := range cb.Images {
		a, b := &ca.Images[i], &cb.Images[i]
		ts, band := i/2, i%2
		if want := filepath.Join(planes, fmt.Sprintf("t%04d_band%d.fits", ts, band)); a.URL != want || a.Plane != 0 {
			t.Errorf("2-D image %d: %s plane %d, want %s plane 0", a.ID, a.URL, a.Plane, want)
		}
		if want := filepath.Join(cubes, fmt.Sprintf("t%04d.fits", ts)); b.URL != want || b.Plane != int32(band) {
			t.Errorf("cube image %d: %s plane %d, want %s plane %d", b.ID, b.URL, b.Plane, want, band)
		}
		if b.FreqEff != cubeFreqs[band] {
			t.Errorf("cube image %d: frequency %v Hz, want channel %d's %v", b.ID, b.FreqEff, band+1, cubeFreqs[band])
		}
		a.URL, b.URL, a.Plane, b.Plane = "", "", 0, 0
	}
	if len(cb.Bands) != 2 || len(cb.Measurements) == 0 {
		t.Errorf("the cube run has %d bands and %d measurements, want 2 and some", len(cb.Bands), len(cb.Measurements))
		for _, im := range cb.Images {
			t.Logf("image %d: rejected %v: %s", im.ID, im.Rejected, im.RejectComment)
		}
	}
	equalCatalogueRows(t, ca, cb)
}

// TestCubeChannelRange: a range reaching past the cube's channels rejects
// the image naming both; "2" takes the second channel alone.
func TestCubeChannelRange(t *testing.T) {
	data := tiny(t)
	_, cubes := writeCubeSet(t, data, t.TempDir())
	in := filepath.Join(cubes, "t0000.fits")
	for _, c := range []struct {
		ch     Channels
		planes []int
		err    string
	}{
		{Channels{1, 0}, []int{0, 1}, ""},
		{Channels{2, 2}, []int{1}, ""},
		{Channels{2, 3}, nil, "channels 2-3 requested, the image has 2"},
		{Channels{}, []int{0}, ""},
	} {
		t.Run(c.ch.String(), func(t *testing.T) {
			imgs := expandChannels(in, fitsimg.Options{}, c.ch)
			if c.err != "" {
				if len(imgs) != 1 || !strings.Contains(imgs[0].HeaderErr, c.err) || !strings.Contains(imgs[0].HeaderErr, in) {
					t.Fatalf("got %+v, want one image rejected with %q", imgs, c.err)
				}
				return
			}
			if len(imgs) != len(c.planes) {
				t.Fatalf("%d images, want %d", len(imgs), len(c.planes))
			}
			for i, img := range imgs {
				if img.HeaderErr != "" || img.Plane != c.planes[i] || img.Meta.FreqEff != cubeFreqs[c.planes[i]] {
					t.Errorf("image %d: plane %d, %q, want plane %d at %v Hz", i, img.Plane, img.HeaderErr, c.planes[i], cubeFreqs[c.planes[i]])
				}
				if o := img.readOptions(fitsimg.Options{Stokes: "I", Channel: 1}); o.Plane != c.planes[i] || o.Channel != 0 || o.Stokes != "" {
					t.Errorf("image %d: read options %+v, want plane %d alone", i, o, c.planes[i])
				}
			}
		})
	}
}

// runInputs runs the pipeline over the images in dir with cfg.
func runInputs(t *testing.T, dir string, cfg config.Config) string {
	t.Helper()
	inputs, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	return run
}
