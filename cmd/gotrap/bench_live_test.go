package main

import (
	"strings"
	"testing"
)

// TestBenchLiveCLI: "gotrap bench live" is in the help, and a rate that
// is not positive is a usage error (exit 2) naming the flag.
func TestBenchLiveCLI(t *testing.T) {
	code, out, _ := simRun(t, "bench", "--help")
	if code != 0 {
		t.Fatalf("bench --help: exit %d", code)
	}
	for _, want := range []string{"live [--preset aartfaac", "commits.jsonl", "-rate", "-prune", "-duration"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench --help does not mention %q", want)
		}
	}
	for _, rate := range []string{"0", "-3"} {
		code, _, errOut := simRun(t, "bench", "live", "--rate", rate, "--json", "-")
		if code != 2 || !strings.Contains(errOut, "--rate") {
			t.Errorf("bench live --rate %s: exit %d, %q: want 2 naming --rate", rate, code, errOut)
		}
	}
}
