//go:build !front

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"gotrap/internal/rundir"
	"gotrap/reduce"
	"gotrap/reduce/mpi"
	"gotrap/slurm"
)

var mpicheckFl struct {
	out        string
	ranks      int
	iterations int
}

func init() {
	register(&command{
		name:  "mpicheck",
		usage: "[--out DIR] [--ranks N] [--iterations K]",
		short: "check MPI, CPUs and memory of each rank (under mpirun, srun or alone)",
		long: `
Mpicheck checks what a run would get, before a long job does: every rank
reports its host, process, CPUs (what gotrap's worker pools use: Go's
affinity-aware count lowered to SLURM_CPUS_PER_TASK) and Slurm's memory
allowance; the ranks then run an Allreduce and an Allgatherv and check the
results, and time K small Allreduces. Rank 0 prints a table and, with --out,
writes DIR/mpicheck.json.

Started by mpirun or srun, it uses MPI (the binary must be built with
-tags mpi); started alone, it runs --ranks in-process ranks. A slow
Allreduce (over 1 ms) usually means ranks busy-polling on too few cores:
set OMPI_MCA_mpi_yield_when_idle=1, or give each rank a core.

Examples:
  mpirun -np 4 --bind-to none gotrap mpicheck
  srun --mpi=pmix -n 4 gotrap mpicheck
  gotrap slurm --ntasks 4 --subcommand mpicheck --out /scratch/check --submit --wait`,
		setFlags: func(fs *flag.FlagSet) {
			mpicheckFl.out, mpicheckFl.ranks, mpicheckFl.iterations = "", 2, 200
			fs.StringVar(&mpicheckFl.out, "out", "", "write DIR/mpicheck.json (rank 0)")
			fs.IntVar(&mpicheckFl.ranks, "ranks", 2, "in-process ranks when no MPI launcher started gotrap")
			fs.IntVar(&mpicheckFl.iterations, "iterations", 200, "Allreduces timed")
		},
		run: runMPICheck,
	})
}

// mpiRankInfo is what each rank reports.
type mpiRankInfo struct {
	Rank       int    `json:"rank"`
	Host       string `json:"host"`
	PID        int    `json:"pid"`
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// SlurmProcID is SLURM_PROCID, shown next to the MPI rank for
	// comparison only: gotrap's rank always comes from MPI.
	SlurmProcID string `json:"slurm_procid,omitempty"`
	MemPerTask  int64  `json:"mem_per_task_bytes,omitempty"`
}

// mpiCheckResult is DIR/mpicheck.json.
type mpiCheckResult struct {
	Engine          string        `json:"engine"` // "mpi" or "in-process"
	Size            int           `json:"size"`
	SlurmJobID      string        `json:"slurm_job_id,omitempty"`
	AllreduceOK     bool          `json:"allreduce_ok"`
	AllgathervOK    bool          `json:"allgatherv_ok"`
	AllreduceMicros float64       `json:"allreduce_us"` // slowest rank's mean
	Ranks           []mpiRankInfo `json:"ranks"`
}

func runMPICheck(env *cmdEnv, args []string) error {
	f := mpicheckFl
	if len(args) > 0 {
		return usageError("unexpected argument %q", args[0])
	}
	if f.ranks < 1 || f.iterations < 1 {
		return usageError("--ranks and --iterations must be at least 1")
	}
	senv, err := slurm.ParseEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "gotrap mpicheck: warning: %v\n", err)
	}
	engine := "in-process"
	check := func(c reduce.Comm) error {
		res, err := mpiCheck(c, senv, f.iterations)
		if err != nil || c.Rank() != 0 {
			return err
		}
		res.Engine = engine
		return reportMPICheck(env, res, f.out)
	}
	if mpi.Launched(os.Getenv) {
		engine = "mpi"
		err := mpi.Run(check)
		if errors.Is(err, mpi.ErrNotBuilt) {
			return errors.New("started by an MPI launcher, but this gotrap was built without MPI: " +
				"every process would run alone; build with 'go build -tags mpi ./cmd/gotrap'")
		}
		return err
	}
	return reduce.Run(f.ranks, check)
}

// mpiCheck runs the collectives on every rank and returns, on rank 0, the
// gathered result.
func mpiCheck(c reduce.Comm, senv slurm.Env, iterations int) (*mpiCheckResult, error) {
	host, _ := os.Hostname()
	me := mpiRankInfo{Rank: c.Rank(), Host: host, PID: os.Getpid(), CPUs: reduce.CPUs(os.Getenv),
		GOMAXPROCS: runtime.GOMAXPROCS(0), SlurmProcID: os.Getenv("SLURM_PROCID"), MemPerTask: senv.MemPerTask()}
	n := c.Size()

	sum := []int64{int64(c.Rank() + 1)}
	if err := c.AllreduceInt64(sum, reduce.Sum); err != nil {
		return nil, err
	}
	mx := []float64{float64(c.Rank())}
	if err := c.AllreduceFloat64(mx, reduce.Max); err != nil {
		return nil, err
	}
	allreduceOK := sum[0] == int64(n*(n+1)/2) && mx[0] == float64(n-1)

	b, err := json.Marshal(me)
	if err != nil {
		return nil, err
	}
	parts, err := c.Allgatherv(b)
	if err != nil {
		return nil, err
	}
	ranks := make([]mpiRankInfo, len(parts))
	gatherOK := len(parts) == n
	for i, p := range parts {
		if err := json.Unmarshal(p, &ranks[i]); err != nil || ranks[i].Rank != i {
			gatherOK = false
		}
	}

	if err := c.Barrier(); err != nil {
		return nil, err
	}
	buf := []float64{1}
	start := time.Now()
	for range iterations {
		if err := c.AllreduceFloat64(buf, reduce.Sum); err != nil {
			return nil, err
		}
		buf[0] = 1
	}
	us := []float64{float64(time.Since(start).Microseconds()) / float64(iterations)}
	if err := c.AllreduceFloat64(us, reduce.Max); err != nil {
		return nil, err
	}
	return &mpiCheckResult{Size: n, SlurmJobID: senv.JobID, AllreduceOK: allreduceOK, AllgathervOK: gatherOK,
		AllreduceMicros: us[0], Ranks: ranks}, nil
}

func reportMPICheck(env *cmdEnv, r *mpiCheckResult, out string) error {
	w := env.stdout
	fmt.Fprintf(w, "engine %s, %d ranks", r.Engine, r.Size)
	if r.SlurmJobID != "" {
		fmt.Fprintf(w, ", Slurm job %s", r.SlurmJobID)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%5s  %-20s %8s %5s %10s %12s %10s\n", "rank", "host", "pid", "cpus", "gomaxprocs", "slurm_procid", "mem/task")
	for _, k := range r.Ranks {
		mem := "-"
		if k.MemPerTask > 0 {
			mem = fmt.Sprintf("%.1fG", float64(k.MemPerTask)/(1<<30))
		}
		proc := k.SlurmProcID
		if proc == "" {
			proc = "-"
		}
		fmt.Fprintf(w, "%5d  %-20s %8d %5d %10d %12s %10s\n", k.Rank, k.Host, k.PID, k.CPUs, k.GOMAXPROCS, proc, mem)
	}
	fmt.Fprintf(w, "allreduce %s, allgatherv %s, %.1f µs per small Allreduce\n",
		okWord(r.AllreduceOK), okWord(r.AllgathervOK), r.AllreduceMicros)
	if r.AllreduceMicros > 1000 {
		fmt.Fprintln(env.stderr, "gotrap mpicheck: warning: Allreduce is slow; ranks may be busy-polling on too few cores "+
			"(set OMPI_MCA_mpi_yield_when_idle=1, or give each rank a core)")
	}
	if out != "" {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		err := rundir.WriteFunc(filepath.Join(out, "mpicheck.json"), func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(r)
		})
		if err != nil {
			return err
		}
	}
	if !r.AllreduceOK || !r.AllgathervOK {
		return errors.New("collectives returned wrong results")
	}
	return nil
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "WRONG"
}
