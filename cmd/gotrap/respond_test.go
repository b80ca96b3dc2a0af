package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/respond"
	"gotrap/internal/rundir"
)

// TestRespondCommandExec: "gotrap respond" is a dry run by default
// (nothing written, nothing run); --send runs the exec action once per
// matching event with the event JSON on stdin and logs it; a second
// --send runs nothing.
func TestRespondCommandExec(t *testing.T) {
	d := t.TempDir()
	_, shared := tinyRun(t)
	run := copyTree(t, shared) // respond --send writes the delivery log
	evs, err := respond.ReadEvents(run)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range evs {
		if e.Type == respond.TypeNewSource {
			want = append(want, e.ID)
		}
	}
	if len(want) == 0 {
		t.Fatal("gotrap run wrote no new-source event")
	}
	out := filepath.Join(d, "trigger.jsonl")
	rules := filepath.Join(d, "rules.toml")
	toml := fmt.Sprintf("[[response]]\nname = \"trigger\"\nwhen = \"type = 'new_source'\"\nactions = [\"exec\"]\nexec = [\"sh\", \"-c\", \"cat >> %s; echo >> %s\"]\n", out, out)
	if err := os.WriteFile(rules, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "respond", "--config", rules, run)
	if code != 0 || strings.Count(stdout, "would send") != len(want) || !strings.Contains(stdout, "dry run") {
		t.Fatalf("dry run: exit %d\n%s%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the dry run ran the command")
	}
	if _, err := os.Stat(rundir.ResponsesLogPath(run)); err == nil {
		t.Fatal("the dry run wrote the delivery log")
	}
	code, stdout, stderr = runCmd(t, "respond", "--send", "--config", rules, run)
	if code != 0 || !strings.Contains(stdout, fmt.Sprintf("delivered %d,", len(want))) {
		t.Fatalf("--send: exit %d\n%s%s", code, stdout, stderr)
	}
	got := readTriggers(t, out)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the command received %v, want %v", got, want)
	}
	code, stdout, _ = runCmd(t, "respond", "--send", "--config", rules, run)
	if code != 0 || !strings.Contains(stdout, "delivered 0,") || len(readTriggers(t, out)) != len(want) {
		t.Errorf("second --send delivered again:\n%s", stdout)
	}
	if code, _, stderr := runCmd(t, "respond", "--timesteps", "5-2", run); code != 2 || !strings.Contains(stderr, "--timesteps") {
		t.Errorf("bad --timesteps: exit %d: %s", code, stderr)
	}
}

// readTriggers reads the event ids the exec action's command received.
func readTriggers(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var p struct {
			Rule  string         `json:"rule"`
			Event map[string]any `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			t.Fatalf("%s: %v", sc.Text(), err)
		}
		if p.Rule != "trigger" {
			t.Errorf("rule %q", p.Rule)
		}
		ids = append(ids, p.Event["id"].(string))
	}
	return ids
}
