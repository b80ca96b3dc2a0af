package main

import (
	"errors"
	"io/fs"
	"testing"

	"gotrap/internal/config"
	"gotrap/slurm"
)

// TestMemoryAllowance checks the order of the sources of a process's
// memory allowance: --memory, [pipeline] memory, Slurm's allowance per
// task, the cgroup's limit shared by the MPI ranks on the node, none.
func TestMemoryAllowance(t *testing.T) {
	cgroup := map[string]string{
		"/proc/self/cgroup":         "0::/\n",
		"/sys/fs/cgroup/memory.max": "17179869184\n", // 16 GiB
	}
	files := func(m map[string]string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if s, ok := m[p]; ok {
				return []byte(s), nil
			}
			return nil, fs.ErrNotExist
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	slurmJob := slurm.Env{JobID: "7", MemPerCPU: 2 << 30, CPUsPerTask: 2}
	for _, tc := range []struct {
		name       string
		flag, cfg  string
		slurm      slurm.Env
		env        map[string]string
		cgroup     map[string]string
		want       int64
		wantSource string
	}{
		{name: "none"},
		{name: "flag wins", flag: "3GiB", cfg: "5GiB", slurm: slurmJob, cgroup: cgroup, want: 3 << 30, wantSource: "--memory"},
		{name: "config", cfg: "5GiB", slurm: slurmJob, cgroup: cgroup, want: 5 << 30, wantSource: "[pipeline] memory"},
		{name: "slurm", slurm: slurmJob, cgroup: cgroup, want: 4 << 30, wantSource: "Slurm"},
		{name: "cgroup", cgroup: cgroup, want: 16 << 30, wantSource: "cgroup limit / 1 ranks on the node"},
		{name: "cgroup shared by 4 Open MPI ranks", cgroup: cgroup, env: map[string]string{"OMPI_COMM_WORLD_LOCAL_SIZE": "4"},
			want: 4 << 30, wantSource: "cgroup limit / 4 ranks on the node"},
		{name: "cgroup shared by srun's tasks", cgroup: cgroup, slurm: slurm.Env{JobID: "7", TasksOnNode: 2},
			env: map[string]string{"PMI_RANK": "0"}, want: 8 << 30, wantSource: "cgroup limit / 2 ranks on the node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, src, err := memoryAllowance(tc.flag, tc.cfg, tc.slurm, env(tc.env), files(tc.cgroup))
			if err != nil || got != tc.want || src != tc.wantSource {
				t.Errorf("memoryAllowance = %d, %q, %v; want %d, %q", got, src, err, tc.want, tc.wantSource)
			}
		})
	}
	if _, _, err := memoryAllowance("8", "", slurm.Env{}, env(nil), files(nil)); !errors.Is(err, config.ErrMemorySize) {
		t.Errorf("--memory 8: error %v, want one wrapping config.ErrMemorySize", err)
	}
}
