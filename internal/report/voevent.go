package report

import (
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"gotrap/kernels/sphere"
)

// VOEventNS is the namespace of VOEvent 2.0 (IVOA Recommendation, 2011).
const VOEventNS = "http://www.ivoa.net/xml/VOEvent/v2.0"

// VOEvent roles (the schema's roleValues).
const (
	RoleObservation = "observation"
	RoleTest        = "test"
	RoleUtility     = "utility"
	RolePrediction  = "prediction"
)

// VOEvent is a VOEvent 2.0 packet as this package writes it: the root
// element in the voe: namespace with unqualified children (the schema's
// elementFormDefault). Marshal it with WriteVOEvent.
type VOEvent struct {
	XMLName   xml.Name `xml:"voe:VOEvent"`
	NS        string   `xml:"xmlns:voe,attr"`
	XSI       string   `xml:"xmlns:xsi,attr"`
	SchemaLoc string   `xml:"xsi:schemaLocation,attr"`
	Version   string   `xml:"version,attr"`
	IVORN     string   `xml:"ivorn,attr"`
	Role      string   `xml:"role,attr"`
	Who       VOWho    `xml:"Who"`
	What      VOWhat   `xml:"What"`
	WhereWhen VOWhere  `xml:"WhereWhen"`
	How       VOHow    `xml:"How"`
	Why       VOWhy    `xml:"Why"`
}

// VOWho is the Who section.
type VOWho struct {
	AuthorIVORN string    `xml:"AuthorIVORN"`
	Date        string    `xml:"Date"` // xs:dateTime, UTC
	Author      *VOAuthor `xml:"Author,omitempty"`
}

// VOAuthor names the author.
type VOAuthor struct {
	ShortName   string `xml:"shortName,omitempty"`
	ContactName string `xml:"contactName,omitempty"`
	Email       string `xml:"contactEmail,omitempty"`
}

// VOParam is a Param; Unit is always written ("" for a dimensionless
// number, as in VOUnits).
type VOParam struct {
	Name        string `xml:"name,attr"`
	UCD         string `xml:"ucd,attr"`
	Unit        string `xml:"unit,attr"`
	DataType    string `xml:"dataType,attr"`
	Value       string `xml:"value,attr"`
	Description string `xml:"Description,omitempty"`
}

// VOField is a Table column.
type VOField struct {
	Name     string `xml:"name,attr"`
	UCD      string `xml:"ucd,attr"`
	Unit     string `xml:"unit,attr"`
	DataType string `xml:"dataType,attr"`
}

// VOTable is What/Table.
type VOTable struct {
	Name        string    `xml:"name,attr"`
	Description string    `xml:"Description,omitempty"`
	Fields      []VOField `xml:"Field"`
	Rows        []VORow   `xml:"Data>TR"`
}

// VORow is one TR.
type VORow struct {
	TD []string `xml:"TD"`
}

// VOWhat is the What section.
type VOWhat struct {
	Params      []VOParam `xml:"Param"`
	Tables      []VOTable `xml:"Table"`
	Description string    `xml:"Description,omitempty"`
}

// VOWhere is WhereWhen with one observation location.
type VOWhere struct {
	Observatory VOIDRef  `xml:"ObsDataLocation>ObservatoryLocation"`
	CoordSystem VOIDRef  `xml:"ObsDataLocation>ObservationLocation>AstroCoordSystem"`
	Coords      VOCoords `xml:"ObsDataLocation>ObservationLocation>AstroCoords"`
}

// VOIDRef is an element with only an id attribute.
type VOIDRef struct {
	ID string `xml:"id,attr"`
}

// VOCoords is AstroCoords: a time and a sky position.
type VOCoords struct {
	System   string       `xml:"coord_system_id,attr"`
	Time     VOTime       `xml:"Time"`
	Position VOPosition2D `xml:"Position2D"`
}

// VOTime is AstroCoords/Time with an ISO time instant.
type VOTime struct {
	Unit    string `xml:"unit,attr"`
	ISOTime string `xml:"TimeInstant>ISOTime"`
}

// VOPosition2D is a sky position and its error radius, in Unit.
type VOPosition2D struct {
	Unit   string  `xml:"unit,attr"`
	Name1  string  `xml:"Name1"`
	Name2  string  `xml:"Name2"`
	C1     float64 `xml:"Value2>C1"`
	C2     float64 `xml:"Value2>C2"`
	ErrRad float64 `xml:"Error2Radius"`
}

// VOHow is the How section.
type VOHow struct {
	Description []string `xml:"Description"`
}

// VOWhy is the Why section with one inference.
type VOWhy struct {
	Importance float64     `xml:"importance,attr"`
	Inference  VOInference `xml:"Inference"`
}

// VOInference is Why/Inference.
type VOInference struct {
	Probability float64 `xml:"probability,attr"`
	Name        string  `xml:"Name"`
	Concept     string  `xml:"Concept"`
	Description string  `xml:"Description,omitempty"`
}

// WriteVOEvent writes ev as an XML document (UTF-8, indented).
func WriteVOEvent(w io.Writer, ev *VOEvent) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	if err := enc.Encode(ev); err != nil {
		return fmt.Errorf("report: VOEvent %s: %w", ev.IVORN, err)
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// VOEventOptions configures the VOEvents of a report.
type VOEventOptions struct {
	// Authority and Stream make the IVORN ivo://AUTHORITY/STREAM#ID
	// (defaults "gotrap.invalid" and "trap").
	Authority, Stream string
	// Role is the packet role (default RoleTest: nobody should act on a
	// packet by accident).
	Role string
	// Contact is Who/Author/contactName (default "gotrap").
	Contact string
	// MaxPoints caps the light-curve table (default 100 points, the
	// first ones in time order).
	MaxPoints int
	// RateLimit, when > 0, allows at most that many packets per
	// RatePeriod (default 1 h) of trigger time; the others are kept in
	// the report as suppressed.
	RateLimit  int
	RatePeriod time.Duration
	// Known suppresses packets for candidates within a known source's
	// radius (see ReadKnownSources).
	Known []KnownSource
	// Flagged sends packets for new sources with vetting flags too
	// (catalog/duck vetting); by default they are withheld.
	Flagged bool
}

func (o VOEventOptions) withDefaults() VOEventOptions {
	if o.Authority == "" {
		o.Authority = "gotrap.invalid"
	}
	if o.Stream == "" {
		o.Stream = "trap"
	}
	if o.Role == "" {
		o.Role = RoleTest
	}
	if o.Contact == "" {
		o.Contact = "gotrap"
	}
	if o.MaxPoints <= 0 {
		o.MaxPoints = 100
	}
	if o.RatePeriod <= 0 {
		o.RatePeriod = time.Hour
	}
	return o
}

// Validate reports a bad role, authority or stream.
func (o VOEventOptions) Validate() error {
	o = o.withDefaults()
	switch o.Role {
	case RoleObservation, RoleTest, RoleUtility, RolePrediction:
	default:
		return fmt.Errorf("report: VOEvent role %q is not observation, prediction, utility or test", o.Role)
	}
	if strings.ContainsAny(o.Authority, "#?/ \t\n<>\"{}|\\^`") {
		return fmt.Errorf("report: VOEvent authority %q has characters an IVORN authority cannot hold", o.Authority)
	}
	if strings.ContainsAny(o.Stream, "#? \t\n<>\"{}|\\^`") || strings.HasPrefix(o.Stream, "/") {
		return fmt.Errorf("report: VOEvent stream %q has characters an IVORN path cannot hold", o.Stream)
	}
	return nil
}

// A KnownSource is a position around which no VOEvent is sent: RA, Dec
// and radius in degrees.
type KnownSource struct {
	RA, Dec, Radius float64
}

// ReadKnownSources reads a CSV of RA,DEC,RADIUS in degrees, one source a
// line; blank lines, lines starting with '#' and a header line whose
// first field is not a number are skipped.
func ReadKnownSources(r io.Reader) ([]KnownSource, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []KnownSource
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("report: known sources: %w", err)
		}
		if len(rec) == 0 || len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(out) == 0 && line == 1 {
			if _, err := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64); err != nil {
				continue // header
			}
		}
		if len(rec) != 3 {
			return nil, fmt.Errorf("report: known sources line %d: want RA,DEC,RADIUS, got %d fields", line, len(rec))
		}
		var v [3]float64
		for i, s := range rec {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, fmt.Errorf("report: known sources line %d: bad number %q", line, s)
			}
			v[i] = x
		}
		if v[1] < -90 || v[1] > 90 || v[2] < 0 {
			return nil, fmt.Errorf("report: known sources line %d: Dec outside [-90, 90] or negative radius", line)
		}
		out = append(out, KnownSource{RA: v[0], Dec: v[1], Radius: v[2]})
	}
}

// knownMatch returns the index of the first known source containing the
// position, or -1.
func knownMatch(known []KnownSource, ra, dec float64) int {
	for i, k := range known {
		if sphere.Sep(ra, dec, k.RA, k.Dec) <= k.Radius {
			return i
		}
	}
	return -1
}

// applyEventPolicy sets Status on each event: suppressed near a known
// source, then rate-limited in trigger-time order (ties: higher priority
// first, then id); the rest "sent". Events are sorted in that order.
func applyEventPolicy(evs []*eventCand, o VOEventOptions) {
	sort.SliceStable(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if a.Priority != b.Priority {
			return a.Priority > b.Priority
		}
		return a.ID < b.ID
	})
	var sent []time.Time
	for _, e := range evs {
		if k := knownMatch(o.Known, e.RA, e.Dec); k >= 0 {
			e.Status = fmt.Sprintf("suppressed: within %.4g deg of known source %d (%.5f, %.5f)",
				o.Known[k].Radius, k+1, o.Known[k].RA, o.Known[k].Dec)
			continue
		}
		if e.Withheld != "" && !o.Flagged {
			e.Status = e.Withheld
			continue
		}
		if o.RateLimit > 0 {
			n := 0
			for _, t := range sent {
				if e.Time.Sub(t) < o.RatePeriod {
					n++
				}
			}
			if n >= o.RateLimit {
				e.Status = fmt.Sprintf("suppressed: rate limit of %d per %s", o.RateLimit, o.RatePeriod)
				continue
			}
		}
		sent = append(sent, e.Time)
		e.Status = "sent"
	}
}

// eventCand is a VOEvent to send or suppress.
type eventCand struct {
	ID       string // IVORN fragment
	IVORN    string
	Kind     string // "new" or "var"
	Runcat   int64
	Time     time.Time // trigger: the first detection
	Priority int       // 2 likely transient, 1 possible, 0 variable
	RA, Dec  float64
	Status   string // "sent", "suppressed: why" or Withheld
	// Withheld, when set, is the status of a candidate whose vetting
	// flags hold its packet back ("withheld: vetting flags ...").
	Withheld string
	File     string // relative to the report directory, when sent
	cand     *candidate
}

// paramDef describes a query column as a VOEvent Param.
type paramDef struct {
	col, name, ucd, unit, dataType, desc string
}

var newSourceParams = []paramDef{
	{"runcat", "runcat", "meta.id;meta.main", "", "int", "running-catalogue id of the source"},
	{"newsource_type", "newsource_type", "meta.code.class", "", "int", "1 likely transient, 0 possible"},
	{"band", "band", "meta.id;em.freq", "", "int", "frequency band id of the trigger image"},
	{"freq_hz", "freq", "em.freq", "Hz", "float", "central frequency of the band"},
	{"image", "trigger_image", "meta.id;obs.image", "", "int", "image of the first detection"},
	{"f_int", "f_int", "phot.flux.density;em.radio", "Jy", "float", "integrated flux of the trigger measurement"},
	{"f_int_err", "f_int_err", "stat.error;phot.flux.density", "Jy", "float", "its 1-sigma error"},
	{"f_peak", "f_peak", "phot.flux.density;em.radio", "Jy/beam", "float", "peak flux of the trigger measurement"},
	{"f_peak_err", "f_peak_err", "stat.error;phot.flux.density", "Jy/beam", "float", "its 1-sigma error"},
	{"det_sigma", "det_sigma", "stat.snr", "", "float", "detection significance"},
	{"sigma_rms_min", "sigma_rms_min", "stat.snr", "", "float", "f_int over the lowest rms of the previous image"},
	{"sigma_rms_max", "sigma_rms_max", "stat.snr", "", "float", "f_int over the highest rms of the previous image"},
}

var variableParams = []paramDef{
	{"runcat", "runcat", "meta.id;meta.main", "", "int", "running-catalogue id of the source"},
	{"band", "band", "meta.id;em.freq", "", "int", "frequency band id"},
	{"freq_hz", "freq", "em.freq", "Hz", "float", "central frequency of the band"},
	{"n_points", "n_points", "meta.number", "", "int", "light-curve points in the band"},
	{"eta_int", "eta", "stat.fit.chi2;src.var", "", "float", "reduced chi-squared of the integrated fluxes about their weighted mean"},
	{"v_int", "V", "src.var.index", "", "float", "coefficient of variation of the integrated fluxes"},
	{"sigma_int", "sigma", "stat.snr;src.var", "", "float", "one-sided Gaussian significance of the chi-square of the light curve"},
	{"p_int", "p_value", "stat.probability;src.var", "", "float", "false-alarm probability of the chi-square of the light curve"},
	{"vs_int", "Vs", "stat.value;src.var", "", "float", "two-epoch variability statistic of the most significant pair (Mooley et al. 2016)"},
	{"m_int", "m", "src.var.index", "", "float", "two-epoch modulation index of that pair"},
	{"f_int_mean", "f_int_mean", "phot.flux.density;stat.mean", "Jy", "float", "mean integrated flux"},
	{"f_int_max", "f_int_max", "phot.flux.density;stat.max", "Jy", "float", "largest integrated flux"},
}

func paramValue(v any, dataType string) string {
	if dataType == "int" {
		switch x := v.(type) {
		case int64, int32, int:
			return fmt.Sprint(x)
		case float64:
			return strconv.FormatInt(int64(x), 10)
		}
		return ""
	}
	return formatCell(v)
}

// lightCurveTable is the VOEvent light-curve table: the first max points.
func lightCurveTable(pts []lcPoint, maxPts int) VOTable {
	t := VOTable{Name: "light_curve",
		Description: "Integrated fluxes of the source, in time order. extract_type: 0 blind detection, 1 forced fit at a null detection, 2 monitor fit.",
		Fields: []VOField{
			{"mjd", "time.epoch", "d", "float"},
			{"band", "meta.id;em.freq", "", "int"},
			{"freq", "em.freq", "Hz", "float"},
			{"f_int", "phot.flux.density;em.radio", "Jy", "float"},
			{"f_int_err", "stat.error;phot.flux.density", "Jy", "float"},
			{"extract_type", "meta.code", "", "int"},
		}}
	n := 0
	for _, p := range pts {
		if p.Kind == "limit" {
			continue // the packet's table holds measurements
		}
		if n == maxPts {
			break
		}
		n++
		t.Rows = append(t.Rows, VORow{TD: []string{
			strconv.FormatFloat(mjd(p.T), 'f', 6, 64), strconv.FormatInt(p.Band, 10), formatCell(p.Freq),
			formatCell(p.FInt), formatCell(p.FErr), strconv.FormatInt(p.ExtractType, 10)}})
	}
	return t
}

// mjd is the Modified Julian Date of t (UTC).
func mjd(t time.Time) float64 {
	return float64(t.UTC().UnixNano())/86400e9 + 40587
}

// buildVOEvent makes the packet of e from row i of t (the transients or
// variables query) and its light curve.
func buildVOEvent(e *eventCand, t *table, i int, errDeg float64, o VOEventOptions, now time.Time, how []string) *VOEvent {
	defs, concept, name, imp, prob := newSourceParams, "Transient", "new source", 0.5, 0.5
	if e.Kind == "var" {
		defs, concept, name, imp, prob = variableParams, "Variable source", "variable candidate", 0.4, 0.5
	} else if e.Priority == 2 {
		name, imp, prob = "likely transient", 0.8, 0.8
	} else {
		name = "possible transient"
	}
	ev := &VOEvent{
		NS: VOEventNS, XSI: "http://www.w3.org/2001/XMLSchema-instance",
		SchemaLoc: VOEventNS + " http://www.ivoa.net/xml/VOEvent/VOEvent-v2.0.xsd",
		Version:   "2.0", IVORN: e.IVORN, Role: o.Role,
		Who: VOWho{AuthorIVORN: "ivo://" + o.Authority, Date: now.Format("2006-01-02T15:04:05"),
			Author: &VOAuthor{ShortName: "gotrap", ContactName: o.Contact}},
	}
	for _, d := range defs {
		ev.What.Params = append(ev.What.Params, VOParam{Name: d.name, UCD: d.ucd, Unit: d.unit,
			DataType: d.dataType, Value: paramValue(t.get(i, d.col), d.dataType), Description: d.desc})
	}
	ev.What.Tables = []VOTable{lightCurveTable(e.cand.Points, o.MaxPoints)}
	ev.What.Description = fmt.Sprintf("gotrap %s %d", name, e.Runcat)
	if !finite(errDeg) || errDeg < 0 {
		errDeg = 0
	}
	ev.WhereWhen = VOWhere{Observatory: VOIDRef{"GEOLUN"}, CoordSystem: VOIDRef{"UTC-ICRS-GEO"}, Coords: VOCoords{
		System:   "UTC-ICRS-GEO",
		Time:     VOTime{Unit: "s", ISOTime: e.Time.UTC().Format("2006-01-02T15:04:05.000000")},
		Position: VOPosition2D{Unit: "deg", Name1: "RA", Name2: "Dec", C1: e.RA, C2: e.Dec, ErrRad: errDeg}}}
	ev.How = VOHow{Description: how}
	ev.Why = VOWhy{Importance: imp, Inference: VOInference{Probability: prob, Name: fmt.Sprintf("runcat %d", e.Runcat),
		Concept: concept, Description: name + " found by gotrap"}}
	return ev
}
