package pipeline

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// TestPartMerger: publishing 80 times, with the merges in the background
// held back for a few publishes each as a slow merge is: a publish never
// waits for the merge in flight; after each publish the parts read in
// number order hold every row written, once, in order, for each stage
// (a merge is put in place whole, or not yet); the replayed part of a
// restart is never merged; once settled, at most partFanIn-1 parts a
// level; a merge stopped half-way leaves the parts as they were and
// nothing aside.
func TestPartMerger(t *testing.T) {
	const seed = 5
	rng := rand.New(rand.NewPCG(seed, 1))
	run := t.TempDir()
	started := make(chan []int, 1)
	release := make(chan struct{})
	testHookMergeStarted = func(_ string, seqs []int) {
		started <- seqs
		<-release
	}
	t.Cleanup(func() { testHookMergeStarted = nil })
	m := newPartMerger[catalog.Measurement](run, catalog.TableMeasurements, measurementStages[:], 0, nil)
	var want [3][]int64
	id := int64(0)
	held, merges := 0, 0 // publishes the merge in flight has been held for
	inFlight := false
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
		if inFlight && held >= 1+rng.IntN(4) {
			release <- struct{}{} // the merge may now finish; a later publish lands it
			inFlight = false
			merges++
		}
		added := make(chan error, 1)
		go func() { added <- m.add(catalog.Part{Seq: seq, Level: level}) }()
		select {
		case err := <-added:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second): // far beyond a write of a few rows
			t.Fatalf("publish %d waited for the merge in flight", pub)
		}
		select {
		case <-started:
			inFlight, held = true, 0
		default:
			held++
		}
		checkParts(t, run, want, fmt.Sprintf("after publish %d", pub))
	}
	if inFlight {
		release <- struct{}{}
		merges++
	}
	testHookMergeStarted = nil
	for m.done != nil {
		if err := m.settle(); err != nil {
			t.Fatal(err)
		}
		if err := m.step(); err != nil {
			t.Fatal(err)
		}
	}
	perLevel := map[int]int{}
	for _, p := range m.parts {
		perLevel[p.Level]++
	}
	for lv, n := range perLevel {
		if n > partFanIn-1 && lv != catalog.LevelReplay || lv == catalog.LevelReplay && n != 1 {
			t.Fatalf("settled: %d parts of level %d: %v", n, lv, m.parts)
		}
	}
	if merges == 0 {
		t.Fatal("no merge was held back")
	}
	files := checkParts(t, run, want, "settled")
	if files != len(m.parts)*len(measurementStages) {
		t.Errorf("%d files, %d parts", files, len(m.parts))
	}

	// A merge stopped half-way: nothing aside, the parts unchanged. The
	// settled parts end with partFanIn-1 of level 0 (79 = 64+8+7): one
	// more starts a merge, held until stop waits for it.
	testHookMergeStarted = func(_ string, seqs []int) {
		started <- seqs
		<-release
	}
	before := append(slices.Clone(m.parts), catalog.Part{Seq: 81})
	for _, stage := range measurementStages {
		id++
		if err := catalog.WriteFile(rundir.PartPath(run, catalog.TableMeasurements, 0, stage, 81), []catalog.Measurement{{ID: id}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.add(catalog.Part{Seq: 81}); err != nil {
		t.Fatal(err)
	}
	if seqs := <-started; seqs[len(seqs)-1] != 81 {
		t.Fatalf("merging %v", seqs)
	}
	go func() { release <- struct{}{} }()
	if err := m.stop(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.parts, before) {
		t.Errorf("after stop: %v, want %v", m.parts, before)
	}
	aside, _ := filepath.Glob(filepath.Join(filepath.Dir(rundir.PartPath(run, catalog.TableMeasurements, 0, "", 0)), ".*"))
	if len(aside) > 0 {
		t.Errorf("left aside: %v", aside)
	}
}

// checkParts reads run's measurement parts of each stage in number order
// and checks that they hold the rows want, once, in order; it returns the
// number of part files.
func checkParts(t *testing.T, run string, want [3][]int64, when string) int {
	t.Helper()
	n := 0
	for k, stage := range measurementStages {
		files, err := filepath.Glob(rundir.PartGlob(run, catalog.TableMeasurements, stage))
		if err != nil {
			t.Fatal(err)
		}
		n += len(files)
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
			t.Fatalf("%s: %s: the parts hold %d rows, %d written, or not in order", when, stage, len(got), len(want[k]))
		}
	}
	return n
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
