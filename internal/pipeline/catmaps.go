package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

// Selavy's noise (rms) and mean (background) maps (docs/inputs.md
// "Catalogues"): in a --catalogues run, an image whose maps are shipped
// beside it, as STEM.noiseMap.fits and STEM.meanMap.fits (the VAST
// pipeline's test data) or noiseMap.NAME and meanMap.NAME (ASKAP's
// names), is measured with them: the extraction that gives the image's
// rms range, the forced fits and the new-source limits use the maps as
// supplied maps (SPEC 4.16) instead of estimating the background.

// catalogueMaps returns the noise and mean maps shipped beside img, ""
// for none. Only catalogue images have them.
func (img *Image) catalogueMaps() (noise, mean string) {
	if img.Catalogue == "" {
		return "", ""
	}
	dir, name := filepath.Dir(img.Path), filepath.Base(img.Path)
	stem := name
	for _, ext := range []string{".fits.gz", ".fits.fz", ".fits"} {
		if strings.HasSuffix(strings.ToLower(stem), ext) {
			stem = stem[:len(stem)-len(ext)]
			break
		}
	}
	for _, pair := range [][2]string{
		{stem + ".noiseMap.fits", stem + ".meanMap.fits"},
		{"noiseMap." + name, "meanMap." + name},
	} {
		n, m := filepath.Join(dir, pair[0]), filepath.Join(dir, pair[1])
		if isFile(n) || isFile(m) {
			return n, m
		}
	}
	return "", ""
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// withMaps returns opt with img's shipped maps as supplied maps (and no
// negative-source search, which supplied maps exclude), or opt itself
// when it has none. A map that is missing (only one of the two shipped),
// unreadable or not of the image's size is an error naming it.
func (img *Image) withMaps(opt extract.Options) (extract.Options, error) {
	noise, mean := img.catalogueMaps()
	if noise == "" {
		return opt, nil
	}
	var maps [2]*kernels.Image
	for k, p := range []string{noise, mean} {
		m, _, err := fitsimg.ReadImage(p, fitsimg.Options{})
		if err != nil {
			return opt, fmt.Errorf("pipeline: %s: Selavy map: %w", img.Path, err)
		}
		if img.hasHeader() {
			if g := img.geo(); m.Rect.Dx() != g.nx || m.Rect.Dy() != g.ny {
				return opt, fmt.Errorf("pipeline: %s: Selavy map %s is %d x %d pixels, the image %d x %d", img.Path, p, m.Rect.Dx(), m.Rect.Dy(), g.nx, g.ny)
			}
		}
		maps[k] = m
	}
	opt.RMS, opt.Background = maps[0], maps[1]
	opt.Negative, opt.NegativeStokesV = false, false
	return opt, nil
}

// extractWith extracts pix with ex, or, when img ships Selavy maps, with
// a worker of opt using them.
func (img *Image) extractWith(ex *extract.Worker, opt extract.Options, pix *kernels.Image, meta *fitsimg.Meta, rmsQC float64) (*extract.Result, error) {
	if noise, _ := img.catalogueMaps(); noise == "" {
		return ex.ImageQC(pix, meta, rmsQC)
	}
	o, err := img.withMaps(opt)
	if err != nil {
		return nil, err
	}
	w, err := extract.NewWorker(o)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return w.ImageQC(pix, meta, rmsQC)
}
