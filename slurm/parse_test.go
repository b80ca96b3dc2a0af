package slurm

import (
	"errors"
	"os"
	"reflect"
	"testing"
)

func TestParseSubmit(t *testing.T) {
	good := map[string]string{
		"Submitted batch job 123\n":                  "123",
		"Submitted batch job 42 on cluster gotrap\n": "42",
		"77\n":                    "77",
		"78;gotrap\n":             "78",
		"\n  79  \n":              "79",
		"12_3\n":                  "12_3",
		"warning\n80\n":           "80",
		"Submitted batch job 5+1": "5+1",
	}
	for in, want := range good {
		got, err := ParseSubmit([]byte(in))
		if err != nil || got != want {
			t.Errorf("ParseSubmit(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "\n", "Submitted batch job\n", "Submitted batch job x1\n", "-5\n", "12_\n", "1 2\n",
		"sbatch: error: Batch job submission failed: Invalid partition name specified\n"} {
		if got, err := ParseSubmit([]byte(in)); !errors.Is(err, ErrParse) {
			t.Errorf("ParseSubmit(%q) = %q, %v; want ErrParse", in, got, err)
		}
	}
}

func TestParseSqueue(t *testing.T) {
	out := "1|COMPLETED|None\n2|PENDING|Resources\n\n3|FAILED|NonZeroExitCode\n4_1|CANCELLED by 0|None\n"
	got, err := ParseSqueue([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{
		{ID: "1", State: Completed, ExitCode: -1},
		{ID: "2", State: Pending, Reason: "Resources", ExitCode: -1},
		{ID: "3", State: Failed, Reason: "NonZeroExitCode", ExitCode: -1},
		{ID: "4_1", State: Cancelled, ExitCode: -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSqueue:\n got %+v\nwant %+v", got, want)
	}
	// Partial or foreign output is an error, never a state.
	for _, in := range []string{"1|RUNN", "1|RUNNING", "JOBID|STATE|REASON\n", "1|RUN NING|x|y", "x|RUNNING|None", "1||None"} {
		if got, err := ParseSqueue([]byte(in)); !errors.Is(err, ErrParse) {
			t.Errorf("ParseSqueue(%q) = %+v, %v; want ErrParse", in, got, err)
		}
	}
}

func TestParseSacct(t *testing.T) {
	out := "5|COMPLETED|0:0\n5.batch|COMPLETED|0:0\n5.0|COMPLETED|0:0\n6|FAILED|2:0\n7|CANCELLED by 1000|0:15\n8|TIMEOUT|0:1\n"
	got, err := ParseSacct([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []Status{
		{ID: "5", State: Completed},
		{ID: "6", State: Failed, ExitCode: 2},
		{ID: "7", State: Cancelled, Signal: 15},
		{ID: "8", State: Timeout, Signal: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseSacct:\n got %+v\nwant %+v", got, want)
	}
	for _, in := range []string{"5|COMPLETED", "5|COMPLETED|0", "5|COMPLETED|256:0", "5|COMPLETED|a:b", "5|COMPLETED|0:0|x"} {
		if got, err := ParseSacct([]byte(in)); !errors.Is(err, ErrParse) {
			t.Errorf("ParseSacct(%q) = %+v, %v; want ErrParse", in, got, err)
		}
	}
}

func TestParseScontrol(t *testing.T) {
	// Captured from slurm-wlm 22.05 on the cluster of scripts/slurm-cluster.sh:
	// a batch script that exits 3.
	want := Status{ID: "3", State: Failed, Reason: "NonZeroExitCode", ExitCode: 3, StdOut: "/tmp/f-3.out"}
	for _, name := range []string{"testdata/scontrol-failed.txt", "testdata/scontrol-failed-oneliner.txt"} {
		out, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseScontrol(out)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
	two := "JobId=9 JobName=my job JobState=PENDING Reason=Priority Restarts=2 ExitCode=0:0\n" +
		"JobId=10 JobName=x JobState=RUNNING ExitCode=0:0 StdOut=/a b/c.out\n"
	got, err := ParseScontrol([]byte(two))
	if err != nil {
		t.Fatal(err)
	}
	wantTwo := []Status{
		{ID: "9", State: Pending, Reason: "Priority", Restarts: 2},
		{ID: "10", State: Running, StdOut: "/a b/c.out"},
	}
	if !reflect.DeepEqual(got, wantTwo) {
		t.Errorf("two jobs:\n got %+v\nwant %+v", got, wantTwo)
	}
	if got, err := ParseScontrol([]byte("No jobs in the system\n")); err != nil || len(got) != 0 {
		t.Errorf("no jobs: %+v, %v", got, err)
	}
	for _, in := range []string{
		"JobId=3 JobState=RUNNING",              // no ExitCode: partial output
		"JobId=3 ExitCode=0:0",                  // no state
		"JobState=RUNNING JobId=3 ExitCode=0:0", // field before JobId
		"garbage",
		"JobId=3 JobState=RUNNING ExitCode=0:0 Restarts=x",
	} {
		if got, err := ParseScontrol([]byte(in)); !errors.Is(err, ErrParse) {
			t.Errorf("ParseScontrol(%q) = %+v, %v; want ErrParse", in, got, err)
		}
	}
}

func TestExitStatus(t *testing.T) {
	cases := []struct {
		s    Status
		want int
	}{
		{Status{State: Completed}, 0},
		{Status{State: Completed, ExitCode: -1}, 0},
		{Status{State: Failed, ExitCode: 3}, 3},
		{Status{State: Failed, ExitCode: 0, Signal: 9}, 137},
		{Status{State: Timeout, Signal: 15}, 143},
		{Status{State: Cancelled, ExitCode: -1}, 1},
		{Status{State: NodeFail}, 1},
		{Status{State: OutOfMemory, ExitCode: 0, Signal: 0}, 1},
	}
	for _, c := range cases {
		if got := c.s.ExitStatus(); got != c.want {
			t.Errorf("%+v.ExitStatus() = %d, want %d", c.s, got, c.want)
		}
	}
}

func TestStateDone(t *testing.T) {
	for _, s := range []State{Pending, Configuring, Running, Completing, Suspended, Requeued, "RESV_DEL_HOLD"} {
		if s.Done() {
			t.Errorf("%s.Done() = true", s)
		}
	}
	for _, s := range []State{Completed, Failed, Cancelled, Timeout, NodeFail, Preempted, OutOfMemory, BootFail, Deadline} {
		if !s.Done() {
			t.Errorf("%s.Done() = false", s)
		}
	}
}
