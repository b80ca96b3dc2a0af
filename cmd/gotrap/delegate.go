package main

// The front build (front.go; make build's bin/gotrap) holds the commands
// that need neither DuckDB nor MPI in a static pure-Go binary, which
// starts without a dynamic loader, DuckDB's C++ or Open MPI's libraries,
// and touches half the pages (docs/performance.md, "Start-up"). Every other command, and the top-level help that lists
// them all, is run by the full build, gotrap-full, which the front
// process becomes (execve: same process id, arguments, environment and
// streams, so mpirun, srun and shells see one process). The code is here,
// untagged, so that the default build vets and tests it.

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// fullName is the full build's file name, looked for beside this
// executable first, then on PATH.
const fullName = "gotrap-full"

// execFull replaces the process by gotrap-full with args. It returns only
// when that fails, with the exit status 1 and the reason on stderr.
func execFull(args []string, stderr io.Writer) int {
	bin, err := findFull()
	if err == nil {
		err = syscall.Exec(bin, append([]string{bin}, args...), os.Environ())
		err = fmt.Errorf("running %s: %w", bin, err)
	}
	what := "this command"
	if len(args) > 0 {
		what = fmt.Sprintf("%q", args[0])
	}
	fmt.Fprintf(stderr, "gotrap: %s is run by %s (the build with DuckDB and MPI): %v\n", what, fullName, err)
	return 1
}

// findFull returns the path of gotrap-full: beside this executable (its
// real path, so a symbolic link to bin/gotrap finds bin/gotrap-full), else
// on PATH.
func findFull() (string, error) {
	self, err := os.Executable()
	if err == nil {
		if self, err = filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(self), fullName)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0 {
				return p, nil
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
		}
	}
	p, err := exec.LookPath(fullName)
	if err != nil {
		return "", fmt.Errorf("%s is neither beside %s nor on PATH (make build writes both to bin/; install both)", fullName, self)
	}
	return p, nil
}
