package slurm

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fuzz targets check that the parsers never panic, give the same
// answer twice, and read back what they would print (round trip). Seed
// corpora are in testdata/fuzz/FuzzNAME (captured Slurm 22.05 output and
// edge cases); run one with
//
//	go test -run '^$' -fuzz '^FuzzParseScontrol$' -fuzztime 30s ./slurm

const maxFuzzInput = 1 << 16

func FuzzParseSubmit(f *testing.F) {
	f.Add([]byte("Submitted batch job 123\n"))
	f.Add([]byte("77;cluster\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		if len(out) > maxFuzzInput {
			return
		}
		id, err := ParseSubmit(out)
		id2, err2 := ParseSubmit(out)
		if id != id2 || (err == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %q %v / %q %v", id, err, id2, err2)
		}
		if err != nil {
			return
		}
		if !validJobID(id) || !strings.Contains(string(out), id) {
			t.Fatalf("ParseSubmit(%q) = %q", out, id)
		}
		if back, err := ParseSubmit([]byte(id + "\n")); err != nil || back != id {
			t.Fatalf("round trip of %q: %q, %v", id, back, err)
		}
	})
}

func FuzzParseSqueue(f *testing.F) {
	f.Add([]byte("1|COMPLETED|None\n2|PENDING|Resources\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		if len(out) > maxFuzzInput {
			return
		}
		jobs, err := ParseSqueue(out)
		again, _ := ParseSqueue(out)
		if !reflect.DeepEqual(jobs, again) {
			t.Fatal("not deterministic")
		}
		if err != nil {
			return
		}
		var b strings.Builder
		for _, j := range jobs {
			checkStatus(t, j)
			fmt.Fprintf(&b, "%s|%s|%s\n", j.ID, j.State, orNone(j.Reason))
		}
		back, err := ParseSqueue([]byte(b.String()))
		if err != nil || !reflect.DeepEqual(back, jobs) {
			t.Fatalf("round trip:\n%q\n-> %+v, %v\nwant %+v", b.String(), back, err, jobs)
		}
	})
}

func FuzzParseSacct(f *testing.F) {
	f.Add([]byte("5|COMPLETED|0:0\n5.batch|COMPLETED|0:0\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		if len(out) > maxFuzzInput {
			return
		}
		jobs, err := ParseSacct(out)
		again, _ := ParseSacct(out)
		if !reflect.DeepEqual(jobs, again) {
			t.Fatal("not deterministic")
		}
		if err != nil {
			return
		}
		var b strings.Builder
		for _, j := range jobs {
			checkStatus(t, j)
			fmt.Fprintf(&b, "%s|%s|%d:%d\n", j.ID, j.State, j.ExitCode, j.Signal)
		}
		back, err := ParseSacct([]byte(b.String()))
		if err != nil || !reflect.DeepEqual(back, jobs) {
			t.Fatalf("round trip:\n%q\n-> %+v, %v\nwant %+v", b.String(), back, err, jobs)
		}
	})
}

func FuzzParseScontrol(f *testing.F) {
	f.Add([]byte("JobId=9 JobName=my job JobState=PENDING Reason=Priority Restarts=2 ExitCode=0:0\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		if len(out) > maxFuzzInput {
			return
		}
		jobs, err := ParseScontrol(out)
		again, _ := ParseScontrol(out)
		if !reflect.DeepEqual(jobs, again) {
			t.Fatal("not deterministic")
		}
		if err != nil {
			return
		}
		var b strings.Builder
		for _, j := range jobs {
			checkStatus(t, j)
			fmt.Fprintf(&b, "JobId=%s JobState=%s Reason=%s Restarts=%d ExitCode=%d:%d StdOut=%s\n",
				j.ID, j.State, orNone(j.Reason), j.Restarts, j.ExitCode, j.Signal, j.StdOut)
		}
		back, err := ParseScontrol([]byte(b.String()))
		if err != nil || !reflect.DeepEqual(back, jobs) {
			t.Fatalf("round trip:\n%q\n-> %+v, %v\nwant %+v", b.String(), back, err, jobs)
		}
	})
}

func FuzzParseTimeLimit(f *testing.F) {
	for _, s := range []string{"30", "2:00:00", "1-12:30", "7-23:59:59", "INFINITE"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimeLimit(s)
		if err != nil {
			return
		}
		if d < 0 || d%time.Second != 0 {
			t.Fatalf("ParseTimeLimit(%q) = %v", s, d)
		}
		txt := FormatTimeLimit(d)
		back, err := ParseTimeLimit(txt)
		if err != nil || back != d {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, d, txt, back, err)
		}
	})
}

func FuzzParseMemory(f *testing.F) {
	for _, s := range []string{"0", "4000", "8G", "512k", "2t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseMemory(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseMemory(%q) = %d", s, n)
		}
		// Every size is a whole number of KiB; K reads it back.
		if back, err := ParseMemory(fmt.Sprintf("%dK", n>>10)); err != nil || back != n {
			t.Fatalf("%q -> %d -> %dK -> %d, %v", s, n, n>>10, back, err)
		}
	})
}

func FuzzTasksOnNode(f *testing.F) {
	f.Add("2(x3),1", 3)
	f.Fuzz(func(t *testing.T, s string, node int) {
		if node < 0 {
			return
		}
		n, err := tasksOnNode(s, node)
		if err == nil && n < 0 {
			t.Fatalf("tasksOnNode(%q, %d) = %d", s, node, n)
		}
	})
}

func checkStatus(t *testing.T, s Status) {
	t.Helper()
	if !validJobID(s.ID) || s.State == "" || s.ExitCode < -1 || s.ExitCode > 255 || s.Signal < 0 || s.Signal > 255 {
		t.Fatalf("bad status %+v", s)
	}
	if x := s.ExitStatus(); x < 0 || x > 255 {
		t.Fatalf("ExitStatus %d of %+v", x, s)
	}
}

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
