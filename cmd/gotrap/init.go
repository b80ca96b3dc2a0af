//go:build !front

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gotrap/internal/config"
	"gotrap/internal/pipeline"
)

var initForce bool

func init() {
	register(&command{
		name:  "init",
		usage: "[--force] DIR [INPUT...]",
		short: "write a commented job configuration and an image list",
		long: `Init writes DIR/gotrap.toml, every setting of "gotrap run" with its default
(TraP's job defaults and gotrap's decisions) and a comment, and
DIR/images.txt, the list of input images: the files the INPUT arguments
name (files, directories, globs, @lists), or an empty list to fill in.
Then: gotrap run --out RUN -c DIR/gotrap.toml @DIR/images.txt`,
		setFlags: func(fs *flag.FlagSet) {
			initForce = false
			fs.BoolVar(&initForce, "force", false, "overwrite existing files")
		},
		run: runInit,
	})
}

func runInit(env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usageError("want a directory")
	}
	dir := args[0]
	var list []string
	if len(args) > 1 {
		var err error
		if list, err = pipeline.ExpandInputs(args[1:]); err != nil {
			return err
		}
	}
	cfgPath, listPath := filepath.Join(dir, "gotrap.toml"), filepath.Join(dir, "images.txt")
	if !initForce {
		for _, p := range []string{cfgPath, listPath} {
			if _, err := os.Stat(p); err == nil {
				return fmt.Errorf("%s exists (use --force to overwrite)", p)
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# Input images of gotrap run, one per line: files, directories, globs or @lists.\n")
	b.WriteString("# Relative paths are relative to this file's directory.\n")
	for _, p := range list {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		b.WriteString(p + "\n")
	}
	if err := os.WriteFile(cfgPath, []byte(config.Template()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(listPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "wrote %s and %s (%d images)\nnext: gotrap run --out RUN -c %s @%s\n", cfgPath, listPath, len(list), cfgPath, listPath)
	return nil
}
