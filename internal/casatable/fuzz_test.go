package casatable

import (
	"os"
	"path/filepath"
	"testing"

	"gotrap/internal/testutil"
)

// maxFuzzInput caps fuzz inputs (1 MiB).
const maxFuzzInput = 1 << 20

// seedFiles adds the named file of every committed fixture table (and the
// real CASA images when present) to the fuzz corpus.
func seedFiles(f *testing.F, name string) {
	root := testutil.ProjectRoot(f)
	dirs, _ := filepath.Glob(filepath.Join(root, "testdata", "casa", "*.image"))
	masks, _ := filepath.Glob(filepath.Join(root, "testdata", "casa", "*.image", "mask0"))
	real, _ := filepath.Glob(filepath.Join(root, "..", "shared", "data", "casa", "*"))
	n := 0
	for _, d := range append(append(dirs, masks...), real...) {
		if b, err := os.ReadFile(filepath.Join(d, name)); err == nil && len(b) <= maxFuzzInput {
			f.Add(b)
			n++
		}
	}
	if n == 0 {
		f.Fatal("no fixture table in testdata/casa")
	}
}

// FuzzTableDat feeds arbitrary bytes to the table.dat parser: it must
// never panic, and a table it accepts has consistent columns.
func FuzzTableDat(f *testing.F) {
	seedFiles(f, "table.dat")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		tb, err := parseTableDat(data)
		if err != nil {
			return
		}
		if tb.Rows < 0 || tb.Keywords == nil {
			t.Fatalf("accepted a table with %d rows and keywords %v", tb.Rows, tb.Keywords)
		}
		for _, c := range tb.Columns {
			if c.Manager == "" {
				t.Fatalf("column %q has no data manager", c.Name)
			}
		}
	})
}

// FuzzTSMHeader feeds arbitrary bytes to the tiled storage managers'
// header parser (as each manager type): it must never panic, and a cube
// it accepts has positive shapes of matching lengths and a row inside it.
func FuzzTSMHeader(f *testing.F) {
	seedFiles(f, "table.f0")
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		for _, m := range []string{"TiledCellStMan", "TiledShapeStMan", "TiledColumnStMan"} {
			for _, big := range []bool{false, true} {
				c, err := parseTSM(data, m, 0, big)
				if err != nil {
					continue
				}
				if len(c.Shape) == 0 || len(c.Shape) != len(c.Tile) {
					t.Fatalf("%s: shape %v, tile %v", m, c.Shape, c.Tile)
				}
				for i := range c.Shape {
					if c.Shape[i] <= 0 || c.Tile[i] <= 0 {
						t.Fatalf("%s: shape %v, tile %v", m, c.Shape, c.Tile)
					}
				}
				if c.Row >= 0 && c.Row >= c.Shape[len(c.Shape)-1] {
					t.Fatalf("%s: row at %d in shape %v", m, c.Row, c.Shape)
				}
				if c.tiles() <= 0 || c.tileBytes() <= 0 {
					t.Fatalf("%s: %d tiles of %d bytes", m, c.tiles(), c.tileBytes())
				}
			}
		}
	})
}
