package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"

	"gotrap/internal/config"
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
