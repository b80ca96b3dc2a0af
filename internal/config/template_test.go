package config

import (
	"reflect"
	"testing"
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
	} {
		if _, err := Parse("job.toml", []byte(src)); err == nil {
			t.Errorf("%q: no error", src)
		}
	}
	c, err := Parse("job.toml", []byte("[monitor]\npositions = [[10.0, -45.5]]\n[association]\nbeamwidths_limit = 2.0\n[forced_fits]\nbackward = true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Monitor.Positions) != 1 || c.Monitor.Positions[0] != [2]float64{10, -45.5} || c.Association.BeamwidthsLimit != 2 || !c.ForcedFits.Backward {
		t.Errorf("parsed %+v", c)
	}
}
