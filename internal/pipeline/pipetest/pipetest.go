// Package pipetest helps the tests of internal/pipeline and its
// sub-packages: it simulates data sets (internal/sim), reads their truth
// tables, and scores a run directory's catalogue against the truth with
// the acceptance figures of the pipeline (transients, false new sources,
// steady-source completeness, variables). It reads the catalogue with
// package catalog only (no DuckDB); the variables figures take the
// variables query's answer as an argument.
//
// # Matching
//
// A truth source matches a runcat when their great-circle distance is
// below MatchArcsec (45", a third of the smallest simulated restoring
// beam FWHM, 131" at 160 MHz: at 8 sigma the position error is about
// FWHM/(2*8) ~ 10", so 45" is over 4 sigma, while two distinct simulated
// sources closer than that would be one island anyway).
//
// # Errors
//
// Functions take a testing.TB and fail the test on I/O errors.
package pipetest

import (
	"cmp"
	"context"
	"fmt"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/kernels"
	"gotrap/kernels/sphere"
)

// MatchArcsec is the truth-to-runcat matching radius (see the package
// documentation).
const MatchArcsec = 45.0

// ForkRA and ForkDec are the position of SimulateFork's source M
// (degrees).
const ForkRA, ForkDec = 150.25, 52.75

// SimulateFork simulates the tiny preset (seed 3, timesteps timesteps, no
// variables, transients or bad images) with three sources of 0.8 Jy: M at
// (ForkRA, ForkDec) in timesteps 0-1, then A and B, 150" east and west
// of it, from timestep 2. With systematic errors of 40" both lie within
// De Ruiter reach of M's runcat, which forks in timestep 2 (SPEC 5.4.2).
func SimulateFork(tb testing.TB, timesteps int) string {
	tb.Helper()
	dra := 150.0 / 3600 / math.Cos(ForkDec*math.Pi/180)
	src := filepath.Join(tb.TempDir(), "sources.csv")
	csv := fmt.Sprintf("ra,dec,flux_jy,spectral_index,onset_step,end_step\n%.6f,%.6f,0.8,0,,2\n%.6f,%.6f,0.8,0,2,\n%.6f,%.6f,0.8,0,2,\n",
		ForkRA, ForkDec, ForkRA+dra, ForkDec, ForkRA-dra, ForkDec)
	if err := os.WriteFile(src, []byte(csv), 0o644); err != nil {
		tb.Fatal(err)
	}
	return Simulate(tb, sim.PresetTiny, 3, "timesteps", strconv.Itoa(timesteps), "variables", "0", "transients", "0",
		"bad_images", "0", "sources", src)
}

// Simulate writes the preset with seed and the KEY=VALUE settings into a
// new temporary directory and returns it.
func Simulate(tb testing.TB, preset string, seed uint64, sets ...string) string {
	tb.Helper()
	dir := tb.TempDir()
	SimulateInto(tb, dir, preset, seed, sets...)
	return dir
}

// SimulateInto is Simulate into the folder dir, which outlives the test
// (a data set shared by the tests of a package; the caller removes it).
func SimulateInto(tb testing.TB, dir, preset string, seed uint64, sets ...string) {
	tb.Helper()
	cfg, err := sim.Preset(preset)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Seed = seed
	for i := 0; i+1 < len(sets); i += 2 {
		if err := cfg.Set(sets[i], sets[i+1]); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := sim.Generate(context.Background(), cfg, dir, sim.Options{Workers: 2}); err != nil {
		tb.Fatal(err)
	}
}

// Source is a row of truth/sources.csv.
type Source struct {
	ID      int
	Class   string
	RA, Dec float64
	Flux    float64
	ModIdx  float64
}

// Flux is a row of truth/fluxes.csv.
type Flux struct {
	X, Y   float64 // 0-based pixel position
	Source int
	Image  string // path relative to the data set
	Time   time.Time
	Freq   float64
	Flux   float64
	SNR    float64
}

// Truth is a data set's truth.
type Truth struct {
	Dir     string
	Sources map[int]Source
	Fluxes  []Flux
}

func num(tb testing.TB, s string) float64 {
	tb.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		tb.Fatalf("truth: %q: %v", s, err)
	}
	return v
}

// ReadTruth reads DIR/truth.
func ReadTruth(tb testing.TB, dir string) *Truth {
	tb.Helper()
	t := &Truth{Dir: dir, Sources: map[int]Source{}}
	for _, r := range testutil.ReadCSV(tb, filepath.Join(dir, "truth", "sources.csv")) {
		s := Source{ID: int(num(tb, r["source_id"])), Class: r["class"], RA: num(tb, r["ra"]), Dec: num(tb, r["dec"]),
			Flux: num(tb, r["flux_jy"]), ModIdx: num(tb, r["modulation_index"])}
		t.Sources[s.ID] = s
	}
	for _, r := range testutil.ReadCSV(tb, filepath.Join(dir, "truth", "fluxes.csv")) {
		tm, err := time.Parse(time.RFC3339, r["time"])
		if err != nil {
			tb.Fatal(err)
		}
		t.Fluxes = append(t.Fluxes, Flux{Source: int(num(tb, r["source_id"])), Image: r["image"], Time: tm,
			Freq: num(tb, r["freq_hz"]), Flux: num(tb, r["flux_jy"]), SNR: num(tb, r["snr"]),
			X: num(tb, r["x"]), Y: num(tb, r["y"])})
	}
	return t
}

// Catalogue is a run directory's tables (varmetric excepted).
type Catalogue struct {
	Images       []catalog.Image
	Measurements []catalog.Measurement
	Associations []catalog.Association
	Runcats      []catalog.Runcat
	Fluxes       []catalog.RuncatFlux
	NewSources   []catalog.NewSource
	SkyRegions   []catalog.SkyRegion
	Bands        []catalog.Band
	Limits       []catalog.Limit // nil when the run has no limits.parquet
}

func read[T any](tb testing.TB, path string) []T {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	rows, err := catalog.Read[T](f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return rows
}

// ReadCatalogue reads every table of run with catalog.Read.
func ReadCatalogue(tb testing.TB, run string) *Catalogue {
	tb.Helper()
	c := &Catalogue{
		Runcats:    read[catalog.Runcat](tb, rundir.TablePath(run, catalog.TableRuncat)),
		Fluxes:     read[catalog.RuncatFlux](tb, rundir.TablePath(run, catalog.TableRuncatFlux)),
		NewSources: read[catalog.NewSource](tb, rundir.TablePath(run, catalog.TableNewSources)),
		SkyRegions: read[catalog.SkyRegion](tb, rundir.TablePath(run, catalog.TableSkyRegions)),
		Bands:      read[catalog.Band](tb, rundir.TablePath(run, catalog.TableBands)),
	}
	// The images: the table, or a live run's parts (by id).
	if p := rundir.TablePath(run, catalog.TableImages); fileExists(p) {
		c.Images = read[catalog.Image](tb, p)
	} else {
		parts, err := filepath.Glob(rundir.PartGlob(run, catalog.TableImages, ""))
		if err != nil || len(parts) == 0 {
			tb.Fatalf("%s: no images table or parts (%v)", run, err)
		}
		for _, f := range parts {
			c.Images = append(c.Images, read[catalog.Image](tb, f)...)
		}
		slices.SortFunc(c.Images, func(a, b catalog.Image) int { return cmp.Compare(a.ID, b.ID) })
	}
	// The associations: the table, or a live run's parts (in the
	// table's order, runcat then measurement).
	if p := rundir.TablePath(run, catalog.TableAssociations); fileExists(p) {
		c.Associations = read[catalog.Association](tb, p)
	} else {
		parts, err := filepath.Glob(rundir.PartGlob(run, catalog.TableAssociations, ""))
		if err != nil || len(parts) == 0 {
			tb.Fatalf("%s: no associations table or parts (%v)", run, err)
		}
		for _, f := range parts {
			c.Associations = append(c.Associations, read[catalog.Association](tb, f)...)
		}
		slices.SortFunc(c.Associations, func(a, b catalog.Association) int {
			return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Xtrsrc, b.Xtrsrc))
		})
	}
	if p := rundir.TablePath(run, catalog.TableLimits); fileExists(p) {
		c.Limits = read[catalog.Limit](tb, p)
	}
	files, err := filepath.Glob(rundir.PartGlob(run, catalog.TableMeasurements, ""))
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(files)
	for _, f := range files {
		c.Measurements = append(c.Measurements, read[catalog.Measurement](tb, f)...)
	}
	return c
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Border (px) excludes truth positions this close to an image edge from
// the scoring: the default margin of 10 px is masked and islands touching
// it are removed (remove_edge_sources), so a source needs about 1.5 beam
// FWHM more (13 px for the 8.7 px FWHM at 120 MHz) to be measurable.
const Border = 25

// ConfusionArcsec: a steady source with a brighter source closer than
// this is not scored. With deblending off (deblend_nthresh = 0, TraP's
// default) two sources closer than about two restoring-beam FWHM (175" at
// 120 MHz) share one island at the 3 sigma analysis threshold when the
// brighter one is bright, and are measured as one (seen on rsm-mini:
// pairs 130-225" apart).
const ConfusionArcsec = 350

// StrongSigma is the truth significance above which a transient must be
// a type 1 (likely) new source. SPEC 8.1 calls it type 1 when its
// measured peak exceeds rms_max * (detection_threshold + margin) = 9
// rms_max of the previous image, and the rms maps of the simulated images
// reach 1.17-1.43 times the image rms (PySE's 50 px cells hold ~36
// independent beams: ~12% scatter per cell); 9 * 1.43 = 12.9 sigma, plus
// 2 sigma of peak noise, is 15.
const StrongSigma = 15

// Figures are the acceptance figures of a run against the truth.
type Figures struct {
	// Transients by peak significance in their first accepted image
	// (truth SNR): at least 10 sigma (Bright), of which BrightFound are a
	// new source triggered in that image and BrightLikely one of type 1;
	// Strong (>= StrongSigma) and StrongLikely likewise; 8 to 10 sigma
	// (Faint; found = any new source triggered in that image).
	Bright, BrightFound, BrightLikely int
	Strong, StrongLikely              int
	Faint, FaintFound                 int
	// FalseNew and FalsePossible count new sources of type 1 and type 0
	// that match no injected transient, among Measurements in all.
	FalseNew, FalsePossible, Measurements int
	// Steady sources at least 10 sigma in their first accepted image;
	// OneRuncat of them have exactly one runcat within MatchArcsec;
	// Covered of those have a measurement of that runcat in every
	// accepted image of a later timestep that holds them.
	Steady, OneRuncat, Covered int
	// Variables with modulation index >= 0.3 and a mean truth SNR >= 20
	// over the accepted images that hold them, and how many the
	// variables query flagged; steady sources with a runcat, and how many
	// it flagged.
	Variables, VarFound     int
	SteadyAll, SteadyFlaged int
	// Problems lists the failures found, for the test log.
	Problems []string
}

func (f *Figures) problem(format string, a ...any) {
	if len(f.Problems) < 40 {
		f.Problems = append(f.Problems, fmt.Sprintf(format, a...))
	}
}

// String formats the figures.
func (f *Figures) String() string {
	return fmt.Sprintf("transients >=10 sigma: %d, new sources %d, type 1 %d; >=%d sigma: %d, type 1 %d; 8-10 sigma: %d/%d new sources; "+
		"false new sources: %d type 1, %d type 0, in %d measurements; steady >=10 sigma: %d, one runcat %d, full coverage %d; "+
		"variables (V>=0.3, >=20 sigma): %d/%d flagged; steady flagged %d/%d",
		f.Bright, f.BrightFound, f.BrightLikely, StrongSigma, f.Strong, f.StrongLikely, f.FaintFound, f.Faint,
		f.FalseNew, f.FalsePossible, f.Measurements, f.Steady, f.OneRuncat, f.Covered,
		f.VarFound, f.Variables, f.SteadyFlaged, f.SteadyAll)
}

// confused reports whether a source at least as bright as s lies within
// ConfusionArcsec of it.
func confused(t *Truth, s Source) bool {
	for _, o := range t.Sources {
		if o.ID != s.ID && o.Flux >= s.Flux && (sphere.Sep(o.RA, o.Dec, s.RA, s.Dec)*3600) < ConfusionArcsec {
			return true
		}
	}
	return false
}

// Score computes the figures of catalogue c (run with inputs in
// truth.Dir/images) against truth. flagged, when not nil, is the set of
// runcats the variables query returned.
func Score(tb testing.TB, truth *Truth, c *Catalogue, flagged map[int64]bool) *Figures {
	tb.Helper()
	f := &Figures{Measurements: len(c.Measurements)}
	// Images by path relative to the data set, in (time, frequency) order.
	type img struct {
		row catalog.Image
		ord int
	}
	byRel := map[string]img{}
	for k, r := range c.Images {
		rel, err := filepath.Rel(truth.Dir, r.URL)
		if err != nil {
			rel = r.URL
		}
		if !filepath.IsAbs(r.URL) {
			if abs, err := filepath.Abs(r.URL); err == nil {
				if rr, err := filepath.Rel(truth.Dir, abs); err == nil {
					rel = rr
				}
			}
		}
		byRel[filepath.ToSlash(rel)] = img{r, k}
	}
	meas := map[int64]catalog.Measurement{}
	for _, m := range c.Measurements {
		meas[m.ID] = m
	}
	links := map[int64][]int64{} // runcat -> measurement ids
	for _, a := range c.Associations {
		links[a.Runcat] = append(links[a.Runcat], a.Xtrsrc)
	}
	match := func(s Source) []catalog.Runcat {
		var out []catalog.Runcat
		for _, r := range c.Runcats {
			if !r.MonSrc && (sphere.Sep(s.RA, s.Dec, r.WmRA, r.WmDecl)*3600) < MatchArcsec {
				out = append(out, r)
			}
		}
		return out
	}
	// Fluxes per source, in image order, accepted images only, where
	// the image has data at the source (not in a NaN block). The truth
	// rows are visited image by image, so that one image at a time is
	// read and held (the RSM-scale run has 22 GB of them).
	var pixName string
	var pixImg *kernels.Image
	blank := func(fl Flux) bool {
		if fl.Image != pixName {
			pixName = fl.Image
			pixImg, _, _ = fitsimg.Read(filepath.Join(truth.Dir, fl.Image), fitsimg.Options{})
		}
		im := pixImg
		x, y := int(math.Round(fl.X)), int(math.Round(fl.Y))
		if im != nil && (x < Border || y < Border || x >= im.Rect.Dx()-Border || y >= im.Rect.Dy()-Border) {
			return true
		}
		return im == nil || !(image.Point{x, y}.In(im.Rect)) || math.IsNaN(float64(im.Pix[im.PixOffset(x, y)]))
	}
	per := map[int][]Flux{}
	order := make([]int, len(truth.Fluxes))
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(truth.Fluxes[a].Image, truth.Fluxes[b].Image) })
	for _, k := range order {
		fl := truth.Fluxes[k]
		im, ok := byRel[fl.Image]
		if !ok || im.row.Rejected || blank(fl) {
			continue
		}
		per[fl.Source] = append(per[fl.Source], fl)
	}
	for id := range per {
		slices.SortFunc(per[id], func(a, b Flux) int { return byRel[a.Image].ord - byRel[b.Image].ord })
	}
	isTransient := map[int]bool{}
	var ids []int
	for id := range truth.Sources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		s := truth.Sources[id]
		fl := per[id]
		switch s.Class {
		case "transient":
			isTransient[id] = true
			k := slices.IndexFunc(fl, func(x Flux) bool { return x.Flux > 0 })
			if k < 0 {
				continue
			}
			first := fl[k]
			im := byRel[first.Image].row
			if first.SNR < 8 {
				continue
			}
			bright := first.SNR >= 10
			if bright {
				f.Bright++
			} else {
				f.Faint++
			}
			strong := first.SNR >= StrongSigma
			if strong {
				f.Strong++
			}
			found, likely := false, false
			for _, ns := range c.NewSources {
				m, ok := meas[ns.TriggerXtrsrc]
				if !ok || m.Image != im.ID || (sphere.Sep(s.RA, s.Dec, m.RA, m.Decl)*3600) > MatchArcsec {
					continue
				}
				found = true
				likely = likely || ns.Type == catalog.NewSourceLikely
			}
			switch {
			case !found:
				f.problem("transient %d (%.4f, %.4f) at %.1f sigma in %s: no matching new source", id, s.RA, s.Dec, first.SNR, first.Image)
			case bright:
				f.BrightFound++
			default:
				f.FaintFound++
			}
			if bright && likely {
				f.BrightLikely++
			}
			if strong && likely {
				f.StrongLikely++
			} else if strong {
				f.problem("transient %d at %.1f sigma in %s: not a type 1 new source", id, first.SNR, first.Image)
			}
		case "steady", "variable":
			if len(fl) == 0 || fl[0].SNR < 10 || confused(truth, s) {
				continue
			}
			rcs := match(s)
			if s.Class == "steady" {
				f.Steady++
				if len(rcs) != 1 {
					f.problem("steady %d (%.4f, %.4f) at %.1f sigma: %d runcats", id, s.RA, s.Dec, fl[0].SNR, len(rcs))
					continue
				}
				f.OneRuncat++
				have := map[int64]bool{}
				for _, x := range links[rcs[0].ID] {
					im, _ := catalog.SplitMeasurementID(x)
					have[im] = true
				}
				ok := true
				for _, x := range fl[1:] {
					if !x.Time.After(fl[0].Time) {
						// The same timestep: SPEC 6.1 asks for a first
						// detection strictly earlier (SPEC 2.2).
						continue
					}
					if im := byRel[x.Image].row; !have[im.ID] {
						ok = false
						f.problem("steady %d: runcat %d has no measurement in image %d (%s)", id, rcs[0].ID, im.ID, x.Image)
						break
					}
				}
				if ok {
					f.Covered++
				}
			}
		}
	}
	// False new sources: new sources that match no transient.
	for _, ns := range c.NewSources {
		m := meas[ns.TriggerXtrsrc]
		hit := false
		for id := range isTransient {
			s := truth.Sources[id]
			if (sphere.Sep(s.RA, s.Dec, m.RA, m.Decl) * 3600) < MatchArcsec {
				hit = true
			}
		}
		switch {
		case hit:
		case ns.Type == catalog.NewSourceLikely:
			f.FalseNew++
			f.problem("false new source: runcat %d at (%.4f, %.4f), type 1, det_sigma %.1f", ns.Runcat, m.RA, m.Decl, m.DetSigma)
		default:
			f.FalsePossible++
		}
	}
	if flagged == nil {
		return f
	}
	// Variables: mean SNR over the accepted images >= 20.
	for _, id := range ids {
		s := truth.Sources[id]
		fl := per[id]
		if len(fl) == 0 {
			continue
		}
		var snr float64
		for _, x := range fl {
			snr += x.SNR
		}
		snr /= float64(len(fl))
		rcs := match(s)
		hit := false
		for _, r := range rcs {
			hit = hit || flagged[r.ID]
		}
		switch {
		case s.Class == "variable" && s.ModIdx >= 0.3 && snr >= 20:
			f.Variables++
			if hit {
				f.VarFound++
			} else {
				f.problem("variable %d (V %.2f, %.0f sigma): not flagged", id, s.ModIdx, snr)
			}
		case s.Class == "steady" && len(rcs) > 0:
			f.SteadyAll++
			if hit {
				f.SteadyFlaged++
			}
		}
	}
	return f
}
