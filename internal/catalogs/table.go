package catalogs

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrFormat marks content that is not a catalogue gotrap reads or is
// malformed; errors.Is matches it for every error Parse returns.
var ErrFormat = errors.New("catalogs: bad catalogue")

// Format names a catalogue layout.
type Format string

// The layouts Parse recognises.
const (
	SelavyText    Format = "selavy-text"
	SelavyCSV     Format = "selavy-csv"
	SelavyVOTable Format = "selavy-votable"
	PySECSV       Format = "pyse-csv"
	AegeanCSV     Format = "aegean-csv"
	AegeanFITS    Format = "aegean-fits"
	PyBDSFCSV     Format = "pybdsf-csv"
	PyBDSFFITS    Format = "pybdsf-fits"
)

// table is a catalogue's columns and rows as text, before interpretation.
type table struct {
	name  string            // file name for messages
	cols  []string          // column names
	units map[string]string // declared units by column; absent: none declared
	rows  []trow
	// rowWord is "line" for text layouts, "row" for VOTable rows.
	rowWord string
}

type trow struct {
	line int // 1-based line (text) or TR index (VOTable)
	vals []string
}

// errAt returns an ErrFormat error naming the file, the row and the column.
func (t *table) errAt(r *trow, col, format string, a ...any) error {
	where := fmt.Sprintf("%s %d", t.rowWord, r.line)
	if col != "" {
		where += ", column " + col
	}
	return fmt.Errorf("%w: %s: %s: %s", ErrFormat, t.name, where, fmt.Sprintf(format, a...))
}

func errFile(name, format string, a ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrFormat, name, fmt.Sprintf(format, a...))
}

// maxCatalogue bounds the size of a catalogue held in memory (a full ASKAP
// tile has ~100k components, ~60 MB of text).
const maxCatalogue = 1 << 30

// readTable detects the layout of data and splits it into a table.
func readTable(name string, data []byte) (*table, Format, error) {
	trim := bytes.TrimLeft(data, " \t\r\n\ufeff")
	switch {
	case bytes.HasPrefix(data, fitsMagic):
		t, err := readFITSTable(name, data)
		if err != nil {
			return nil, "", err
		}
		switch {
		case isAegean(t):
			return t, AegeanFITS, nil
		case isPyBDSF(t):
			return t, PyBDSFFITS, nil
		}
		return nil, "", errFile(name, "a FITS table whose columns are neither Aegean's (peak_flux, local_rms, ...) nor PyBDSF's (Total_flux, Isl_rms, ...)")
	case bytes.HasPrefix(trim, []byte("<")):
		t, err := readVOTable(name, data)
		return t, SelavyVOTable, err
	case bytes.HasPrefix(trim, []byte("#")) && isPyBDSFASCII(trim):
		t, err := readPyBDSFASCII(name, data)
		return t, PyBDSFCSV, err
	case bytes.HasPrefix(trim, []byte("#")):
		t, err := readSelavyText(name, data)
		return t, SelavyText, err
	}
	t, err := readCSV(name, data)
	if err != nil {
		return nil, "", err
	}
	switch {
	case t.index("ra_deg_cont") >= 0:
		return t, SelavyCSV, nil
	case len(t.cols) > 0 && t.cols[0] == "id" && t.index("reduced_chisq") >= 0:
		return t, PySECSV, nil
	case isAegean(t):
		return t, AegeanCSV, nil
	case isPyBDSF(t):
		return t, PyBDSFCSV, nil
	}
	return nil, "", errFile(name, "not a catalogue gotrap reads (expected Selavy's columns such as ra_deg_cont, PySE's CSV header starting with id, Aegean's peak_flux and local_rms, or PyBDSF's Total_flux and Isl_rms)")
}

// isAegean and isPyBDSF recognise the finders' tables by columns only
// they have.
func isAegean(t *table) bool { return t.index("peak_flux") >= 0 && t.index("local_rms") >= 0 }
func isPyBDSF(t *table) bool {
	return t.index("total_flux") >= 0 && t.index("peak_flux") >= 0 && (t.index("isl_rms") >= 0 || t.index("e_total_flux") >= 0)
}

func (t *table) index(col string) int {
	for i, c := range t.cols {
		if c == col {
			return i
		}
	}
	return -1
}

// readSelavyText reads Selavy's fixed-width text: line 1 "# names...",
// line 2 "# units" ([unit] or --, blank for text columns), right-aligned
// to the same end column as the names; then one whitespace-separated row
// per component, the last column (comment) possibly empty or with spaces.
func readSelavyText(name string, data []byte) (*table, error) {
	t := &table{name: name, units: map[string]string{}, rowWord: "line"}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	line := 0
	var ends []int
	for sc.Scan() {
		line++
		s := strings.TrimRight(sc.Text(), " \t\r")
		switch line {
		case 1:
			if !strings.HasPrefix(s, "#") {
				return nil, errFile(name, "line 1: expected the '#' header line of column names")
			}
			for i := 0; i < len(s); {
				if s[i] == ' ' || s[i] == '#' || s[i] == '\t' {
					i++
					continue
				}
				j := i
				for j < len(s) && s[j] != ' ' && s[j] != '\t' {
					j++
				}
				t.cols = append(t.cols, s[i:j])
				ends = append(ends, j)
				i = j
			}
			if len(t.cols) == 0 {
				return nil, errFile(name, "line 1: no column names")
			}
			continue
		case 2:
			if !strings.HasPrefix(s, "#") {
				return nil, errFile(name, "line 2: expected the '#' line of units")
			}
			for i := 1; i < len(s); {
				if s[i] == ' ' || s[i] == '\t' {
					i++
					continue
				}
				j := i
				for j < len(s) && s[j] != ' ' && s[j] != '\t' {
					j++
				}
				u := s[i:j]
				k := -1
				for c, e := range ends {
					if e == j {
						k = c
						break
					}
				}
				if k < 0 {
					return nil, errFile(name, "line 2, column %d: unit %q is not aligned with a column name", i+1, u)
				}
				if u != "--" {
					t.units[t.cols[k]] = strings.TrimSuffix(strings.TrimPrefix(u, "["), "]")
				}
				i = j
			}
			continue
		}
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		f := strings.Fields(s)
		n := len(t.cols)
		if len(f) > n {
			// The last column is free text: join what is left.
			f = append(f[:n-1], strings.Join(f[n-1:], " "))
		}
		if len(f) == n-1 {
			f = append(f, "") // empty comment
		}
		r := trow{line: line, vals: f}
		if len(f) < n {
			return nil, t.errAt(&r, "", "%d fields, the header has %d columns", len(f), n)
		}
		t.rows = append(t.rows, r)
	}
	if err := sc.Err(); err != nil {
		return nil, errFile(name, "line %d: %v", line+1, err)
	}
	if line < 2 {
		return nil, errFile(name, "no units line: a Selavy text catalogue has two header lines")
	}
	return t, nil
}

// readCSV reads a comma-separated table with a header line. Rows may be
// shorter than the header (CASDA leaves trailing empty fields out); the
// missing fields are empty.
func readCSV(name string, data []byte) (*table, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	t := &table{name: name, rowWord: "line"}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, errFile(name, "%v", err)
		}
		line, _ := cr.FieldPos(0)
		if t.cols == nil {
			for _, c := range rec {
				t.cols = append(t.cols, strings.ToLower(strings.TrimSpace(c)))
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		r := trow{line: line, vals: rec}
		if len(rec) > len(t.cols) {
			return nil, t.errAt(&r, "", "%d fields, the header has %d columns", len(rec), len(t.cols))
		}
		for len(r.vals) < len(t.cols) {
			r.vals = append(r.vals, "")
		}
		t.rows = append(t.rows, r)
	}
	if t.cols == nil {
		return nil, errFile(name, "empty file")
	}
	return t, nil
}

// VOTable elements read (matched by local name, any namespace).
type voTable struct {
	Resources []voResource `xml:"RESOURCE"`
}

type voResource struct {
	Tables    []voTab      `xml:"TABLE"`
	Resources []voResource `xml:"RESOURCE"`
}

type voTab struct {
	Fields []struct {
		Name string `xml:"name,attr"`
		Unit string `xml:"unit,attr"`
	} `xml:"FIELD"`
	Data *struct {
		TableData *struct {
			TR []struct {
				TD []string `xml:"TD"`
			} `xml:"TR"`
		} `xml:"TABLEDATA"`
		Binary  *struct{} `xml:"BINARY"`
		Binary2 *struct{} `xml:"BINARY2"`
		FITS    *struct{} `xml:"FITS"`
	} `xml:"DATA"`
}

func firstTable(rs []voResource) *voTab {
	for i := range rs {
		if len(rs[i].Tables) > 0 {
			return &rs[i].Tables[0]
		}
		if t := firstTable(rs[i].Resources); t != nil {
			return t
		}
	}
	return nil
}

// readVOTable reads the first TABLE of a VOTable serialised as TABLEDATA.
func readVOTable(name string, data []byte) (*table, error) {
	var v voTable
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	if err := d.Decode(&v); err != nil {
		return nil, errFile(name, "VOTable: %v", err)
	}
	tab := firstTable(v.Resources)
	if tab == nil {
		return nil, errFile(name, "VOTable: no TABLE")
	}
	t := &table{name: name, units: map[string]string{}, rowWord: "row"}
	for _, f := range tab.Fields {
		t.cols = append(t.cols, f.Name)
		if u := strings.TrimSpace(f.Unit); u != "" && u != "--" {
			t.units[f.Name] = u
		}
	}
	if tab.Data == nil {
		return t, nil
	}
	if tab.Data.TableData == nil {
		return nil, errFile(name, "VOTable: only TABLEDATA serialisation is read (BINARY, BINARY2 and FITS are not)")
	}
	for i, tr := range tab.Data.TableData.TR {
		r := trow{line: i + 1, vals: tr.TD}
		if len(r.vals) != len(t.cols) {
			return nil, t.errAt(&r, "", "%d TD cells, the table has %d FIELDs", len(r.vals), len(t.cols))
		}
		t.rows = append(t.rows, r)
	}
	return t, nil
}
