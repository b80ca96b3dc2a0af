package assoc

import (
	"slices"

	"gotrap/catalog"
)

// The accessors below return copies of the engine's current state, in a
// deterministic order, for writing the catalogue at the end of a run or
// for tests. Each is O(size of the state).

func (e *Engine) sortedSources() []*source {
	out := make([]*source, 0, len(e.src))
	for _, s := range e.src {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b *source) int { return cmpInt(a.rc.ID, b.rc.ID) })
	return out
}

// Runcats returns the live running catalogue, by id.
func (e *Engine) Runcats() []catalog.Runcat {
	ss := e.sortedSources()
	out := make([]catalog.Runcat, len(ss))
	for i, s := range ss {
		out[i] = s.rc
	}
	return out
}

// Runcat returns one live runcat.
func (e *Engine) Runcat(id int64) (catalog.Runcat, bool) {
	s, ok := e.src[id]
	if !ok {
		return catalog.Runcat{}, false
	}
	return s.rc, true
}

func fluxRow(id int64, stokes int32, f bandFlux) catalog.RuncatFlux {
	return catalog.RuncatFlux{
		Runcat: id, Band: f.band, Stokes: stokes, FDatapoints: f.int.N,
		AvgFPeak: f.peak.Avg, AvgFPeakSq: f.peak.AvgSq, AvgFPeakWeight: f.peak.AvgWeight,
		AvgWeightedFPeak: f.peak.AvgWeighted, AvgWeightedFPeakSq: f.peak.AvgWeightedSq,
		AvgFInt: f.int.Avg, AvgFIntSq: f.int.AvgSq, AvgFIntWeight: f.int.AvgWeight,
		AvgWeightedFInt: f.int.AvgWeighted, AvgWeightedFIntSq: f.int.AvgWeightedSq,
	}
}

// Fluxes returns the flux rows of the live runcats, by (runcat, band).
func (e *Engine) Fluxes() []catalog.RuncatFlux {
	var out []catalog.RuncatFlux
	for _, s := range e.sortedSources() {
		for _, f := range s.flux {
			out = append(out, fluxRow(s.rc.ID, s.stokes, f))
		}
	}
	return out
}

// Flux returns the flux row of one live runcat in one band.
func (e *Engine) Flux(runcat, band int64) (catalog.RuncatFlux, bool) {
	s, ok := e.src[runcat]
	if !ok {
		return catalog.RuncatFlux{}, false
	}
	i, found := slices.BinarySearchFunc(s.flux, band, func(f bandFlux, b int64) int { return cmpInt(f.band, b) })
	if !found {
		return catalog.RuncatFlux{}, false
	}
	return fluxRow(runcat, s.stokes, s.flux[i]), true
}

// Associations returns the links of the live runcats, by (runcat,
// xtrsrc): the final assocxtrsource table. An error is the link store's.
func (e *Engine) Associations() ([]catalog.Association, error) {
	var out []catalog.Association
	r := e.AssociationReader()
	for {
		n := len(out)
		var err error
		if out, err = r.Read(out, 1<<16); err != nil {
			return nil, err
		}
		if len(out) == n {
			return out, nil
		}
	}
}

// AssociationReader reads the final assocxtrsource table, by (runcat,
// xtrsrc), one runcat's links in memory at a time. The engine must not
// change while it is read.
type AssociationReader struct {
	e    *Engine
	ss   []*source
	all  []catalog.Association // the current runcat's links
	buf  []catalog.Association // the part of all not read yet
	next int                   // index in ss of the next runcat
}

// AssociationReader returns a reader of the live runcats' links.
func (e *Engine) AssociationReader() *AssociationReader {
	return &AssociationReader{e: e, ss: e.sortedSources()}
}

// Read appends up to max (> 0) next links to dst; it appends none at the
// end of the table. An error is the link store's.
func (r *AssociationReader) Read(dst []catalog.Association, max int) ([]catalog.Association, error) {
	for k := 0; k < max; {
		if len(r.buf) == 0 {
			if r.next == len(r.ss) {
				break
			}
			var err error
			if r.all, err = r.e.links.read(r.all[:0], &r.ss[r.next].links); err != nil {
				return dst, err
			}
			r.buf = r.all
			r.ss[r.next] = nil
			r.next++
			sortAssocs(r.all)
			continue
		}
		c := min(max-k, len(r.buf))
		dst = append(dst, r.buf[:c]...)
		r.buf = r.buf[c:]
		k += c
	}
	return dst, nil
}

// NewSources returns the newsource rows of the live runcats, by runcat.
func (e *Engine) NewSources() []catalog.NewSource {
	var out []catalog.NewSource
	for _, s := range e.sortedSources() {
		if s.newsrc != nil {
			out = append(out, *s.newsrc)
		}
	}
	return out
}

// AssocSkyRegions returns the assocskyrgn rows of the live runcats, by
// (runcat, region).
func (e *Engine) AssocSkyRegions() []AssocSkyRegion {
	var out []AssocSkyRegion
	for _, s := range e.sortedSources() {
		out = append(out, s.regions...)
	}
	return out
}

// Bands returns the frequency bands, by id.
func (e *Engine) Bands() []catalog.Band { return slices.Clone(e.bands) }

// SkyRegions returns the sky regions, by id.
func (e *Engine) SkyRegions() []catalog.SkyRegion { return slices.Clone(e.regions) }

// MonitorRuncat returns the runcat of a monitor, 0 before its first fit.
func (e *Engine) MonitorRuncat(id int64) int64 {
	if i := e.monitorIndex(id); i >= 0 {
		return e.monitors[i].runcat
	}
	return 0
}

// ForkedInto returns the runcats that replaced a runcat deleted by a
// 1-to-many fork (nil if it was not forked).
func (e *Engine) ForkedInto(id int64) []int64 { return slices.Clone(e.forkedInto[id]) }
