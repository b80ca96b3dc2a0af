package assoc

import (
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"gotrap/catalog"
)

// Quality is the part of an image's registration that is known only after
// quality control and extraction (SPEC 2.2 steps 5 and 7). It feeds the
// new-source limits of SPEC 8.1.
type Quality struct {
	Rejected bool
	// RMSMin and RMSMax are the extremes of the source finder's rms map
	// (Jy/beam); DetectionThresh is in units of the local rms.
	RMSMin, RMSMax  float64
	DetectionThresh float64
}

// ImageInfo registers one image with the engine.
type ImageInfo struct {
	ID       int64
	TauStart time.Time
	// FreqEff and FreqBW are the effective frequency and bandwidth (Hz).
	FreqEff, FreqBW float64
	// CentreRA and CentreDec are the image centre (degrees, SPEC 0.1).
	CentreRA, CentreDec float64
	// DeltaX and DeltaY are the signed pixel sizes (degrees); NX and NY
	// the image size in pixels.
	DeltaX, DeltaY float64
	NX, NY         int
	// RBSmaj is the restoring beam's semi-major axis (degrees, SPEC 0.3
	// rb_smaj). It is needed only for blind association.
	RBSmaj float64
	// Stokes is the Stokes parameter of the flux rows (0 means 1, I).
	Stokes int32
	Quality
	// Usable, if not nil, tells whether a sky position lies inside the
	// image's usable area, with the same test the forced fitter uses to
	// drop requests as outside. With it, a null-detection request counts
	// towards the expiration counter when it is made; without it, when the
	// fitter's answer comes back (see AssociateForced).
	Usable func(ra, dec float64) bool
}

// Request is a forced-fit request: fit the position (RA, Dec) (degrees).
// A null-detection request has Runcat set and Monitor 0; a monitor request
// has Monitor set and Runcat the monitor's runcat, 0 before its first fit.
type Request struct {
	Runcat  int64
	Monitor int64
	RA, Dec float64
}

// AssocSkyRegion is one assocskyrgn row (SPEC 1): a sky region whose field
// should contain the runcat source. DistanceDeg is null for the region of
// the image that created the source.
type AssocSkyRegion struct {
	Runcat      int64           `parquet:"runcat"`
	SkyRegion   int64           `parquet:"skyrgn"`
	DistanceDeg sql.NullFloat64 `parquet:"distance_deg" unit:"deg"`
}

// Result is what one AssociateBlind call produced. Every slice is sorted:
// measurements, ids and requests by id, associations by (Runcat, Xtrsrc),
// new sources by Runcat.
type Result struct {
	Image int64
	// Measurements are the kept measurements with the insert-time values
	// of SPEC 5.1 filled in (of a Step, those whose position the engine
	// owns); Dropped the ids of those dropped for a non-finite flux error
	// (empty for a Step).
	Measurements []catalog.Measurement
	Dropped      []int64
	// Associations are the rows appended by this call, fork copies (type
	// 6) included.
	Associations []catalog.Association
	// Deleted lists the runcats forked and deleted by this call. Every
	// row of theirs, including the rows of earlier Results, is void.
	Deleted []int64
	// Changed lists the runcats created or updated by this call.
	Changed []int64
	// NewSources are the newsource rows created, copies onto forks
	// included.
	NewSources []catalog.NewSource
	// Requests are the null-detection forced-fit requests of the image
	// (SPEC 6.1); MonitorRequests every monitor position (SPEC 6.2).
	Requests        []Request
	MonitorRequests []Request
}

// ForcedResult is what one AssociateForced or AssociateMonitor call
// produced, sorted as in Result.
type ForcedResult struct {
	Image        int64
	Measurements []catalog.Measurement
	Dropped      []int64
	Associations []catalog.Association
	Changed      []int64
}

// bandFlux is one runningcatalog_flux row in the engine's state.
type bandFlux struct {
	band      int64
	peak, int catalog.FluxStats
}

// source is the engine's state of one runcat.
type source struct {
	rc catalog.Runcat
	// first is taustart_ts of the image of the creating measurement.
	first time.Time
	// blindSeq is the association sequence number (imageState.seq) of the
	// last blind link (type 2, 3 or 4) or of the monitor creation.
	blindSeq int64
	flux     []bandFlux       // sorted by band
	links    linkList         // in the engine's link store
	regions  []AssocSkyRegion // sorted by SkyRegion
	newsrc   *catalog.NewSource
	stokes   int32
	// ancestors are the runcats this one replaced by 1-to-many forks,
	// oldest first: a forced fit requested for any of them goes to it.
	ancestors []int64
}

type request struct {
	Request
	counted bool // counted towards the expiration when made (Usable set)
}

type imageState struct {
	info         ImageInfo
	band, region int64
	seq          int64 // 1-based order of blind association; 0 before
	forcedDone   bool
	monitorDone  bool
	requests     map[int64]*request // by runcat id
}

type monitor struct {
	id, runcat int64
	ra, dec    float64
}

// Engine is the association state of one dataset. It is not safe for
// concurrent use.
type Engine struct {
	cfg     Config
	bands   []catalog.Band
	regions []catalog.SkyRegion // id = index + 1
	images  map[int64]*imageState
	// byBandRegion lists image ids per (band, region), for SPEC 8.1;
	// retired holds, per (band, region), the best previous image among
	// the images Retire forgot, and retiring those waiting to be
	// forgotten (Retire).
	byBandRegion map[[2]int64][]int64
	retired      map[[2]int64]prevLimit
	retiring     []int64
	src          map[int64]*source
	// forkedInto maps a deleted runcat to the forks that replaced it.
	forkedInto map[int64][]int64
	monitors   []monitor // sorted by id
	seq        int64
	lastBlind  *imageState
	lastForced int64 // seq of the last AssociateForced image
	lastMon    int64 // seq of the last AssociateMonitor image
	idx        index
	// owns, when set (SetOwnership), tells whether a position lies in
	// this engine's part of the sky (distributed association).
	owns func(ra, dec float64) bool
	// links holds every source's association history (links.go).
	links linkStore
}

// New returns an empty engine, or an error wrapping ErrConfig.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Engine{
		cfg:          cfg,
		images:       map[int64]*imageState{},
		byBandRegion: map[[2]int64][]int64{},
		retired:      map[[2]int64]prevLimit{},
		src:          map[int64]*source{},
		forkedInto:   map[int64][]int64{},
		links:        linkStore{dir: cfg.SpillDir, block: linkBlock},
	}, nil
}

// Close releases the engine's link store (its temporary file, with
// Config.SpillDir). The engine must not be used afterwards.
func (e *Engine) Close() error { return e.links.close() }

// storeErr is the link store's sticky error, wrapped for image.
func (e *Engine) storeErr(what string, image int64) error {
	if e.links.err == nil {
		return nil
	}
	return fmt.Errorf("assoc: %s of image %d: %w", what, image, e.links.err)
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// AddImage registers an image and returns its band and sky region ids,
// creating them when none matches (SPEC 2.3 with decision 10, SPEC 2.4
// with decision 11). Creating a sky region links every existing runcat
// inside it (assocskyrgn). Register images in the pipeline's sorted image
// order: band and region ids are numbered 1, 2, ... in creation order.
func (e *Engine) AddImage(img ImageInfo) (band, region int64, err error) {
	if _, ok := e.images[img.ID]; ok {
		return 0, 0, fmt.Errorf("%w: image %d registered twice", ErrImage, img.ID)
	}
	if !finite(img.FreqEff, img.FreqBW, img.CentreRA, img.CentreDec, img.DeltaX, img.DeltaY) ||
		img.DeltaX == 0 || img.DeltaY == 0 || img.NX <= 0 || img.NY <= 0 ||
		math.Abs(img.CentreDec) > 90 || img.FreqBW < 0 {
		return 0, 0, fmt.Errorf("%w: image %d: bad frequency or geometry", ErrImage, img.ID)
	}
	if img.Stokes == 0 {
		img.Stokes = 1
	}
	img.CentreRA = normRA(img.CentreRA)
	band = e.matchBand(img.FreqEff, img.FreqBW)
	region = e.matchRegion(img)
	st := &imageState{info: img, band: band, region: region}
	e.images[img.ID] = st
	k := [2]int64{band, region}
	e.byBandRegion[k] = append(e.byBandRegion[k], img.ID)
	return band, region, nil
}

// Retire tells the engine that the association of the given images is
// complete (their blind, forced and monitor fits associated, or the
// image rejected): the engine then forgets them, keeping of each (band,
// sky region) only the best previous image that SPEC 8.1's new-source
// rows of later images take, so that a live run's memory does not grow
// with its images. An image is forgotten once it starts strictly before
// the last blind-associated image (every image still to come starts
// later, AssociateBlind's order); until then it waits. Results are those
// of an engine that keeps every image. Unknown ids are ignored; a retired
// image cannot be associated any more (ErrImage).
func (e *Engine) Retire(ids ...int64) {
	e.retiring = append(e.retiring, ids...)
	if e.lastBlind == nil {
		return
	}
	last := e.lastBlind.info.TauStart
	keep := e.retiring[:0]
	gone := map[[2]int64]bool{}
	for _, id := range e.retiring {
		st, ok := e.images[id]
		switch {
		case !ok:
			continue
		case !st.info.TauStart.Before(last):
			keep = append(keep, id)
			continue
		}
		k := [2]int64{st.band, st.region}
		if c := e.prevLimit(id, st.info); !st.info.Rejected && c.better(e.retired[k]) {
			e.retired[k] = c
		}
		delete(e.images, id)
		gone[k] = true
	}
	e.retiring = keep
	e.pruneByBandRegion(gone)
}

// pruneByBandRegion drops from the (band, region) lists gone the images
// the engine no longer holds.
func (e *Engine) pruneByBandRegion(gone map[[2]int64]bool) {
	for k := range gone {
		e.byBandRegion[k] = slices.DeleteFunc(e.byBandRegion[k], func(id int64) bool {
			_, ok := e.images[id]
			return !ok
		})
		if len(e.byBandRegion[k]) == 0 {
			delete(e.byBandRegion, k)
		}
	}
}

// Images returns the number of images whose state the engine holds.
func (e *Engine) Images() int { return len(e.images) }

// Forget drops the given images' state outright, for an engine that only
// numbers bands and sky regions (the pipeline's plan): AddImage's band and
// region ids of later images do not depend on it. An engine that
// associates uses Retire.
func (e *Engine) Forget(ids ...int64) {
	gone := map[[2]int64]bool{}
	for _, id := range ids {
		if st, ok := e.images[id]; ok {
			delete(e.images, id)
			gone[[2]int64{st.band, st.region}] = true
		}
	}
	e.pruneByBandRegion(gone)
}

// SetQuality replaces an image's quality-control and extraction values.
func (e *Engine) SetQuality(image int64, q Quality) error {
	st, ok := e.images[image]
	if !ok {
		return fmt.Errorf("%w: image %d not registered", ErrImage, image)
	}
	st.info.Quality = q
	return nil
}

// matchBand is SPEC 2.3 with decision 10: among the bands whose interval
// overlaps [f - bw/2, f + bw/2] (strictly), the one with the nearest
// centre frequency, ties to the lowest id; else a new band.
func (e *Engine) matchBand(f, fbw float64) int64 {
	bw := fbw
	if e.cfg.BandwidthMax != 0 {
		bw = e.cfg.BandwidthMax
	}
	lo, hi := f-bw/2, f+bw/2
	best, bestD := int64(0), math.Inf(1)
	for _, b := range e.bands {
		if math.Max(hi, b.FreqHigh)-math.Min(lo, b.FreqLow) < (hi-lo)+(b.FreqHigh-b.FreqLow) {
			if d := math.Abs(b.FreqCentral - f); d < bestD {
				best, bestD = b.ID, d
			}
		}
	}
	if best != 0 {
		return best
	}
	id := int64(len(e.bands) + 1)
	e.bands = append(e.bands, catalog.Band{ID: id, FreqCentral: f, FreqLow: lo, FreqHigh: hi})
	return id
}

// regionRadius is SPEC 2.4's xtr_radius (degrees): extraction_radius_pix
// * |deltax|, or with the radius off (0) the image's half-diagonal
// 0.5*hypot(nx |deltax|, ny |deltay|), a circle around the whole image.
func (e *Engine) regionRadius(img ImageInfo) float64 {
	if e.cfg.ExtractionRadiusPix > 0 {
		return e.cfg.ExtractionRadiusPix * math.Abs(img.DeltaX)
	}
	return 0.5 * math.Hypot(float64(img.NX)*img.DeltaX, float64(img.NY)*img.DeltaY)
}

// matchRegion is SPEC 2.4 with decision 11: an existing region matches
// when its centre is closer than one pixel (|deltax|) to the image centre
// and its radius differs by less than one pixel; the nearest centre wins,
// ties to the lowest id. Otherwise a new region is created and every live
// runcat inside it is linked.
func (e *Engine) matchRegion(img ImageInfo) int64 {
	rad := e.regionRadius(img)
	px := math.Abs(img.DeltaX)
	x, y, z := eqToCart(img.CentreRA, img.CentreDec)
	best, bestD := int64(0), math.Inf(1)
	for _, r := range e.regions {
		d, _ := chordDeg(x, y, z, r.X, r.Y, r.Z)
		if d < px && math.Abs(r.XtrRadius-rad) < px && d < bestD {
			best, bestD = r.ID, d
		}
	}
	if best != 0 {
		return best
	}
	reg := catalog.SkyRegion{ID: int64(len(e.regions) + 1), CentreRA: img.CentreRA,
		CentreDec: img.CentreDec, XtrRadius: rad, X: x, Y: y, Z: z}
	e.regions = append(e.regions, reg)
	lim := 2 * math.Sin(rad*deg2rad/2)
	lim2 := lim * lim
	for _, s := range e.src {
		if math.Abs(s.rc.WmDecl-reg.CentreDec) > rad {
			continue
		}
		dx, dy, dz := s.rc.X-x, s.rc.Y-y, s.rc.Z-z
		if dx*dx+dy*dy+dz*dz < lim2 {
			d, _ := chordDeg(s.rc.X, s.rc.Y, s.rc.Z, x, y, z)
			// The new id is the largest, so appending keeps the order.
			s.regions = append(s.regions, AssocSkyRegion{Runcat: s.rc.ID, SkyRegion: reg.ID,
				DistanceDeg: sql.NullFloat64{Float64: d, Valid: true}})
		}
	}
	return reg.ID
}

// AddMonitor adds a monitoring-list position (SPEC 6.2; degrees). Ids
// must be unique and positive.
func (e *Engine) AddMonitor(id int64, ra, dec float64) error {
	if id <= 0 || !finite(ra, dec) || math.Abs(dec) > 90 {
		return fmt.Errorf("%w: monitor %d at (%v, %v)", ErrMeasurement, id, ra, dec)
	}
	i, found := slices.BinarySearchFunc(e.monitors, id, func(m monitor, id int64) int { return cmpInt(m.id, id) })
	if found {
		return fmt.Errorf("%w: monitor %d added twice", ErrMeasurement, id)
	}
	e.monitors = slices.Insert(e.monitors, i, monitor{id: id, ra: normRA(ra), dec: dec})
	return nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// prepare fills the insert-time values of SPEC 5.1 into m and reports
// whether it is kept: a measurement with a non-finite f_peak_err or
// f_int_err is dropped (SPEC: infinite; NaN is dropped too, since it
// would poison the running flux means).
func (e *Engine) prepare(m *catalog.Measurement) (bool, error) {
	if !finite(m.RA, m.Decl) || math.Abs(m.Decl) > 90 {
		return false, fmt.Errorf("%w: measurement %d at (%v, %v)", ErrMeasurement, m.ID, m.RA, m.Decl)
	}
	if !finite(m.FPeakErr, m.FIntErr) {
		return false, nil
	}
	if math.IsInf(m.ErrRadius, 1) {
		m.ErrRadius = 360
	}
	m.RA = normRA(m.RA)
	m.EWSysErr, m.NSSysErr = e.cfg.EWSysErr, e.cfg.NSSysErr
	a := alpha(m.EWSysErr/3600, m.Decl)
	m.RAErr = math.Sqrt(m.RAFitErr*m.RAFitErr + a*a)
	ns := m.NSSysErr / 3600
	m.DeclErr = math.Sqrt(m.DeclFitErr*m.DeclFitErr + ns*ns)
	er2 := m.ErrRadius * m.ErrRadius
	m.UncertEW = math.Sqrt(m.EWSysErr*m.EWSysErr+er2) / 3600
	m.UncertNS = math.Sqrt(m.NSSysErr*m.NSSysErr+er2) / 3600
	m.Zone = zoneOf(m.Decl)
	m.X, m.Y, m.Z = eqToCart(m.RA, m.Decl)
	m.RACosDecl = m.RA * math.Cos(m.Decl*deg2rad)
	return true, nil
}

// prepareAll copies ms, checks image, extract type and unique ids, sorts
// by id and prepares each.
func (e *Engine) prepareAll(image int64, extract int32, ms []catalog.Measurement) (kept []catalog.Measurement, dropped []int64, err error) {
	all := slices.Clone(ms)
	slices.SortFunc(all, func(a, b catalog.Measurement) int { return cmpInt(a.ID, b.ID) })
	kept = all[:0]
	for i := range all {
		m := all[i]
		if m.Image != image || m.ExtractType != extract {
			return nil, nil, fmt.Errorf("%w: measurement %d has image %d, type %d; want image %d, type %d",
				ErrMeasurement, m.ID, m.Image, m.ExtractType, image, extract)
		}
		if i > 0 && all[i-1].ID == m.ID {
			return nil, nil, fmt.Errorf("%w: duplicate measurement id %d", ErrMeasurement, m.ID)
		}
		ok, err := e.prepare(&m)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			dropped = append(dropped, m.ID)
			continue
		}
		kept = append(kept, m)
	}
	return kept, dropped, nil
}

// flux returns the flux row of s for band, inserting an empty one.
func (s *source) fluxRow(band int64) *bandFlux {
	i, found := slices.BinarySearchFunc(s.flux, band, func(f bandFlux, b int64) int { return cmpInt(f.band, b) })
	if !found {
		s.flux = slices.Insert(s.flux, i, bandFlux{band: band})
	}
	return &s.flux[i]
}

// addFlux adds m's fluxes to s's row for band and returns the link's
// v_int, eta_int and f_datapoints (SPEC 7.1).
func (s *source) addFlux(band int64, m *catalog.Measurement) (v, eta float64, n int64) {
	f := s.fluxRow(band)
	f.peak.Add(m.FPeak, m.FPeakErr)
	f.int.Add(m.FInt, m.FIntErr)
	return f.int.V(), f.int.Eta(), f.int.N
}

// hasRegion reports whether s is linked to region.
func (s *source) hasRegion(region int64) bool {
	_, found := slices.BinarySearchFunc(s.regions, region, func(r AssocSkyRegion, id int64) int { return cmpInt(r.SkyRegion, id) })
	return found
}

// newRuncat is SPEC 5.4.4's runcat with N = 1 made from m.
func newRuncat(m *catalog.Measurement) catalog.Runcat {
	wa := 1 / (m.UncertEW * m.UncertEW)
	wd := 1 / (m.UncertNS * m.UncertNS)
	return catalog.Runcat{
		ID: m.ID, Xtrsrc: m.ID, Datapoints: 1, Zone: m.Zone,
		WmRA: m.RA, WmDecl: m.Decl, WmUncertEW: m.UncertEW, WmUncertNS: m.UncertNS,
		AvgRAErr: m.RAErr, AvgDeclErr: m.DeclErr,
		AvgWRA: m.RA * wa, AvgWDecl: m.Decl * wd, AvgWeightRA: wa, AvgWeightDecl: wd,
		X: m.X, Y: m.Y, Z: m.Z,
	}
}

// updatedPosition returns SPEC 5.3's candidate position values of rc
// after adding m, with the RA handled by SPEC 5.2's Go recommendation:
// m's RA is unwrapped to within 180 degrees of rc's mean, the new mean is
// normalised to [0, 360), and avg_wra is shifted with it so that
// wm_ra = avg_wra/avg_weight_ra keeps holding.
func updatedPosition(rc catalog.Runcat, m *catalog.Measurement) catalog.Runcat {
	n := float64(rc.Datapoints)
	n1 := n + 1
	wa := 1 / (m.UncertEW * m.UncertEW)
	wd := 1 / (m.UncertNS * m.UncertNS)
	ra := rc.WmRA + wrap180(m.RA-rc.WmRA)
	sumA := n*rc.AvgWeightRA + wa
	sumD := n*rc.AvgWeightDecl + wd
	numA := n*rc.AvgWRA + ra*wa
	numD := n*rc.AvgWDecl + m.Decl*wd
	out := rc
	out.Datapoints++
	out.WmRA = numA / sumA
	out.WmDecl = numD / sumD
	out.WmUncertEW = 1 / math.Sqrt(sumA)
	out.WmUncertNS = 1 / math.Sqrt(sumD)
	out.AvgRAErr = (n*rc.AvgRAErr + m.RAErr) / n1
	out.AvgDeclErr = (n*rc.AvgDeclErr + m.DeclErr) / n1
	out.AvgWRA = numA / n1
	out.AvgWDecl = numD / n1
	out.AvgWeightRA = sumA / n1
	out.AvgWeightDecl = sumD / n1
	if w := normRA(out.WmRA); w != out.WmRA {
		out.AvgWRA += (w - out.WmRA) * out.AvgWeightRA
		out.WmRA = w
	}
	out.Zone = zoneOf(out.WmDecl)
	out.X, out.Y, out.Z = eqToCart(out.WmRA, out.WmDecl)
	return out
}
