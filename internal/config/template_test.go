package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTemplateIsDefault: the file "gotrap init" writes parses to the
// defaults, so its comments cannot drift from the code's values.
func TestTemplateIsDefault(t *testing.T) {
	c, err := Parse("gotrap.toml", []byte(Template()))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Monitor.Positions = [][2]float64{} // "positions = []" decodes to empty, not nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("template parses to\n%+v\nwant the defaults\n%+v", c, want)
	}
}

func TestJobValidate(t *testing.T) {
	for _, src := range []string{
		"[pipeline]\nworkers = -1\n",
		"[pipeline]\ntimestep_tolerance = -1.0\n",
		"[association]\nderuiter_radius = 0.0\n",
		"[forced_fits]\nexpiration = -1\n",
		"[quality]\nelliptical_x = 0.5\n",
		"[monitor]\npositions = [[10.0, 95.0]]\n",
		"[extraction]\nerror_model = \"condon\"\n",
		"[variability]\nflux_error_floor = -0.01\n",
		"[variability]\nflux_error_floor = 1.0\n",
		"[variability]\nflux_error_floor = nan\n",
		"[catalog]\nname_prefix = \"\"\n",
		"[watch]\nsettle = 0.0\n",
		"[watch]\npoll_interval = -1.0\n",
		"[watch]\ntimeout = -1.0\n",
		"[watch]\ntimeout = inf\n",
		"[watch]\nsettle = nan\n",
		"[watch]\nimages_per_timestep = -2\n",
		"[catalog]\nname_prefix = \"G T R\"\n",
		"[catalog]\nname_prefix = \"9GTR\"\n",
		"[catalog]\nname_prefix = \"ABCDEFGHIJKLMNOPQ\"\n",
	} {
		if _, err := Parse("job.toml", []byte(src)); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
	c, err := Parse("job.toml", []byte("[monitor]\npositions = [[10.0, -45.5]]\n[association]\nbeamwidths_limit = 2.0\n[forced_fits]\nbackward = true\n[variability]\nflux_error_floor = 0.05\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Monitor.Positions) != 1 || c.Monitor.Positions[0] != [2]float64{10, -45.5} || c.Association.BeamwidthsLimit != 2 || !c.ForcedFits.Backward || c.Variability.FluxErrorFloor != 0.05 {
		t.Errorf("parsed %+v", c)
	}
}

// TestRunNamePrefix reads [catalog] name_prefix from RUN/gotrap.toml,
// GTR without the file.
func TestRunNamePrefix(t *testing.T) {
	dir := t.TempDir()
	if p, err := RunNamePrefix(dir); err != nil || p != "GTR" {
		t.Errorf("no file: %q, %v", p, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gotrap.toml"), []byte("[catalog]\nname_prefix = \"LOFT-TR\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p, err := RunNamePrefix(dir); err != nil || p != "LOFT-TR" {
		t.Errorf("LOFT-TR: %q, %v", p, err)
	}
}

// TestRunVariability reads a run's [variability] from RUN/gotrap.toml,
// defaults without the file, and names the file when it is bad.
func TestRunVariability(t *testing.T) {
	dir := t.TempDir()
	if v, err := RunVariability(dir); err != nil || v != DefaultVariability() {
		t.Errorf("no file: %+v, %v", v, err)
	}
	p := filepath.Join(dir, "gotrap.toml")
	if err := os.WriteFile(p, []byte("[variability]\nflux_error_floor = 0.03\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := RunVariability(dir); err != nil || v.FluxErrorFloor != 0.03 {
		t.Errorf("floor 0.03: %+v, %v", v, err)
	}
	if err := os.WriteFile(p, []byte("[variability]\nflux_error_floor = 2.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := RunVariability(dir); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), p) {
		t.Errorf("floor 2: %v, want ErrInvalid naming %s", err, p)
	}
}

func TestWatchSection(t *testing.T) {
	c, err := Parse("job.toml", []byte("[watch]\nsettle = 0.5\npoll_interval = 0.25\nimages_per_timestep = 8\ntimeout = 0.0\n"))
	if err != nil {
		t.Fatal(err)
	}
	settle, poll, timeout := c.Watch.Durations()
	if settle != 500*time.Millisecond || poll != 250*time.Millisecond || timeout != 0 || c.Watch.ImagesPerTimestep != 8 {
		t.Errorf("watch %+v: durations %v %v %v", c.Watch, settle, poll, timeout)
	}
	_, err = Parse("job.toml", []byte("[watch]\nsettle = -1.0\n"))
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "watch.settle = -1") || !strings.Contains(err.Error(), "job.toml") {
		t.Errorf("error %v: want ErrInvalid naming job.toml and watch.settle", err)
	}
}

// TestEncodeOmitsZeroWatch: a zero [watch] is left out of the encoding
// (the pipeline's configuration hash zeroes it, so runs hash as before
// the section existed); the defaults are encoded and read back.
func TestEncodeOmitsZeroWatch(t *testing.T) {
	c := Default()
	var b strings.Builder
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "[watch]") {
		t.Errorf("the default [watch] is not encoded:\n%s", b.String())
	}
	c.Watch = Watch{}
	b.Reset()
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "watch") {
		t.Errorf("a zero [watch] is encoded:\n%s", b.String())
	}
}
