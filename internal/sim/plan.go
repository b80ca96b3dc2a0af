package sim

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/internal/wcs"
	"gotrap/kernels/sphere"
)

// Reasons an image is bad, as written in images.csv and the SIMBAD card.
const (
	BadNaNBlock = "nan-block"  // a quarter-size block of NaN pixels
	BadRMS      = "rms-blowup" // noise BadRmsFactor times the band's rms
	BadBeam     = "bad-beam"   // header BMAJ four times the true one (axis ratio > 2)
)

// badBeamFactor is how much a bad-beam image's header overstates BMAJ: the
// axis ratio becomes > 2, which TraP's beam check rejects (SPEC 3.4).
const badBeamFactor = 4

// field is one beam's pointing and its image grid (shared by all bands
// and timesteps: the pointings track the sky).
type field struct {
	beam    int
	ra, dec float64
	wcs     *wcs.WCS
	// placed lists the sources on or near (within the painting margin)
	// this field's image, in source order.
	placed []placed
}

// placed is a source's position on a field's image.
type placed struct {
	src    int     // index into plan.sky
	x, y   float64 // 0-based pixel position
	inside bool    // the nearest pixel centre lies in the image
	sep    float64 // distance from the pointing, deg (primary beam)
}

// imageSpec is one image of the data set: a (timestep, beam, band).
type imageSpec struct {
	index, t, beam, band int
	rel                  string    // path relative to the output directory
	time                 time.Time // DATE-OBS
	rms                  float64   // noise of this image, Jy/beam
	bad                  string    // "" or a Bad* reason
	nanRect              image.Rectangle
	bmaj, bmin, bpa      float64 // header beam, deg
}

// plan is everything needed to write a data set, computed up front.
type plan struct {
	cfg     Config
	fields  []field
	images  []imageSpec
	sky     []Source
	beams   []pixBeam // true beam per band
	grid    noiseGrid
	filters []*noiseFilter
	psf     []*scaledPSF // per band; nil without noise_psf
	psfNeg  []float64    // per band: clipped negative fraction of the PSF's transform
	pbInv   [][]float32  // per band: 1/PB per pixel, with pb_corrected
	pixDeg  float64
	margin  int // painting margin beyond the image, px
}

// imagePath is the name of image (t, beam, band) relative to the output
// directory.
func imagePath(t, beam, band int) string {
	return fmt.Sprintf("images/t%04d_beam%d_band%d.fits", t, beam, band)
}

func (c *Config) imageTime(t int) time.Time {
	return c.Start.Add(time.Duration(math.Round(float64(t) * c.CadenceS * 1e9)))
}

// wcsHeader returns the celestial WCS cards of a field's images.
func (c *Config) wcsCards(h *fitsimg.Header, ra, dec float64) {
	pix := c.PixelArcsec / 3600
	h.Set("CTYPE1", "RA---SIN", "")
	h.Set("CRVAL1", ra, "[deg] pointing RA")
	h.Set("CDELT1", -pix, "[deg]")
	h.Set("CRPIX1", float64(c.Width/2+1), "image centre (SPEC 0.1)")
	h.Set("CUNIT1", "deg", "")
	h.Set("CTYPE2", "DEC--SIN", "")
	h.Set("CRVAL2", dec, "[deg] pointing Dec")
	h.Set("CDELT2", pix, "[deg]")
	h.Set("CRPIX2", float64(c.Height/2+1), "")
	h.Set("CUNIT2", "deg", "")
}

// newPlan lays out the fields, images, bad images, noise filters and sky
// of c. user holds the sources of c.SourcesFile, already read.
func newPlan(c *Config, user []Source) (*plan, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &plan{cfg: *c, pixDeg: c.PixelArcsec / 3600}
	p.cfg.FreqMHz = slices.Clone(c.FreqMHz) // the caller may reuse its Config
	p.cfg.RmsJy = slices.Clone(c.RmsJy)
	nb := len(c.FreqMHz)

	aMax := 0.0
	p.beams = make([]pixBeam, nb)
	for b, f := range c.FreqMHz {
		bmaj, bmin, bpa := c.beamDeg(f)
		p.beams[b] = newPixBeam(bmaj, bmin, bpa, p.pixDeg)
		aMax = math.Max(aMax, p.beams[b].a)
	}
	// Sources up to 6σ of the widest beam outside an image still add
	// to its edge pixels (exp(-18) of the peak beyond).
	p.margin = int(math.Ceil(6 * 2 * aMax * fwhmToSigma))

	for i, pt := range pointings(c.Beams, c.CentreRA, c.CentreDec, c.BeamSepDeg) {
		h := fitsimg.NewHeader()
		c.wcsCards(h, pt[0], pt[1])
		w, err := wcs.FromHeader(h)
		if err != nil {
			return nil, fmt.Errorf("sim: beam %d at (%g, %g): %w", i, pt[0], pt[1], err)
		}
		p.fields = append(p.fields, field{beam: i, ra: pt[0], dec: pt[1], wcs: w})
	}

	// A cap around the centre that holds every field's image and margin.
	halfDiag := math.Hypot(float64(c.Width), float64(c.Height)) / 2 * p.pixDeg
	marginDeg := float64(p.margin+1) * p.pixDeg
	capR := 0.0
	for _, f := range p.fields {
		capR = math.Max(capR, sphere.Sep(c.CentreRA, c.CentreDec, f.ra, f.dec))
	}
	capR += halfDiag + marginDeg
	sc := capSampler{ra: c.CentreRA, dec: c.CentreDec, cosR: math.Cos(math.Min(capR, 180) * deg2rad)}
	sky, err := buildSky(c, sc, fieldSet{p: p, halfDiag: halfDiag + marginDeg}, user)
	if err != nil {
		return nil, err
	}
	p.sky = sky
	for fi := range p.fields {
		f := &p.fields[fi]
		for si := range p.sky {
			s := &p.sky[si]
			x, y, ok := p.project(f, s.RA, s.Dec, halfDiag+marginDeg, float64(p.margin))
			if !ok {
				continue
			}
			in := x >= -0.5 && x < float64(c.Width)-0.5 && y >= -0.5 && y < float64(c.Height)-0.5
			f.placed = append(f.placed, placed{src: si, x: x, y: y, inside: in, sep: sphere.Sep(f.ra, f.dec, s.RA, s.Dec)})
		}
	}

	p.assignExtents()
	p.assignCircular()
	if c.PBCorrected {
		for b := range nb {
			p.pbInv = append(p.pbInv, p.pbInverse(b))
		}
	}

	psf, err := loadPSF(c.NoisePSF)
	if err != nil {
		return nil, err
	}
	p.filters = make([]*noiseFilter, nb)
	if psf == nil {
		p.grid = newNoiseGrid(c.Width, c.Height, aMax)
		for b := range nb {
			p.filters[b] = newNoiseFilter(p.grid, p.beams[b], c.RmsJy[b])
		}
	} else {
		// Pad by the PSF's support, so that noise across the periodic
		// wrap is uncorrelated as with the Gaussian.
		p.psf = make([]*scaledPSF, nb)
		p.psfNeg = make([]float64, nb)
		pad := int(math.Ceil(3.5 * aMax))
		for b := range nb {
			p.psf[b] = psf.scale(&p.beams[b])
			pad = max(pad, int(math.Ceil(p.psf[b].radius))+1)
		}
		p.grid = newNoiseGridPad(c.Width, c.Height, pad)
		for b := range nb {
			p.filters[b], p.psfNeg[b] = newPSFNoiseFilter(p.grid, p.psf[b], c.RmsJy[b])
		}
	}

	p.images = make([]imageSpec, 0, c.NumImages())
	for t := range c.Timesteps {
		for bm := range c.Beams {
			for b := range nb {
				bmaj, bmin, bpa := c.beamDeg(c.FreqMHz[b])
				p.images = append(p.images, imageSpec{
					index: len(p.images), t: t, beam: bm, band: b,
					rel:  imagePath(t, bm, b),
					time: c.imageTime(t),
					rms:  c.RmsJy[b],
					bmaj: bmaj, bmin: bmin, bpa: bpa,
				})
			}
		}
	}
	p.chooseBad()
	return p, nil
}

// project returns the pixel position of (ra, dec) on field f when it lies
// within margin px of the image (and within maxSep deg of the pointing, a
// cheap pre-filter that also keeps SIN away from its horizon).
func (p *plan) project(f *field, ra, dec, maxSep, margin float64) (x, y float64, ok bool) {
	if math.Abs(dec-f.dec) > maxSep || sphere.Sep(f.ra, f.dec, ra, dec) > maxSep {
		return 0, 0, false
	}
	x, y, err := f.wcs.SkyToPix(ra, dec)
	if err != nil {
		return 0, 0, false
	}
	c := &p.cfg
	if x < -0.5-margin || x >= float64(c.Width)-0.5+margin || y < -0.5-margin || y >= float64(c.Height)-0.5+margin {
		return 0, 0, false
	}
	return x, y, true
}

// fieldSet is the union of the fields' images grown (for steady sources,
// whose wings reach into an image) or shrunk (for variables and
// transients, which must be wholly visible in some image) by the painting
// margin.
type fieldSet struct {
	p        *plan
	halfDiag float64
}

func (fs fieldSet) covers(ra, dec float64, inner bool) bool {
	m := float64(fs.p.margin)
	if inner {
		m = -m
	}
	for i := range fs.p.fields {
		if _, _, ok := fs.p.project(&fs.p.fields[i], ra, dec, fs.halfDiag, m); ok {
			return true
		}
	}
	return false
}

// chooseBad picks cfg.BadImages distinct images after the first timestep
// (so that every field and band has a good first image) and gives them the
// reasons NaN block, rms blow-up and bad beam in turn.
func (p *plan) chooseBad() {
	c := &p.cfg
	if c.BadImages == 0 {
		return
	}
	first := 0
	if c.Timesteps > 1 {
		first = c.Beams * len(c.FreqMHz)
	}
	rng := rand.New(rand.NewPCG(c.Seed, streamBad))
	idx := make([]int, len(p.images)-first)
	for i := range idx {
		idx[i] = first + i
	}
	reasons := [...]string{BadNaNBlock, BadRMS, BadBeam}
	for k := range c.BadImages {
		j := k + rng.IntN(len(idx)-k) // partial Fisher-Yates
		idx[k], idx[j] = idx[j], idx[k]
		im := &p.images[idx[k]]
		im.bad = reasons[k%len(reasons)]
		// The NaN block covers 3/4 of each side (56% of the pixels), more
		// than image QC's default max_nan_fraction of 0.5 tolerates.
		w, h := 3*c.Width/4, 3*c.Height/4
		x0, y0 := rng.IntN(c.Width-w+1), rng.IntN(c.Height-h+1)
		switch im.bad {
		case BadNaNBlock:
			im.nanRect = image.Rect(x0, y0, x0+max(w, 1), y0+max(h, 1))
		case BadRMS:
			im.rms *= c.BadRmsFactor
		case BadBeam:
			im.bmaj *= badBeamFactor
		}
	}
}

// header returns the FITS cards of image im (the writer adds SIMPLE,
// BITPIX and NAXISn).
func (p *plan) header(im *imageSpec) *fitsimg.Header {
	c := &p.cfg
	f := &p.fields[im.beam]
	bw := float64(c.Subbands) * c.SubbandWidthHz
	h := fitsimg.NewHeader()
	h.Set("BUNIT", "JY/BEAM", "")
	h.Set("BTYPE", "Intensity", "")
	h.Set("BMAJ", im.bmaj, "[deg] restoring beam FWHM major axis")
	h.Set("BMIN", im.bmin, "[deg] restoring beam FWHM minor axis")
	h.Set("BPA", im.bpa, "[deg] restoring beam position angle")
	h.Set("EQUINOX", 2000.0, "")
	h.Set("RADESYS", "FK5", "")
	c.wcsCards(h, f.ra, f.dec)
	h.Set("CTYPE3", "FREQ", "")
	h.Set("CRVAL3", c.FreqMHz[im.band]*1e6, "[Hz] band centre")
	h.Set("CDELT3", bw, "[Hz] bandwidth")
	h.Set("CRPIX3", 1.0, "")
	h.Set("CUNIT3", "Hz", "")
	h.Set("CTYPE4", "STOKES", "")
	if c.stokesV() {
		h.Set("CRVAL4", 4.0, "Stokes V")
	} else {
		h.Set("CRVAL4", 1.0, "Stokes I")
	}
	h.Set("CDELT4", 1.0, "")
	h.Set("CRPIX4", 1.0, "")
	h.Set("CUNIT4", "", "")
	h.Set("DATE-OBS", im.time.UTC().Format("2006-01-02T15:04:05.000"), "start of the snapshot (UTC)")
	h.Set("TIMESYS", "UTC", "")
	h.Set("TAU_TIME", c.TauS, "[s] integration time")
	h.Set("TELESCOP", c.Telescope, "")
	h.Set("ANTENNA", c.Antenna, "antenna set")
	h.Set("NCORE", int64(c.NCore), "core stations")
	h.Set("NREMOTE", int64(c.NRemote), "remote stations")
	h.Set("NINTL", int64(c.NIntl), "international stations")
	h.Set("SUBBANDS", int64(c.Subbands), "subbands in the band")
	h.Set("SUBBANDW", c.SubbandWidthHz, "[Hz] subband width")
	h.Set("OBJECT", fmt.Sprintf("SIM_BEAM%d", im.beam), "")
	h.Set("ORIGIN", "gotrap simulate", "")
	h.Set("SIMSEED", fmt.Sprint(c.Seed), "simulation seed")
	h.Set("SIMSTEP", int64(im.t), "timestep index")
	h.Set("SIMBEAM", int64(im.beam), "beam index")
	h.Set("SIMBAND", int64(im.band), "band index")
	h.Set("SIMRMS", im.rms, "[Jy/beam] true noise rms")
	if im.bad != "" {
		h.Set("SIMBAD", im.bad, "deliberately bad image")
	}
	h.AddHistory("Simulated by gotrap simulate; truth tables in ../truth/.")
	return h
}
