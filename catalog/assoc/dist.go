package assoc

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"gotrap/catalog"
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
	out = make([][]byte, size)
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
		out[r] = appendSource(out[r], s, links)
		delete(e.src, id)
		n++
	}
	return out, n, nil
}

// Immigrate adds the runcats that Emigrate encoded in b, and returns
// their number. A runcat already held is an error (ErrIDCollision).
func (e *Engine) Immigrate(b []byte) (int, error) {
	var got []*source
	var links [][]catalog.Association
	for len(b) > 0 {
		s, ls, rest, err := readSource(b)
		if err != nil {
			return 0, err
		}
		if _, ok := e.src[s.rc.ID]; ok {
			return 0, fmt.Errorf("%w: immigrant runcat %d already held", ErrIDCollision, s.rc.ID)
		}
		got = append(got, s)
		links = append(links, ls)
		b = rest
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

// Encoding of a source (little endian, encoding/binary's packed layout of
// the fixed-size record types): Runcat, first (int64 Unix ns), blindSeq,
// stokes, then counted lists of flux rows (band, peak, int), links,
// sky-region links and ancestors, and a newsource flag and row.

var le = binary.LittleEndian

func appendSource(b []byte, s *source, links []catalog.Association) []byte {
	b, _ = binary.Append(b, le, &s.rc)
	b = le.AppendUint64(b, uint64(s.first.UnixNano()))
	b = le.AppendUint64(b, uint64(s.blindSeq))
	b = le.AppendUint32(b, uint32(s.stokes))
	b = le.AppendUint32(b, uint32(len(s.flux)))
	for i := range s.flux {
		f := &s.flux[i]
		b = le.AppendUint64(b, uint64(f.band))
		b, _ = binary.Append(b, le, &f.peak)
		b, _ = binary.Append(b, le, &f.int)
	}
	b = le.AppendUint32(b, uint32(len(links)))
	if len(links) > 0 {
		b, _ = binary.Append(b, le, links)
	}
	b = le.AppendUint32(b, uint32(len(s.regions)))
	for _, r := range s.regions {
		b = le.AppendUint64(b, uint64(r.Runcat))
		b = le.AppendUint64(b, uint64(r.SkyRegion))
		b = le.AppendUint64(b, math.Float64bits(r.DistanceDeg.Float64))
		b = append(b, boolByte(r.DistanceDeg.Valid))
	}
	b = le.AppendUint32(b, uint32(len(s.ancestors)))
	for _, a := range s.ancestors {
		b = le.AppendUint64(b, uint64(a))
	}
	b = append(b, boolByte(s.newsrc != nil))
	if s.newsrc != nil {
		b, _ = binary.Append(b, le, s.newsrc)
	}
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// decoder reads a source's encoding with a sticky error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: corrupt runcat state from another rank", ErrMeasurement)
	}
	d.b = nil
}

func (d *decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.fail()
		return 0
	}
	v := le.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) u32() uint32 {
	if len(d.b) < 4 {
		d.fail()
		return 0
	}
	v := le.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

func (d *decoder) byte1() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// count reads a list length, bounded by the bytes left at min bytes an
// element.
func (d *decoder) count(min int) int {
	n := int(d.u32())
	if n*min > len(d.b) {
		d.fail()
		return 0
	}
	return n
}

func (d *decoder) value(v any) {
	if d.err != nil {
		return
	}
	n, err := binary.Decode(d.b, le, v)
	if err != nil {
		d.fail()
		return
	}
	d.b = d.b[n:]
}

func readSource(b []byte) (*source, []catalog.Association, []byte, error) {
	d := &decoder{b: b}
	s := &source{}
	var links []catalog.Association
	d.value(&s.rc)
	s.first = time.Unix(0, int64(d.u64()))
	s.blindSeq = int64(d.u64())
	s.stokes = int32(d.u32())
	if n := d.count(8); n > 0 {
		s.flux = make([]bandFlux, n)
		for i := range s.flux {
			s.flux[i].band = int64(d.u64())
			d.value(&s.flux[i].peak)
			d.value(&s.flux[i].int)
		}
	}
	if n := d.count(8); n > 0 {
		links = make([]catalog.Association, n)
		d.value(links)
	}
	if n := d.count(25); n > 0 {
		s.regions = make([]AssocSkyRegion, n)
		for i := range s.regions {
			r := &s.regions[i]
			r.Runcat = int64(d.u64())
			r.SkyRegion = int64(d.u64())
			r.DistanceDeg.Float64 = math.Float64frombits(d.u64())
			r.DistanceDeg.Valid = d.byte1() == 1
		}
	}
	if n := d.count(8); n > 0 {
		s.ancestors = make([]int64, n)
		for i := range s.ancestors {
			s.ancestors[i] = int64(d.u64())
		}
	}
	if d.byte1() == 1 {
		s.newsrc = &catalog.NewSource{}
		d.value(s.newsrc)
	}
	if d.err != nil {
		return nil, nil, nil, d.err
	}
	return s, links, d.b, nil
}

// WireSize returns the size in bytes of one measurement written by
// MarshalForAssociation.
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

// MarshalForAssociation appends to b the columns of the prepared
// measurements ms that association reads (ids, image, extract type,
// position, its errors and unit vector, fluxes and their errors), in
// encoding/binary's packed little endian layout, bit for bit, preceded
// by their number. The other columns do not travel:
// UnmarshalForAssociation leaves them zero.
func MarshalForAssociation(b []byte, ms []catalog.Measurement) []byte {
	b = le.AppendUint32(b, uint32(len(ms)))
	w := make([]wireMeas, len(ms))
	for i := range ms {
		m := &ms[i]
		w[i] = wireMeas{ID: m.ID, Image: m.Image, ExtractType: m.ExtractType, Zone: m.Zone,
			RA: m.RA, Decl: m.Decl, RAErr: m.RAErr, DeclErr: m.DeclErr, UncertEW: m.UncertEW, UncertNS: m.UncertNS,
			EWSysErr: m.EWSysErr, NSSysErr: m.NSSysErr, ErrRadius: m.ErrRadius,
			X: m.X, Y: m.Y, Z: m.Z, RACosDecl: m.RACosDecl,
			FPeak: m.FPeak, FPeakErr: m.FPeakErr, FInt: m.FInt, FIntErr: m.FIntErr}
	}
	if len(w) > 0 {
		b, _ = binary.Append(b, le, w)
	}
	return b
}

// UnmarshalForAssociation reads what MarshalForAssociation wrote at the
// start of b, appends the measurements to dst and returns the rest of b.
func UnmarshalForAssociation(dst []catalog.Measurement, b []byte) ([]catalog.Measurement, []byte, error) {
	d := &decoder{b: b}
	n := d.count(8)
	if n > 0 {
		w := make([]wireMeas, n)
		d.value(w)
		if d.err == nil {
			for i := range w {
				x := &w[i]
				dst = append(dst, catalog.Measurement{ID: x.ID, Image: x.Image, ExtractType: x.ExtractType, Zone: x.Zone,
					RA: x.RA, Decl: x.Decl, RAErr: x.RAErr, DeclErr: x.DeclErr, UncertEW: x.UncertEW, UncertNS: x.UncertNS,
					EWSysErr: x.EWSysErr, NSSysErr: x.NSSysErr, ErrRadius: x.ErrRadius,
					X: x.X, Y: x.Y, Z: x.Z, RACosDecl: x.RACosDecl,
					FPeak: x.FPeak, FPeakErr: x.FPeakErr, FInt: x.FInt, FIntErr: x.FIntErr})
			}
		}
	}
	if d.err != nil {
		return dst, nil, d.err
	}
	return dst, d.b, nil
}
