package sim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gotrap/internal/rundir"
)

// Column formats of the truth tables: fixed precision, so that the files
// are the same on every platform whatever the last bit of a float.
func fDeg(b []byte, v float64) []byte  { return strconv.AppendFloat(b, v, 'f', 8, 64) } // 0.04 mas
func fFlux(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'g', 9, 64) }
func fPix(b []byte, v float64) []byte  { return strconv.AppendFloat(b, v, 'f', 4, 64) }

// fFreq writes a frequency in Hz exactly (they are products of MHz values
// and 1e6, the same on every platform).
func fFreq(b []byte, v float64) []byte { return strconv.AppendFloat(b, v, 'f', -1, 64) }
func fTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, time.RFC3339Nano)
}

// Truth table headers (the documented columns; see doc.go).
const (
	sourcesHeader = "source_id,class,ra,dec,flux_jy,ref_freq_hz,spectral_index,onset_time,end_time,modulation_index,curve,user,beams,maj_arcsec,min_arcsec,pa_deg,circ_pol\n"
	imagesHeader  = "image,time,freq_hz,beam,pointing_ra,pointing_dec,rms_jy,bad,timestep,band,bandwidth_hz,bmaj_deg,bmin_deg,bpa_deg\n"
	fluxesHeader  = "source_id,image,time,freq_hz,flux_jy,peak_jy,snr,x,y,pb,apparent_jy,artefacts\n"
)

// writeTruth writes the truth tables of p into dir/truth.
func (p *plan) writeTruth(dir string) error {
	tdir := filepath.Join(dir, "truth")
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	for _, w := range []struct {
		name string
		fn   func(*bufio.Writer)
	}{
		{"params.txt", p.writeParams},
		{"sources.csv", p.writeSources},
		{"images.csv", p.writeImages},
		{"fluxes.csv", p.writeFluxes},
	} {
		err := rundir.WriteFunc(filepath.Join(tdir, w.name), func(f io.Writer) error {
			bw := bufio.NewWriterSize(f, 1<<16)
			w.fn(bw)
			return bw.Flush()
		})
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
	}
	return nil
}

func (p *plan) writeParams(w *bufio.Writer) {
	fmt.Fprintf(w, "# gotrap simulate parameters (%d images); reproduce with --set KEY=VALUE for each line\n", len(p.images))
	for _, pr := range p.cfg.Params() {
		fmt.Fprintf(w, "%s=%s\n", pr.Key, pr.Value)
	}
}

func (p *plan) writeSources(w *bufio.Writer) {
	c := &p.cfg
	inBeams := make([][]int, len(p.sky))
	for _, f := range p.fields {
		for _, pl := range f.placed {
			if pl.inside {
				inBeams[pl.src] = append(inBeams[pl.src], f.beam)
			}
		}
	}
	w.WriteString(sourcesHeader)
	var b []byte
	for i := range p.sky {
		s := &p.sky[i]
		b = strconv.AppendInt(b[:0], int64(s.ID), 10)
		b = append(b, ',')
		b = append(b, s.Class.String()...)
		b = append(b, ',')
		b = fDeg(b, s.RA)
		b = append(b, ',')
		b = fDeg(b, s.Dec)
		b = append(b, ',')
		b = fFlux(b, s.Flux)
		b = append(b, ',')
		b = fFreq(b, c.FluxRefMHz*1e6)
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.Alpha, 'f', 6, 64)
		b = append(b, ',')
		if s.Class == Transient {
			b = fTime(b, c.imageTime(s.Onset))
		}
		b = append(b, ',')
		if s.Class == Transient && s.End >= 0 {
			b = fTime(b, c.imageTime(s.End))
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.ModIndex, 'f', 6, 64)
		b = append(b, ',')
		b = append(b, s.Curve...)
		b = append(b, ',')
		b = strconv.AppendBool(b, s.User)
		b = append(b, ',')
		for k, bm := range inBeams[i] {
			if k > 0 {
				b = append(b, ';')
			}
			b = strconv.AppendInt(b, int64(bm), 10)
		}
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.Maj, 'f', 3, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.Min, 'f', 3, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.PA, 'f', 3, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, s.CircPol, 'f', 6, 64)
		b = append(b, '\n')
		w.Write(b)
	}
}

func (p *plan) writeImages(w *bufio.Writer) {
	c := &p.cfg
	bw := float64(c.Subbands) * c.SubbandWidthHz
	w.WriteString(imagesHeader)
	var b []byte
	for i := range p.images {
		im := &p.images[i]
		f := &p.fields[im.beam]
		b = append(b[:0], im.rel...)
		b = append(b, ',')
		b = fTime(b, im.time)
		b = append(b, ',')
		b = fFreq(b, c.FreqMHz[im.band]*1e6)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(im.beam), 10)
		b = append(b, ',')
		b = fDeg(b, f.ra)
		b = append(b, ',')
		b = fDeg(b, f.dec)
		b = append(b, ',')
		b = fFlux(b, im.rms)
		b = append(b, ',')
		b = append(b, im.bad...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(im.t), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(im.band), 10)
		b = append(b, ',')
		b = fFreq(b, bw)
		b = append(b, ',')
		b = fFlux(b, im.bmaj)
		b = append(b, ',')
		b = fFlux(b, im.bmin)
		b = append(b, ',')
		b = fFlux(b, im.bpa)
		b = append(b, '\n')
		w.Write(b)
	}
}

// writeFluxes writes one row per (source, image) for the sources whose
// position lies in the image, transients that are off included (flux 0).
func (p *plan) writeFluxes(w *bufio.Writer) {
	w.WriteString(fluxesHeader)
	var b []byte
	for i := range p.images {
		im := &p.images[i]
		for _, pl := range p.fields[im.beam].placed {
			if !pl.inside {
				continue
			}
			s := &p.sky[pl.src]
			t := p.truthOf(im, s, pl.sep)
			b = strconv.AppendInt(b[:0], int64(s.ID), 10)
			b = append(b, ',')
			b = append(b, im.rel...)
			b = append(b, ',')
			b = fTime(b, im.time)
			b = append(b, ',')
			b = fFreq(b, p.cfg.FreqMHz[im.band]*1e6)
			b = append(b, ',')
			b = fFlux(b, t.flux)
			b = append(b, ',')
			b = fFlux(b, t.peak)
			b = append(b, ',')
			b = strconv.AppendFloat(b, t.snr, 'f', 4, 64)
			b = append(b, ',')
			b = fPix(b, pl.x)
			b = append(b, ',')
			b = fPix(b, pl.y)
			b = append(b, ',')
			b = strconv.AppendFloat(b, t.pb, 'f', 6, 64)
			b = append(b, ',')
			b = fFlux(b, t.apparent)
			b = append(b, ',')
			b = strconv.AppendBool(b, t.bright)
			b = append(b, '\n')
			w.Write(b)
		}
	}
}
