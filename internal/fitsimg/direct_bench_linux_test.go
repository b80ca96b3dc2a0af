package fitsimg

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sys/unix"

	"gotrap/kernels"
)

// BenchmarkReadCold reads RSM-sized images (1280 x 1280 BITPIX -32, 6.5
// MB files, 32 of them in turn) as the pipeline's workers do, hashing
// each file, and reports the process's CPU time per file (cpu-ms/file,
// getrusage around the reads alone) next to the wall time:
//
//   - cache=cold: each file dropped from the page cache before its read
//     (posix_fadvise DONTNEED, outside the measurement); read=path is
//     ReadIntoHashed (pread through the page cache, the reads before
//     this session), read=direct ReadDirect then ReadIntoFrom;
//   - cache=warm: every file in the page cache; read=path as above,
//     read=direct the pipeline's choice (ReadDirect finds the file cached
//     and the read goes by path: mincore's cost added), read=forced
//     O_DIRECT regardless of the cache (what the choice avoids),
//     read=check ReadDirect's refusal of the cached file alone (open,
//     fstat, mincore: the choice's cost);
//   - cache=none/read=memory: ReadIntoFrom from the bytes of a file in
//     memory, the decoding and hashing that every read above includes.
func BenchmarkReadCold(b *testing.B) {
	const nx, ny, files = 1280, 1280, 32
	dir := b.TempDir()
	img := randomImage(nx, ny, 11)
	var paths []string
	for k := range files {
		p := filepath.Join(dir, fmt.Sprintf("img%02d.fits", k))
		if err := WriteFile(p, img, simHeader()); err != nil {
			b.Fatal(err)
		}
		paths = append(paths, p)
	}
	st, err := os.Stat(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	buf := alignedBuf(int(st.Size()+DirectAlign) &^ (DirectAlign - 1))
	reuse, err := kernels.NewImage(img.Rect)
	if err != nil {
		b.Fatal(err)
	}
	h := xxhash.New()
	readPath := func(p string) error {
		h.Reset()
		_, _, _, err := ReadIntoHashed(reuse, p, Options{}, h)
		return err
	}
	readDirect := func(p string) error {
		h.Reset()
		data, err := ReadDirect(buf, p)
		if err != nil {
			if !errors.Is(err, ErrCached) {
				return err
			}
			return readPath(p)
		}
		_, _, _, err = ReadIntoFrom(reuse, p, data, Options{}, h)
		return err
	}
	// The decoding and hashing alone, from the bytes of a file in
	// memory: what every read above costs besides the read.
	mem, err := os.ReadFile(paths[0])
	if err != nil {
		b.Fatal(err)
	}
	fromMemory := func(p string) error {
		h.Reset()
		_, _, _, err := ReadIntoFrom(reuse, p, mem, Options{}, h)
		return err
	}
	// ReadDirect's refusal of a cached file alone: the choice's cost.
	checkCached := func(p string) error {
		if _, err := ReadDirect(buf, p); !errors.Is(err, ErrCached) {
			return fmt.Errorf("%s: %v, want ErrCached", p, err)
		}
		return nil
	}
	for _, c := range []struct {
		cache, read string
		cold        bool
		share       float64
		f           func(string) error
	}{
		{"cold", "path", true, 0.5, readPath},
		{"cold", "direct", true, 0.5, readDirect},
		{"warm", "path", false, 0.5, readPath},
		{"warm", "direct", false, 0.5, readDirect},
		{"warm", "forced", false, 2, readDirect},
		{"warm", "check", false, 0.5, checkCached},
		{"none", "memory", false, 0.5, fromMemory},
	} {
		b.Run("cache="+c.cache+"/read="+c.read, func(b *testing.B) {
			cachedShare = c.share
			defer func() { cachedShare = 0.5 }()
			if !c.cold {
				// Dropped and read again: the cache as a read fills it
				// (the pages of a file just written may be smaller
				// folios, dearer to copy).
				for _, p := range paths {
					if err := dropFile(p); err != nil {
						b.Fatal(err)
					}
					if _, err := os.ReadFile(p); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetBytes(st.Size())
			var cpu time.Duration
			k := 0
			for b.Loop() {
				p := paths[k%files]
				k++
				if c.cold {
					b.StopTimer()
					if err := dropFile(p); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				t0 := cpuTime()
				if err := c.f(p); err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - t0
			}
			b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(k), "cpu-ms/file")
		})
	}
}

// dropFile drops the file path from the page cache.
func dropFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
