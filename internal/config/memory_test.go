package config

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestPipelineMemory checks [pipeline] memory: a size with a unit is
// accepted and round-trips, anything else is ErrInvalid naming the key,
// and the default ("") is left out of the encoded configuration, so that
// adding the key changed no run's configuration hash.
func TestPipelineMemory(t *testing.T) {
	c, err := Parse("job.toml", []byte("[pipeline]\nmemory = \"8GiB\"\n"))
	if err != nil || c.Pipeline.Memory != "8GiB" {
		t.Fatalf("memory = \"8GiB\": %+v, %v", c.Pipeline, err)
	}
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Parse("encoded", b.Bytes())
	if err != nil || back.Pipeline.Memory != "8GiB" {
		t.Errorf("round trip: %+v, %v\n%s", back.Pipeline, err, b.String())
	}
	for _, bad := range []string{`"8"`, `"lots"`, `"-1GB"`, `"0GiB"`} {
		_, err := Parse("job.toml", []byte("[pipeline]\nmemory = "+bad+"\n"))
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "pipeline.memory") {
			t.Errorf("memory = %s: error %v, want ErrInvalid naming pipeline.memory", bad, err)
		}
	}
	d := Default()
	b.Reset()
	if err := d.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "memory") {
		t.Errorf("the default configuration encodes a memory key:\n%s", b.String())
	}
}
