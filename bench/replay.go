package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ReplayConfig describes a replay of a simulated stack into a watched
// directory.
type ReplayConfig struct {
	// Src is a simulated data set (gotrap simulate DIR): DIR/images and
	// DIR/truth/images.csv, whose timestep and time columns group the
	// images.
	Src string
	// Dst is the directory the images are written to (it must exist).
	Dst string
	// Cadence is the wall time between the starts of two timesteps; when
	// 0, Rate sets it (images of the timestep / Rate); when both are 0 the
	// timesteps follow each other at once.
	Cadence time.Duration
	Rate    float64
	// Duration, when > 0, replays the stack again and again (a loop: the
	// same images with DATE-OBS moved on by the stack's span, names
	// prefixed "lNNN_"): the timesteps due within Duration of the start
	// are written. When 0 the stack is replayed once.
	Duration time.Duration
	// SlowEvery > 0 writes every SlowEvery-th image in place, under its
	// final name, in SlowChunks chunks SlowPause apart (the settle rule's
	// case), instead of under a temporary name renamed when complete.
	SlowEvery  int
	SlowChunks int
	SlowPause  time.Duration
	// Landed, when not nil, is called with each timestep once its last
	// image has landed (from the replay's goroutine; keep it short).
	Landed func(ReplayTimestep)
	Log    io.Writer
}

// ReplayTimestep is one replayed timestep.
type ReplayTimestep struct {
	Index  int       `json:"index"`  // 0-based, over all loops
	Start  time.Time `json:"start"`  // DATE-OBS of its images
	Images []string  `json:"images"` // paths written in Dst
	// Due is when its images were to be written; Landed is the wall time
	// its last image landed: when its rename was called, or its last
	// chunk written.
	Due    time.Time `json:"due"`
	Landed time.Time `json:"landed"`
}

// stackStep is a timestep of the source stack.
type stackStep struct {
	start time.Time
	files []string // paths relative to Src
}

// readStack groups Src's images by the truth's timestep column.
func readStack(src string) ([]stackStep, error) {
	p := filepath.Join(src, "truth", "images.csv")
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("bench: replay: %w", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("bench: replay: %s: %w", p, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("bench: replay: %s: no images", p)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, k := range []string{"image", "time", "timestep"} {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("bench: replay: %s: no %q column", p, k)
		}
	}
	byStep := map[int]*stackStep{}
	for i, r := range rows[1:] {
		ts, err := strconv.Atoi(r[col["timestep"]])
		if err != nil {
			return nil, fmt.Errorf("bench: replay: %s line %d: timestep %q: %w", p, i+2, r[col["timestep"]], err)
		}
		t, err := time.Parse(time.RFC3339Nano, r[col["time"]])
		if err != nil {
			return nil, fmt.Errorf("bench: replay: %s line %d: %w", p, i+2, err)
		}
		s := byStep[ts]
		if s == nil {
			s = &stackStep{start: t}
			byStep[ts] = s
		}
		s.files = append(s.files, r[col["image"]])
	}
	keys := make([]int, 0, len(byStep))
	for k := range byStep {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]stackStep, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byStep[k])
	}
	return out, nil
}

// Replay writes the stack of cfg.Src into cfg.Dst timestep by timestep
// at the cadence, as an imager would, and returns the timesteps written
// with the wall time each one's last image landed. It stops early, with
// what was written so far and ctx's error, when ctx ends.
func Replay(ctx context.Context, cfg ReplayConfig) ([]ReplayTimestep, error) {
	stack, err := readStack(cfg.Src)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(cfg.Dst); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("bench: replay: %s is not a directory (%v)", cfg.Dst, err)
	}
	if cfg.SlowChunks <= 0 {
		cfg.SlowChunks = 4
	}
	// The stack's span: a loop starts one cadence of the data after its
	// last timestep.
	span := time.Second
	if n := len(stack); n > 1 {
		span = stack[n-1].start.Sub(stack[0].start) + stack[n-1].start.Sub(stack[n-2].start)
	}
	var (
		out   []ReplayTimestep
		wg    sync.WaitGroup
		mu    sync.Mutex
		werr  error
		index int
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if werr == nil {
			werr = err
		}
	}
	t0 := time.Now()
	due := t0
	for loop := 0; ; loop++ {
		shift := time.Duration(loop) * span
		for _, st := range stack {
			if cfg.Duration > 0 && (due.Sub(t0) >= cfg.Duration || time.Since(t0) >= cfg.Duration) {
				wg.Wait()
				return out, werr
			}
			if d := time.Until(due); d > 0 {
				select {
				case <-ctx.Done():
					wg.Wait()
					return out, ctx.Err()
				case <-time.After(d):
				}
			}
			if ctx.Err() != nil {
				wg.Wait()
				return out, ctx.Err()
			}
			rt := ReplayTimestep{Index: index, Start: st.start.Add(shift), Due: due}
			var stepWG sync.WaitGroup
			var landed time.Time
			var lmu sync.Mutex
			mark := func(at time.Time) {
				lmu.Lock()
				if at.After(landed) {
					landed = at
				}
				lmu.Unlock()
			}
			for k, rel := range st.files {
				name := filepath.Base(rel)
				if loop > 0 {
					name = fmt.Sprintf("l%03d_%s", loop, name)
				}
				dst := filepath.Join(cfg.Dst, name)
				rt.Images = append(rt.Images, dst)
				srcPath := filepath.Join(cfg.Src, rel)
				if cfg.SlowEvery > 0 && (index*len(st.files)+k)%cfg.SlowEvery == cfg.SlowEvery-1 {
					data, err := os.ReadFile(srcPath)
					if err == nil && shift != 0 {
						data, err = shiftDateObs(data, shift)
					}
					if err != nil {
						fail(fmt.Errorf("bench: replay: %s: %w", rel, err))
						continue
					}
					stepWG.Add(1)
					go func() {
						defer stepWG.Done()
						at, err := writeSlowly(dst, data, cfg.SlowChunks, cfg.SlowPause)
						if err != nil {
							fail(err)
						}
						mark(at)
					}()
					continue
				}
				at, err := copyRenamed(srcPath, dst, shift)
				if err != nil {
					fail(err)
				}
				mark(at)
			}
			wg.Add(1)
			mu.Lock()
			out = append(out, rt)
			i := len(out) - 1
			mu.Unlock()
			go func() {
				defer wg.Done()
				stepWG.Wait()
				mu.Lock()
				out[i].Landed = landed
				done := out[i]
				mu.Unlock()
				if cfg.Landed != nil {
					cfg.Landed(done)
				}
			}()
			index++
			// The next timestep is due one cadence after this one was.
			cad := cfg.Cadence
			if cad == 0 && cfg.Rate > 0 {
				cad = time.Duration(float64(len(st.files)) / cfg.Rate * float64(time.Second))
			}
			due = due.Add(cad)
		}
		if cfg.Duration <= 0 {
			break
		}
	}
	wg.Wait()
	return out, werr
}

// copyRenamed copies src to a hidden temporary name beside dst (in the
// kernel: copy_file_range), moves its DATE-OBS on by shift when not 0,
// and renames it to dst, as imagers do. It returns the time the rename
// was called: the file's landing, taken early so that latencies measured
// from it are never short.
func copyRenamed(src, dst string, shift time.Duration) (time.Time, error) {
	in, err := os.Open(src)
	if err != nil {
		return time.Time{}, fmt.Errorf("bench: replay: %w", err)
	}
	defer in.Close()
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o644)
	if err != nil {
		return time.Time{}, fmt.Errorf("bench: replay: %w", err)
	}
	_, err = io.Copy(out, in)
	if err == nil && shift != 0 {
		err = shiftFileDateObs(out, shift)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return time.Time{}, fmt.Errorf("bench: replay: %s: %w", src, err)
	}
	at := time.Now()
	if err := os.Rename(tmp, dst); err != nil {
		return at, fmt.Errorf("bench: replay: %w", err)
	}
	return at, nil
}

// headerPrefix is how much of a file shiftFileDateObs reads to find
// DATE-OBS: 22 header blocks.
const headerPrefix = 22 * 2880

// shiftFileDateObs moves the DATE-OBS card of the FITS file f on by d, in
// place.
func shiftFileDateObs(f *os.File, d time.Duration) error {
	buf := make([]byte, headerPrefix)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	patched, err := shiftDateObs(buf[:n], d)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(patched, 0)
	return err
}

// writeSlowly writes data to dst itself in chunks, pause apart, and
// returns the time its last chunk was written.
func writeSlowly(dst string, data []byte, chunks int, pause time.Duration) (time.Time, error) {
	var at time.Time
	f, err := os.Create(dst)
	if err != nil {
		return at, fmt.Errorf("bench: replay: %w", err)
	}
	n := (len(data) + chunks - 1) / chunks
	for i := 0; i < len(data); i += n {
		if i > 0 {
			time.Sleep(pause)
		}
		at = time.Now()
		if _, err := f.Write(data[i:min(i+n, len(data))]); err != nil {
			f.Close()
			return at, fmt.Errorf("bench: replay: %s: %w", dst, err)
		}
	}
	if err := f.Close(); err != nil {
		return at, fmt.Errorf("bench: replay: %s: %w", dst, err)
	}
	return at, nil
}

// dateObsLayouts are the DATE-OBS forms shiftDateObs rewrites (the
// simulator writes the first).
var dateObsLayouts = []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05", "2006-01-02T15:04:05.000000"}

// shiftDateObs returns a FITS file's bytes with the DATE-OBS card of its
// primary header moved on by d, in the same layout (so the header keeps
// its length).
func shiftDateObs(data []byte, d time.Duration) ([]byte, error) {
	for off := 0; off+80 <= len(data); off += 80 {
		card := data[off : off+80]
		if string(card[:8]) == "END     " {
			break
		}
		if !bytes.HasPrefix(card, []byte("DATE-OBS=")) {
			continue
		}
		q0 := bytes.IndexByte(card, '\'')
		q1 := -1
		if q0 >= 0 {
			q1 = bytes.IndexByte(card[q0+1:], '\'')
		}
		if q1 < 0 {
			return nil, errors.New("DATE-OBS is not a quoted string")
		}
		val := string(bytes.TrimSpace(card[q0+1 : q0+1+q1]))
		for _, layout := range dateObsLayouts {
			t, err := time.Parse(layout, val)
			if err != nil || len(layout) != len(val) {
				continue
			}
			out := bytes.Clone(data)
			copy(out[off+q0+1:], t.Add(d).Format(layout))
			return out, nil
		}
		return nil, fmt.Errorf("DATE-OBS %q: not a layout the replay can move", val)
	}
	return nil, errors.New("no DATE-OBS card in the primary header")
}
