package assoc

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"gotrap/catalog"
)

// randomLink has every field set, with floats of every kind (negative
// zero, NaN with a payload, infinities, subnormals) to check the packed
// records bit for bit.
func randomLink(rng *rand.Rand, runcat int64) catalog.Association {
	odd := []float64{math.Copysign(0, -1), math.Float64frombits(0x7ff8000000000abc), math.Inf(1), math.Inf(-1), 5e-324}
	f := func() float64 {
		if rng.IntN(4) == 0 {
			return odd[rng.IntN(len(odd))]
		}
		return rng.NormFloat64() * 1e3
	}
	return catalog.Association{Runcat: runcat, Xtrsrc: rng.Int64() - rng.Int64(), Type: int32(rng.Uint32()),
		Distance: f(), R: f(), VInt: f(), EtaInt: f(), FDatapoints: rng.Int64N(1 << 40)}
}

func sameBits(a, b []catalog.Association) bool {
	if len(a) != len(b) {
		return false
	}
	bits := func(l *catalog.Association) [8]uint64 {
		return [8]uint64{uint64(l.Runcat), uint64(l.Xtrsrc), uint64(l.Type), math.Float64bits(l.Distance),
			math.Float64bits(l.R), math.Float64bits(l.VInt), math.Float64bits(l.EtaInt), uint64(l.FDatapoints)}
	}
	for i := range a {
		if bits(&a[i]) != bits(&b[i]) {
			return false
		}
	}
	return true
}

// TestLinkStoreRoundTrip: many lists appended to in an interleaved order
// read back exactly, bit for bit, with blocks of 1 to 33 links; the file
// is gone from the directory while the store is open and after close.
func TestLinkStoreRoundTrip(t *testing.T) {
	const seed = 7
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, block := range []int{1, 2, 3, 32, 33} {
		dir := t.TempDir()
		st := &linkStore{dir: dir, block: block}
		lists := make([]linkList, 50)
		want := make([][]catalog.Association, len(lists))
		for range 4000 {
			k := rng.IntN(len(lists))
			l := randomLink(rng, int64(k))
			st.add(&lists[k], l)
			want[k] = append(want[k], l)
		}
		if st.err != nil {
			t.Fatal(st.err)
		}
		if st.f == nil {
			t.Fatalf("block %d: no file written", block)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("block %d: %d files left in the directory", block, len(ents))
		}
		var buf []catalog.Association
		for k := range lists {
			if len(lists[k].tail) >= block {
				t.Fatalf("block %d: list %d holds %d links in memory", block, k, len(lists[k].tail))
			}
			var err error
			if buf, err = st.read(buf[:0], &lists[k]); err != nil {
				t.Fatal(err)
			}
			if !sameBits(buf, want[k]) {
				t.Fatalf("block %d: list %d differs after the round trip", block, k)
			}
		}
		if err := st.close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLinkStoreInMemory: without a directory nothing is written.
func TestLinkStoreInMemory(t *testing.T) {
	st := &linkStore{block: 2}
	var l linkList
	rng := rand.New(rand.NewPCG(1, 1))
	var want []catalog.Association
	for range 10 {
		a := randomLink(rng, 1)
		st.add(&l, a)
		want = append(want, a)
	}
	got, err := st.read(nil, &l)
	if err != nil || st.f != nil || l.blocks != 0 || !sameBits(got, want) {
		t.Fatalf("err %v, file %v, %d blocks, equal %v", err, st.f, l.blocks, sameBits(got, want))
	}
}

// TestSpillMatchesMemory: a random sky with forks, forced and monitor
// fits gives the same results (Results, including a fork's copied
// history, and the final tables) with the links spilled to disk in small
// blocks as with the links in memory.
func TestSpillMatchesMemory(t *testing.T) {
	const seed = 42
	t.Logf("seed %d", seed)
	mem, e := runSkyWith(t, seed, false, DefaultConfig(), 0)
	if e.links.f != nil {
		t.Fatal("the in-memory engine wrote a file")
	}
	types := map[int32]int{}
	for _, l := range assocsOf(e) {
		types[l.Type]++
	}
	if types[catalog.AssocForkCopy] == 0 {
		t.Fatalf("no fork copies on the sky: %v", types)
	}
	for _, block := range []int{1, 3, 16} {
		cfg := DefaultConfig()
		cfg.SpillDir = t.TempDir()
		disk, d := runSkyWith(t, seed, false, cfg, block)
		if d.links.f == nil {
			t.Fatalf("block %d: nothing spilled", block)
		}
		if !reflect.DeepEqual(mem, disk) {
			t.Fatalf("block %d: the results differ with the links on disk", block)
		}
		// Reading in chunks of any size gives the same table.
		as := assocsOf(d)
		for _, n := range []int{1, 7, 1000} {
			var got []catalog.Association
			r := d.AssociationReader()
			for {
				k := len(got)
				var err error
				if got, err = r.Read(got, n); err != nil {
					t.Fatal(err)
				}
				if len(got) == k {
					break
				}
				if len(got)-k > n {
					t.Fatalf("Read returned %d > %d rows", len(got)-k, n)
				}
			}
			if !slices.Equal(got, as) {
				t.Fatalf("block %d: reading by %d differs", block, n)
			}
		}
	}
}

// TestSpillError: a store that cannot create its file fails the call
// that needed it with an error, and every later one.
func TestSpillError(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpillDir = filepath.Join(t.TempDir(), "missing")
	e := newEngine(t, cfg)
	e.links.block = 1
	addImage(t, e, imageAt(1, 0, 150e6, 10, 10))
	addImage(t, e, imageAt(2, 1, 150e6, 10, 10))
	// The new source's first link fills a block of 1.
	if _, err := e.AssociateBlind(1, []catalog.Measurement{meas(1, 0, 10, 10, 1, 0.1)}); err == nil {
		t.Fatal("no error from a store that cannot create its file")
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v is not the file's", err)
	}
	if _, err := e.AssociateBlind(2, nil); err == nil {
		t.Fatal("the store's error was not sticky")
	}
	if _, err := e.Associations(); err == nil {
		t.Fatal("Associations read a broken store without error")
	}
}

// TestLinkStoreReuse: lists that are released (their runcats forked or
// emigrated) give their blocks to the next ones, so a store whose live
// links stay bounded does not grow its file however many links pass
// through it, and every live list still reads back bit for bit.
func TestLinkStoreReuse(t *testing.T) {
	const seed = 8
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const block, live = 4, 20
	st := &linkStore{dir: t.TempDir(), block: block}
	lists := make([]linkList, live)
	want := make([][]catalog.Association, live)
	var peak int64
	for round := range 200 {
		// Each round replaces one list (a runcat deleted, another
		// created) and adds links to random lists.
		k := rng.IntN(live)
		st.release(int64(k), &lists[k])
		want[k] = nil
		for range 40 {
			j := rng.IntN(live)
			l := randomLink(rng, int64(round*live+j))
			st.add(&lists[j], l)
			want[j] = append(want[j], l)
		}
		if round == 20 {
			peak = st.off
		}
		var n int
		for j := range lists {
			n += len(want[j])
		}
		// The file holds the live lists' full blocks, plus the blocks
		// released and not yet written over.
		if max := int64(n/block+len(st.free)) * block * linkSize; st.off > max+int64(live*block*linkSize) {
			t.Fatalf("round %d: file %d bytes for %d live links", round, st.off, n)
		}
	}
	if st.err != nil {
		t.Fatal(st.err)
	}
	// Links passed: 8,000; without reuse the file would hold them all.
	if all := int64(200*40) * linkSize; st.off >= all/2 || st.off > 3*peak {
		t.Errorf("file grew to %d bytes (%d at round 20) for %d links written", st.off, peak, 200*40)
	}
	var buf []catalog.Association
	for j := range lists {
		var err error
		if buf, err = st.read(buf[:0], &lists[j]); err != nil {
			t.Fatal(err)
		}
		if !sameBits(buf, want[j]) {
			t.Errorf("list %d: %d links read, %d written, or not the same", j, len(buf), len(want[j]))
		}
	}
	if err := st.close(); err != nil {
		t.Fatal(err)
	}
}
