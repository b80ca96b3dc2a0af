// Package catalogs reads source catalogues written by other source finders
// (and by gotrap itself) so that `gotrap run --catalogues` can associate
// them instead of extracting (docs/inputs.md "Catalogues").
//
// Contract:
//   - Read(path) detects the format from the file's content, never its
//     name: a VOTable (Selavy's components VOTable, TABLEDATA only), a
//     Selavy fixed-width text components catalogue (a first line "#
//     island_id ..." and a second line of units), a CSV with Selavy's
//     column names (the CASDA layout), or PySE's 37-column CSV as `gotrap
//     extract` and PySE write it; Aegean's component table and PyBDSF's
//     source or Gaussian list, as CSV (PyBDSF's ASCII with its '#'
//     header) or as a FITS binary table (a file starting "SIMPLE  =": the
//     first BINTABLE extension), recognised by their columns
//     (peak_flux and local_rms; Total_flux, Peak_flux and Isl_rms or
//     E_Total_flux); a file starting with the Parquet magic
//     "PAR1" is gotrap's own measurements Parquet (gotrap extract's
//     STEM.parquet, a run's work/extract/ID.blind.parquet), read with
//     catalog.Read.
//   - Every row becomes a kernels.Source in gotrap's units (degrees,
//     Jy/beam, Jy, arcsec, HWHM semi-axes), converted from the units the
//     file declares (Selavy text and VOTable) or the layout's fixed units
//     (CASDA CSV: mJy, arcsec, deg; PySE CSV: kernels.Source's own).
//   - Selavy rows carry only sky quantities; Place fills the pixel
//     quantities from the image's WCS and drops rows that are not on the
//     image, each drop recorded with its line and reason (Dropped).
//     PySE CSV and Parquet rows keep the pixel quantities of the file.
//   - Any malformed content (a missing required column, a value that is
//     not a number, a unit that is not understood, a row with too few
//     fields) is an error naming the file, the line (or VOTable row) and
//     the column; nothing is guessed.
//   - Rows of a Selavy, Aegean or PyBDSF catalogue are sorted by (ra, dec,
//     line) so that the same components in any of its layouts get the
//     same order;
//     PySE CSV and Parquet rows keep the file's order (the extractor's).
package catalogs
