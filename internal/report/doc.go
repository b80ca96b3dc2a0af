// Package report writes what people look at beside the catalogue: the
// HTML report of a run directory with its plots and image cut-outs,
// VOEvent 2.0 packets for new sources and variable candidates, CSV
// exports of the candidate tables, and DS9 region files (through
// internal/regions).
//
// # The report
//
// Write (and Generate, which also returns a Summary) reads a run
// directory through catalog/duck (its views and named queries: stats,
// images, transients, variables ALPHA V_MIN, lightcurve; the vetting,
// varmetric, runcat, assocskyrgn and skyregions views) and
// RUN/manifest.json and RUN/gotrap.toml, and writes Options.Dir (default
// RUN/report):
//
//	index.html            run summary, QC plots, rejected images, association check
//	sky.html              sky map per sky region
//	etav.html             eta-V per band with the variables query's cuts
//	candidates.html       new-source and variable-candidate tables, VOEvents
//	sources/RUNCAT.html   one page per source (Options.MaxSourcePages)
//	lib/                  uPlot (embedded, see below), report.js, report.css
//	plots/*.svg           static gonum/plot SVGs (print, e-mail; fonts not embedded)
//	cutouts/*.png         Options.CutoutSize px cut-outs from the FITS pixels
//	regions/image-ID.reg  DS9 regions of each image's measurements
//	voevent/*.xml         with Options.VOEvent
//	new_sources.csv, variables.csv, images.csv
//
// The pages are interactive: assets/report.js draws each div.gt-plot from
// the page's inline data (window.GTPLOTS, plotSpec) with uPlot, filling
// the container's width and following it (ResizeObserver), with hover
// values, drag-to-zoom and click-through from a point to its source page;
// tables sort and filter. The report is self-contained: pages link only to
// files beside them and hold their data inline, so it opens from disk
// (file://) with no network. uPlot comes from the npm package pinned in
// web/package-lock.json: make copies it into assets/vendor (gitignored)
// and go:embed puts it into the binary. A binary built without it writes
// the same report with static plots only (Summary.Interactive false, a
// warning on every page).
//
// Every source gets a page; cut-outs and the static light-curve SVG are
// made for the first Options.MaxPages candidates only (new sources, then
// variable candidates). The light curves of all sources come from one
// query (the lightcurve named query with its runcat filters opened).
//
// It is built in a temporary sibling directory (".NAME.<random>.tmp",
// unique to the call) and renamed into place, so a failed or killed
// report never leaves a half-written one.
// The report folder gets a marker (rundir.Mark) listing its files; an
// existing folder is replaced only when it is empty or marked and holds
// nothing but the marked files (rundir.CheckReplaceable): a folder with
// anyone else's files, the run directory itself for one, is refused and
// left as it was.
// The science comes from catalog/duck's named queries; the report only
// draws it. The one exception is the eta line of the eta-V plots: the
// variables query cuts each light curve at its own degrees of freedom,
// and the plot draws that cut for the band's median (etaThreshold, the
// chi-square quantile).
//
// Every page carries a self-check script: it records script errors,
// console.error calls, resources that fail to load, images that do not
// decode and interactive plots that were not drawn, and on the load
// event writes the result to the element #selfcheck (data-status "ok" or
// "fail", data-images the number of images, data-plots the plots drawn).
// A headless browser's --dump-dom thus tells whether a page works.
//
// # Units and conventions
//
// Positions are degrees (ICRS as catalogued), fluxes Jy (peak Jy/beam),
// times UTC; plots put time in hours since the run's first image.
// Cut-outs are centred on the candidate's position in each image
// (wcs.SkyToPix, 0-based pixels), with FITS +y up in the PNG; pixels
// outside the image are dark blue. One display range serves all cut-outs
// of a candidate so brightness compares across time.
//
// # VOEvents
//
// One packet per new source and variable candidate (see VOEventOptions):
// IVORN ivo://AUTHORITY/STREAM#RUNTAG-KIND-RUNCAT (RUNTAG: the first image's
// start time), role test by default, Who/What/WhereWhen/How/Why, a ucd and
// a unit attribute on every Param and Field (unit "" for dimensionless
// numbers), and a light-curve Table. Known-source suppression and the
// rate limit (in trigger time) are applied in trigger-time order; withheld
// packets are listed in the report with the reason.
//
// # Regions
//
// The region files (regions/image-ID.reg) are written by internal/regions
// (its Write, FK5), one Region per measurement.
//
// # Errors
//
// Write errors of the underlying writer, DuckDB errors and bad Options
// are returned; a missing or unreadable FITS image is not an error (its
// cut-outs say why on the page). Nothing panics on data; asking a table
// for a column its query does not have is a programmer error and panics.
package report
