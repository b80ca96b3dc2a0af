package kernels

import (
	"image"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestGridMapsMatchDetect: GridMaps.Fill gives, on any sub-rectangle, the
// bits of Detect's D and RMS there (both edge modes, margins, an
// extraction radius, NaN pixels, a median filter, an image rectangle off
// the origin, rectangles over the image's edges), and FitFixedMaps gives
// FitFixed's sources and reasons on the full maps.
func TestGridMapsMatchDetect(t *testing.T) {
	type tc struct {
		name   string
		edge   EdgeMode
		margin int
		radius float64
		nan    bool
		median int
		origin image.Point
		box    float64
	}
	cases := []tc{
		{"hold", EdgeHold, 10, 0, false, 0, image.Point{}, 30},
		{"pyse", EdgePySE, 10, 0, false, 0, image.Point{}, 30},
		{"hold-nan-radius", EdgeHold, 5, 120, true, 3, image.Pt(7, -3), 30},
		{"pyse-nan-radius", EdgePySE, 0, 110, true, 0, image.Pt(-11, 4), 21},
		{"pyse-nomargin-nan", EdgePySE, 0, 0, true, 3, image.Point{}, 0.5},
		{"hold-bigbox", EdgeHold, 3, 0, true, 0, image.Point{}, 400},
	}
	beam := Beam{3, 2, 0.3}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, _ := detSky(301, 263, 40, 6, 60, beam, uint64(11+ci))
			img.Rect = img.Rect.Add(c.origin)
			rng := rand.New(rand.NewPCG(uint64(ci), 99))
			if c.nan {
				// a NaN blob near an edge, and scattered NaNs
				for y := 0; y < 40; y++ {
					for x := 200; x < 301; x++ {
						if (x-260)*(x-260)+(y-10)*(y-10) < 900 {
							img.Pix[y*img.Stride+x] = float32(math.NaN())
						}
					}
				}
				for range 300 {
					img.Pix[rng.IntN(len(img.Pix))] = float32(math.NaN())
				}
			}
			orig := slices.Clone(img.Pix)
			cfg := DefaultDetectConfig()
			cfg.Edge, cfg.Margin, cfg.Radius, cfg.MedianFilter = c.edge, c.margin, c.radius, c.median
			cfg.BackSizeX, cfg.BackSizeY = 32, 29
			det, err := NewDetector(cfg, 2)
			if err != nil {
				t.Fatal(err)
			}
			ds, rep := det.Detect(img, nil)
			if rep.Grids.Empty() {
				t.Fatal("no grid")
			}
			if !sameBits(img.Pix, orig) {
				t.Fatal("Detect changed the image")
			}
			wantD := &Image{Pix: slices.Clone(ds.D.Pix), Stride: ds.D.Stride, Rect: ds.D.Rect}
			wantR := &Image{Pix: slices.Clone(ds.RMS.Pix), Stride: ds.RMS.Stride, Rect: ds.RMS.Rect}
			var gm GridMaps
			gm.Reset(img, rep.Grids, c.margin, c.radius, c.edge)
			var d, r Image
			full := img.Rect
			rects := []image.Rectangle{full, full.Inset(-5), image.Rect(full.Min.X-3, full.Min.Y-4, full.Min.X+20, full.Min.Y+17),
				image.Rect(full.Max.X-9, full.Max.Y-30, full.Max.X+9, full.Max.Y+2), image.Rect(full.Min.X, full.Min.Y, full.Min.X+1, full.Min.Y+1)}
			for range 200 {
				x0 := full.Min.X - 10 + rng.IntN(full.Dx()+20)
				y0 := full.Min.Y - 10 + rng.IntN(full.Dy()+20)
				rects = append(rects, image.Rect(x0, y0, x0+1+rng.IntN(60), y0+1+rng.IntN(60)))
			}
			for _, rc := range rects {
				gm.Fill(&d, &r, rc)
				want := rc.Intersect(full)
				if d.Rect != want || r.Rect != want {
					t.Fatalf("rect %v: got %v, want %v", rc, d.Rect, want)
				}
				for y := want.Min.Y; y < want.Max.Y; y++ {
					for x := want.Min.X; x < want.Max.X; x++ {
						a, b := d.At(x, y), wantD.At(x, y)
						p, q := r.At(x, y), wantR.At(x, y)
						if math.Float32bits(a) != math.Float32bits(b) && !(a != a && b != b) ||
							math.Float32bits(p) != math.Float32bits(q) && !(p != p && q != q) {
							t.Fatalf("pixel (%d, %d): D %v rms %v, Detect %v %v", x, y, a, p, b, q)
						}
					}
				}
			}
			// Forced fits at random positions, on and off the image,
			// next to NaNs and at the edges.
			var pos [][2]float64
			npos := 400
			if c.box > 100 {
				npos = 40
			}
			for k := range npos {
				var px, py float64
				switch k % 4 {
				case 0:
					px, py = float64(full.Min.X)+rng.Float64()*float64(full.Dx()), float64(full.Min.Y)+rng.Float64()*float64(full.Dy())
				case 1:
					px, py = float64(full.Min.X)-2+rng.Float64()*6, float64(full.Min.Y)+rng.Float64()*float64(full.Dy())
				case 2:
					px, py = float64(full.Max.X)-4+rng.Float64()*6, float64(full.Max.Y)-4+rng.Float64()*6
				default:
					px, py = float64(full.Min.X)+rng.Float64()*float64(full.Dx()), float64(full.Max.Y)-12+rng.Float64()*14
				}
				ra, dec, _ := testProj.PixToSky(px, py)
				pos = append(pos, [2]float64{ra, dec})
			}
			fc := DefaultForcedConfig(beam)
			fc.BoxSize = c.box
			var m1, m2 Measurer
			want, wr, err1 := m1.FitFixed(nil, nil, wantD, wantR, pos, beam, testProj, &fc)
			got, gr, err2 := m2.FitFixedMaps(nil, nil, &gm, pos, beam, testProj, &fc)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !reflect.DeepEqual(wr, gr) {
				t.Fatalf("reasons differ:\n%v\n%v", wr, gr)
			}
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%d fits, %d from the grids: different", len(want), len(got))
			}
			if c.box > 1 && len(want) < npos/25 {
				t.Fatalf("only %d fits", len(want))
			}
		})
	}
}

// TestGridMapsEmpty: with an empty grid both maps are NaN, as Detect's.
func TestGridMapsEmpty(t *testing.T) {
	img := detNoise(40, 30, 1, 3)
	var gm GridMaps
	gm.Reset(img, &BackgroundGrids{}, 0, 0, EdgeHold)
	var d, r Image
	gm.Fill(&d, &r, image.Rect(5, 5, 15, 12))
	for i := range d.Pix {
		if d.Pix[i] == d.Pix[i] || r.Pix[i] == r.Pix[i] {
			t.Fatal("not NaN")
		}
	}
}
