// Command gotrap finds transient and variable radio sources in stacks of
// sky images. Run "gotrap help" for the list of subcommands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
)

// A command is one gotrap subcommand. Each lives in its own file and
// registers itself from an init function.
type command struct {
	name  string // as typed on the command line
	usage string // argument synopsis after the name, e.g. "[--json] FILE..."
	short string // one line for the command list
	long  string // paragraphs for "gotrap help NAME"; flags are appended
	// longFunc, when not nil, builds long when the help is asked for (a
	// text built from tables, not worth building at every start-up).
	longFunc func() string
	// setFlags declares the command's flags on fs (may be nil).
	setFlags func(fs *flag.FlagSet)
	// run executes the command with the arguments left after flags.
	run func(env *cmdEnv, args []string) error
}

// cmdEnv is what a command may touch: its streams. Commands never call
// os.Exit; they return errors, wrapped in exitError to choose the status.
type cmdEnv struct {
	stdout, stderr io.Writer
}

// exitError carries an exit status and an optional message. A nil err with
// code != 0 means the command already reported its problem on stderr.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError reports a command-line mistake (exit status 2).
func usageError(format string, a ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, a...)}
}

var commands = map[string]*command{}

// delegate, set in the front build (front.go), hands a command this
// binary lacks (and the top-level help, which lists every command) to the
// full binary by replacing the process; nil in the full build.
var delegate func(args []string, stderr io.Writer) int

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("gotrap: duplicate command " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// version returns the module version and VCS revision of this binary.
func version() string {
	v := "devel"
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + bi.GoVersion
}

// run is main without the exit, so tests can call it in-process.
func run(args []string, stdout, stderr io.Writer) int {
	env := &cmdEnv{stdout: stdout, stderr: stderr}
	if delegate != nil && !commandHere(args) {
		return delegate(args, stderr)
	}
	if len(args) == 0 {
		printTopHelp(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && name == "help" {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "gotrap: unknown command %q\n", args[1])
				return 2
			}
			printCommandHelp(stdout, c)
			return 0
		}
		printTopHelp(stdout)
		return 0
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "gotrap", version())
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "gotrap: unknown command %q (run 'gotrap help')\n", name)
		return 2
	}
	fs := flag.NewFlagSet("gotrap "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if c.setFlags != nil {
		c.setFlags(fs)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(stdout, c)
			return 0
		}
		fmt.Fprintf(stderr, "gotrap %s: %v\nusage: gotrap %s %s\n", c.name, err, c.name, c.usage)
		return 2
	}
	err = c.run(env, pos)
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "gotrap %s: %v\n", c.name, err)
	if code == 2 {
		fmt.Fprintf(stderr, "usage: gotrap %s %s\n", c.name, c.usage)
	}
	return code
}

// commandHere reports whether this binary runs args itself: a command
// (or "help COMMAND") it has, or "version". The top-level help and unknown
// names are the full binary's (see delegate).
func commandHere(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "version", "--version", "-version":
		return true
	case "help":
		if len(args) < 2 {
			return false
		}
		_, ok := commands[args[1]]
		return ok
	}
	_, ok := commands[args[0]]
	return ok
}

// parseInterspersed parses flags wherever they appear among the
// positional arguments, as users of GNU tools expect. An argument that
// parses as a number (a negative declination, say) is positional, and "--"
// ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		a := args[0]
		if a == "--" {
			return append(pos, args[1:]...), nil
		}
		if a == "-" || !strings.HasPrefix(a, "-") || isNumber(a) {
			pos = append(pos, a)
			args = args[1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		args = rest
	}
	return pos, nil
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func printTopHelp(w io.Writer) {
	fmt.Fprint(w, `gotrap finds transient and variable radio sources in stacks of sky images
(a Go re-implementation of the LOFAR Transients Pipeline, TraP, and its source
finder, PySE).

Usage:
  gotrap COMMAND [flags] [arguments]

Commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].short)
	}
	fmt.Fprint(w, `  help       show help for a command: gotrap help COMMAND
  version    print the version

Run 'gotrap COMMAND --help' for the flags of a command.
`)
}

func printCommandHelp(w io.Writer, c *command) {
	fmt.Fprintf(w, "Usage: gotrap %s %s\n\n%s\n", c.name, c.usage, c.short)
	long := c.long
	if c.longFunc != nil {
		long = c.longFunc()
	}
	if long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(long))
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	if c.setFlags != nil {
		c.setFlags(fs)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
