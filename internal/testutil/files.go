package testutil

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// HashTree returns the SHA-256 (hex) of every regular file under dir, by
// slash-separated path relative to dir.
func HashTree(tb testing.TB, dir string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// ReadCSV reads a CSV file with a header line into rows keyed by column
// name.
func ReadCSV(tb testing.TB, path string) []map[string]string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		tb.Fatalf("%s: no header line", path)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := make(map[string]string, len(r))
		for i, k := range recs[0] {
			m[k] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// EtaV computes the variability metrics of SPEC 7.1 from their textbook
// definitions, by two passes: eta is the reduced chi-squared of the fluxes
// x (errors sigma) about their weighted mean, V the N-1 sample standard
// deviation over the mean. Both are 0 for fewer than two points.
func EtaV(x, sigma []float64) (eta, v float64) {
	n := float64(len(x))
	if len(x) < 2 {
		return 0, 0
	}
	var sw, swx, sx float64
	for i := range x {
		w := 1 / (sigma[i] * sigma[i])
		sw += w
		swx += w * x[i]
		sx += x[i]
	}
	wmean, mean := swx/sw, sx/n
	var chi, ss float64
	for i := range x {
		d := x[i] - wmean
		chi += d * d / (sigma[i] * sigma[i])
		e := x[i] - mean
		ss += e * e
	}
	return chi / (n - 1), math.Sqrt(ss/(n-1)) / mean
}
