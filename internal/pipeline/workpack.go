package pipeline

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// A live run's work packs. Each image leaves staged files in RUN/work
// (extract/ID.*, forced/ID.*) so that a restart replays its timesteps
// without reading the image again. They are small files, most of each
// a Parquet footer that repeats from image to image: on aartfaac-mini 26
// kB per image against 3 kB that the image adds to the catalogue. So a
// live publish packs the staged files of the images it committed into
// one zstd stream per rank (RUN/work/packs/rank=RRRR/pack-SSSSS.zst) and
// removes them; packs are merged eight by eight like the catalogue's
// parts, and zstd finds the repeats across images: RUN/work grows no
// faster than the catalogue. A run that is not live has no packs: a
// restart unpacks them before anything reads the staged files (the
// replay, --append), and so does the live run's end, before the stages
// that read them (limits reads the background grids).
//
// A pack is "gotrap-pack 1\n" then, per file, its path under RUN/work
// and its bytes, each as a uvarint length and the bytes, ending with an
// empty path, all zstd-compressed. A pack is written under a temporary
// name and renamed; a file removed only after its pack is renamed in
// place; a crash in between leaves a file in both, and unpacking never
// writes over a file that exists.

const packMagic = "gotrap-pack 1\n"

// packEncoders are reusable zstd encoders of the packs: the fastest
// level, over a 1 MiB window (the footers repeat every few tens of kB).
// Packing is on each commit's path: on the staged files of 8 aartfaac
// images (760 kB, mostly compressed Parquet columns) the fastest level
// encodes at 314 MB/s to 653 kB, "better" at 183 MB/s to 615 kB; on 64
// aartfaac-mini images (1.4 MB, mostly footers) 454 against 173 MB/s,
// to 303 against 284 kB (session 8, a loaded machine). An encoder
// allocates its history once; reusing it (Reset) saves zeroing megabytes
// for every pack.
var packEncoders = sync.Pool{New: func() any {
	zw, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(1<<20))
	if err != nil {
		panic(err) // the options are constants
	}
	return zw
}}

// packDecoders are reusable zstd decoders of the packs.
var packDecoders = sync.Pool{New: func() any {
	zr, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		panic(err) // the options are constants
	}
	return zr
}}

// packWriter writes one pack.
type packWriter struct {
	f   *rundir.File
	zw  *zstd.Encoder
	buf [binary.MaxVarintLen64]byte
}

func newPackWriter(path string) (*packWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	f, err := rundir.Create(path)
	if err != nil {
		return nil, err
	}
	zw := packEncoders.Get().(*zstd.Encoder)
	zw.Reset(f)
	w := &packWriter{f: f, zw: zw}
	if _, err := io.WriteString(zw, packMagic); err != nil {
		w.abort()
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return w, nil
}

func (w *packWriter) bytes(b []byte) error {
	n := binary.PutUvarint(w.buf[:], uint64(len(b)))
	if _, err := w.zw.Write(w.buf[:n]); err != nil {
		return err
	}
	_, err := w.zw.Write(b)
	return err
}

// add writes one file: its path under RUN/work and its content.
func (w *packWriter) add(name string, data []byte) error {
	if name == "" {
		return errors.New("pipeline: pack: empty name")
	}
	if err := w.bytes([]byte(name)); err != nil {
		return fmt.Errorf("pipeline: %s: %w", w.f.Path(), err)
	}
	if err := w.bytes(data); err != nil {
		return fmt.Errorf("pipeline: %s: %w", w.f.Path(), err)
	}
	return nil
}

func (w *packWriter) commit() error {
	if err := w.bytes(nil); err != nil {
		w.abort()
		return fmt.Errorf("pipeline: %s: %w", w.f.Path(), err)
	}
	err := w.zw.Close()
	w.release()
	if err != nil {
		w.f.Abort()
		return fmt.Errorf("pipeline: %s: %w", w.f.Path(), err)
	}
	return w.f.Commit()
}

func (w *packWriter) abort() {
	w.zw.Close()
	w.release()
	w.f.Abort()
}

// release returns the encoder to the pool.
func (w *packWriter) release() {
	w.zw.Reset(nil)
	packEncoders.Put(w.zw)
	w.zw = nil
}

// readPack calls fn with each file of the pack at path, in order; data
// is reused by the next call.
func readPack(path string, fn func(name string, data []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	zr := packDecoders.Get().(*zstd.Decoder)
	defer packDecoders.Put(zr)
	if err := zr.Reset(f); err != nil {
		return fmt.Errorf("pipeline: %s: %w", path, err)
	}
	br := bufio.NewReader(zr)
	magic := make([]byte, len(packMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != packMagic {
		return fmt.Errorf("pipeline: %s: not a work pack (%v)", path, err)
	}
	var buf []byte
	next := func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		if n > 1<<31 {
			return nil, fmt.Errorf("a length of %d bytes", n)
		}
		buf = slices.Grow(buf[:0], int(n))[:n]
		_, err = io.ReadFull(br, buf)
		return buf, err
	}
	for {
		b, err := next()
		if err != nil {
			return fmt.Errorf("pipeline: %s: truncated or damaged: %w", path, err)
		}
		if len(b) == 0 {
			return nil
		}
		name := string(b)
		if strings.Contains(name, "..") || filepath.IsAbs(name) {
			return fmt.Errorf("pipeline: %s: a file named %q", path, name)
		}
		data, err := next()
		if err != nil {
			return fmt.Errorf("pipeline: %s: truncated or damaged: %w", path, err)
		}
		if err := fn(name, data); err != nil {
			return err
		}
	}
}

// packStaged packs the staged files of the images ids into rank's pack
// seq and then removes them.
func packStaged(run string, rank, seq int, ids []int64) error {
	work := rundir.WorkDir(run)
	var files []string
	for _, id := range ids {
		for _, step := range []string{StepExtract, StepForced} {
			m, err := filepath.Glob(rundir.StagedGlob(run, step, id))
			if err != nil {
				return fmt.Errorf("pipeline: %w", err)
			}
			for _, p := range m {
				if !rundir.IsTemp(filepath.Base(p)) {
					files = append(files, p)
				}
			}
		}
	}
	w, err := newPackWriter(rundir.PackPath(run, rank, seq))
	if err != nil {
		return err
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err == nil {
			var rel string
			if rel, err = filepath.Rel(work, p); err == nil {
				err = w.add(filepath.ToSlash(rel), b)
			}
		}
		if err != nil {
			w.abort()
			return fmt.Errorf("pipeline: packing %s: %w", p, err)
		}
	}
	if err := w.commit(); err != nil {
		return err
	}
	for _, p := range files {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	return nil
}

// mergePacks writes the files of rank's packs seqs, in order, into the
// pack seqs[0] (renamed over it), then removes the others.
func mergePacks(run string, rank int, seqs []int) error {
	w, err := newPackWriter(rundir.PackPath(run, rank, seqs[0]))
	if err != nil {
		return err
	}
	for _, seq := range seqs {
		if err := readPack(rundir.PackPath(run, rank, seq), w.add); err != nil {
			w.abort()
			return err
		}
	}
	if err := w.commit(); err != nil {
		return err
	}
	for _, seq := range seqs[1:] {
		if err := os.Remove(rundir.PackPath(run, rank, seq)); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	return nil
}

// compactPacks merges rank's packs in levels, as partMerger merges parts.
func compactPacks(run string, rank int, packs []catalog.Part) ([]catalog.Part, error) {
	return catalog.MergeLevels(packs, partFanIn, func(seqs []int) error { return mergePacks(run, rank, seqs) })
}

// unpackWork writes the files of every pack of run back in RUN/work
// (those that exist are kept) and removes the packs: the run's staged
// files are then as a run that never packed them has them. It returns
// the number of files written.
func unpackWork(run string) (int, error) {
	packs, err := filepath.Glob(rundir.PackGlob(run))
	if err != nil {
		return 0, fmt.Errorf("pipeline: %w", err)
	}
	work := rundir.WorkDir(run)
	n := 0
	for _, pk := range packs {
		if _, ok := rundir.PartSeq(pk); !ok {
			continue
		}
		err := readPack(pk, func(name string, data []byte) error {
			p := filepath.Join(work, filepath.FromSlash(name))
			if _, err := os.Stat(p); err == nil {
				return nil
			}
			n++
			return rundir.WriteStaged(p, data)
		})
		if err != nil {
			return n, err
		}
	}
	// One sync makes every file written durable before its pack goes
	// (a sync per file made the end of a 1,920-image watch take 65 s to
	// unpack 11,494 files).
	if n > 0 {
		if err := rundir.SyncFS(work); err != nil {
			return n, err
		}
	}
	for _, pk := range packs {
		if err := os.Remove(pk); err != nil && !isNotExist(err) {
			return n, fmt.Errorf("pipeline: %w", err)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(work, "packs", "rank=*"))
	for _, d := range append(dirs, filepath.Join(work, "packs")) {
		os.Remove(d) // only when empty
	}
	return n, nil
}
