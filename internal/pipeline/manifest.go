package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/rundir"
)

// Stage names, in the order a run goes through them (the manifest's
// stages, the progress lines and Options.AfterStage).
const (
	// StagePlan reads the headers and builds the image table.
	StagePlan = "plan"
	// StageTimesteps extracts, associates and force-fits the images,
	// one timestep after another (engine.go).
	StageTimesteps = "timesteps"
	// StageTables writes the catalogue tables from the association.
	StageTables = "tables"
	// StageBackward (backward.go) and StageLimits (limits.go) follow,
	// then StageVarMetric, the DuckDB stage of package catstage.
	StageLimits    = "limits"
	StageVarMetric = "varmetric"
)

// Steps of one image in the timesteps stage: the folders of RUN/work
// that stage its results, and ImageError.Stage.
const (
	StepExtract = "extract"
	StepForced  = "forced"
)

// ManifestFile is the manifest's name in the run directory.
const ManifestFile = "manifest.json"

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

// Manifest is RUN/manifest.json: what the run is (version, inputs,
// configuration hash) and how far it got.
type Manifest struct {
	Version    string      `json:"version"`
	Created    string      `json:"created"`
	Updated    string      `json:"updated"`
	ConfigHash string      `json:"config_hash"`
	Ranks      int         `json:"ranks"`
	Inputs     []InputFile `json:"inputs"`
	Stages     []Stage     `json:"stages"`
}

// stage returns the entry of name, adding it when absent.
func (m *Manifest) stage(name string) *Stage {
	for i := range m.Stages {
		if m.Stages[i].Name == name {
			return &m.Stages[i]
		}
	}
	m.Stages = append(m.Stages, Stage{Name: name})
	return &m.Stages[len(m.Stages)-1]
}

// reset marks the stages names as not done (their work is redone).
func (m *Manifest) reset(names ...string) {
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
	b, err := os.ReadFile(filepath.Join(run, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", filepath.Join(run, ManifestFile), err)
	}
	return &m, nil
}

// writeManifest writes m atomically.
func writeManifest(run string, m *Manifest) error {
	m.Updated = time.Now().UTC().Format(time.RFC3339)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("pipeline: manifest: %w", err)
	}
	return rundir.WriteFile(filepath.Join(run, ManifestFile), append(b, '\n'))
}

// MarkStage records a stage of the run in RUN as done, with its timing,
// for stages run outside this package (the catalogue stage).
func MarkStage(run, name string, started time.Time, items int) error {
	m, err := ReadManifest(run)
	if err != nil {
		return err
	}
	s := m.stage(name)
	s.Done, s.Items = true, items
	s.Started = started.UTC().Format(time.RFC3339Nano)
	s.Finished = time.Now().UTC().Format(time.RFC3339Nano)
	s.Seconds = time.Since(started).Seconds()
	return writeManifest(run, m)
}

// ConfigHash is the hash recorded in the manifest and in every Parquet
// file: SHA-256 of the TOML encoding of cfg with the settings that cannot
// change the catalogue zeroed: [pipeline] workers, lookahead, tile_deg (a run on more
// ranks gives the same tables whatever the tiling) and memory,
// [extraction] threads, and [watch] (live mode's timing; zero, the
// section is not encoded, so hashes are those of runs made before it
// existed). A run may so be resumed with other values of them, and a
// watched run hashes as the batch run of the same configuration.
func ConfigHash(cfg config.Config) (string, error) {
	cfg.Watch = config.Watch{}
	cfg.Pipeline.Workers = 0
	cfg.Pipeline.Lookahead = 0
	cfg.Pipeline.TileDeg = 0
	cfg.Pipeline.Memory = ""
	cfg.Extraction.Threads = 0
	var b bytes.Buffer
	if err := cfg.Encode(&b); err != nil {
		return "", fmt.Errorf("pipeline: could not encode the configuration: %w", err)
	}
	h := sha256.Sum256(b.Bytes())
	return "sha256:" + hex.EncodeToString(h[:]), nil
}

// isNotExist reports a missing file.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
