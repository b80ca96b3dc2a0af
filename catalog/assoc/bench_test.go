package assoc

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"gotrap/catalog"
)

// BenchmarkAssociateBlind associates one image of nsrc measurements
// against nrc runcats spread over a 10x10 deg field (RSM-like density of
// ~1000 per square degree), 80% of the measurements near a runcat.
func BenchmarkAssociateBlind(b *testing.B) {
	for _, sz := range []struct{ nrc, nsrc int }{{1e5, 1e4}, {1e4, 1e3}} {
		b.Run(fmt.Sprintf("runcats=%.0e/sources=%.0e", float64(sz.nrc), float64(sz.nsrc)), func(b *testing.B) {
			b.ReportAllocs()
			// Bytes: the measurement records associated per image (their
			// in-memory size), so MB/s compares across sizes.
			b.SetBytes(int64(sz.nsrc) * int64(reflect.TypeFor[catalog.Measurement]().Size()))
			rng := rand.New(rand.NewPCG(1, 1))
			e := newEngine(b, DefaultConfig())
			im := imageAt(1, 0, 150e6, 100, 20)
			im.NX, im.NY = 1000, 1000 // 10 x 10 deg
			addImage(b, e, im)
			ra := make([]float64, sz.nrc)
			dec := make([]float64, sz.nrc)
			for i := range sz.nrc {
				ra[i], dec[i] = 95+10*rng.Float64(), 15+10*rng.Float64()
				m := meas(1, i, ra[i], dec[i], 1, 0.1)
				if _, err := e.prepare(&m); err != nil {
					b.Fatal(err)
				}
				e.src[m.ID] = &source{rc: newRuncat(&m), first: t0, stokes: 1, regions: []AssocSkyRegion{{Runcat: m.ID, SkyRegion: 1}}}
			}
			ms := make([]catalog.Measurement, sz.nsrc)
			for i := range ms {
				j := rng.IntN(sz.nrc)
				a, d := ra[j]+5*arcsec*rng.NormFloat64(), dec[j]+5*arcsec*rng.NormFloat64()
				if rng.Float64() < 0.2 {
					a, d = 95+10*rng.Float64(), 15+10*rng.Float64()
				}
				ms[i] = meas(2, i, a, d, 1, 0.1)
			}
			// Each iteration needs a fresh image and a fresh state; the
			// state is rebuilt outside the timer from a snapshot.
			base := e.src
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				e2 := newEngine(b, DefaultConfig())
				e2.src = make(map[int64]*source, len(base))
				for id, s := range base {
					c := *s
					e2.src[id] = &c
				}
				e2.regions, e2.bands = e.regions, e.bands
				img := imageAt(2, 1, 150e6, 100, 20)
				img.NX, img.NY = 1000, 1000
				addImage(b, e2, img)
				b.StartTimer()
				if _, err := e2.AssociateBlind(2, ms); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
