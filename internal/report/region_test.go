package report

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"gotrap/kernels"
)

func TestWriteRegions(t *testing.T) {
	srcs := []kernels.Source{
		{ID: 0, RA: 136.896035028, Dec: 14.0221586638, SmajAsec: 27.12, SminAsec: 12.33, ThetaCeles: 179.99,
			X: 265.93, Y: 258.83, Smaj: 5.42, Smin: 2.47, Theta: 0.0875},
		{ID: 1, RA: math.NaN()}, // skipped
		{ID: 2, RA: 10, Dec: -5, SmajAsec: 3, SminAsec: 2, ThetaCeles: 300, X: 1, Y: 2, Smaj: 1, Smin: 1, Theta: -math.Pi},
	}
	var b bytes.Buffer
	if err := WriteRegions(&b, srcs, RegionFK5, ""); err != nil {
		t.Fatal(err)
	}
	got := b.String()
	// PA 179.99 east of north is DS9 angle 269.99 (from the RA axis).
	for _, want := range []string{"fk5\n", `ellipse(136.89603503,14.02215866,27.1200",12.3300",269.9900) # text={0}`,
		`ellipse(10.00000000,-5.00000000,3.0000",2.0000",30.0000) # text={2}`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "text={1}") {
		t.Error("a source without a position was written")
	}
	b.Reset()
	if err := WriteRegions(&b, srcs[:1], RegionImage, "red"); err != nil {
		t.Fatal(err)
	}
	// FITS pixels are 1-based; theta 0.0875 rad from +y is 95.0134 deg from +x.
	if want := "ellipse(266.93000000,259.83000000,5.4200,2.4700,95.0134) # text={0}"; !strings.Contains(b.String(), want) {
		t.Errorf("image region:\n%s\nwant %s", b.String(), want)
	}
}
