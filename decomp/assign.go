package decomp

import (
	"container/heap"
	"math"
	"slices"
)

// AssignLPT assigns items with the given costs to nranks ranks by greedy
// longest-processing-time: items in order of decreasing cost (ties: lower
// index first) each go to the rank with the least load so far (ties: lower
// rank). It returns owner[i], the rank of item i. The result depends only
// on the costs and nranks. The largest load is at most 4/3 of the optimum
// (Graham 1969), and at most the mean load plus the largest single cost.
//
// Extraction (DESIGN step 2) uses it for images: images are independent,
// so balance matters and locality does not. It panics if nranks < 1 or a
// cost is negative, infinite or NaN.
func AssignLPT(costs []float64, nranks int) []int {
	if nranks < 1 {
		panic(badRanks)
	}
	return AssignLPTFrom(costs, make([]float64, nranks))
}

// AssignLPTFrom is AssignLPT onto ranks that already carry loads
// (len(loads) ranks), which it updates: a stream of batches (the images
// of one timestep after another) so stays balanced over the whole stream
// and not only within each batch. It panics if loads is empty or a cost
// is negative, infinite or NaN.
func AssignLPTFrom(costs, loads []float64) []int {
	if len(loads) < 1 {
		panic(badRanks)
	}
	for _, c := range costs {
		if !(c >= 0) || math.IsInf(c, 1) {
			panic(badCost)
		}
	}
	order := make([]int, len(costs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case costs[a] > costs[b]:
			return -1
		case costs[a] < costs[b]:
			return 1
		}
		return a - b
	})
	h := make(loadHeap, len(loads))
	for r := range h {
		h[r] = rankLoad{rank: r, load: loads[r]}
	}
	heap.Init(&h)
	owner := make([]int, len(costs))
	for _, i := range order {
		owner[i] = h[0].rank
		h[0].load += costs[i]
		heap.Fix(&h, 0)
	}
	for _, rl := range h {
		loads[rl.rank] = rl.load
	}
	return owner
}

type rankLoad struct {
	load float64
	rank int
}

// loadHeap is a min-heap on (load, rank).
type loadHeap []rankLoad

func (h loadHeap) Len() int { return len(h) }
func (h loadHeap) Less(i, j int) bool {
	if h[i].load != h[j].load {
		return h[i].load < h[j].load
	}
	return h[i].rank < h[j].rank
}
func (h loadHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *loadHeap) Push(x any)   { *h = append(*h, x.(rankLoad)) }
func (h *loadHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// AssignBlocks splits items, in their given order, into nranks contiguous
// blocks of similar total weight and returns owner[i]. Item i goes to the
// rank whose share [r, r+1)·W/nranks of the total weight W holds the
// midpoint of the item's own interval on the running sum; owners are
// therefore non-decreasing, and each rank's load is within one largest
// weight of W/nranks. All-zero weights count as equal weights. Ranks may
// get no items when there are fewer items than ranks.
//
// The association stage uses it for sky tiles in a spatially coherent
// order (see [AssignTiles]): neighbours share a rank, so fewer halo copies
// cross ranks. It panics if nranks < 1 or a weight is negative, infinite
// or NaN.
func AssignBlocks(weights []float64, nranks int) []int {
	if nranks < 1 {
		panic(badRanks)
	}
	total := 0.0
	for _, w := range weights {
		if !(w >= 0) || math.IsInf(w, 1) {
			panic(badCost)
		}
		total += w
	}
	owner := make([]int, len(weights))
	uniform := !(total > 0)
	if uniform {
		total = float64(len(weights))
	}
	run := 0.0
	for i, w := range weights {
		if uniform {
			w = 1
		}
		mid := run + w/2
		r := int(mid / total * float64(nranks))
		owner[i] = min(max(r, 0), nranks-1)
		run += w
	}
	return owner
}

// Loads returns the summed cost per rank of an assignment.
func Loads(costs []float64, owner []int, nranks int) []float64 {
	loads := make([]float64, nranks)
	for i, c := range costs {
		loads[owner[i]] += c
	}
	return loads
}
