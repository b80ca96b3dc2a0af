// Package catalogstest writes catalogues in other source finders' formats
// (Aegean's component tables, PyBDSF's source lists; CSV and FITS binary
// tables) from gotrap's measurements, for the tests of the readers in
// internal/catalogs and of gotrap run --catalogues. The files follow the
// finders' documented columns and units (docs/inputs.md "Catalogues"):
// they are written here, not copied from the finders.
package catalogstest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"gotrap/kernels"
)

// Column is one column of a table: name, unit ("" for none) and one value
// a row, float64 (FITS D) or string (FITS A).
type Column struct {
	Name, Unit string
	Floats     []float64
	Strings    []string
}

func f(name, unit string, srcs []kernels.Source, v func(s *kernels.Source) float64) Column {
	c := Column{Name: name, Unit: unit}
	for i := range srcs {
		c.Floats = append(c.Floats, v(&srcs[i]))
	}
	return c
}

func rmsOf(s *kernels.Source) float64 {
	if s.Sig > 0 {
		return math.Abs(s.Peak) / s.Sig
	}
	return 0
}

// AegeanColumns returns Aegean's component-table columns for srcs: ra,
// dec and their errors in degrees, fluxes in Jy(/beam), a and b the FWHM
// axes (twice the half widths) in arcsec, pa and err_pa in degrees,
// local_rms the peak over the significance.
func AegeanColumns(srcs []kernels.Source) []Column {
	ids := Column{Name: "island"}
	comp := Column{Name: "source"}
	flags := Column{Name: "flags"}
	for i, s := range srcs {
		ids.Floats = append(ids.Floats, float64(i))
		comp.Floats = append(comp.Floats, 0)
		fl := 0.0
		if !s.Gaussian {
			fl = 16 // NOTFIT
		}
		flags.Floats = append(flags.Floats, fl)
	}
	return []Column{ids, comp,
		f("background", "Jy/beam", srcs, func(*kernels.Source) float64 { return 0 }),
		f("local_rms", "Jy/beam", srcs, rmsOf),
		f("ra", "deg", srcs, func(s *kernels.Source) float64 { return s.RA }),
		f("err_ra", "deg", srcs, func(s *kernels.Source) float64 { return s.RAErr }),
		f("dec", "deg", srcs, func(s *kernels.Source) float64 { return s.Dec }),
		f("err_dec", "deg", srcs, func(s *kernels.Source) float64 { return s.DecErr }),
		f("peak_flux", "Jy/beam", srcs, func(s *kernels.Source) float64 { return s.Peak }),
		f("err_peak_flux", "Jy/beam", srcs, func(s *kernels.Source) float64 { return s.PeakErr }),
		f("int_flux", "Jy", srcs, func(s *kernels.Source) float64 { return s.Flux }),
		f("err_int_flux", "Jy", srcs, func(s *kernels.Source) float64 { return s.FluxErr }),
		f("a", "arcsec", srcs, func(s *kernels.Source) float64 { return 2 * s.SmajAsec }),
		f("err_a", "arcsec", srcs, func(s *kernels.Source) float64 { return 2 * s.SmajAsecErr }),
		f("b", "arcsec", srcs, func(s *kernels.Source) float64 { return 2 * s.SminAsec }),
		f("err_b", "arcsec", srcs, func(s *kernels.Source) float64 { return 2 * s.SminAsecErr }),
		f("pa", "deg", srcs, func(s *kernels.Source) float64 { return s.ThetaCeles }),
		f("err_pa", "deg", srcs, func(s *kernels.Source) float64 { return s.ThetaCelesErr }),
		flags,
	}
}

// PyBDSFColumns returns PyBDSF's source-list columns for srcs: positions
// and errors in degrees, fluxes in Jy(/beam), Maj, Min and DC_Maj, DC_Min
// (FWHM) and their errors in degrees, PA and DC_PA in degrees, Isl_rms,
// S_Code S (M when deblended).
func PyBDSFColumns(srcs []kernels.Source, pixDeg float64) []Column {
	ids := Column{Name: "Source_id"}
	isl := Column{Name: "Isl_id"}
	code := Column{Name: "S_Code"}
	for i, s := range srcs {
		ids.Floats = append(ids.Floats, float64(i))
		isl.Floats = append(isl.Floats, float64(i))
		c := "S"
		if s.Deblended {
			c = "M"
		}
		code.Strings = append(code.Strings, c)
	}
	deg := func(px float64) float64 { return 2 * px * pixDeg } // HWHM px -> FWHM deg
	return []Column{ids, isl,
		f("RA", "deg", srcs, func(s *kernels.Source) float64 { return s.RA }),
		f("E_RA", "deg", srcs, func(s *kernels.Source) float64 { return s.RAErr }),
		f("DEC", "deg", srcs, func(s *kernels.Source) float64 { return s.Dec }),
		f("E_DEC", "deg", srcs, func(s *kernels.Source) float64 { return s.DecErr }),
		f("Total_flux", "Jy", srcs, func(s *kernels.Source) float64 { return s.Flux }),
		f("E_Total_flux", "Jy", srcs, func(s *kernels.Source) float64 { return s.FluxErr }),
		f("Peak_flux", "Jy/beam", srcs, func(s *kernels.Source) float64 { return s.Peak }),
		f("E_Peak_flux", "Jy/beam", srcs, func(s *kernels.Source) float64 { return s.PeakErr }),
		f("Maj", "deg", srcs, func(s *kernels.Source) float64 { return 2 * s.SmajAsec / 3600 }),
		f("E_Maj", "deg", srcs, func(s *kernels.Source) float64 { return 2 * s.SmajAsecErr / 3600 }),
		f("Min", "deg", srcs, func(s *kernels.Source) float64 { return 2 * s.SminAsec / 3600 }),
		f("E_Min", "deg", srcs, func(s *kernels.Source) float64 { return 2 * s.SminAsecErr / 3600 }),
		f("PA", "deg", srcs, func(s *kernels.Source) float64 { return s.ThetaCeles }),
		f("E_PA", "deg", srcs, func(s *kernels.Source) float64 { return s.ThetaCelesErr }),
		f("DC_Maj", "deg", srcs, func(s *kernels.Source) float64 { return deg(s.SmajDC) }),
		f("E_DC_Maj", "deg", srcs, func(s *kernels.Source) float64 { return deg(s.SmajDCErr) }),
		f("DC_Min", "deg", srcs, func(s *kernels.Source) float64 { return deg(s.SminDC) }),
		f("E_DC_Min", "deg", srcs, func(s *kernels.Source) float64 { return deg(s.SminDCErr) }),
		f("DC_PA", "deg", srcs, func(s *kernels.Source) float64 { return s.ThetaDCCeles }),
		f("E_DC_PA", "deg", srcs, func(s *kernels.Source) float64 { return s.ThetaDCCelesErr }),
		f("Isl_rms", "Jy/beam", srcs, rmsOf),
		code,
	}
}

func cell(c Column, i int) string {
	if c.Strings != nil {
		return c.Strings[i]
	}
	return strconv.FormatFloat(c.Floats[i], 'g', -1, 64)
}

func rowsOf(cols []Column) int {
	if len(cols) == 0 {
		return 0
	}
	if cols[0].Strings != nil {
		return len(cols[0].Strings)
	}
	return len(cols[0].Floats)
}

// WriteAegeanCSV writes cols as Aegean's CSV (astropy's ascii.csv): a
// header line of names, then comma-separated rows, full precision.
func WriteAegeanCSV(w io.Writer, cols []Column) error {
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(c.Name)
	}
	b.WriteByte('\n')
	for r := range rowsOf(cols) {
		for i, c := range cols {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(cell(c, r))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WritePyBDSFCSV writes cols as PyBDSF's ASCII catalogue (write_catalog
// format='csv'): '#' header lines with the reference frequency, the
// column names on the last, values separated by ", ".
func WritePyBDSFCSV(w io.Writer, cols []Column, freqHz float64) error {
	var b strings.Builder
	b.WriteString("# PyBDSF Source catalog\n# Generated by gotrap's catalogstest (format of PyBDSF's write_catalog)\n")
	fmt.Fprintf(&b, "# Reference frequency : %g Hz\n# Equinox : 2000.0 \n\n", freqHz)
	b.WriteString("# ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.Name)
	}
	b.WriteByte('\n')
	for r := range rowsOf(cols) {
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(cell(c, r))
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// card formats one 80-character header card.
func card(key string, v any, comment string) string {
	var val string
	switch x := v.(type) {
	case string:
		val = fmt.Sprintf("%-20s", "'"+strings.ReplaceAll(x, "'", "''")+strings.Repeat(" ", max(0, 8-len(x)))+"'")
	case bool:
		val = fmt.Sprintf("%20s", map[bool]string{true: "T", false: "F"}[x])
	case int:
		val = fmt.Sprintf("%20d", x)
	case float64:
		val = fmt.Sprintf("%20s", strconv.FormatFloat(x, 'E', -1, 64))
	}
	s := fmt.Sprintf("%-8s= %s", key, val)
	if comment != "" {
		s += " / " + comment
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return fmt.Sprintf("%-80s", s)
}

func block(cards []string) []byte {
	b := []byte(strings.Join(cards, "") + fmt.Sprintf("%-80s", "END"))
	for len(b)%2880 != 0 {
		b = append(b, ' ')
	}
	return b
}

// EncodeFITSTable returns a FITS file holding cols as a binary table
// (BINTABLE) in the first extension after an empty primary HDU, as
// astropy writes a Table: float columns 1D, string columns nA, TUNITn
// where a unit is given. extra cards (key, value pairs) go into the
// table header.
func EncodeFITSTable(cols []Column, extra ...any) []byte {
	prim := block([]string{card("SIMPLE", true, "conforms to FITS standard"), card("BITPIX", 8, ""),
		card("NAXIS", 0, ""), card("EXTEND", true, "")})
	n := rowsOf(cols)
	width := make([]int, len(cols))
	rowLen := 0
	for i, c := range cols {
		width[i] = 8
		if c.Strings != nil {
			width[i] = 1
			for _, s := range c.Strings {
				width[i] = max(width[i], len(s))
			}
		}
		rowLen += width[i]
	}
	hdr := []string{card("XTENSION", "BINTABLE", "binary table extension"), card("BITPIX", 8, ""),
		card("NAXIS", 2, ""), card("NAXIS1", rowLen, "bytes a row"), card("NAXIS2", n, "rows"),
		card("PCOUNT", 0, ""), card("GCOUNT", 1, ""), card("TFIELDS", len(cols), "")}
	for i, c := range cols {
		k := strconv.Itoa(i + 1)
		hdr = append(hdr, card("TTYPE"+k, c.Name, ""))
		if c.Strings != nil {
			hdr = append(hdr, card("TFORM"+k, strconv.Itoa(width[i])+"A", ""))
		} else {
			hdr = append(hdr, card("TFORM"+k, "D", ""))
		}
		if c.Unit != "" {
			hdr = append(hdr, card("TUNIT"+k, c.Unit, ""))
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		hdr = append(hdr, card(extra[i].(string), extra[i+1], ""))
	}
	var data bytes.Buffer
	for r := range n {
		for i, c := range cols {
			if c.Strings != nil {
				s := c.Strings[r]
				data.WriteString(s + strings.Repeat(" ", width[i]-len(s)))
				continue
			}
			binary.Write(&data, binary.BigEndian, c.Floats[r])
		}
	}
	for data.Len()%2880 != 0 {
		data.WriteByte(0)
	}
	out := append(prim, block(hdr)...)
	return append(out, data.Bytes()...)
}
