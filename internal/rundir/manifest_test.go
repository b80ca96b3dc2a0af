package rundir

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// TestInputsLog: a manifest that keeps its inputs in RUN/inputs.jsonl
// reads back with every input in order, later entries of an input (its
// hash recorded at commit) replacing the earlier in place; manifest.json
// itself holds none of them; a last line cut by a crash is ignored by
// readers and removed by the next append.
func TestInputsLog(t *testing.T) {
	run := t.TempDir()
	m := &Manifest{Version: "v", ConfigHash: "h", Inputs: []InputFile{
		{Path: "/data/a.fits", Size: 10, ModTime: "t1", XXH64: "aa"},
		{Path: "/data/b.fits", Size: 20, ModTime: "t2"},
	}}
	if err := WriteInputsLog(run, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteManifest(run, m); err != nil {
		t.Fatal(err)
	}
	var onDisk struct {
		Inputs    []InputFile `json:"inputs"`
		InputsLog bool        `json:"inputs_log"`
	}
	b, err := os.ReadFile(ManifestPath(run))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Inputs) != 0 || !onDisk.InputsLog {
		t.Fatalf("manifest.json holds %d inputs, inputs_log %v; want none and true", len(onDisk.Inputs), onDisk.InputsLog)
	}
	if len(m.Inputs) != 2 {
		t.Fatalf("WriteManifest changed the caller's inputs: %d", len(m.Inputs))
	}
	// A new input, then b's hash.
	c := InputFile{Path: "/data/c.fits", Size: 30, ModTime: "t3"}
	bh := m.Inputs[1]
	bh.XXH64 = "bb"
	if err := AppendInputs(run, c); err != nil {
		t.Fatal(err)
	}
	if err := AppendInputs(run, bh); err != nil {
		t.Fatal(err)
	}
	want := []InputFile{m.Inputs[0], bh, c}
	got, err := ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Inputs, want) {
		t.Fatalf("inputs read back %+v, want %+v", got.Inputs, want)
	}
	// A crash in the middle of an append: the cut line is not an input.
	f, err := os.OpenFile(InputsLogPath(run), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"path":"/data/d.fi`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err = ReadManifest(run)
	if err != nil || !reflect.DeepEqual(got.Inputs, want) {
		t.Fatalf("with a cut last line: inputs %+v, error %v; want %+v", got.Inputs, err, want)
	}
	d := InputFile{Path: "/data/d.fits", Size: 40, ModTime: "t4", XXH64: "dd"}
	if err := AppendInputs(run, d); err != nil {
		t.Fatal(err)
	}
	got, err = ReadManifest(run)
	if err != nil || !reflect.DeepEqual(got.Inputs, append(want, d)) {
		t.Fatalf("after an append over a cut line: inputs %+v, error %v", got.Inputs, err)
	}
	log, _ := os.ReadFile(InputsLogPath(run))
	if n := strings.Count(string(log), "\n"); n != 5 || strings.Contains(string(log), `"/data/d.fi"`) {
		t.Errorf("the log has %d lines, want 5 whole ones:\n%s", n, log)
	}
	// A damaged line that is not the last is an error naming the file.
	if err := os.WriteFile(InputsLogPath(run), []byte("{\"path\":\"/x\"}\nnot json\n{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifest(run); err == nil || !strings.Contains(err.Error(), "inputs.jsonl line 2") {
		t.Errorf("a damaged line: error %v, want one naming inputs.jsonl line 2", err)
	}
}
