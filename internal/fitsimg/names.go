package fitsimg

import "strings"

// imageSuffixes are the names of FITS image files gotrap takes from a
// directory, each also with ".gz" or ".fz" after it.
var imageSuffixes = []string{".fits", ".fit", ".fts"}

// IsImageName reports whether a file name (or path) is taken as a FITS
// image when found in a directory: *.fits, *.fit or *.fts, each also
// compressed (*.fits.gz, *.fits.fz, ...), in any case. Listing inputs
// (gotrap run DIR) and following directories (gotrap watch) use it, so
// both take the same files. CASA image directories are recognised by
// content instead (IsCASAImage).
func IsImageName(name string) bool {
	n := strings.ToLower(name)
	n = strings.TrimSuffix(strings.TrimSuffix(n, ".gz"), ".fz")
	for _, s := range imageSuffixes {
		if strings.HasSuffix(n, s) && len(n) > len(s) {
			return true
		}
	}
	return false
}
