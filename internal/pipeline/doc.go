// Package pipeline runs the stages of "gotrap run" (DESIGN "Data flow")
// on one rank: plan, extraction with quality control, forced fits and
// association, writing the run directory's catalogue. The catalogue
// stage that needs DuckDB (varmetric) is the sub-package catstage, so
// that this package and its tests do not link DuckDB.
//
// # Stages
//
//  1. Plan (NewPlan): read every header, sort the images by (timestep,
//     frequency, start time, path), where a timestep groups start times
//     within [pipeline] timestep_tolerance of its first image (SPEC 2.1),
//     and number them 1, 2, ...; bands (SPEC 2.3) and sky regions (2.4)
//     come from an association engine fed in that order. Unreadable
//     headers are listed last and rejected (reason 6).
//  2. Extract (parallel over images, a bounded pool): read, quality
//     control with every per-image check of SPEC 3.2, then PySE extraction
//     (internal/extract) of the images that pass. Results are staged per
//     image in RUN/work/extract, with the background grids.
//  3. Quality history (sequential, cheap): the rms-history check in plan
//     order (SPEC 3.2 item 6 with quirk 2 fixed). Rejected images keep
//     their row in images.parquet, with reason and comment, and take no
//     further part.
//  4. Forced fits: a first association pass (blind measurements only)
//     yields every image's null-detection requests (SPEC 6.1) and monitor
//     requests (6.2); the images with requests are read again and fitted
//     in parallel (kernels FitFixed, box 10 beam axes), staged per image
//     in RUN/work/forced. The maps are rebuilt only inside the fit boxes
//     from the background grids the extraction staged (ID.grids.bin,
//     grids.go), or in full where those are missing: the same fits.
//  5. Associate: a second, final pass associates, timestep by timestep,
//     each accepted image's blind measurements in frequency order (SPEC
//     5.4, catalog/assoc), then each image's null-detection and monitor
//     fits (AssociateForced, AssociateMonitor): TraP's order of SPEC 2.2
//     steps 8-10. It writes images, measurements (blind, forced and
//     monitor part files), associations, runcat, runcat_flux, newsources,
//     skyregions, bands and assocskyrgn.
//  6. Backward (only with [forced_fits] backward; backward.go): every
//     runcat but the monitors' is fitted at its final position in the
//     accepted images of the timesteps before its first association,
//     distributed like the forced fits and staged in RUN/work/backward;
//     extract_type catalog.ExtractBackward, association type
//     catalog.AssocBackward, ids from index 2^23 of each image.
//  7. Limits (rank 0; limits.go): limits.parquet, the rms map at each
//     runcat's position in the accepted images before its first
//     detection (the backward fits' images), from the staged background
//     grids, and detection_thresh x that rms as an upper limit.
//
// The two passes agree because forced fits never change what is
// requested: they move no position (SPEC 6.1), and the expiration counter
// counts a request when it is made if its position lies on the image
// (assoc.ImageInfo.Usable, the fitter's own inside test). Pass 2 checks
// that its requests equal pass 1's.
//
// # Identifiers
//
// Image ids are plan positions (1-based). Measurement ids are
// catalog.MeasurementID(image, index) with index the PySE order of the
// blind sources, then nBlind + k for the k-th null-detection request (in
// runcat id order), then nBlind + nNull + k for the k-th monitor (in
// monitor id order, 1-based in the order of the configuration's list,
// the --monitor-file and the --monitor flags). A runcat takes the id of
// the measurement that created it. None of this depends on the number of
// workers or on scheduling (tested).
//
// # Run directory and resume
//
// See docs/pipeline.md. Every file is written to a temporary name unique
// to its writer and renamed when complete (internal/rundir); the caller
// holds the run directory's lock (rundir.Acquire) for the whole run. An image's staged results end with a completion
// mark written last (ID.image.parquet, ID.json), so --resume redoes only
// the images without one; the association stage is recomputed from the
// staged results unless the manifest records it done. The manifest keeps
// the configuration hash and each input's path, size and xxHash64 of the
// whole file; --resume refuses a run whose configuration or inputs
// differ. Only files gotrap names itself are ever removed: a --resume
// into a folder without a manifest that holds other files is refused
// (ErrNotARun).
//
// # Ranks
//
// Run is one rank of a group (Options.Comm; nil: one rank). RunRanks
// runs N in-process ranks; the command runs one rank per MPI process
// under mpirun. Extraction is split over the ranks by decomp.AssignLPT
// over the images' pixel counts, forced fits by the same rule applied
// timestep by timestep as the requests become known. The association
// runs over sky tiles ([pipeline] tile_deg, decomp.Tiling): each rank
// holds the runcats whose position lies in its tiles, receives each
// image's measurements within the association radius of them
// (Alltoallv), and the candidate facts of measurements seen by several
// ranks are merged (Allgatherv) before every rank resolves SPEC 5.4 for
// its own runcats; runcats that move to another rank's tile migrate at
// the next image. tile_deg = 0 associates on rank 0 instead. The
// catalogue is the same on any number of ranks and any tiling
// (docs/pipeline.md "Ranks"). Each rank writes the measurement parts of
// the measurements it produced (assoc.Prepare); rank 0 gathers and
// writes the other tables.
// A Barrier ends Run, so rank 0 may run the catalogue stage after it.
//
// # Errors
//
// Bad images are not errors: they are rejected with a reason, as is any
// entry a folder listing finds that cannot be read. Missing inputs named
// explicitly (ExpandInputs, ErrMissingInput), an unusable run directory
// (ErrRunExists), a configuration or input mismatch on resume, and I/O
// failures are; they name the file. Nothing here panics on data or exits.
package pipeline
