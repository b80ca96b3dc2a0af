package pipeline

import (
	"errors"
	"fmt"
	"gotrap/internal/rundir"
	"strings"
	"time"
)

// ErrNoRun reports --append to a folder that holds no run.
var ErrNoRun = errors.New("pipeline: --append: no run to append to")

// ErrAppendOrder reports images of an --append that do not come after the
// run's timesteps.
var ErrAppendOrder = errors.New("pipeline: --append: images inside or before the run's timesteps")

// inputPath is the path an entry names (its raw bytes when escaped).
func inputPath(in rundir.InputFile) string {
	if in.PathRaw != nil {
		return string(in.PathRaw)
	}
	return in.Path
}

// appendPaths returns the inputs of an --append: the run's, then those of
// add that are not among them (skipped lists those that are).
func appendPaths(old *rundir.Manifest, add []string) (paths, skipped []string) {
	have := map[string]bool{}
	for _, in := range old.Inputs {
		p := inputPath(in)
		have[p] = true
		paths = append(paths, p)
	}
	for _, p := range add {
		if have[p] {
			skipped = append(skipped, p)
			continue
		}
		have[p] = true
		paths = append(paths, p)
	}
	return paths, skipped
}

// checkResume compares a stored manifest with this call's configuration
// hash and inputs (statInput's entries), and explains the first
// difference; with add (--append), inputs may go on after the run's. An
// input is the run's when its path and size are; when its modification
// time differs too, its content is hashed and compared with the run's
// hash. It returns the entries to record, with the run's hashes, and the
// inputs whose modification time changed before the run recorded their
// hash (stale): their staged results, if any, are not to be trusted.
func checkResume(old *rundir.Manifest, hash string, inputs []rundir.InputFile, add bool) ([]rundir.InputFile, map[string]bool, error) {
	verb := "resume"
	if add {
		verb = "append"
	}
	if old.ConfigHash != hash {
		return nil, nil, fmt.Errorf("%w (%s, now %s); use the run's gotrap.toml or a new --out", ErrConfigDiffers, old.ConfigHash, hash)
	}
	if (!add && len(old.Inputs) != len(inputs)) || len(inputs) < len(old.Inputs) {
		return nil, nil, fmt.Errorf("pipeline: cannot %s: the run had %d inputs, now %d", verb, len(old.Inputs), len(inputs))
	}
	out := make([]rundir.InputFile, len(inputs))
	copy(out, inputs)
	stale := map[string]bool{}
	for i, o := range old.Inputs {
		n := inputs[i]
		same := o.Path == n.Path && string(o.PathRaw) == string(n.PathRaw) && o.Size == n.Size
		switch {
		case !same || o.ModTime == n.ModTime:
		case o.XXH64 != "":
			// Touched or copied: the content decides.
			f, err := fingerprint(inputPath(n))
			if err != nil {
				return nil, nil, err
			}
			same = f.XXH64 == o.XXH64
		default:
			// Written again before the run hashed it: extract it anew.
			stale[inputPath(n)] = true
			o.ModTime = n.ModTime
		}
		if !same {
			return nil, nil, fmt.Errorf("pipeline: cannot %s: input %s changed or differs from the run's %s", verb, n.Path, o.Path)
		}
		if d := catalogueDiff(o, n); d != "" {
			return nil, nil, fmt.Errorf("pipeline: cannot %s: %s", verb, d)
		}
		out[i] = o
	}
	return out, stale, nil
}

// checkAppend checks that the images of plan not in the run's inputs old
// (the added ones) all lie in timesteps after those of the run's images:
// then the run's images keep their ids and timesteps, and the run goes on
// as if it had been given all the images at once. It names the images
// that do not, with their start times.
func checkAppend(plan *Plan, old []string) error {
	was := map[string]bool{}
	for _, p := range old {
		was[p] = true
	}
	last := int64(-1)
	var lastStart time.Time
	for i := range plan.Len() {
		img := plan.Image(i)
		if was[img.Path] && img.Timestep > last && img.hasHeader() {
			last, lastStart = img.Timestep, img.geo().tauStart
		}
	}
	var bad []string
	for i := range plan.Len() {
		img := plan.Image(i)
		if !was[img.Path] && img.hasHeader() && img.Timestep >= 0 && img.Timestep <= last {
			bad = append(bad, fmt.Sprintf("%s (start %s)", img.Path, img.geo().tauStart.UTC().Format(time.RFC3339)))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	const most = 20
	more, n := "", len(bad)
	if len(bad) > most {
		more = fmt.Sprintf(" and %d more", len(bad)-most)
		bad = bad[:most]
	}
	return fmt.Errorf("%w: the run's last timestep starts at %s (within [pipeline] timestep_tolerance of it, an image joins it); %d image(s) start at or before it: %s%s. "+
		"Appending adds only later timesteps; to include these, run all the images into a new --out",
		ErrAppendOrder, lastStart.UTC().Format(time.RFC3339), n, strings.Join(bad, ", "), more)
}

// fillHashes records the content hashes of the input files that the
// timesteps stage made on the reads that extracted them (by plan index)
// in their manifest entries, which entry returns by path (nil: none). A
// file whose hash differs from the one the run recorded changed while
// the run used it: an error naming it. It returns the entries it filled
// (for a live run's inputs log, rundir.AppendInputs).
func fillHashes(plan *Plan, hashes map[int]string, entry func(path string) *rundir.InputFile) ([]rundir.InputFile, error) {
	var filled []rundir.InputFile
	for i, h := range hashes {
		in := entry(plan.Image(i).Path)
		switch {
		case in == nil:
		case in.XXH64 == "":
			in.XXH64 = h
			filled = append(filled, *in)
		case in.XXH64 != h:
			return nil, fmt.Errorf("pipeline: input %s changed: its content hash is %s, the run recorded %s; rerun into a new --out", in.Path, h, in.XXH64)
		}
	}
	return filled, nil
}

// manifestEntries returns fillHashes' entry over m's inputs.
func manifestEntries(m *rundir.Manifest) func(path string) *rundir.InputFile {
	index := make(map[string]int, len(m.Inputs))
	for k, in := range m.Inputs {
		index[inputPath(in)] = k
	}
	return func(path string) *rundir.InputFile {
		if k, ok := index[path]; ok {
			return &m.Inputs[k]
		}
		return nil
	}
}
