package pipeline

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gotrap/internal/rundir"
	"gotrap/internal/wcs"
)

// A live run does not end, and its plan gained an Image (120 bytes),
// its geometry (geom, ~100 bytes with its own WCS when the field moves)
// and its path for every image it took: ~1 kB an image over two
// in-process ranks, the largest part of what made session 11's soak's
// heap grow (14 MB in 15 minutes at 24 images/s). Only the run's end
// reads the committed images again (tables, backward fits, limits), so
// each publish spills the images of the committed timesteps but the
// last (Extend compares the next images with it) to a file of the rank,
// and the run's end reads them back (restore). The file is a gob stream
// under a temporary name in RUN/work (rundir.IsTemp): it only stands in
// for memory, and a restart, which plans every image again, removes it.

// planSpill is a rank's spill file, open for appending.
type planSpill struct {
	path string
	f    *os.File
	bw   *bufio.Writer
	enc  *gob.Encoder
}

// spilledImage is an Image as the spill file holds it: a released image
// (Meta dropped, its geometry kept), or one whose header could not be
// read.
type spilledImage struct {
	ID                          int64
	Path, HeaderErr, Catalogue  string
	Plane                       int
	Timestep, Band, Region      int64
	DX, DY                      float64
	Geom                        bool // the geometry below is set
	TauStart                    time.Time
	FreqEff, FreqBW             float64
	CentreRA, CentreDec, SmajPx float64
	WCS                         []byte // wcs.WCS.MarshalBinary; nil for none
	NX, NY                      int
	Stokes                      int32
}

// planSpillPath is rank's spill file in run.
func planSpillPath(run string, rank int) string {
	return filepath.Join(rundir.WorkDir(run), fmt.Sprintf(".plan-rank%04d.0.tmp", rank))
}

// spill writes the images of index below to of p, those not spilled
// yet, to the spill file of run's rank (created on the first call) and
// drops them from memory. They must be released (Plan.release).
func (p *Plan) spill(run string, rank, to int) error {
	if to <= p.base {
		return nil
	}
	if p.spillFile == nil {
		path := planSpillPath(run, rank)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("pipeline: plan spill: %w", err)
		}
		bw := bufio.NewWriter(f)
		p.spillFile = &planSpill{path: path, f: f, bw: bw, enc: gob.NewEncoder(bw)}
	}
	s := p.spillFile
	for i := p.base; i < to; i++ {
		img := p.Image(i)
		if img.Meta != nil {
			return fmt.Errorf("pipeline: plan spill: image %d is not released", img.ID)
		}
		r := spilledImage{ID: img.ID, Path: img.Path, HeaderErr: img.HeaderErr, Catalogue: img.Catalogue,
			Plane: img.Plane, Timestep: img.Timestep, Band: img.Band, Region: img.Region, DX: img.dx, DY: img.dy}
		if g := img.kept; g != nil {
			r.Geom, r.TauStart, r.FreqEff, r.FreqBW = true, g.tauStart, g.freqEff, g.freqBW
			r.CentreRA, r.CentreDec, r.SmajPx = g.centreRA, g.centreDec, g.smajPx
			r.NX, r.NY, r.Stokes = g.nx, g.ny, g.stokes
			if g.wcs != nil {
				b, err := g.wcs.MarshalBinary()
				if err != nil {
					return fmt.Errorf("pipeline: plan spill: image %d: %w", img.ID, err)
				}
				r.WCS = b
			}
		}
		if err := s.enc.Encode(&r); err != nil {
			return fmt.Errorf("pipeline: plan spill %s: %w", s.path, err)
		}
	}
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("pipeline: plan spill %s: %w", s.path, err)
	}
	// A new array: the old one, with the spilled images, goes.
	p.images = slices.Clone(p.images[to-p.base:])
	p.base = to
	return nil
}

// restore reads the spilled images back into p (the run's end) and
// removes the spill file.
func (p *Plan) restore() error {
	s := p.spillFile
	if s == nil {
		return nil
	}
	p.spillFile = nil
	defer os.Remove(s.path)
	if err := s.bw.Flush(); err != nil {
		s.f.Close()
		return fmt.Errorf("pipeline: plan spill %s: %w", s.path, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("pipeline: plan spill %s: %w", s.path, err)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return fmt.Errorf("pipeline: plan spill: %w", err)
	}
	defer f.Close()
	dec := gob.NewDecoder(bufio.NewReader(f))
	imgs := make([]Image, 0, p.Len())
	for {
		var r spilledImage
		err := dec.Decode(&r)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("pipeline: plan spill %s: %w", s.path, err)
		}
		if r.ID != int64(len(imgs)+1) {
			return fmt.Errorf("pipeline: plan spill %s: image %d where %d was spilled", s.path, r.ID, len(imgs)+1)
		}
		img := Image{ID: r.ID, Path: r.Path, HeaderErr: r.HeaderErr, Catalogue: r.Catalogue, Plane: r.Plane,
			Timestep: r.Timestep, Band: r.Band, Region: r.Region, dx: r.DX, dy: r.DY}
		if r.Geom {
			g := geom{tauStart: r.TauStart, freqEff: r.FreqEff, freqBW: r.FreqBW, centreRA: r.CentreRA,
				centreDec: r.CentreDec, smajPx: r.SmajPx, nx: r.NX, ny: r.NY, stokes: r.Stokes}
			if r.WCS != nil {
				w := new(wcs.WCS)
				if err := w.UnmarshalBinary(r.WCS); err != nil {
					return fmt.Errorf("pipeline: plan spill %s: image %d: %w", s.path, r.ID, err)
				}
				g.wcs = p.internWCS(w)
			}
			img.kept = &g
		}
		imgs = append(imgs, img)
	}
	if len(imgs) != p.base {
		return fmt.Errorf("pipeline: plan spill %s: %d images, %d were spilled", s.path, len(imgs), p.base)
	}
	p.images = append(imgs, p.images...)
	p.base = 0
	return nil
}
