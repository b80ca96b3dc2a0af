package catalogs

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gotrap/internal/extract"
	"gotrap/kernels"
)

// Row is one catalogue entry.
type Row struct {
	// Line is the row's 1-based line in the file (the TR index in a
	// VOTable), for messages.
	Line int
	// Src holds the measurement in gotrap's units. For Selavy rows only
	// the sky quantities are set until Place fills the pixel ones.
	Src kernels.Source
	// Pixel reports that Src's pixel quantities come from the file (PySE).
	Pixel bool
	// Island and Component are Selavy's ids ("" for PySE).
	Island, Component string
	// RMS is the local rms the finder reports (Jy/beam), 0 when absent.
	RMS float64

	// dcAsec: Selavy's deconvolved semi-axes and errors (arcsec): major,
	// its error, minor, its error; Place turns them into pixels.
	dcAsec [4]float64
}

// Catalogue is a catalogue file read.
type Catalogue struct {
	Path   string
	Format Format
	Rows   []Row
}

// Read reads the catalogue at path (see the package doc).
func Read(path string) (*Catalogue, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalogs: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads a catalogue from r; name is used in messages.
func Parse(r io.Reader, name string) (*Catalogue, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxCatalogue+1))
	if err != nil {
		return nil, fmt.Errorf("catalogs: %s: %w", name, err)
	}
	if len(data) > maxCatalogue {
		return nil, errFile(name, "larger than %d bytes", maxCatalogue)
	}
	if bytes.HasPrefix(data, parquetMagic) {
		rows, err := parquetRows(name, data)
		if err != nil {
			return nil, err
		}
		return &Catalogue{Path: name, Format: GotrapParquet, Rows: rows}, nil
	}
	t, format, err := readTable(name, data)
	if err != nil {
		return nil, err
	}
	c := &Catalogue{Path: name, Format: format}
	switch format {
	case PySECSV:
		c.Rows, err = pyseRows(t)
	case AegeanCSV, AegeanFITS:
		c.Rows, err = interpretFinder(t, &aegean)
	case PyBDSFCSV, PyBDSFFITS:
		c.Rows, err = interpretFinder(t, &pybdsf)
	default:
		c.Rows, err = selavyRows(t)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// pyseRows interprets PySE's CSV: exactly extract.CSVColumns, in order.
func pyseRows(t *table) ([]Row, error) {
	if len(t.cols) != len(extract.CSVColumns) {
		return nil, errFile(t.name, "line 1: %d columns, PySE's CSV has %d (%s)", len(t.cols), len(extract.CSVColumns), strings.Join(extract.CSVColumns[:], ","))
	}
	for i, c := range extract.CSVColumns {
		if t.cols[i] != c {
			return nil, errFile(t.name, "line 1: column %d is %q, PySE's CSV has %q", i+1, t.cols[i], c)
		}
	}
	rows := make([]Row, 0, len(t.rows))
	for k := range t.rows {
		r := &t.rows[k]
		var v [len(extract.CSVColumns)]float64
		for i, c := range extract.CSVColumns {
			s := strings.TrimSpace(r.vals[i])
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, t.errAt(r, c, "%q is not a number", s)
			}
			v[i] = x
		}
		if v[0] != math.Trunc(v[0]) || v[0] < 0 || v[0] > math.MaxInt32 {
			return nil, t.errAt(r, "id", "%v is not a row number", v[0])
		}
		var s kernels.Source
		s.ID = int(v[0])
		p := []*float64{&s.Peak, &s.PeakErr, &s.Flux, &s.FluxErr, &s.X, &s.XErr, &s.Y, &s.YErr,
			&s.Smaj, &s.SmajErr, &s.Smin, &s.SminErr, &s.Theta, &s.ThetaErr, &s.SmajDC, &s.SmajDCErr, &s.SminDC, &s.SminDCErr,
			&s.ThetaDC, &s.ThetaDCErr, &s.RA, &s.RAErr, &s.Dec, &s.DecErr, &s.SmajAsec, &s.SmajAsecErr, &s.SminAsec, &s.SminAsecErr,
			&s.ThetaCeles, &s.ThetaCelesErr, &s.ThetaDCCeles, &s.ThetaDCCelesErr, &s.ErrorRadius, &s.Sig, &s.Chisq, &s.ReducedChisq}
		for i, q := range p {
			*q = v[i+1]
		}
		if !finite(s.RA) || !finite(s.Dec) || s.Dec < -90 || s.Dec > 90 {
			return nil, t.errAt(r, "ra/dec", "position (%v, %v) is not on the sky", s.RA, s.Dec)
		}
		// PySE's CSV does not say which fit was made; reduced_chisq is
		// 0 for moments and positive for a Gaussian fit.
		s.Gaussian = s.ReducedChisq > 0
		rows = append(rows, Row{Line: r.line, Src: s, Pixel: true})
	}
	return rows, nil
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// sortSky orders rows by (ra, dec, line).
func sortSky(rows []Row) {
	slices.SortStableFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Src.RA, b.Src.RA), cmp.Compare(a.Src.Dec, b.Src.Dec), cmp.Compare(a.Line, b.Line))
	})
}
