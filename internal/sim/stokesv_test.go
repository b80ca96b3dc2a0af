package sim

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"testing"

	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
)

// TestStokesV: with stokes = V the images are Stokes V planes (CRVAL4 4)
// holding the circularly polarised sources alone: each truth flux is the
// Stokes I flux of the same seed times the source's circ_pol (0 for an
// unpolarised source), polarised sources of both signs among them; the
// polarisation draws do not change the Stokes I sky (its truth and images
// are byte-identical with circular_frac 0 and 0.5).
func TestStokesV(t *testing.T) {
	gen := func(sets ...string) string {
		cfg := tinyConfig(t)
		for i := 0; i < len(sets); i += 2 {
			if err := cfg.Set(sets[i], sets[i+1]); err != nil {
				t.Fatal(err)
			}
		}
		dir := t.TempDir()
		if _, err := Generate(context.Background(), cfg, dir, Options{Workers: 2}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	plain := gen()
	iDir := gen("circular_frac", "0.5")
	vDir := gen("circular_frac", "0.5", "stokes", "V")

	a, b := testutil.HashTree(t, plain), testutil.HashTree(t, iDir)
	for k, h := range a {
		if k != filepath.Join("truth", "params.txt") && k != filepath.Join("truth", "sources.csv") && b[k] != h {
			t.Errorf("%s: the Stokes I file changes with circular_frac", k)
		}
	}

	m, err := fitsimg.ReadMeta(filepath.Join(vDir, "images", "t0000_beam0_band0.fits"), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Stokes != "V" {
		t.Errorf("Stokes %q, want V", m.Stokes)
	}

	num := func(s string) float64 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	pol := map[string]float64{}
	signs := map[bool]int{}
	for _, r := range testutil.ReadCSV(t, filepath.Join(vDir, "truth", "sources.csv")) {
		p := num(r["circ_pol"])
		pol[r["source_id"]] = p
		if p != 0 {
			signs[p > 0]++
			if q := math.Abs(p); q < 0.05 || q > 0.5 {
				t.Errorf("source %s: circ_pol %v outside the default [0.05, 0.5]", r["source_id"], p)
			}
		}
	}
	if signs[true] == 0 || signs[false] == 0 {
		t.Errorf("polarised sources: %d positive, %d negative; want both", signs[true], signs[false])
	}
	iRows := testutil.ReadCSV(t, filepath.Join(iDir, "truth", "fluxes.csv"))
	vRows := testutil.ReadCSV(t, filepath.Join(vDir, "truth", "fluxes.csv"))
	if len(iRows) != len(vRows) || len(vRows) == 0 {
		t.Fatalf("%d Stokes I and %d Stokes V flux rows, want the same, some", len(iRows), len(vRows))
	}
	for k, vr := range vRows {
		ir := iRows[k]
		if ir["source_id"] != vr["source_id"] || ir["image"] != vr["image"] {
			t.Fatalf("row %d: %s/%s vs %s/%s", k, ir["source_id"], ir["image"], vr["source_id"], vr["image"])
		}
		// The truth tables print fluxes to 9 significant digits (fFlux)
		// and circ_pol to 6 decimals (5e-7 absolute): want is good to
		// |I| x 5e-7 plus 1e-9 relative; the tolerance doubles that.
		iFlux := num(ir["flux_jy"])
		want := iFlux * pol[vr["source_id"]]
		if got := num(vr["flux_jy"]); math.Abs(got-want) > 1e-6*math.Abs(iFlux)+2e-9*math.Abs(want) {
			t.Errorf("source %s in %s: V flux %v, want I %v x circ_pol %v", vr["source_id"], vr["image"], got, ir["flux_jy"], pol[vr["source_id"]])
		}
	}
}
