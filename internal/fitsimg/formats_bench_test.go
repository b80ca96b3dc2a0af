package fitsimg

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gotrap/internal/testutil"
)

// BenchmarkReadFormats reads the real SWIFT image (512 x 512 float32)
// through Read in each format: the FITS file, its CASA image (same
// pixels), a gzip copy and, when fpack is installed, RICE-quantised and
// lossless GZIP_2 tile-compressed copies (made here). MB/s are of the
// 1 MiB plane.
func BenchmarkReadFormats(b *testing.B) {
	data := testutil.SharedData(b)
	src := filepath.Join(data, "SWIFT_554620-130504.fits")
	dir := b.TempDir()
	raw, err := os.ReadFile(src)
	if err != nil {
		b.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	gz := filepath.Join(dir, "swift.fits.gz")
	if err := os.WriteFile(gz, z.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	paths := []struct{ name, path string }{
		{"fits", src},
		{"casa", filepath.Join(data, "casa", "SWIFT_554620-130504.image")},
		{"gzip", gz},
	}
	if fpack, err := exec.LookPath("fpack"); err == nil {
		for _, c := range []struct {
			name string
			args []string
		}{{"fz-rice-q4", []string{"-r", "-q11", "4"}}, {"fz-gzip2-lossless", []string{"-g2", "-q", "0"}}} {
			out := filepath.Join(dir, c.name+".fits.fz")
			if o, err := exec.Command(fpack, append(c.args, "-O", out, src)...).CombinedOutput(); err != nil {
				b.Fatalf("fpack: %v: %s", err, o)
			}
			paths = append(paths, struct{ name, path string }{c.name, out})
		}
	}
	for _, p := range paths {
		b.Run(p.name, func(b *testing.B) {
			b.SetBytes(512 * 512 * 4)
			for b.Loop() {
				if _, _, err := Read(p.path, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
