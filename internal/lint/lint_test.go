package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

// goFile is one parsed source file of the module.
type goFile struct {
	rel  string // path relative to the module root, slash-separated
	pkg  string // directory relative to the root ("." for the root)
	test bool
	ast  *ast.File
}

func parseModule(t *testing.T) []goFile {
	t.Helper()
	root := testutil.ProjectRoot(t)
	fset := token.NewFileSet()
	var files []goFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			base := d.Name()
			if rel != "." && (strings.HasPrefix(base, ".") || base == "testdata" || base == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		files = append(files, goFile{
			rel:  rel,
			pkg:  filepath.ToSlash(filepath.Dir(rel)),
			test: strings.HasSuffix(p, "_test.go"),
			ast:  f,
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no Go files found")
	}
	return files
}

func imports(f *ast.File) []string {
	var out []string
	for _, s := range f.Imports {
		p, _ := strconv.Unquote(s.Path.Value)
		out = append(out, p)
	}
	return out
}

// isIgnoredProgram reports a `//go:build ignore` generator program.
func isIgnoredProgram(f *ast.File) bool {
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, "//go:build") && strings.Contains(c.Text, "ignore") {
				return true
			}
		}
		if cg.End() > f.Package {
			break
		}
	}
	return false
}

// TestForbiddenImports: math/rand v1 is banned everywhere (STYLE 14: all
// randomness comes from math/rand/v2 with explicit seeds).
func TestForbiddenImports(t *testing.T) {
	for _, f := range parseModule(t) {
		for _, p := range imports(f.ast) {
			if p == "math/rand" {
				t.Errorf("%s imports math/rand; use math/rand/v2 with an explicit seed", f.rel)
			}
		}
	}
}

// TestLayering checks the arrows of DESIGN.md: kernels and decomp import
// nothing of ours but each other; reduce knows no sources; catalog never
// imports reduce; nothing imports cmd; testutil is for tests only. The
// response system: internal/vtp imports nothing of ours (a protocol);
// internal/respond never imports internal/pipeline, so that the engine
// can call it per committed timestep; comettest and respondtest are test
// support. internal/watch (live mode's follower and closer) never imports
// internal/pipeline either.
func TestLayering(t *testing.T) {
	for _, f := range parseModule(t) {
		if f.test || isIgnoredProgram(f.ast) {
			continue
		}
		top := strings.SplitN(f.pkg, "/", 2)[0]
		for _, p := range imports(f.ast) {
			if !strings.HasPrefix(p, "gotrap/") {
				continue
			}
			dep := strings.TrimPrefix(p, "gotrap/")
			depTop := strings.SplitN(dep, "/", 2)[0]
			switch top {
			case "kernels", "decomp":
				if depTop != "kernels" && depTop != "decomp" {
					t.Errorf("%s imports %s: kernels and decomp import nothing of ours but each other", f.rel, p)
				}
			case "reduce":
				if depTop != "reduce" {
					t.Errorf("%s imports %s: reduce knows bytes and numbers only", f.rel, p)
				}
			case "catalog":
				if depTop == "reduce" {
					t.Errorf("%s imports %s: catalog never imports reduce", f.rel, p)
				}
			}
			switch {
			case f.pkg == "internal/vtp":
				t.Errorf("%s imports %s: internal/vtp imports nothing of gotrap's", f.rel, p)
			case f.pkg == "internal/wire" || f.pkg == "internal/rundir":
				t.Errorf("%s imports %s: %s imports nothing of gotrap's, so that every package can use it", f.rel, p, f.pkg)
			case f.pkg == "internal/respond" && strings.HasPrefix(dep, "internal/pipeline"):
				t.Errorf("%s imports %s: the pipeline calls respond, never the other way", f.rel, p)
			case f.pkg == "internal/watch" && strings.HasPrefix(dep, "internal/pipeline"):
				t.Errorf("%s imports %s: the live engine calls watch, never the other way", f.rel, p)
			case (dep == "internal/vtp/comettest" || dep == "internal/respond/respondtest") && !strings.HasSuffix(f.pkg, "test"):
				t.Errorf("%s imports %s outside a test", f.rel, p)
			}
			// Test-support packages (named ...test, like
			// catalog/catalogtest) are imported only by tests.
			if dep == "internal/testutil" && f.pkg != "internal/testutil" && !strings.HasSuffix(f.pkg, "test") {
				t.Errorf("%s imports %s outside a test", f.rel, p)
			}
			if depTop == "cmd" {
				t.Errorf("%s imports %s: nothing imports the command", f.rel, p)
			}
		}
	}
}

// TestExitOnlyInCmd: only cmd/ may end the process (STYLE 5).
func TestExitOnlyInCmd(t *testing.T) {
	root := testutil.ProjectRoot(t)
	fset := token.NewFileSet()
	for _, f := range parseModule(t) {
		if f.test || strings.HasPrefix(f.pkg, "cmd/") || isIgnoredProgram(f.ast) {
			continue
		}
		full, err := parser.ParseFile(fset, filepath.Join(root, f.rel), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(full, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok {
				return true
			}
			name := id.Name + "." + sel.Sel.Name
			switch name {
			case "os.Exit", "log.Fatal", "log.Fatalf", "log.Fatalln":
				t.Errorf("%s: %s outside cmd/ (%s)", f.rel, name, fset.Position(sel.Pos()))
			}
			return true
		})
	}
}

// TestCgoQuarantine: our own cgo lives only in reduce/mpi (DESIGN) and,
// beside the DuckDB it already links through duckdb-go, in catalog/duck
// (cmem.go: reading and releasing DuckDB's allocator's memory, which no
// Go API exposes).
func TestCgoQuarantine(t *testing.T) {
	for _, f := range parseModule(t) {
		for _, p := range imports(f.ast) {
			if p == "C" && f.pkg != "reduce/mpi" && f.pkg != "catalog/duck" {
				t.Errorf("%s uses cgo; only reduce/mpi and catalog/duck may", f.rel)
			}
		}
	}
}
