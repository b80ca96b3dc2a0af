package slurm

import (
	"errors"
	"strings"
	"testing"
)

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestParseEnv(t *testing.T) {
	// As sbatch --ntasks=4 --cpus-per-task=2 --mem=8G on two nodes, seen
	// from node 1, after one requeue.
	e, err := ParseEnv(mapEnv(map[string]string{
		"SLURM_JOB_ID": "1234", "SLURM_JOB_PARTITION": "debug", "SLURM_SUBMIT_DIR": "/home/u",
		"SLURM_NTASKS": "4", "SLURM_JOB_NUM_NODES": "2", "SLURM_CPUS_PER_TASK": "2",
		"SLURM_CPUS_ON_NODE": "6", "SLURM_TASKS_PER_NODE": "1,3", "SLURM_NODEID": "1",
		"SLURM_MEM_PER_NODE": "8192", "SLURM_RESTART_COUNT": "1",
		"SLURM_PROCID": "3", // never read: ranks come from MPI
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := Env{JobID: "1234", Partition: "debug", SubmitDir: "/home/u", NTasks: 4, NNodes: 2,
		CPUsPerTask: 2, CPUsOnNode: 6, TasksOnNode: 3, MemPerNode: 8 << 30, RestartCount: 1}
	if e != want {
		t.Errorf("ParseEnv:\n got %+v\nwant %+v", e, want)
	}
	if !e.InJob() || !e.Requeued() {
		t.Errorf("InJob %v Requeued %v, want true true", e.InJob(), e.Requeued())
	}
	if got, want := e.MemPerTask(), int64(8<<30)/3; got != want {
		t.Errorf("MemPerTask = %d, want %d", got, want)
	}
}

func TestParseEnvOutsideSlurm(t *testing.T) {
	e, err := ParseEnv(mapEnv(nil))
	if err != nil || e != (Env{}) || e.InJob() || e.Requeued() || e.MemPerTask() != 0 {
		t.Errorf("ParseEnv(empty) = %+v, %v; want zero Env", e, err)
	}
}

func TestMemPerTask(t *testing.T) {
	cases := []struct {
		e    Env
		want int64
	}{
		{Env{MemPerCPU: 1 << 30}, 1 << 30},
		{Env{MemPerCPU: 1 << 30, CPUsPerTask: 4}, 4 << 30},
		{Env{MemPerNode: 12 << 30, TasksOnNode: 4}, 3 << 30},
		{Env{MemPerNode: 12 << 30}, 12 << 30},
		{Env{MemPerNode: 0, TasksOnNode: 4}, 0}, // --mem=0: the whole node, size unknown
	}
	for _, c := range cases {
		if got := c.e.MemPerTask(); got != c.want {
			t.Errorf("%+v.MemPerTask() = %d, want %d", c.e, got, c.want)
		}
	}
}

func TestTasksOnNode(t *testing.T) {
	cases := []struct {
		s    string
		node int
		want int
	}{
		{"2", 0, 2}, {"2(x3),1", 0, 2}, {"2(x3),1", 2, 2}, {"2(x3),1", 3, 1}, {"4(x1000000000)", 999999999, 4},
	}
	for _, c := range cases {
		if got, err := tasksOnNode(c.s, c.node); err != nil || got != c.want {
			t.Errorf("tasksOnNode(%q, %d) = %d, %v; want %d", c.s, c.node, got, err, c.want)
		}
	}
	for _, s := range []string{"", "2(x3", "2(x0)", "a", "2(x3),1,"} {
		if _, err := tasksOnNode(s, 4); err == nil {
			t.Errorf("tasksOnNode(%q) = nil error", s)
		}
	}
}

func TestParseEnvErrors(t *testing.T) {
	e, err := ParseEnv(mapEnv(map[string]string{
		"SLURM_JOB_ID": "7", "SLURM_CPUS_PER_TASK": "two", "SLURM_MEM_PER_CPU": "1.5G", "SLURM_NTASKS": "3",
	}))
	if !errors.Is(err, ErrParse) {
		t.Fatalf("err = %v, want ErrParse", err)
	}
	for _, k := range []string{"SLURM_CPUS_PER_TASK", "SLURM_MEM_PER_CPU"} {
		if !strings.Contains(err.Error(), k) {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
	if e.JobID != "7" || e.NTasks != 3 || e.CPUsPerTask != 0 {
		t.Errorf("good fields not kept: %+v", e)
	}
}
