package fitsimg

import (
	"math/rand/v2"
	"testing"
)

// TestBitReader: the RICE bit reader (64-bit loads while 8 bytes remain)
// gives the bits of the definition, read one at a time, for random reads
// of 0 to 32 bits and runs of zeros over random bytes (a third of them
// zero, so long runs cross loads), and reports the end of the data.
func TestBitReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 2000; trial++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
			if rng.IntN(3) == 0 {
				b[i] = 0
			}
		}
		fast := bitReader{b: b}
		pos := 0
		get := func() int {
			if pos>>3 >= len(b) {
				return -1
			}
			v := int(b[pos>>3] >> (7 - pos&7) & 1)
			pos++
			return v
		}
		for !fast.err {
			if rng.IntN(2) == 0 {
				n := rng.IntN(33)
				var want uint64
				ok := true
				for range n {
					v := get()
					if v < 0 {
						ok = false
						break
					}
					want = want<<1 | uint64(v)
				}
				got := fast.read(n)
				if !ok {
					if !fast.err {
						t.Fatalf("no error at end")
					}
					break
				}
				if got != want || fast.pos != pos {
					t.Fatalf("read(%d) = %x pos %d, want %x pos %d", n, got, fast.pos, want, pos)
				}
			} else {
				z := 0
				ok := true
				for {
					v := get()
					if v < 0 {
						ok = false
						break
					}
					if v == 1 {
						break
					}
					z++
				}
				got := fast.zeros()
				if !ok {
					if !fast.err {
						t.Fatalf("no error at end (zeros)")
					}
					break
				}
				if got != z || fast.pos != pos {
					t.Fatalf("zeros = %d pos %d, want %d pos %d", got, fast.pos, z, pos)
				}
			}
		}
	}
}
