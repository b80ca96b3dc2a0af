package rundir

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Manifest is RUN/manifest.json: what the run is (version, inputs,
// configuration hash) and how far it got (its stages).
type Manifest struct {
	Version    string      `json:"version"`
	Created    string      `json:"created"`
	Updated    string      `json:"updated"`
	ConfigHash string      `json:"config_hash"`
	Ranks      int         `json:"ranks"`
	Inputs     []InputFile `json:"inputs"`
	// InputsLog is set when the inputs are not in manifest.json but in
	// RUN/inputs.jsonl, one entry a line (a live run: its inputs grow
	// for months, and rewriting them all at each commit would cost more
	// at each one). ReadManifest fills Inputs from it; WriteManifest
	// leaves it alone (WriteInputsLog, AppendInputs).
	InputsLog bool    `json:"inputs_log,omitempty"`
	Stages    []Stage `json:"stages"`
	// LiveMonitors are the monitor positions a live run took from
	// RUN/alerts/monitor.txt (gotrap listen), each fitted from timestep
	// From on, after the configuration's monitors.
	LiveMonitors []LiveMonitor `json:"live_monitors,omitempty"`
}

// LiveMonitor is a monitor position added to a live run (degrees) and
// the first timestep (0-based) in which it is fitted.
type LiveMonitor struct {
	RA   float64 `json:"ra"`
	Dec  float64 `json:"dec"`
	From int     `json:"from_timestep"`
}

// Stage is a manifest entry for one stage.
type Stage struct {
	Name     string  `json:"name"`
	Done     bool    `json:"done"`
	Started  string  `json:"started,omitempty"`
	Finished string  `json:"finished,omitempty"`
	Seconds  float64 `json:"seconds"`
	// Items counts the work done in the last run of the stage (images
	// extracted or fitted, rows written); Skipped what --resume found
	// already complete.
	Items   int `json:"items"`
	Skipped int `json:"skipped,omitempty"`
}

// InputFile is a manifest entry: an input's identity for --resume and
// --append.
type InputFile struct {
	// Path is the path as given, as valid UTF-8 (EscapeName); PathRaw
	// holds its bytes when they are not valid UTF-8 (base64 in the
	// JSON).
	Path    string `json:"path"`
	PathRaw []byte `json:"path_raw,omitempty"`
	Size    int64  `json:"size"`
	// ModTime is informational (copies change it); identity is Path,
	// Size and XXH64, the xxHash64 of the whole file (hex).
	ModTime string `json:"mtime"`
	XXH64   string `json:"xxh64"`
	// Catalogue, when not nil, is the entry of the catalogue that
	// replaced the input's extraction (gotrap run --catalogues): a resume
	// must use the same catalogue.
	Catalogue *InputFile `json:"catalogue,omitempty"`
	// Maps, when not nil, are the entries of the Selavy noise and mean
	// maps shipped beside a catalogue image.
	Maps []InputFile `json:"maps,omitempty"`
}

// Entry returns the entry of stage name, adding it when absent.
func (m *Manifest) Entry(name string) *Stage {
	for i := range m.Stages {
		if m.Stages[i].Name == name {
			return &m.Stages[i]
		}
	}
	m.Stages = append(m.Stages, Stage{Name: name})
	return &m.Stages[len(m.Stages)-1]
}

// Reset marks the stages names as not done (their work is to be redone).
func (m *Manifest) Reset(names ...string) {
	for i := range m.Stages {
		if slices.Contains(names, m.Stages[i].Name) {
			m.Stages[i].Done = false
		}
	}
}

// Done reports whether the manifest records stage name as complete.
func (m *Manifest) Done(name string) bool {
	for _, s := range m.Stages {
		if s.Name == name {
			return s.Done
		}
	}
	return false
}

// ReadManifest reads RUN/manifest.json; a missing file wraps
// fs.ErrNotExist.
func ReadManifest(run string) (*Manifest, error) {
	p := ManifestPath(run)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("rundir: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("rundir: %s: %w", p, err)
	}
	if m.InputsLog {
		if m.Inputs, err = readInputsLog(run); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// WriteManifest sets m.Updated to now and writes m to RUN/manifest.json
// atomically; with m.InputsLog, without the inputs (RUN/inputs.jsonl
// holds them).
func WriteManifest(run string, m *Manifest) error {
	m.Updated = time.Now().UTC().Format(time.RFC3339)
	w := m
	if m.InputsLog {
		c := *m
		c.Inputs = []InputFile{}
		w = &c
	}
	b, err := json.MarshalIndent(w, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: manifest: %w", err)
	}
	return WriteFile(ManifestPath(run), append(b, '\n'))
}

// The inputs log, RUN/inputs.jsonl: one InputFile a line, appended. A
// later line of an input (the same path) replaces the earlier one in
// place (a live run records an input when it takes it and again with its
// content hash once its timestep is committed). A last line without its
// newline is a write that a crash cut short: readers ignore it, and the
// next append removes it first.

// WriteInputsLog writes m.Inputs to RUN/inputs.jsonl atomically (the log
// begun again) and sets m.InputsLog; the caller writes the manifest
// after it.
func WriteInputsLog(run string, m *Manifest) error {
	b, err := inputLines(m.Inputs)
	if err != nil {
		return err
	}
	if err := WriteFile(InputsLogPath(run), b); err != nil {
		return err
	}
	m.InputsLog = true
	return nil
}

// AppendInputs appends entries to RUN/inputs.jsonl and syncs it: new
// inputs, or newer entries of inputs it has (see WriteInputsLog).
func AppendInputs(run string, entries ...InputFile) error {
	if len(entries) == 0 {
		return nil
	}
	b, err := inputLines(entries)
	if err != nil {
		return err
	}
	p := InputsLogPath(run)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	err = appendWhole(f, b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rundir: %s: %w", p, err)
	}
	return nil
}

// appendWhole writes b at the end of f's whole lines (a cut last line is
// cut off first) and syncs f.
func appendWhole(f *os.File, b []byte) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	end := st.Size()
	if end > 0 {
		// Back from the end to the last newline, a block at a time.
		var last [1]byte
		if _, err := f.ReadAt(last[:], end-1); err != nil {
			return err
		}
		if last[0] != '\n' {
			keep, err := lastLineEnd(f, end)
			if err != nil {
				return err
			}
			if err := f.Truncate(keep); err != nil {
				return err
			}
			end = keep
		}
	}
	if _, err := f.WriteAt(b, end); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if end == 0 {
		return SyncDir(filepath.Dir(f.Name())) // a new log
	}
	return nil
}

// lastLineEnd returns the offset after the last newline of f's first
// size bytes (0 when none).
func lastLineEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 4096)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		n, err := f.ReadAt(buf[:end-start], start)
		if err != nil && n < int(end-start) {
			return 0, err
		}
		if i := bytes.LastIndexByte(buf[:n], '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

func inputLines(entries []InputFile) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return nil, fmt.Errorf("rundir: inputs log: %w", err)
		}
	}
	return b.Bytes(), nil
}

// readInputsLog reads RUN/inputs.jsonl (see WriteInputsLog).
func readInputsLog(run string) ([]InputFile, error) {
	p := InputsLogPath(run)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("rundir: the manifest keeps its inputs in %s: %w", p, err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i < len(b)-1 {
		b = b[:i+1] // a cut last line
	}
	var out []InputFile
	at := map[string]int{}
	for n, line := range bytes.Split(b, []byte{'\n'}) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var in InputFile
		if err := json.Unmarshal(line, &in); err != nil {
			return nil, fmt.Errorf("rundir: %s line %d: %w", p, n+1, err)
		}
		key := in.Path
		if in.PathRaw != nil {
			key = string(in.PathRaw)
		}
		if k, ok := at[key]; ok {
			out[k] = in
			continue
		}
		at[key] = len(out)
		out = append(out, in)
	}
	return out, nil
}

// MarkStage records stage name of the run in RUN as done, started at
// started, with items done; the run's manifest must exist.
func MarkStage(run, name string, started time.Time, items int) error {
	m, err := ReadManifest(run)
	if err != nil {
		return err
	}
	s := m.Entry(name)
	s.Done, s.Items = true, items
	s.Started = started.UTC().Format(time.RFC3339Nano)
	s.Finished = time.Now().UTC().Format(time.RFC3339Nano)
	s.Seconds = time.Since(started).Seconds()
	return WriteManifest(run, m)
}

// Commit is RUN/work/commit.json: the timesteps committed so far,
// rewritten atomically after each timestep.
type Commit struct {
	// Timesteps is the number of timesteps committed: their staged
	// results are complete, and a later call replays them.
	Timesteps int `json:"timesteps"`
	// Images is the number of images in them.
	Images int `json:"images"`
	// LastStart is the start time of the last committed timestep's
	// first image.
	LastStart time.Time `json:"last_start"`
}

// WriteCommit writes c to RUN/work/commit.json atomically.
func WriteCommit(run string, c Commit) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("rundir: %w", err)
	}
	return WriteFile(CommitPath(run), append(b, '\n'))
}

// ReadCommit reads RUN/work/commit.json (a zero Commit when absent).
func ReadCommit(run string) (Commit, error) {
	var c Commit
	p := CommitPath(run)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("rundir: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("rundir: %s: %w", p, err)
	}
	return c, nil
}
