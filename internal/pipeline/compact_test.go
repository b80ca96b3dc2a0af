package pipeline

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// TestCompactParts: publishing 80 times, merging after each publish as
// a live run does, keeps at most partFanIn parts per level, and the parts
// read in number order hold every row written, once, in order, for each
// stage; the replayed part of a restart is never merged.
func TestCompactParts(t *testing.T) {
	run := t.TempDir()
	var parts []catalog.Part
	var want [3][]int64
	id := int64(0)
	for pub := 0; pub < 80; pub++ {
		seq := pub + 1
		level := 0
		if pub == 0 {
			level = catalog.LevelReplay
		}
		for k, stage := range measurementStages {
			var rows []catalog.Measurement
			for j := 0; j < (pub*7+k)%5; j++ { // some parts are empty
				id++
				rows = append(rows, catalog.Measurement{ID: id, Image: int64(pub)})
				want[k] = append(want[k], id)
			}
			if err := catalog.WriteFile(rundir.PartPath(run, catalog.TableMeasurements, 0, stage, seq), rows); err != nil {
				t.Fatal(err)
			}
		}
		parts = append(parts, catalog.Part{Seq: seq, Level: level})
		var err error
		if parts, err = compactParts[catalog.Measurement](run, catalog.TableMeasurements, measurementStages[:], 0, parts, nil); err != nil {
			t.Fatal(err)
		}
		perLevel := map[int]int{}
		for _, p := range parts {
			perLevel[p.Level]++
		}
		for lv, n := range perLevel {
			if n > partFanIn-1 && lv != catalog.LevelReplay || lv == catalog.LevelReplay && n != 1 {
				t.Fatalf("after publish %d: %d parts of level %d: %v", pub, n, lv, parts)
			}
		}
	}
	if len(parts) > 1+3*(partFanIn-1) { // 80 publishes: levels 0..2 (8^3 > 80)
		t.Errorf("%d parts after 80 publishes: %v", len(parts), parts)
	}
	for k, stage := range measurementStages {
		files, err := filepath.Glob(rundir.PartGlob(run, catalog.TableMeasurements, stage))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != len(parts) {
			t.Errorf("%s: %d files, %d parts", stage, len(files), len(parts))
		}
		sort.Slice(files, func(i, j int) bool {
			a, _ := rundir.PartSeq(files[i])
			b, _ := rundir.PartSeq(files[j])
			return a < b
		})
		var got []int64
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			rows, err := catalog.Read[catalog.Measurement](fh)
			fh.Close()
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got = append(got, r.ID)
			}
		}
		if !slices.Equal(got, want[k]) {
			t.Errorf("%s: the parts hold %d rows, %d written, or not in order", stage, len(got), len(want[k]))
		}
	}
}

// TestRewritePartsDrop: rewriting a part without the rows drop names (a
// live run's links of deleted runcats) keeps the others in order, in
// the part's own file, and merging parts with drop leaves one part.
func TestRewritePartsDrop(t *testing.T) {
	run := t.TempDir()
	var want []catalog.Association
	for seq := range 3 {
		var rows []catalog.Association
		for k := range 5 {
			a := catalog.Association{Runcat: int64(k % 3), Xtrsrc: int64(seq*10 + k)}
			rows = append(rows, a)
			if a.Runcat != 1 {
				want = append(want, a)
			}
		}
		if err := catalog.WriteFile(rundir.PartPath(run, catalog.TableAssociations, 0, "", seq), rows); err != nil {
			t.Fatal(err)
		}
	}
	drop := func(a *catalog.Association) bool { return a.Runcat == 1 }
	if err := rewriteParts(run, catalog.TableAssociations, 0, "", []int{1}, drop, nil); err != nil {
		t.Fatal(err)
	}
	if err := rewriteParts(run, catalog.TableAssociations, 0, "", []int{0, 1, 2}, drop, nil); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(rundir.PartGlob(run, catalog.TableAssociations, ""))
	if err != nil || len(files) != 1 || files[0] != rundir.PartPath(run, catalog.TableAssociations, 0, "", 0) {
		t.Fatalf("parts left: %v (%v), want part 0 alone", files, err)
	}
	fh, err := os.Open(files[0])
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	got, err := catalog.Read[catalog.Association](fh)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}
