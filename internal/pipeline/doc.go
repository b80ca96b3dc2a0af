// Package pipeline runs "gotrap run" (DESIGN "Data flow") on one rank:
// the plan, then the timesteps in TraP's order, then the catalogue
// tables of the run directory. The stage that needs DuckDB (varmetric) is
// the sub-package catstage, so that this package and its tests do not
// link DuckDB.
//
// # Stages
//
//  1. Plan (NewPlan): list the inputs (statInput: path, size,
//     modification time), read every header, sort the images by
//     (timestep, frequency, start time, path), where a timestep groups
//     start times within [pipeline] timestep_tolerance of its first image
//     (SPEC 2.1), and number them 1, 2, ...; bands (SPEC 2.3) and sky
//     regions (2.4) come from an association engine fed in that order.
//     Unreadable headers are listed last and rejected (reason 6).
//  2. Timesteps (engine.go), one after another: the owners extract the
//     timestep's images (extract.go: read once, hashed on that read,
//     quality control, PySE; a bounded prefetch runs ahead), the images
//     rows are gathered and the rms history applied (SPEC 3.2 item 6,
//     quirk 2 fixed), the blind measurements are associated over sky
//     tiles (dist.go), the null-detection and monitor requests are
//     fitted on the pixels still in memory (forced.go) and the fits
//     associated by the ranks holding their runcats: TraP's order of
//     SPEC 2.2 steps 8-10. Each image's results are staged in
//     RUN/work/extract and RUN/work/forced, so a later call replays a
//     committed timestep without reading its images (RUN/work/commit.json).
//     What ranks exchange is encoded with internal/wire.
//  3. Tables (catalogue.go, distcat.go): images, associations, runcat,
//     runcat_flux, newsources, skyregions, bands and assocskyrgn from the
//     association engines; each rank wrote its measurement parts.
//  4. Backward (only with [forced_fits] backward; backward.go): every
//     runcat but the monitors' is fitted at its final position in the
//     accepted images of the timesteps before its first association
//     (these images are read again); extract_type
//     catalog.ExtractBackward, association type catalog.AssocBackward,
//     ids from index 2^23 of each image.
//  5. Limits (rank 0; limits.go): limits.parquet, the rms map at each
//     runcat's position in the accepted images before its first
//     detection, from the staged background grids.
//
// # Runs that grow
//
// Options.Append adds images to a run (append.go): the run's inputs come
// first, the added images must start after its last timestep
// (checkAppend), and the stages run as for --resume: the committed
// timesteps replay from RUN/work, the new ones are processed, every table
// is written again, and the result equals one run over all the images.
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
// workers or ranks, on scheduling, or on how a run was cut into appends
// (tested).
//
// # Run directory and resume
//
// See docs/pipeline.md. Every path of the run directory, the manifest
// (rundir.Manifest) and the commit record (rundir.Commit) belong to
// internal/rundir. Every file is written to a temporary name unique to
// its writer and renamed when complete (rundir.WriteFile); the caller
// holds the run directory's lock (rundir.Acquire) for the whole run. An
// image's staged results end with a completion mark written last
// (ID.image.parquet, ID.json), so --resume extracts and fits only the
// images without one. The manifest keeps the configuration hash and each
// input's path, size, modification time and xxHash64 of the whole file
// (made on the extraction's read); --resume refuses a run whose
// configuration or inputs differ. Only files gotrap names itself are
// ever removed: a --resume into a folder without a manifest that holds
// other files is refused (ErrNotARun).
//
// # Ranks
//
// Run is one rank of a group (Options.Comm; nil: one rank). RunRanks
// runs N in-process ranks; the command runs one rank per MPI process
// under mpirun. The images of each timestep are split over the ranks
// (assignImages: decomp.AssignLPTFrom over pixel counts, loads carried
// from one timestep to the next); the owner of an image extracts it,
// fits its requests and writes its measurements. The association runs
// over sky tiles ([pipeline] tile_deg, decomp.Tiling): each rank holds
// the runcats whose position lies in its tiles, receives each image's
// measurements within the association radius of them (Alltoallv), and
// the candidate facts of measurements seen by several ranks are merged
// (Allgatherv) before every rank resolves SPEC 5.4 for its own runcats;
// runcats that move to another rank's tile migrate at the next image.
// One rank, or tile_deg = 0, is one tile, rank 0's. The catalogue is the
// same on any number of ranks and any tiling (docs/pipeline.md "Ranks").
// Rank 0 gathers and writes the shared tables. A Barrier ends Run, so
// rank 0 may run the varmetric stage after it.
//
// # Errors
//
// Bad images are not errors: they are rejected with a reason, as is any
// entry a folder listing finds that cannot be read. Missing inputs named
// explicitly (ExpandInputs, ErrMissingInput), an unusable run directory
// (ErrRunExists, ErrNotARun, ErrNoRun), a configuration or input
// mismatch on resume or append, images an append cannot add
// (ErrAppendOrder), and I/O failures are; they name the file. Nothing
// here panics on data or exits.
package pipeline
