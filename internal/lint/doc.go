// Package lint holds gotrap's house rules as a Go test (STYLE rule 24):
// forbidden imports, where os.Exit and cgo may appear, and the direction of
// package dependencies of DESIGN.md. It has no non-test code.
package lint
