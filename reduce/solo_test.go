package reduce_test

import (
	"testing"

	"gotrap/reduce"
	"gotrap/reduce/reducetest"
)

// TestSolo: Solo passes the collectives' checks of a one-rank group and
// gives the same digest as an in-process group of one.
func TestSolo(t *testing.T) {
	const seed = 20260501
	got, err := reducetest.Check(reduce.Solo{}, seed, 4)
	if err != nil {
		t.Fatal(err)
	}
	var want reducetest.Result
	if err := reduce.Run(1, func(c reduce.Comm) error {
		var err error
		want, err = reducetest.Check(c, seed, 4)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Solo digest %x, in-process group of one %x", got.Digest, want.Digest)
	}
	// The results are copies: the caller may reuse its buffers.
	send := []byte{1, 2, 3}
	out, _ := reduce.Solo{}.Allgatherv(send)
	send[0] = 9
	if out[0][0] != 1 {
		t.Error("Allgatherv returned the caller's buffer")
	}
}

func TestSoloMisuse(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"Bcast root 1", func() { _, _ = reduce.Solo{}.Bcast(nil, 1) }},
		{"Alltoallv of 2", func() { _, _ = reduce.Solo{}.Alltoallv(make([][]byte, 2)) }},
		{"unknown Op", func() { _ = reduce.Solo{}.AllreduceInt64(nil, reduce.Op(99)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			c.f()
		})
	}
}

// TestCounting counts the bytes of each collective on 3 in-process ranks
// against the sizes sent: rank r sends r+1 bytes to each other rank.
func TestCounting(t *testing.T) {
	const n = 3
	stats := make([][]reduce.CommStat, n)
	err := reduce.Run(n, func(base reduce.Comm) error {
		c := reduce.NewCounting(base)
		me := c.Rank()
		if err := c.Barrier(); err != nil {
			return err
		}
		if _, err := c.Bcast(make([]byte, 10), 1); err != nil {
			return err
		}
		if err := c.AllreduceInt64(make([]int64, 4), reduce.Sum); err != nil {
			return err
		}
		if _, err := c.Allgatherv(make([]byte, me+1)); err != nil {
			return err
		}
		send := make([][]byte, n)
		for j := range send {
			send[j] = make([]byte, me+1)
		}
		if _, err := c.Alltoallv(send); err != nil {
			return err
		}
		stats[me] = c.Stats()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for me, st := range stats {
		others := 0 // bytes the other ranks send this one: (r+1) each
		for r := range n {
			if r != me {
				others += r + 1
			}
		}
		bsent, brecv := 0, 10
		if me == 1 {
			bsent, brecv = 10, 0
		}
		want := []reduce.CommStat{
			{Op: "Allgatherv", Calls: 1, Sent: int64(me + 1), Recv: int64(others)},
			{Op: "AllreduceInt64", Calls: 1, Sent: 32, Recv: 32},
			{Op: "Alltoallv", Calls: 1, Sent: int64((n - 1) * (me + 1)), Recv: int64(others)},
			{Op: "Barrier", Calls: 1},
			{Op: "Bcast", Calls: 1, Sent: int64(bsent), Recv: int64(brecv)},
		}
		if len(st) != len(want) {
			t.Fatalf("rank %d: %d stats, want %d", me, len(st), len(want))
		}
		for i, w := range want {
			g := st[i]
			g.Seconds = 0
			if g != w {
				t.Errorf("rank %d: %+v, want %+v", me, g, w)
			}
		}
	}
}
