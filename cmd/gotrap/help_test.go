package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gotrap/internal/config"
)

// specRef matches a citation of the developers' specification ("SPEC 8.1",
// "SPEC decisions", "SPEC.md"), which users do not have.
var specRef = regexp.MustCompile(`SPEC\b`)

// TestHelpCitesOnlyUserDocs checks that every command's help, the
// gotrap.toml template and the user documentation (README.md, docs/) cite
// only what users have: the docs/ pages they name exist, and nothing cites
// SPEC.
func TestHelpCitesOnlyUserDocs(t *testing.T) {
	texts := map[string]string{"gotrap.toml template": config.Template()}
	var names []string
	for name := range commands {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var out, errb bytes.Buffer
		if code := run([]string{"help", name}, &out, &errb); code != 0 {
			t.Fatalf("gotrap help %s: exit %d: %s", name, code, errb.String())
		}
		texts["gotrap help "+name] = out.String()
	}
	root := filepath.Join("..", "..")
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join(root, "README.md"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = string(b)
	}
	docRef := regexp.MustCompile(`docs/([a-z0-9_-]+\.md)`)
	for name, text := range texts {
		t.Run(name, func(t *testing.T) {
			for i, line := range strings.Split(text, "\n") {
				if specRef.MatchString(line) {
					t.Errorf("line %d cites SPEC, which users do not have: %s", i+1, line)
				}
				for _, m := range docRef.FindAllStringSubmatch(line, -1) {
					if _, err := os.Stat(filepath.Join(root, "docs", m[1])); err != nil {
						t.Errorf("line %d names docs/%s, which does not exist", i+1, m[1])
					}
				}
			}
		})
	}
}
