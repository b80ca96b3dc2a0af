package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// checkStamped requires every line of text to start with an RFC 3339
// UTC timestamp and returns the lines without it.
func checkStamped(t *testing.T, what, text string) []string {
	t.Helper()
	var rest []string
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		ts, msg, _ := strings.Cut(sc.Text(), " ")
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") {
			t.Errorf("%s: line %q does not start with an RFC 3339 UTC time: %v", what, sc.Text(), err)
		}
		rest = append(rest, msg)
	}
	return rest
}

// TestRunProgressEveryStage: with progress on a log stream (not a
// terminal), every stage of the pipeline, associate included, says on it
// that it starts and is done (the catalogue stage is cmd/gotrap's,
// TestInitRunQuery), and every line there and in the
// rank's log starts with a UTC timestamp.
func TestRunProgressEveryStage(t *testing.T) {
	data := tiny(t)
	run := filepath.Join(t.TempDir(), "run")
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	var prog bytes.Buffer
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2,
		Progress: &prog, ProgressEvery: time.Nanosecond}); err != nil {
		t.Fatal(err)
	}
	lines := checkStamped(t, "progress", prog.String())
	text := strings.Join(lines, "\n")
	for _, st := range []string{StagePlan, StageTimesteps, StageTables, StageLimits} {
		for _, want := range []string{"stage " + st + ": start", "stage " + st + ": done in "} {
			if !strings.Contains(text, want) {
				t.Errorf("progress lacks %q:\n%s", want, text)
			}
		}
	}
	if !strings.Contains(text, "images/s") {
		t.Errorf("progress has no per-image line:\n%s", text)
	}
	b, err := os.ReadFile(filepath.Join(run, "logs", "rank-0000.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(checkStamped(t, "rank log", string(b))) == 0 {
		t.Error("empty rank log")
	}
}
