package slurm

import (
	"fmt"
	"strings"
)

// Env is what a Slurm job's environment says about the job and this task.
// The zero Env means "not under Slurm". Counts are 0 and memory sizes are
// 0 when Slurm did not set the variable.
//
// Rank identity is deliberately absent: a gotrap rank takes its rank and
// size from MPI (reduce/mpi), never from SLURM_PROCID, so that mpirun
// inside an allocation and srun give the same answer.
type Env struct {
	JobID     string // SLURM_JOB_ID
	Partition string // SLURM_JOB_PARTITION
	SubmitDir string // SLURM_SUBMIT_DIR
	NTasks    int    // SLURM_NTASKS: tasks in the job (or step)
	NNodes    int    // SLURM_JOB_NUM_NODES
	// CPUsPerTask is SLURM_CPUS_PER_TASK: set only when the job asked for
	// --cpus-per-task. reduce.CPUs applies it to the rank's goroutines.
	CPUsPerTask int
	CPUsOnNode  int // SLURM_CPUS_ON_NODE: CPUs allocated on this node
	// TasksOnNode is this node's entry of SLURM_TASKS_PER_NODE (the
	// "2(x3),1" form), chosen by SLURM_NODEID.
	TasksOnNode int
	// MemPerNode and MemPerCPU are SLURM_MEM_PER_NODE and SLURM_MEM_PER_CPU
	// in bytes (Slurm gives megabytes). At most one is set, following
	// --mem or --mem-per-cpu (or the partition's default). MemPerNode is
	// 0 for --mem=0, which means all the node's memory.
	MemPerNode int64
	MemPerCPU  int64
	// RestartCount is SLURM_RESTART_COUNT: how often the job has been
	// requeued (after preemption, a node failure or scontrol requeue).
	RestartCount int
}

// ParseEnv reads the Slurm environment through getenv (os.Getenv in the
// command; STYLE 5). Variables that are unset or empty leave their field
// zero; a variable that is set but malformed is an error wrapping
// [ErrParse] that names it, and the other fields are still filled.
func ParseEnv(getenv func(string) string) (Env, error) {
	var (
		e    Env
		errs []string
	)
	get := func(keys ...string) string {
		for _, k := range keys {
			if v := strings.TrimSpace(getenv(k)); v != "" {
				return v
			}
		}
		return ""
	}
	num := func(dst *int, keys ...string) {
		v := get(keys...)
		if v == "" {
			return
		}
		n, err := parseUint(v)
		if err != nil || n > 1<<30 {
			errs = append(errs, fmt.Sprintf("%s=%q", keys[0], v))
			return
		}
		*dst = int(n)
	}
	mem := func(dst *int64, key string) {
		v := get(key)
		if v == "" {
			return
		}
		n, err := ParseMemory(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q", key, v))
			return
		}
		*dst = n
	}
	e.JobID = get("SLURM_JOB_ID", "SLURM_JOBID")
	e.Partition = get("SLURM_JOB_PARTITION")
	e.SubmitDir = get("SLURM_SUBMIT_DIR")
	num(&e.NTasks, "SLURM_NTASKS", "SLURM_NPROCS")
	num(&e.NNodes, "SLURM_JOB_NUM_NODES", "SLURM_NNODES")
	num(&e.CPUsPerTask, "SLURM_CPUS_PER_TASK")
	num(&e.CPUsOnNode, "SLURM_CPUS_ON_NODE")
	num(&e.RestartCount, "SLURM_RESTART_COUNT")
	mem(&e.MemPerNode, "SLURM_MEM_PER_NODE")
	mem(&e.MemPerCPU, "SLURM_MEM_PER_CPU")
	if v := get("SLURM_TASKS_PER_NODE"); v != "" {
		node := 0
		num(&node, "SLURM_NODEID")
		n, err := tasksOnNode(v, node)
		if err != nil {
			errs = append(errs, fmt.Sprintf("SLURM_TASKS_PER_NODE=%q", v))
		}
		e.TasksOnNode = n
	}
	if len(errs) > 0 {
		return e, parseErr("Slurm environment: %s", strings.Join(errs, ", "))
	}
	return e, nil
}

// InJob reports whether the process runs inside a Slurm job.
func (e Env) InJob() bool { return e.JobID != "" }

// Requeued reports whether this is a requeued run of the job: gotrap run
// then resumes from the run directory's manifest (--resume is implied).
func (e Env) Requeued() bool { return e.RestartCount > 0 }

// MemPerTask returns the memory one task (rank) may use, in bytes, or 0
// when Slurm did not say: MemPerCPU times the task's CPUs (CPUsPerTask, at
// least 1), or MemPerNode shared evenly by the tasks on this node. DuckDB's
// memory_limit and the image buffers are sized from it.
func (e Env) MemPerTask() int64 {
	switch {
	case e.MemPerCPU > 0:
		return e.MemPerCPU * int64(max(e.CPUsPerTask, 1))
	case e.MemPerNode > 0:
		return e.MemPerNode / int64(max(e.TasksOnNode, 1))
	}
	return 0
}

// tasksOnNode returns entry node (0-based) of a SLURM_TASKS_PER_NODE value
// such as "2(x3),1", without expanding the repetitions.
func tasksOnNode(s string, node int) (int, error) {
	if len(s) > 4096 {
		return 0, ErrParse
	}
	for _, g := range strings.Split(s, ",") {
		count, reps := g, "1"
		if c, r, ok := strings.Cut(g, "(x"); ok {
			if !strings.HasSuffix(r, ")") {
				return 0, ErrParse
			}
			count, reps = c, strings.TrimSuffix(r, ")")
		}
		n, err1 := parseUint(count)
		k, err2 := parseUint(reps)
		if err1 != nil || err2 != nil || k == 0 || n > 1<<30 {
			return 0, ErrParse
		}
		if int64(node) < k {
			return int(n), nil
		}
		node -= int(k)
	}
	return 0, ErrParse
}
