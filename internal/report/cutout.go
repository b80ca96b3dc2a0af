package report

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"gotrap/internal/fitsimg"
)

// Stretches of the cut-outs.
const (
	StretchAsinh  = "asinh"
	StretchLinear = "linear"
)

// A cutout is one requested cut-out: Size x Size pixels of image Image
// centred on (RA, Dec), filled by readCutouts (Pix, row-major from the
// bottom row, NaN outside the image).
type cutout struct {
	Image   int64
	RA, Dec float64
	Pix     []float32
	X, Y    float64 // 0-based pixel of (RA, Dec) in the image
	Err     string  // why there is no cut-out
	File    string  // PNG name, relative to the report directory
}

// resolveImage finds the FITS file of an image url: as given, else
// relative to the run directory.
func resolveImage(run, url string) string {
	if filepath.IsAbs(url) {
		return url
	}
	if _, err := os.Stat(url); err == nil {
		return url
	}
	return filepath.Join(run, url)
}

// readCutouts fills the cut-outs, reading each image once (plane planes[id]
// of its file, images.plane), workers images at a time. A missing or unreadable image is not an error of the
// report: its cut-outs carry the reason.
func readCutouts(ctx context.Context, run string, urls map[int64]string, planes map[int64]int, cuts []*cutout, size, workers int) error {
	byImage := map[int64][]*cutout{}
	var ids []int64
	for _, c := range cuts {
		if byImage[c.Image] == nil {
			ids = append(ids, c.Image)
		}
		byImage[c.Image] = append(byImage[c.Image], c)
	}
	slices.Sort(ids)
	if workers < 1 {
		workers = 1
	}
	next := make(chan int64)
	var wg sync.WaitGroup
	for range min(workers, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range next {
				cutImage(resolveImage(run, urls[id]), planes[id], byImage[id], size)
			}
		}()
	}
	var err error
	for _, id := range ids {
		if err = ctx.Err(); err != nil {
			break
		}
		next <- id
	}
	close(next)
	wg.Wait()
	return err
}

func cutImage(path string, plane int, cuts []*cutout, size int) {
	img, meta, err := fitsimg.Read(path, fitsimg.Options{Plane: plane})
	if err != nil {
		for _, c := range cuts {
			c.Err = fmt.Sprintf("could not read the image: %v", err)
		}
		return
	}
	r := img.Rect
	for _, c := range cuts {
		x, y, err := meta.WCS.SkyToPix(c.RA, c.Dec)
		if err != nil || !finite(x, y) {
			c.Err = "position has no pixel in this image"
			continue
		}
		c.X, c.Y = x, y
		x0, y0 := int(math.Round(x))-size/2, int(math.Round(y))-size/2
		c.Pix = make([]float32, size*size)
		inside := 0
		for j := range size {
			row := c.Pix[j*size : (j+1)*size]
			yy := y0 + j
			for i := range row {
				xx := x0 + i
				if xx < r.Min.X || xx >= r.Max.X || yy < r.Min.Y || yy >= r.Max.Y {
					row[i] = float32(math.NaN())
					continue
				}
				row[i] = img.Pix[img.PixOffset(xx, yy)]
				inside++
			}
		}
		if inside == 0 {
			c.Pix, c.Err = nil, "position outside the image"
		}
	}
}

// cutoutScale returns the display range of a candidate's cut-outs, shared
// by all of them so that brightness compares across time: lo is the 1st
// percentile of the pooled finite pixels, hi the largest of the 99.5th
// percentile and the brightest pixel within 3 px of the centres.
func cutoutScale(cuts []*cutout, size int) (lo, hi float64) {
	var all []float32
	peak := math.Inf(-1)
	c0 := float64(size / 2)
	for _, c := range cuts {
		for j := range size {
			for i := range size {
				v := c.Pix[j*size+i]
				if v != v {
					continue
				}
				all = append(all, v)
				if dx, dy := float64(i)-c0, float64(j)-c0; dx*dx+dy*dy <= 9 {
					peak = math.Max(peak, float64(v))
				}
			}
		}
	}
	if len(all) == 0 {
		return 0, 1
	}
	slices.Sort(all)
	lo = float64(all[len(all)/100])
	hi = math.Max(float64(all[len(all)*995/1000]), peak)
	if !(hi > lo) {
		hi = lo + 1
	}
	return lo, hi
}

// cutoutPNG renders a cut-out as a PNG: grey levels by stretch between lo
// and hi, north (increasing y) up, NaN pixels dark blue, and red ticks
// around the centre (leaving the centre itself untouched).
func cutoutPNG(c *cutout, size int, lo, hi float64, stretch string) ([]byte, error) {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	const beta = 0.1 // asinh softening, in units of the range
	norm := math.Asinh(1 / beta)
	for j := range size {
		row := c.Pix[j*size : (j+1)*size]
		py := size - 1 - j // FITS y up, PNG rows down
		for i, v := range row {
			if v != v {
				img.SetRGBA(i, py, color.RGBA{10, 20, 60, 255})
				continue
			}
			t := (float64(v) - lo) / (hi - lo)
			t = math.Max(0, math.Min(1, t))
			if stretch != StretchLinear {
				t = math.Asinh(t/beta) / norm
			}
			g := uint8(math.Round(255 * t))
			img.SetRGBA(i, py, color.RGBA{g, g, g, 255})
		}
	}
	red := color.RGBA{230, 40, 40, 255}
	cx, cy := size/2, size-1-size/2
	gap, arm := max(3, size/16), max(6, size/8)
	for d := gap; d <= arm; d++ {
		img.SetRGBA(cx+d, cy, red)
		img.SetRGBA(cx-d, cy, red)
		img.SetRGBA(cx, cy+d, red)
		img.SetRGBA(cx, cy-d, red)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("report: cut-out PNG: %w", err)
	}
	return b.Bytes(), nil
}
