package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
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
	Stages     []Stage     `json:"stages"`
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
	return &m, nil
}

// WriteManifest sets m.Updated to now and writes m to RUN/manifest.json
// atomically.
func WriteManifest(run string, m *Manifest) error {
	m.Updated = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("rundir: manifest: %w", err)
	}
	return WriteFile(ManifestPath(run), append(b, '\n'))
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
