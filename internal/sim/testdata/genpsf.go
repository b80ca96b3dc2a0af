//go:build ignore

// Genpsf derives the embedded PSF table internal/sim/psf_lofar.bin from
// the real WSClean dirty beam of ../shared/data/psf.fits (LOFAR HBA,
// 120 MHz, 40" pixels, BMAJ 228" BMIN 167" BPA 86.8°): the central 49x49
// pixels around the peak, peak 1, symmetrised, cos²-tapered over the outer
// 8 pixels (sim.PSFFromFITS), as int16 (4.8 KB). Run from the repository
// root:
//
//	go run internal/sim/testdata/genpsf.go ../shared/data/psf.fits internal/sim/psf_lofar.bin
package main

import (
	"fmt"
	"os"

	"gotrap/internal/rundir"
	"gotrap/internal/sim"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: genpsf PSF.fits OUT.bin")
		os.Exit(2)
	}
	p, err := sim.PSFFromFITS(os.Args[1], 24)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	b, err := p.MarshalBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := rundir.WriteFile(os.Args[2], b); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("wrote %s: %d bytes\n", os.Args[2], len(b))
}
