package main

import (
	"path/filepath"
	"strings"
	"testing"

	"gotrap/slurm"
)

// TestApplySlurmEnv: a requeued job resumes; DuckDB gets three quarters
// of the task's memory unless --memory-limit was given; outside Slurm
// nothing changes.
func TestApplySlurmEnv(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          runFlags
		env         slurm.Env
		resume      bool
		memoryLimit string
	}{
		{name: "not under Slurm", env: slurm.Env{}},
		{name: "fresh job", env: slurm.Env{JobID: "7"}},
		{name: "requeued", env: slurm.Env{JobID: "7", RestartCount: 1}, resume: true},
		{name: "mem-per-cpu", env: slurm.Env{JobID: "7", MemPerCPU: 4 << 30, CPUsPerTask: 2}, memoryLimit: "6144MiB"},
		{name: "mem per node shared", env: slurm.Env{JobID: "7", MemPerNode: 16 << 30, TasksOnNode: 4}, memoryLimit: "3072MiB"},
		{name: "tiny allowance", env: slurm.Env{JobID: "7", MemPerNode: 10 << 20}, memoryLimit: "64MiB"},
		{name: "flag wins", in: runFlags{memoryLimit: "2GB"}, env: slurm.Env{JobID: "7", MemPerCPU: 4 << 30}, memoryLimit: "2GB"},
		{name: "resume flag kept", in: runFlags{resume: true}, env: slurm.Env{JobID: "7"}, resume: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := applySlurmEnv(tc.in, tc.env)
			if got.resume != tc.resume || got.memoryLimit != tc.memoryLimit {
				t.Errorf("resume %v, memory limit %q; want %v, %q", got.resume, got.memoryLimit, tc.resume, tc.memoryLimit)
			}
		})
	}
}

// TestRunRequeuedResumes: with SLURM_RESTART_COUNT set (a requeued job),
// "gotrap run" on a run directory that holds a run continues it instead
// of refusing it; a malformed Slurm variable is reported as a warning.
func TestRunRequeuedResumes(t *testing.T) {
	d := t.TempDir()
	data := filepath.Join(d, "tiny")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "2", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	images, out := filepath.Join(data, "images"), filepath.Join(d, "run")
	if code, _, stderr := runCmd(t, "run", "--quiet", "--out", out, images); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	// Without a requeue the run directory is refused.
	if code, _, _ := runCmd(t, "run", "--quiet", "--out", out, images); code == 0 {
		t.Fatal("a second run into the same directory succeeded without --resume; the test below proves nothing")
	}
	t.Setenv("SLURM_JOB_ID", "42")
	t.Setenv("SLURM_RESTART_COUNT", "1")
	t.Setenv("SLURM_MEM_PER_CPU", "lots")
	code, _, stderr := runCmd(t, "run", "--quiet", "--out", out, images)
	if code != 0 {
		t.Fatalf("requeued run: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "SLURM_MEM_PER_CPU") {
		t.Errorf("stderr does not warn about SLURM_MEM_PER_CPU: %q", stderr)
	}
}
