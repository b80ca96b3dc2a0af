package catalog

import (
	"slices"
	"testing"
)

// TestNextMerge: the oldest fanIn consecutive parts of one level are
// merged first, a replayed part never, and parts of a level split by
// another level are not consecutive.
func TestNextMerge(t *testing.T) {
	p := func(levels ...int) []Part {
		var parts []Part
		for i, lv := range levels {
			parts = append(parts, Part{Seq: 10 * i, Level: lv})
		}
		return parts
	}
	for _, c := range []struct {
		parts []Part
		at    int
		ok    bool
	}{
		{p(0, 0), 0, false},
		{p(0, 0, 0), 0, true},
		{p(1, 0, 0, 0), 1, true},
		{p(1, 1, 0, 0, 1, 0), 0, false},
		{p(2, 1, 1, 1, 0, 0, 0), 1, true}, // the older window first
		{p(LevelReplay, LevelReplay, LevelReplay), 0, false},
		{p(0, LevelReplay, 0, 0), 0, false},
		{p(LevelReplay, 0, 0, 0, 0), 1, true},
	} {
		at, ok := NextMerge(c.parts, 3)
		if at != c.at || ok != c.ok {
			t.Errorf("NextMerge(%v, 3) = %d, %v; want %d, %v", c.parts, at, ok, c.at, c.ok)
		}
	}
	got := Merged(p(2, 1, 1, 1, 0), 1, 3)
	if want := []Part{{0, 2}, {10, 2}, {40, 0}}; !slices.Equal(got, want) {
		t.Errorf("Merged: %v, want %v", got, want)
	}
	// MergeLevels after each new part: at most fanIn-1 parts a level.
	var parts []Part
	merges := 0
	for i := range 100 {
		parts = append(parts, Part{Seq: i})
		var err error
		parts, err = MergeLevels(parts, 3, func(seqs []int) error {
			merges++
			if len(seqs) != 3 {
				t.Fatalf("merging %v", seqs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	n := map[int]int{}
	for _, q := range parts {
		n[q.Level]++
		if n[q.Level] > 2 {
			t.Fatalf("after 100 parts: %v", parts)
		}
	}
	// 100 is 10201 in base 3: a part of level 4, two of level 2, one
	// of level 0; each merge leaves two parts fewer.
	if want := []Part{{0, 4}, {81, 2}, {90, 2}, {99, 0}}; !slices.Equal(parts, want) || merges != (100-4)/2 {
		t.Errorf("after 100 parts, %d merges: %v, want %v", merges, parts, want)
	}
}
