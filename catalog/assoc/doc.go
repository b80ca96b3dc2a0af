// Package assoc is gotrap's association engine: TraP's per-image logic
// (SPEC 2.3, 2.4, 5, 6, 7.1, 8.1) as a pure, in-memory, deterministic state
// machine. The pipeline registers images, then drives the engine image by
// image in (time, frequency) order; the engine's state and outputs are the
// record types of package catalog, so they can be written to Parquet as
// they are. The engine never touches I/O and does not link DuckDB.
//
// # Units and conventions
//
// Positions are degrees (RA in [0, 360), declination in [-90, 90]);
// position uncertainties degrees; error_radius, *_sys_err and
// distance_arcsec arcsec; assocskyrgn's distance_deg degrees; fluxes Jy
// and Jy/beam; frequencies Hz. Input RAs are reduced to [0, 360). The
// angular helpers are SPEC 0.5's (alpha, eq_to_cart, 1-degree zones).
//
// # Driving the engine
//
//	e, err := assoc.New(assoc.DefaultConfig())
//	band, region, err := e.AddImage(info)     // every image, sorted order
//	e.SetQuality(id, q)                       // after QC and extraction
//	res, err := e.AssociateBlind(id, blind)   // accepted images, in order
//	// fit res.Requests and res.MonitorRequests (a separate stage), then
//	fr, err := e.AssociateForced(id, fits, outside)
//	mr, err := e.AssociateMonitor(id, monitorFits)
//	e.Runcats(); e.Fluxes(); e.Associations(); e.NewSources(); ...
//
// AssociateBlind must be called once for every accepted image, even with
// no measurements, in non-decreasing taustart order (the pipeline's time
// then frequency order); AssociateForced and AssociateMonitor once per
// image, in the same image order, at any time after the image's blind
// association. AddImage may come any time before the image is associated;
// band and region ids are 1, 2, ... in creation order, so register images
// in the pipeline's sorted order. Measurements carry their final ids
// (catalog.MeasurementID); every call copies its input and fills SPEC
// 5.1's insert-time columns into the returned Measurements (ew_sys_err and
// ns_sys_err are set from Config).
//
// # Bands and sky regions
//
// A band is matched by SPEC 2.3's strict overlap test, choosing the
// nearest centre frequency among overlapping bands, ties to the lowest id
// (decision 10). A sky region matches when its centre is closer than one
// pixel (|deltax|) to the image centre and its radius differs by less
// than one pixel; the nearest centre wins, ties to the lowest id
// (decision 11). xtr_radius = extraction_radius_pix * |deltax|; with
// extraction_radius_pix = 0 (off, gotrap's default) it is the image's
// half-diagonal 0.5*hypot(nx*deltax, ny*deltay), so the region is the
// circle around the whole image: every source the image can contain
// belongs to it, and null-detection requests then cover the whole image
// (requests that fall outside it are dropped by the fitter and do not
// count towards the expiration). A runcat is linked to a region
// (assocskyrgn) when its distance from the region centre is less than
// the region's own xtr_radius: at region creation for every live runcat
// (declination prefilter, then SPEC 2.4's chord test), and at source
// creation for every other region (SPEC 5.4.4 reads "within xtr_radius";
// the region's own radius is used). assocskyrgn is engine state, exposed
// by AssocSkyRegions.
//
// # Candidate pairs
//
// The search radius is R = beamwidths_limit * rb_smaj (the semi-major
// axis, degrees). A pair passes SPEC 5.2's zone, declination and
// dot-product filters and De Ruiter r < deruiter_radius (strict), with Δα
// the wrapped difference in (-180, 180] (SPEC 5.2 "Go recommendation"),
// so fields across RA 0/360 need no special mode. SPEC's RA box is not a
// separate test: it follows from the dot product, and the index applies
// it, widened, as a prefilter. Monitor runcats never take part.
//
// Runcats are indexed by 1-degree zone (floor(wm_decl)) with each zone
// sorted by (wm_ra, id); a query scans the zones within R and, in each,
// the RA interval ra ± asin(sin R/cos decl) by binary search (split at
// 0/360; the whole zone when the circle reaches a pole). The index is
// rebuilt for each image (positions move): O(N log N) per image plus
// O(log N + k) per measurement. Tests check it against a brute-force twin
// on random skies across RA 0/360 and at both poles.
//
// When a position is updated (SPEC 5.3), the new RA is unwrapped to within
// 180 degrees of the current mean before averaging and the mean is
// normalised to [0, 360); avg_wra is shifted with it, so that wm_ra =
// avg_wra/avg_weight_ra always holds. Positions are still plain weighted
// means in (RA, Dec): a source measured on both sides of a pole (within R
// of it) gets a poor mean RA, as in TraP.
//
// # Resolution
//
// SPEC 5.4 is followed in its order: single-pass many-to-many trimming;
// one-to-many forks; one-to-one and many-to-one (type 3); new sources
// (type 4). In trimming, a measurement keeps only its restricted pair
// with the smallest (r, runcat id): equal r is broken by the lowest
// runcat id (decision 13), where TraP would keep all tied pairs. A fork
// (decision 4) copies the flux rows of every band, adds the new point to
// the current band's, copies all old links as type 6 (keeping r,
// distance, v, eta and M), adds the base link (type 2), and copies the
// old runcat's assocskyrgn and newsource rows; the old runcat is deleted
// and ForkedInto lists its replacements. Forks get forcedfits_count 0.
// Within an image, measurements and pairs are processed in id order, so
// the order of the input does not matter.
//
// # Identifiers
//
// A runcat takes the id of the measurement that created it: a new source
// or monitor's first fit its own id, a fork the id of the measurement of
// its pair (the fork's xtrsrc). No two runcats can take the same id: a
// measurement creates a new source only when it has no candidate at all;
// a measurement that is part of two forks would be a candidate of two
// runcats that both have several candidates, so both pairs are in the
// restricted set and trimming keeps one of them (with ties broken by id,
// exactly one). Many-to-one links create no runcat. The engine checks
// the rule anyway and fails with ErrIDCollision before changing state.
// NewSource.ID is the runcat id; band and region ids come from AddImage.
//
// # Outputs and streaming
//
// Each call returns the rows it appended, sorted (associations by
// (runcat, xtrsrc)), plus the runcats it created or changed and, for
// AssociateBlind, the runcats it deleted by forking. Association rows are
// never changed after they are returned; a fork voids every row of the
// deleted runcat (including those of earlier results) and re-emits its
// history as type 6 rows of each fork. A streaming writer can therefore
// append every returned row and drop, at the end, the rows whose runcat
// is in some Result.Deleted; or write the final snapshots (Runcats,
// Fluxes, Associations, NewSources, AssocSkyRegions) at the end;
// AssociationReader reads the association table in chunks, one runcat's
// links in memory at a time.
//
// # Memory
//
// The engine keeps every link of every live runcat (a fork copies the
// whole history). With Config.SpillDir = "" they stay in memory, so
// memory grows with the number of links (the number of images). With a
// SpillDir, the links go to a per-engine temporary file (links.go):
// append-only blocks of 32 packed 60-byte records (little endian, floats
// bit for bit), of which a runcat holds only its last, partial block and
// the offsets of its full blocks; a fork, Emigrate and the final table
// read the blocks back. Memory is then O(live runcats + links/32), for a
// fixed sky independent of the number of images; the file, unlinked as
// soon as it is created and closed by Close, grows with every link ever
// written (the blocks of forked and emigrated runcats are not reused).
// Results are identical either way. A write or read error of the file is
// sticky: the call that met it and every later call (and Associations)
// return it, and the engine can only be closed.
//
// # Null detections and the monitoring list
//
// After its blind association, an image's Result lists the null-detection
// requests of SPEC 6.1 (linked to the image's region, forcedfits_count <
// expiration, first detection strictly earlier, no link to a measurement
// of the image) and every monitor position. Monitor runcats are not
// requested as null detections (their position is fitted by the monitor
// request anyway, and SPEC 6.1's association skips them).
//
// Forced fits are fitted in a later stage (decision on forced fits), so
// the expiration counter counts requested fits whose position lies inside
// the image's usable area. If ImageInfo.Usable is set, a request counts
// when it is made, exactly as TraP's order of operations would count it;
// otherwise it counts when AssociateForced reports it not outside (and
// only if no later blind association has reset the counter), which
// equals TraP when the pipeline calls AssociateForced for an image before
// the next image of the same field is associated. Fits add type 7 links
// with r = distance = 0, positions and datapoints unchanged; a fit for a
// runcat forked in the meantime goes to each of its forks. The flux
// rows, and so the v_int and eta_int stored on later rows, take points in
// call order.
//
// Monitor fits: the first creates a mon_src runcat (type 8); later ones
// add type 9 links, increment datapoints and reset forcedfits_count but
// leave the position unchanged (TraP's behaviour, SPEC 11 quirk 12, kept
// since decision 12 is not among the fixed quirks).
//
// # Variability and new sources
//
// Every link carries v_int, eta_int and f_datapoints of the updated flux
// row of its band (SPEC 7.1, catalog.FluxStats), which equal the batch
// sample-standard-deviation and reduced-chi-squared formulas (tested to
// 1e-12). A new blind source gets a newsource row by SPEC 8.1 against
// the previous images of the same band, strictly earlier, not rejected,
// whose region is one of the source's assocskyrgn regions: smallest low
// limit, then smallest high limit, then lowest image id.
//
// # Distribution seams
//
// Blind association is three stages, kept separate for the distributed
// association of DESIGN.md step 3: (a) candidate pairs (findPairs, per
// sky tile: each rank holds the runcats it owns and halo copies of
// measurements); (b) per-measurement Facts: NCand (a sum over ranks),
// then, from the global NCand, the minimum (r, runcat id) over the
// restricted pairs (a lexicographic minimum), both mergeable with
// Facts.Merge in any order; a runcat's pairs all lie on its owner, so
// its own counts are local; (c) resolution (plan, apply) from the pairs
// and the merged facts, identical on every rank. A measurement with NCand
// = 0 becomes a new source on the rank that owns its position.
//
// # Distributed association
//
// The seams are exported for internal/pipeline's association over sky
// tiles (docs/pipeline.md "Ranks"). Each rank runs an Engine with every
// image, band, region and monitor registered and SetOwnership telling
// which positions are its own; its runcats are those whose position lies
// in its tiles. Per image, a rank gets the prepared measurements
// (Prepare; PutForAssociation carries the columns association reads)
// within the search radius of its tiles, and runs BeginBlind (pairs of its
// runcats, local NCand), Restrict (restricted set and local minima, once
// every rank's NCand is added into Step.Facts) and Finish (after the
// minima are merged). Finish creates new sources only for the owned
// measurements without a candidate anywhere, so each is created exactly
// once; everything else depends only on the runcat's pairs, all local.
// Runcats whose position moved leave with Emigrate and arrive with
// Immigrate, carrying their whole state (flux rows, links, sky-region
// links, newsource row and fork ancestors). Each rank's null-detection
// requests are its own runcats'; SetRequests gives every engine the
// image's merged list so that AssociateForced accepts every fit; each fit
// goes to the engines that report its runcat in Holders, which associate
// it with the runcats they hold: a runcat records
// the runcats it replaced by forks, so a fit requested for a runcat since
// forked reaches each fork wherever it is. A monitor's runcat is created
// by the engine that owns the monitor's position; every engine records
// its id. Each engine's snapshots are then a disjoint part of the tables,
// in the same order.
//
// # Errors
//
// Misuse of sequence (an image associated twice or out of order) and bad
// data (an unknown image, a non-finite position, a duplicate id, a
// forced fit that answers no request) return errors wrapping the
// package's sentinels (ErrImage, ErrOrder, ErrMeasurement, ErrConfig,
// ErrIDCollision); a failed call leaves the engine unchanged, except
// for a link store error (see Memory).
// Measurements with a non-finite f_peak_err or f_int_err are dropped
// (listed in Dropped), as SPEC 5.1 says for infinite ones. An Engine is
// not safe for concurrent use.
package assoc
