package pipeline

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
	"sync"

	"gotrap/internal/fitsimg"
	"gotrap/internal/hugemem"
)

// The read-ahead of the timesteps stage: a goroutine of each rank's
// prefetch goes through the rank's images in plan order, ahead of the
// workers that extract them, and for each image whose read its
// extraction will make:
//
//   - a file of one plane not in the page cache is read whole with
//     O_DIRECT (fitsimg.ReadDirect) into a buffer of the rank's pool
//     (rawPool), from which its worker decodes and hashes it
//     (fitsimg.ReadIntoFrom) and gives the buffer back at once: the
//     device's DMA into the process, without the page cache's CPU
//     (docs/performance.md "Session 10");
//   - a file mostly in the page cache already (a warm cache, a live
//     run's images just written) is left to the worker's read by path
//     through the cache, which costs less there;
//   - a plane of a cube, or a file ReadDirect refuses (a file system
//     without O_DIRECT, a file larger than the buffers, not Linux), is
//     announced to the operating system (fitsimg.WillNeed) and read by
//     path, as before the direct reads.
//
// The direct reads are made when the run's inputs exceed half of the
// machine's memory, or of the process's memory allowance when smaller
// (runner.useDirect, cacheMemory): then the page cache cannot keep
// them for a later run anyway, and filling it costs reclaiming it. A
// smaller stack is read through the page cache, which keeps it for the
// next run over it (a second run then reads no byte from storage).
//
// Image k is read ahead once image k - ahead (readAheadDepth) is handed
// to a worker, so the read-ahead stays that many images ahead of the
// extraction, with up to readAheadDepth's streams direct reads in flight.

// readAheadPerWorker is how many images of a rank's order, per worker,
// are read ahead (or announced) beyond the one handed to a worker. A
// worker then finds its next image read: the disk reads the rank's next
// images while the workers compute, instead of each worker waiting for
// its read and then computing, the disk idle (docs/performance.md
// "Session 8").
const readAheadPerWorker = 2

// maxReadStreams is the most direct reads a rank keeps in flight: one a
// worker, up to this. This VM's disk gave 283 MB/s to one O_DIRECT
// stream of the RSM images, 357-435 to two, and 358-513 to four
// (docs/performance.md "Session 11"): two in flight a node is what
// pays, which two ranks of one worker get with one each, and one rank
// of two workers with two.
const maxReadStreams = 2

// readAheadDepth returns how many direct reads a rank with workers
// workers keeps in flight (streams: one a worker, at most
// maxReadStreams), how many images it reads ahead of those handed out
// (ahead: readAheadPerWorker a worker, and one more, so that a stream
// finds an image to read while the workers wait for theirs), and how
// many buffers its pool has (one more a worker, for the image a worker
// decodes).
func readAheadDepth(workers int) (streams, ahead, buffers int) {
	streams = max(1, min(workers, maxReadStreams))
	ahead = readAheadPerWorker*workers + 1
	return streams, ahead, ahead + workers
}

// headerRoom is what a pool's buffer holds beyond the largest plane of
// the rank's images: their headers. A file larger than a buffer is read
// by path.
const headerRoom = 64 << 10

// willNeed is fitsimg.WillNeed and directRead fitsimg.ReadDirect; tests
// replace them to record or refuse.
var (
	willNeed   = fitsimg.WillNeed
	directRead = fitsimg.ReadDirect
)

// testHookReadAhead, when not nil, is given each rank's pool when its
// prefetch closes (before its buffers are freed).
var testHookReadAhead func(*rawPool)

// directMin returns the size of the run's inputs (bytes) above which
// the read-ahead reads directly: half of cacheMemory. Tests replace it.
var directMin = func() int64 { return cacheMemory() / 2 }

// cacheMemory is the memory in which the page cache may keep the inputs:
// the machine's, or the process's memory allowance when smaller (the Go
// runtime's soft limit is three quarters of it, reduce.GoMemoryLimit; a
// cgroup's limit, such as a Slurm job's, counts the page cache too).
// Unknown: math.MaxInt64 (no direct reads).
func cacheMemory() int64 {
	m := physicalMemory()
	if m <= 0 {
		m = math.MaxInt64
	}
	if lim := debug.SetMemoryLimit(-1); lim > 0 && lim < math.MaxInt64/4 {
		m = min(m, lim/3*4)
	}
	return m
}

// useDirect reports whether the read-ahead reads directly: where
// fitsimg.ReadDirect reads (Linux) and the run's inputs are larger than
// directMin. It logs the choice.
func (r *runner) useDirect() bool {
	total := int64(0)
	for _, in := range r.man.Inputs {
		total += in.Size
	}
	above := directMin()
	use := fitsimg.DirectReads && total > above
	r.log.printf("read-ahead: inputs of %.2f GB, direct reads (O_DIRECT) above %.2f GB: %v", float64(total)/1e9, float64(above)/1e9, use)
	return use
}

// aheadRead is one image's read ahead of its extraction: file is the
// file's bytes read into a buffer of the pool, nil when the image is to
// be read by path; it is set before ready is closed. taken is closed when
// a worker takes the image.
type aheadRead struct {
	file  *rawFile
	ready chan struct{}
	taken chan struct{}
}

func newAheadRead() aheadRead {
	return aheadRead{ready: make(chan struct{}), taken: make(chan struct{})}
}

// wait returns the image's file read ahead (nil: read it by path), once;
// it lets go of it.
func (a *aheadRead) wait(ctx context.Context) (*rawFile, error) {
	select {
	case <-a.ready:
		f := a.file
		a.file = nil
		return f, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// rawFile is an image's file read into a buffer of a rawPool.
type rawFile struct {
	data []byte // the file's bytes, in buf
	buf  []byte
	pool *rawPool
}

// free gives the buffer back to the pool; later calls and a nil f do
// nothing. Only the worker holding f calls it.
func (f *rawFile) free() {
	if f == nil || f.buf == nil {
		return
	}
	f.pool.free <- f.buf
	f.buf, f.data = nil, nil
}

// rawPool is a rank's buffers for the direct reads: n buffers of size
// bytes each, 4 KiB-aligned, outside the Go heap (internal/hugemem: a
// mapping of its own per buffer, so that close gives the memory back
// at once), made on first use and reused. Only the read-ahead goroutine
// calls get; workers give the buffers back (rawFile.free).
type rawPool struct {
	arena *hugemem.Arena
	size  int
	n     int
	made  int
	free  chan []byte
	// Counts of the read-ahead (its goroutine's; read after it ends).
	direct, cached, announced int
}

// newRawPool returns the pool of n buffers for the direct reads of the
// images order of plan: each holds the largest plane of the images of
// one plane, with headerRoom. It is nil (no direct reads) where
// fitsimg.ReadDirect reads nothing (not Linux) or no image has one plane.
func newRawPool(plan *Plan, order []int, n int) *rawPool {
	if !fitsimg.DirectReads {
		return nil
	}
	largest := int64(0)
	for _, i := range order {
		if m := plan.Image(i).Meta; m != nil && m.Planes <= 1 {
			largest = max(largest, int64(m.Naxis1)*int64(m.Naxis2)*int64(max(1, m.Bitpix/8, -m.Bitpix/8)))
		}
	}
	if largest == 0 {
		return nil
	}
	// Whole chunks of the arena: every buffer is a mapping of its own
	// (hugemem), starting on a 2 MiB boundary, which is 4 KiB-aligned.
	size := (largest + headerRoom + hugemem.ChunkSize - 1) / hugemem.ChunkSize * hugemem.ChunkSize
	return &rawPool{arena: hugemem.New(), size: int(size), n: max(1, n), free: make(chan []byte, max(1, n))}
}

// get returns a free buffer, making one while fewer than n are made, or
// waits for one.
func (p *rawPool) get(ctx context.Context) ([]byte, error) {
	select {
	case b := <-p.free:
		return b, nil
	default:
	}
	if p.made < p.n {
		p.made++
		return p.arena.Alloc(p.size), nil
	}
	select {
	case b := <-p.free:
		return b, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close frees the buffers (their mappings). Nothing may use them after.
func (p *rawPool) close() {
	if p != nil {
		p.arena.Close()
	}
}

// readAheadLoop reads ahead (or announces) the images order, into
// aheads (by position), each once the one ahead places before it is taken
// by a worker (the file header above). It takes the images' buffers in
// order and hands the direct reads to streams goroutines, so
// that as many reads are in flight: the disk gives more with several
// (docs/performance.md "Session 11"). A buffer is only ever waited for
// by the earliest image without one, whose predecessors free theirs once
// extracted, so the reads cannot hold every buffer ahead of an image
// the workers wait for.
func (s *stream) readAheadLoop(ctx context.Context, order []int, aheads []aheadRead, ahead, streams int, raw *rawPool) {
	type read struct {
		a   *aheadRead
		img *Image
		buf []byte
	}
	reads := make(chan read)
	var wg sync.WaitGroup
	counts := make([]readCounts, max(1, streams))
	for r := range counts {
		wg.Go(func() {
			for rd := range reads {
				rd.a.file = raw.read(rd.img, rd.buf, &counts[r])
				close(rd.a.ready)
			}
		})
	}
	defer func() {
		close(reads)
		wg.Wait()
		if raw != nil {
			for _, c := range counts {
				raw.direct += c.direct
				raw.cached += c.cached
				raw.announced += c.announced
			}
		}
	}()
	for k, i := range order {
		if k >= ahead {
			select {
			case <-aheads[k-ahead].taken:
			case <-ctx.Done():
				return
			}
		}
		a := &aheads[k]
		img := s.a.plan.Image(i)
		buf := s.readAheadBuffer(ctx, img, raw)
		if buf == nil {
			close(a.ready)
			continue
		}
		select {
		case reads <- read{a, img, buf}:
		case <-ctx.Done():
			raw.free <- buf
			return
		}
	}
}

// readCounts are one reading goroutine's counts of a rawPool's reads.
type readCounts struct{ direct, cached, announced int }

// readAheadImage reads img's file ahead of its extraction into a buffer
// of raw, or returns nil after announcing its read (or leaving it to the
// page cache that holds it); see the file header. An image without a
// header, or whose staged results will be reused (extractStage.done), is
// not read and not announced.
func (s *stream) readAheadImage(ctx context.Context, img *Image, raw *rawPool) *rawFile {
	buf := s.readAheadBuffer(ctx, img, raw)
	if buf == nil {
		return nil
	}
	var c readCounts
	f := raw.read(img, buf, &c)
	raw.direct += c.direct
	raw.cached += c.cached
	raw.announced += c.announced
	return f
}

// readAheadBuffer returns a buffer of raw for img's direct read, or nil
// when img is not to be read directly: an image without a header or
// whose staged results will be reused (not read, not announced), or a
// plane of a cube or a run without direct reads (announced: raw's count
// of them, the caller's goroutine being raw's only getter).
func (s *stream) readAheadBuffer(ctx context.Context, img *Image, raw *rawPool) []byte {
	m := img.Meta
	if m == nil || s.ex.done(img) {
		return nil
	}
	if m.Planes > 1 || raw == nil {
		announce(img)
		if raw != nil {
			raw.announced++
		}
		return nil
	}
	buf, err := raw.get(ctx)
	if err != nil {
		return nil
	}
	return buf
}

// read reads img's file into buf, a buffer of p, counting in c: the
// file read, or nil with buf given back when fitsimg.ReadDirect refuses
// (a file in the page cache is left to it; another refusal is announced).
func (p *rawPool) read(img *Image, buf []byte, c *readCounts) *rawFile {
	data, err := directRead(buf, img.Path)
	if err != nil {
		p.free <- buf
		if errors.Is(err, fitsimg.ErrCached) {
			c.cached++
		} else {
			announce(img)
			c.announced++
		}
		return nil
	}
	c.direct++
	return &rawFile{data: data, buf: buf, pool: p}
}

// readAhead announces the read of img's pixels that its extraction will
// make: the whole file for an image of one plane, else its plane (and
// the header's size at most, 1 MiB, beyond it). An image without a
// header, or whose staged results will be reused (extractStage.done), is
// not read and not announced.
func (s *stream) readAhead(img *Image) {
	m := img.Meta
	if m == nil || s.ex.done(img) {
		return
	}
	announce(img)
}

// announce is readAhead without its checks.
func announce(img *Image) {
	m := img.Meta
	if m.Planes <= 1 {
		willNeed(img.Path, 0, 0)
		return
	}
	bytes := max(1, m.Bitpix/8, -m.Bitpix/8)
	plane := int64(m.Naxis1) * int64(m.Naxis2) * int64(bytes)
	willNeed(img.Path, int64(img.Plane)*plane, plane+1<<20)
}
