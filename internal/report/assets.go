package report

import (
	"embed"
	"fmt"
	"io/fs"
)

// assets holds the report's own script and style (assets/report.js,
// assets/report.css) and, in assets/vendor/, the plotting library uPlot:
// make copies it there from the npm package pinned in web/package-lock.json
// (the folder is gitignored; the project holds no third-party code). A
// binary built without it (plain go build on a fresh clone) writes the
// report with its static plots only and says so on every page.
//
//go:embed assets
var assets embed.FS

// libFiles are the files of the report's lib/ folder: the library, its
// style and its licence, then the report's own script and style.
var libFiles = []struct{ src, dst string }{
	{"assets/vendor/uPlot.iife.min.js", "lib/uPlot.iife.min.js"},
	{"assets/vendor/uPlot.min.css", "lib/uPlot.min.css"},
	{"assets/vendor/uPlot.LICENSE", "lib/uPlot.LICENSE"},
	{"assets/report.js", "lib/report.js"},
	{"assets/report.css", "lib/report.css"},
}

// Interactive reports whether this binary embeds the plotting library.
func Interactive() bool {
	_, err := fs.Stat(assets, libFiles[0].src)
	return err == nil
}

// writeLib copies the lib/ files into the report being built; without the
// library only the report's own files (the tables still sort and filter).
func (b *builder) writeLib() error {
	for _, f := range libFiles {
		data, err := assets.ReadFile(f.src)
		if err != nil {
			if !b.interactive {
				continue
			}
			return fmt.Errorf("report: embedded %s: %w", f.src, err)
		}
		if err := b.write(f.dst, data); err != nil {
			return err
		}
	}
	return nil
}
