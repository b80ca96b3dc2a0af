package pipeline

import (
	"testing"

	"gotrap/internal/config"
)

// TestConfigHashIgnoresWatch: [watch] (when live mode takes images) does
// not change the configuration hash, so a watched run hashes as the batch
// run of the same configuration; a catalogue setting does.
func TestConfigHashIgnoresWatch(t *testing.T) {
	a := config.Default()
	b := a
	b.Watch.Settle, b.Watch.ImagesPerTimestep, b.Watch.Timeout = 9, 8, 0
	ha, err := ConfigHash(a)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := ConfigHash(b)
	if err != nil {
		t.Fatal(err)
	}
	if ha != hb {
		t.Errorf("hash changed with [watch]: %s, %s", ha, hb)
	}
	b.Association.DeRuiterRadius = 4
	if hc, _ := ConfigHash(b); hc == ha {
		t.Error("hash did not change with association.deruiter_radius")
	}
}
