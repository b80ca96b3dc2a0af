package assoc

import (
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"gotrap/catalog"
	"gotrap/internal/wire"
)

// This file is the engine's side of the distributed association (see
// doc.go, "Distribution seams" and "Distributed association"): one engine
// per rank holds the runcats of that rank's sky tiles; images, bands,
// regions and monitors are registered on every engine alike.

// Step is one image's blind association in progress on one engine of a
// distributed association: AssociateBlind cut at the points where facts
// of other ranks must be merged. Use it as
//
//	s, err := e.BeginBlind(image, ms) // (a) pairs, (b1) local NCand
//	// add other ranks' NCand into s.Facts()[k].NCand
//	s.Restrict()                      // (b2) local minima over restricted pairs
//	// Merge other ranks' (MinR, MinRuncat) into s.Facts()[k]
//	res, err := s.Finish()            // (c) resolution, requests
//
// No other call may reach the engine between BeginBlind and Finish.
type Step struct {
	e     *Engine
	st    *imageState
	ms    []catalog.Measurement
	xs    []int64
	pairs []Pair
	facts []Facts
	in    []bool
	done  bool
}

// BeginBlind starts the blind association of image with the prepared
// measurements ms (Prepare's kept rows, or copies of some of them: the
// measurements whose position lies within the search radius of this
// engine's part of the sky). It checks the image and the order as
// AssociateBlind does, copies and sorts ms and finds the candidate
// pairs of this engine's runcats. The engine is not changed until
// Finish.
func (e *Engine) BeginBlind(image int64, ms []catalog.Measurement) (*Step, error) {
	st, err := e.checkBlind(image)
	if err != nil {
		return nil, err
	}
	ms = slices.Clone(ms)
	slices.SortFunc(ms, func(a, b catalog.Measurement) int { return cmpInt(a.ID, b.ID) })
	for i := range ms {
		m := &ms[i]
		if m.Image != image || m.ExtractType != catalog.ExtractBlind || !finite(m.RA, m.Decl, m.UncertEW, m.UncertNS) ||
			(i > 0 && ms[i-1].ID == m.ID) {
			return nil, fmt.Errorf("assoc: image %d: %w: measurement %d is not a prepared blind measurement of the image, or repeated", image, ErrMeasurement, m.ID)
		}
	}
	return e.beginBlind(st, ms), nil
}

// IDs returns the step's measurement ids, sorted; Facts()[k] belongs to
// IDs()[k]. The slice is the step's own: do not modify it.
func (s *Step) IDs() []int64 { return s.xs }

// Facts returns the step's facts, aligned with IDs: after BeginBlind the
// local NCand of each measurement, after Restrict also the local minimum
// over the restricted pairs. The caller merges other ranks' facts into
// it in place.
func (s *Step) Facts() []Facts { return s.facts }

// Grouped reports, per measurement (aligned with IDs), whether it has a
// candidate pair with a runcat of this engine that has other candidates:
// only such a measurement can have restricted pairs here (SPEC 5.4.1
// also needs its global NCand > 1). If no two ranks have a measurement
// of their boundary with Grouped set, no minimum needs to be merged.
func (s *Step) Grouped() []bool {
	g := make([]bool, len(s.xs))
	for _, r := range runcatGroups(s.pairs) {
		if r[1]-r[0] < 2 {
			continue
		}
		for k := r[0]; k < r[1]; k++ {
			i, _ := slices.BinarySearch(s.xs, s.pairs[k].Xtrsrc)
			g[i] = true
		}
	}
	return g
}

// Restrict computes SPEC 5.4.1's restricted set of this engine's pairs
// from the NCand in Facts (which must by then count every rank's pairs)
// and merges the minimum (r, runcat) over them into Facts.
func (s *Step) Restrict() {
	s.in = restricted(s.xs, s.pairs, s.facts)
	minFacts(s.xs, s.pairs, s.in, s.facts)
}

// SetOwnership makes the engine one part of a distributed association:
// owns(ra, dec) tells whether a position (degrees, RA in [0, 360)) lies
// in this engine's part of the sky. Blind measurements without a
// candidate become new sources only where owns holds for their position,
// and a monitor's runcat is created only where owns holds for the
// monitor's position; forced and monitor fits of runcats held elsewhere
// are skipped. nil (the default) owns the whole sky.
func (e *Engine) SetOwnership(owns func(ra, dec float64) bool) { e.owns = owns }

// owned reports whether this engine owns the position.
func (e *Engine) owned(ra, dec float64) bool { return e.owns == nil || e.owns(ra, dec) }

// SetRequests adds to image's null-detection requests those of the other
// ranks (the merged list of every rank's Result.Requests), so that
// AssociateForced accepts fits of every requested runcat and counts the
// expiration of the runcats this engine holds by then (some may have come
// from another rank). Call it after the image's blind association, before
// AssociateForced.
func (e *Engine) SetRequests(image int64, all []Request) error {
	st, ok := e.images[image]
	if !ok || st.seq == 0 {
		return fmt.Errorf("%w: requests of image %d before its blind association", ErrOrder, image)
	}
	if st.requests == nil {
		st.requests = map[int64]*request{}
	}
	for _, r := range all {
		if _, ok := st.requests[r.Runcat]; !ok {
			st.requests[r.Runcat] = &request{Request: r}
		}
	}
	return nil
}

// ForgetRequests drops image's null-detection request list, which only
// AssociateForced of the image reads (and drops itself): a pass that
// associates blind measurements only calls it once the image's requests
// are known, so that the engine's memory does not grow with the images.
// AssociateForced then rejects every fit of the image.
func (e *Engine) ForgetRequests(image int64) {
	if st, ok := e.images[image]; ok {
		st.requests = nil
	}
}

// Holders returns the ids among ids (requested runcats) whose fits this
// engine would associate: those it holds, and those deleted by forks of
// which it holds a live fork (see AssociateForced), in the order of ids.
// A distributed association sends each forced fit to the engines that
// report its runcat.
func (e *Engine) Holders(ids []int64) []int64 {
	var desc map[int64][]int64
	var out []int64
	for _, id := range ids {
		if len(e.liveDescendants(id, &desc)) > 0 {
			out = append(out, id)
		}
	}
	return out
}

// Emigrate removes from the engine the blind runcats among ids whose
// position dest sends to another rank than me, and returns them encoded,
// per destination rank (out[me] is empty), with their whole state: flux
// rows, links, sky-region links, newsource row and fork ancestors. ids
// not held, or monitor runcats, are ignored. n is the number of runcats
// that left. An error is the link store's (the engine is then unusable).
func (e *Engine) Emigrate(ids []int64, dest func(ra, dec float64) int, me, size int) (out [][]byte, n int, err error) {
	enc := make([]wire.Encoder, size)
	var links []catalog.Association
	for _, id := range ids {
		s, ok := e.src[id]
		if !ok || s.rc.MonSrc {
			continue
		}
		r := dest(s.rc.WmRA, s.rc.WmDecl)
		if r == me {
			continue
		}
		if links, err = e.links.read(links[:0], &s.links); err != nil {
			return nil, 0, err
		}
		putSource(&enc[r], s, links)
		e.links.release(id, &s.links)
		delete(e.src, id)
		n++
	}
	out = make([][]byte, size)
	for r := range enc {
		out[r] = enc[r].Data()
	}
	return out, n, nil
}

// Immigrate adds the runcats that Emigrate encoded in b, and returns
// their number. A runcat already held is an error (ErrIDCollision).
func (e *Engine) Immigrate(b []byte) (int, error) {
	var got []*source
	var links [][]catalog.Association
	d := wire.NewDecoder(b)
	for d.More() {
		s, ls := readSource(d)
		if d.Err() != nil {
			break
		}
		if _, ok := e.src[s.rc.ID]; ok {
			return 0, fmt.Errorf("%w: immigrant runcat %d already held", ErrIDCollision, s.rc.ID)
		}
		got = append(got, s)
		links = append(links, ls)
	}
	if err := d.Done(); err != nil {
		return 0, fmt.Errorf("%w: corrupt runcat state from another rank: %w", ErrMeasurement, err)
	}
	for k, s := range got {
		for _, l := range links[k] {
			e.links.add(&s.links, l)
		}
		e.src[s.rc.ID] = s
	}
	if e.links.err != nil {
		return 0, fmt.Errorf("assoc: immigrants: %w", e.links.err)
	}
	return len(got), nil
}

// Encoding of a source (package wire): Runcat (PutRows of one row),
// first (Int64 Unix ns), blindSeq, stokes, then counted lists of flux
// rows (band, peak, int), links, sky-region links and ancestors, and a
// newsource flag and row.

func putSource(e *wire.Encoder, s *source, links []catalog.Association) {
	wire.PutRows(e, []catalog.Runcat{s.rc})
	e.Int64(s.first.UnixNano())
	e.Int64(s.blindSeq)
	e.Uint32(uint32(s.stokes))
	e.Count(len(s.flux))
	for i := range s.flux {
		f := &s.flux[i]
		e.Int64(f.band)
		wire.PutRows(e, []catalog.FluxStats{f.peak, f.int})
	}
	wire.PutRows(e, links)
	e.Count(len(s.regions))
	for _, r := range s.regions {
		e.Int64(r.Runcat)
		e.Int64(r.SkyRegion)
		e.Float64(r.DistanceDeg.Float64)
		e.Bool(r.DistanceDeg.Valid)
	}
	e.Int64s(s.ancestors)
	e.Bool(s.newsrc != nil)
	if s.newsrc != nil {
		wire.PutRows(e, []catalog.NewSource{*s.newsrc})
	}
}

// readSource reads what putSource wrote; on a decoding error d.Err() is
// set and the source is incomplete.
func readSource(d *wire.Decoder) (*source, []catalog.Association) {
	s := &source{}
	if rc := wire.Rows[catalog.Runcat](d); len(rc) == 1 {
		s.rc = rc[0]
	} else {
		d.Raw(-1) // latch an error: one row expected
	}
	s.first = time.Unix(0, d.Int64())
	s.blindSeq = d.Int64()
	s.stokes = int32(d.Uint32())
	if n := d.Count(8); n > 0 {
		s.flux = make([]bandFlux, n)
		for i := range s.flux {
			s.flux[i].band = d.Int64()
			if fl := wire.Rows[catalog.FluxStats](d); len(fl) == 2 {
				s.flux[i].peak, s.flux[i].int = fl[0], fl[1]
			} else {
				d.Raw(-1)
			}
		}
	}
	links := wire.Rows[catalog.Association](d)
	if n := d.Count(25); n > 0 {
		s.regions = make([]AssocSkyRegion, n)
		for i := range s.regions {
			r := &s.regions[i]
			r.Runcat = d.Int64()
			r.SkyRegion = d.Int64()
			r.DistanceDeg.Float64 = d.Float64()
			r.DistanceDeg.Valid = d.Bool()
		}
	}
	if a := d.Int64s(); len(a) > 0 {
		s.ancestors = a
	}
	if d.Bool() {
		if ns := wire.Rows[catalog.NewSource](d); len(ns) == 1 {
			s.newsrc = &ns[0]
		} else {
			d.Raw(-1)
		}
	}
	return s, links
}

// WireSize returns the size in bytes of one measurement written by
// PutForAssociation.
func WireSize() int { return wireSize }

var wireSize = binary.Size(wireMeas{})

// wireMeas is the part of a prepared blind measurement that association
// reads, as it travels between ranks.
type wireMeas struct {
	ID, Image                      int64
	ExtractType, Zone              int32
	RA, Decl, RAErr, DeclErr       float64
	UncertEW, UncertNS             float64
	EWSysErr, NSSysErr, ErrRadius  float64
	X, Y, Z, RACosDecl             float64
	FPeak, FPeakErr, FInt, FIntErr float64
}

// PutForAssociation appends the columns of the prepared measurements ms
// that association reads (ids, image, extract type, position, its errors
// and unit vector, fluxes and their errors), bit for bit, as
// wire.PutRows of wireMeas rows. The other columns do not travel:
// ReadForAssociation leaves them zero.
func PutForAssociation(e *wire.Encoder, ms []catalog.Measurement) {
	w := make([]wireMeas, len(ms))
	for i := range ms {
		m := &ms[i]
		w[i] = wireMeas{ID: m.ID, Image: m.Image, ExtractType: m.ExtractType, Zone: m.Zone,
			RA: m.RA, Decl: m.Decl, RAErr: m.RAErr, DeclErr: m.DeclErr, UncertEW: m.UncertEW, UncertNS: m.UncertNS,
			EWSysErr: m.EWSysErr, NSSysErr: m.NSSysErr, ErrRadius: m.ErrRadius,
			X: m.X, Y: m.Y, Z: m.Z, RACosDecl: m.RACosDecl,
			FPeak: m.FPeak, FPeakErr: m.FPeakErr, FInt: m.FInt, FIntErr: m.FIntErr}
	}
	wire.PutRows(e, w)
}

// ReadForAssociation reads what PutForAssociation wrote and appends the
// measurements to dst; on a decoding error d.Err() is set and dst is
// returned unchanged.
func ReadForAssociation(d *wire.Decoder, dst []catalog.Measurement) []catalog.Measurement {
	for _, x := range wire.Rows[wireMeas](d) {
		dst = append(dst, catalog.Measurement{ID: x.ID, Image: x.Image, ExtractType: x.ExtractType, Zone: x.Zone,
			RA: x.RA, Decl: x.Decl, RAErr: x.RAErr, DeclErr: x.DeclErr, UncertEW: x.UncertEW, UncertNS: x.UncertNS,
			EWSysErr: x.EWSysErr, NSSysErr: x.NSSysErr, ErrRadius: x.ErrRadius,
			X: x.X, Y: x.Y, Z: x.Z, RACosDecl: x.RACosDecl,
			FPeak: x.FPeak, FPeakErr: x.FPeakErr, FInt: x.FInt, FIntErr: x.FIntErr})
	}
	return dst
}
