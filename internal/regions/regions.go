package regions

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gotrap/kernels"
)

// System selects the coordinates of a region file.
type System int

const (
	FK5   System = iota // sky: RA, Dec (deg), arcsec, PA east of north + 90
	Image               // image: FITS pixels, pixels, angle from +x
)

// WriteSources writes srcs as a DS9 region file (version 4.1) with one
// ellipse per source, labelled with its id, in the coordinate system sys
// (see the package documentation). Sources with a non-finite position or
// shape are skipped. color is a DS9 colour name ("green" when empty).
func WriteSources(w io.Writer, srcs []kernels.Source, sys System, color string) error {
	if color == "" {
		color = "green"
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Region file format: DS9 version 4.1\n")
	fmt.Fprintf(bw, "global color=%s dashlist=8 3 width=1 font=\"helvetica 10 normal roman\" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1\n", color)
	switch sys {
	case Image:
		fmt.Fprintln(bw, "image")
	default:
		fmt.Fprintln(bw, "fk5")
	}
	for i := range srcs {
		s := &srcs[i]
		var a, b, c, d, e float64
		var unit string
		if sys == Image {
			a, b, c, d, e = s.X+1, s.Y+1, s.Smaj, s.Smin, s.Theta*180/math.Pi+90
		} else {
			a, b, c, d, e, unit = s.RA, s.Dec, s.SmajAsec, s.SminAsec, s.ThetaCeles+90, `"`
		}
		if !finite(a, b, c, d, e) {
			continue
		}
		e = math.Mod(e, 360)
		if e < 0 {
			e += 360
		}
		fmt.Fprintf(bw, "ellipse(%.8f,%.8f,%.4f%s,%.4f%s,%.4f) # text={%d}\n", a, b, c, unit, d, unit, e, s.ID)
	}
	return bw.Flush()
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// A Region is one DS9 shape of a region file: an ellipse (A, B > 0), a
// circle (A > 0, B = 0) or a point (A = B = 0), at (X, Y) in the file's
// coordinate system, with its display properties.
type Region struct {
	X, Y  float64 // RA, Dec (deg) in fk5; FITS 1-based pixels in image
	A, B  float64 // semi-axes: arcsec in fk5, pixels in image (circle: A)
	Angle float64 // DS9 angle, degrees (see the package documentation)
	Color string  // DS9 colour name; "" for the file's global colour
	Dash  bool    // drawn dashed
	Text  string  // label; no '{' or '}'
}

// Write writes regs as a DS9 region file (version 4.1) in the
// coordinate system sys: an ellipse, circle or point per region (see
// Region). Regions with a non-finite coordinate are skipped; braces in a
// label are dropped, since DS9 has no escape for them.
func Write(w io.Writer, regs []Region, sys System) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Region file format: DS9 version 4.1\n")
	fmt.Fprintf(bw, "global color=green dashlist=8 3 width=1 font=\"helvetica 10 normal roman\" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1\n")
	unit := `"`
	if sys == Image {
		fmt.Fprintln(bw, "image")
		unit = ""
	} else {
		fmt.Fprintln(bw, "fk5")
	}
	for _, r := range regs {
		if !finite(r.X, r.Y, r.A, r.B, r.Angle) {
			continue
		}
		switch {
		case r.A > 0 && r.B > 0:
			a := math.Mod(r.Angle, 360)
			if a < 0 {
				a += 360
			}
			fmt.Fprintf(bw, "ellipse(%.8f,%.8f,%.4f%s,%.4f%s,%.4f)", r.X, r.Y, r.A, unit, r.B, unit, a)
		case r.A > 0:
			fmt.Fprintf(bw, "circle(%.8f,%.8f,%.4f%s)", r.X, r.Y, r.A, unit)
		default:
			fmt.Fprintf(bw, "point(%.8f,%.8f) # point=x", r.X, r.Y)
		}
		var props []string
		if r.Color != "" {
			props = append(props, "color="+r.Color)
		}
		if r.Dash {
			props = append(props, "dash=1")
		}
		if r.Text != "" {
			props = append(props, "text={"+strings.NewReplacer("{", "", "}", "").Replace(r.Text)+"}")
		}
		if len(props) > 0 {
			if r.A > 0 {
				bw.WriteString(" #")
			}
			bw.WriteString(" " + strings.Join(props, " "))
		}
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// Parse reads a DS9 region file of the subset this package writes
// (and a little more): comment and global lines, a coordinate-system line
// (fk5, icrs, j2000 or image), and circle, ellipse and point shapes with
// optional units on radii (a double quote: arcsec; a single quote:
// arcmin; d: degrees),
// which are converted to the file's radius unit (arcsec in a sky system,
// pixels in image), and "# color=... dash=1 text={...}" properties.
// Shapes before a coordinate-system line, other shapes and malformed
// lines are errors naming the line. It returns the regions and the
// system.
func Parse(r io.Reader) ([]Region, System, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var regs []Region
	sys, haveSys := FK5, false
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || strings.HasPrefix(line, "global") {
			continue
		}
		shape, props, _ := strings.Cut(line, "#")
		shape = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(shape), ";"))
		switch strings.ToLower(shape) {
		case "fk5", "icrs", "j2000":
			sys, haveSys = FK5, true
			continue
		case "image":
			sys, haveSys = Image, true
			continue
		}
		open := strings.IndexByte(shape, '(')
		if open < 0 || !strings.HasSuffix(shape, ")") {
			return nil, sys, fmt.Errorf("regions: line line %d: not a shape: %q", n, line)
		}
		if !haveSys {
			return nil, sys, fmt.Errorf("regions: line line %d: shape before a coordinate system", n)
		}
		name := strings.TrimSpace(shape[:open])
		args := strings.Split(shape[open+1:len(shape)-1], ",")
		want := map[string]int{"circle": 3, "ellipse": 5, "point": 2}[name]
		if want == 0 || len(args) != want {
			return nil, sys, fmt.Errorf("regions: line line %d: want %s with %d arguments: %q", n, name, want, line)
		}
		var v [5]float64
		for i, a := range args {
			x, err := parseNumber(strings.TrimSpace(a), i >= 2 && !(name == "ellipse" && i == 4), sys)
			if err != nil {
				return nil, sys, fmt.Errorf("regions: line line %d: %w", n, err)
			}
			v[i] = x
		}
		reg := Region{X: v[0], Y: v[1]}
		switch name {
		case "circle":
			reg.A = v[2]
		case "ellipse":
			reg.A, reg.B, reg.Angle = v[2], v[3], v[4]
		}
		if err := parseProps(&reg, props); err != nil {
			return nil, sys, fmt.Errorf("regions: line line %d: %w", n, err)
		}
		regs = append(regs, reg)
	}
	if err := sc.Err(); err != nil {
		return nil, sys, fmt.Errorf("regions: reading: %w", err)
	}
	return regs, sys, nil
}

// parseNumber parses a coordinate or, when radius, a radius with an
// optional unit suffix converted to the system's radius unit.
func parseNumber(s string, radius bool, sys System) (float64, error) {
	scale := 1.0
	if radius && s != "" && sys != Image {
		switch s[len(s)-1] {
		case '"':
			s = s[:len(s)-1]
		case '\'':
			s, scale = s[:len(s)-1], 60
		case 'd':
			s, scale = s[:len(s)-1], 3600
		}
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return x * scale, nil
}

// parseProps reads "color=red dash=1 text={a b} point=x" into reg.
func parseProps(reg *Region, s string) error {
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		key, rest, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("bad property %q", s)
		}
		key = strings.TrimSpace(key)
		var val string
		if strings.HasPrefix(rest, "{") {
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				return fmt.Errorf("unterminated %s={", key)
			}
			val, s = rest[1:end], rest[end+1:]
		} else {
			val, s, _ = strings.Cut(rest, " ")
		}
		switch key {
		case "color":
			reg.Color = val
		case "dash":
			reg.Dash = val == "1"
		case "text":
			reg.Text = val
		}
	}
	return nil
}
