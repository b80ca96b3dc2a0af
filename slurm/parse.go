package slurm

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// The output formats the parsers read; [Client] asks for exactly these.
const (
	// SqueueFormat is squeue's --format: job id, long state, reason.
	SqueueFormat = "%i|%T|%r"
	// SacctFormat is sacct's --format, printed with --parsable2.
	SacctFormat = "JobID,State,ExitCode"
)

// maxOutput caps the command output the parsers read (1 MiB).
const maxOutput = 1 << 20

// ParseSubmit returns the job id that sbatch printed: "Submitted batch job
// 123" (optionally followed by " on cluster NAME"), or with --parsable
// "123" or "123;cluster". The first line that has one of these forms wins.
// Errors wrap [ErrParse].
func ParseSubmit(out []byte) (string, error) {
	if len(out) > maxOutput {
		return "", parseErr("sbatch output of %d bytes", len(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "Submitted batch job "); ok {
			id, _, _ := strings.Cut(rest, " ")
			if validJobID(id) {
				return id, nil
			}
			continue
		}
		id, _, _ := strings.Cut(line, ";")
		if validJobID(id) {
			return id, nil
		}
	}
	return "", parseErr("no job id in sbatch output %q", clip(out))
}

// ParseSqueue reads squeue --noheader --format=[SqueueFormat] output: one
// "ID|STATE|REASON" line per job. ExitCode is -1 (squeue does not tell).
// Blank lines are skipped; any other malformed line is an error wrapping
// [ErrParse] (partial output is not mistaken for a state).
func ParseSqueue(out []byte) ([]Status, error) {
	var jobs []Status
	err := eachLine(out, "squeue", func(line string) error {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			return parseErr("squeue line %q: want ID|STATE|REASON", line)
		}
		st, ok := parseState(f[1])
		id := strings.TrimSpace(f[0])
		if !ok || !validJobID(id) {
			return parseErr("squeue line %q", line)
		}
		jobs = append(jobs, Status{ID: id, State: st, Reason: reason(f[2]), ExitCode: -1})
		return nil
	})
	return jobs, err
}

// ParseSacct reads sacct --noheader --parsable2 --format=[SacctFormat]
// output: "ID|STATE|EXIT:SIGNAL" lines. Job steps (ids with a dot, such as
// 123.batch or 123.0) are skipped, so --allocations is optional. Errors
// wrap [ErrParse].
func ParseSacct(out []byte) ([]Status, error) {
	var jobs []Status
	err := eachLine(out, "sacct", func(line string) error {
		f := strings.Split(line, "|")
		if len(f) != 3 {
			return parseErr("sacct line %q: want ID|STATE|EXITCODE", line)
		}
		id := strings.TrimSpace(f[0])
		if strings.Contains(id, ".") {
			return nil
		}
		st, ok := parseState(f[1])
		code, sig, okExit := parseExitCode(f[2])
		if !ok || !okExit || !validJobID(id) {
			return parseErr("sacct line %q", line)
		}
		jobs = append(jobs, Status{ID: id, State: st, ExitCode: code, Signal: sig})
		return nil
	})
	return jobs, err
}

// ParseScontrol reads scontrol show job output, with or without
// --oneliner: whitespace-separated Key=Value fields, a new job at each
// JobId=. A word without "=" continues the previous value (job names and
// paths may hold spaces). Each job must have JobId, JobState and ExitCode;
// "No jobs in the system" gives none. Errors wrap [ErrParse].
func ParseScontrol(out []byte) ([]Status, error) {
	if len(out) > maxOutput {
		return nil, parseErr("scontrol output of %d bytes", len(out))
	}
	var (
		jobs   []map[string]string
		cur    map[string]string
		lastKy string
	)
	for _, w := range strings.Fields(string(out)) {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			if cur == nil {
				if len(jobs) == 0 && strings.HasPrefix(strings.TrimSpace(string(out)), "No jobs") {
					return nil, nil
				}
				return nil, parseErr("scontrol output %q: text before JobId=", clip(out))
			}
			cur[lastKy] += " " + w
			continue
		}
		if k == "JobId" {
			cur = map[string]string{}
			jobs = append(jobs, cur)
		}
		if cur == nil {
			return nil, parseErr("scontrol output %q: %s before JobId=", clip(out), k)
		}
		cur[k], lastKy = v, k
	}
	var res []Status
	for _, j := range jobs {
		id := j["JobId"]
		st, okState := parseState(j["JobState"])
		code, sig, okExit := parseExitCode(j["ExitCode"])
		if !validJobID(id) || !okState || !okExit {
			return nil, parseErr("scontrol job %q: need JobId, JobState and ExitCode", id)
		}
		s := Status{ID: id, State: st, Reason: reason(j["Reason"]), ExitCode: code, Signal: sig, StdOut: j["StdOut"]}
		if r, ok := j["Restarts"]; ok {
			n, err := parseUint(r)
			if err != nil || n > 1<<30 {
				return nil, parseErr("scontrol job %s: Restarts=%q", id, r)
			}
			s.Restarts = int(n)
		}
		res = append(res, s)
	}
	return res, nil
}

// eachLine calls fn for each non-blank, trimmed line of out.
func eachLine(out []byte, cmd string, fn func(string) error) error {
	if len(out) > maxOutput {
		return parseErr("%s output of %d bytes", cmd, len(out))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, maxOutput+1)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := fn(line); err != nil {
			return err
		}
	}
	return sc.Err()
}

// parseExitCode parses "EXIT:SIGNAL" (0..255 each).
func parseExitCode(s string) (code, sig int, ok bool) {
	a, b, found := strings.Cut(strings.TrimSpace(s), ":")
	if !found {
		return 0, 0, false
	}
	c, err1 := strconv.ParseUint(a, 10, 8)
	g, err2 := strconv.ParseUint(b, 10, 8)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return int(c), int(g), true
}

// reason turns Slurm's "None" and "(null)" into "".
func reason(s string) string {
	s = strings.TrimSpace(s)
	if s == "None" || s == "(null)" {
		return ""
	}
	return s
}

// validJobID accepts a job id: digits, optionally followed by an array
// task ("_7") or a heterogeneous component ("+1").
func validJobID(id string) bool {
	main, suffix := id, ""
	if i := strings.IndexAny(id, "_+"); i >= 0 {
		main, suffix = id[:i], id[i+1:]
		if _, err := parseUint(suffix); err != nil {
			return false
		}
	}
	_, err := parseUint(main)
	return err == nil
}

// clip returns at most 200 bytes of out, for error messages.
func clip(out []byte) string {
	const n = 200
	if len(out) > n {
		return string(out[:n]) + "..."
	}
	return string(out)
}
