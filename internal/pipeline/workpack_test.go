package pipeline

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// TestWorkPacks: the staged files of 60 images packed two images at a
// time, as 30 publishes do, leave RUN/work with the packs alone (merged:
// at most partFanIn-1 per level), smaller than the files; unpacking
// gives back every file byte for byte, keeps a file that exists, and
// removes the packs. A damaged pack is an error that names it.
func TestWorkPacks(t *testing.T) {
	const seed = 9
	rng := rand.New(rand.NewPCG(seed, 1))
	run := t.TempDir()
	want := map[string][]byte{}
	footer := bytes.Repeat([]byte("a Parquet footer that repeats from image to image; "), 100)
	total := 0
	var packs []catalog.Part
	for pub := range 30 {
		var ids []int64
		for k := range 2 {
			id := int64(pub*2 + k + 1)
			ids = append(ids, id)
			for _, f := range []struct{ step, suffix string }{{StepExtract, "blind.parquet"}, {StepExtract, "xxh64"}, {StepForced, "json"}} {
				data := append(fmt.Appendf(nil, "%d %d", id, rng.Int64()), footer...)
				p := rundir.StagedPath(run, f.step, id, f.suffix)
				if err := rundir.WriteFile(p, data); err != nil {
					t.Fatal(err)
				}
				want[p] = data
				total += len(data)
			}
		}
		if err := packStaged(run, 0, pub+1, ids); err != nil {
			t.Fatal(err)
		}
		packs = append(packs, catalog.Part{Seq: pub + 1})
		var err error
		if packs, err = compactPacks(run, 0, packs); err != nil {
			t.Fatal(err)
		}
	}
	for p := range want {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s left beside the packs", p)
		}
	}
	files, _ := filepath.Glob(rundir.PackGlob(run))
	if len(files) != len(packs) || len(files) > 2*(partFanIn-1) {
		t.Errorf("%d pack files, %d packs: %v", len(files), len(packs), packs)
	}
	size := 0
	for _, f := range files {
		st, _ := os.Stat(f)
		size += int(st.Size())
	}
	if size*4 > total {
		t.Errorf("packs hold %d bytes for %d bytes of files: the repeats are not compressed", size, total)
	}
	// A file that exists is kept (a crash between a pack and the removal
	// of its files leaves both).
	keep := rundir.StagedPath(run, StepExtract, 7, "xxh64")
	if err := rundir.WriteFile(keep, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	want[keep] = []byte("kept")
	n, err := unpackWork(run)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want)-1 {
		t.Errorf("%d files unpacked, want %d", n, len(want)-1)
	}
	for p, data := range want {
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes back (%v), want %d", p, len(got), err, len(data))
		}
	}
	if left, _ := filepath.Glob(rundir.PackGlob(run)); len(left) != 0 {
		t.Errorf("packs left after unpacking: %v", left)
	}
	// A damaged pack.
	if err := packStaged(run, 0, 1, []int64{1}); err != nil {
		t.Fatal(err)
	}
	p := rundir.PackPath(run, 0, 1)
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := unpackWork(run); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("a truncated pack: err = %v, want one naming %s", err, p)
	}
}
