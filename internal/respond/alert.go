package respond

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrNotVOEvent2 is wrapped by ParseAlert's error for a packet that is
// not a VOEvent 2.0 document.
var ErrNotVOEvent2 = errors.New("respond: not a VOEvent 2.0 packet")

// An Alert is what gotrap uses of an external VOEvent packet.
type Alert struct {
	IVORN string
	Role  string // observation, test, utility, prediction
	// Author is Who/AuthorIVORN; Date is Who/Date (as written).
	Author, Date string
	// HasPosition is false for packets without a usable sky position
	// (no Position2D, or the GCN convention of RA = Dec = 0 with a zero
	// error radius for "unavailable").
	HasPosition bool
	RA, Dec     float64 // degrees
	ErrRadius   float64 // degrees, the 1-sigma or containment radius as given
	CoordSystem string  // AstroCoords coord_system_id
	Time        time.Time
	// Citations are the IVORNs the packet cites with their cite type
	// ("followup", "supersedes", "retraction").
	Citations []Citation
	// Concept is Why/Inference/Concept, when given; Description the
	// packet's What or top Description.
	Concept, Description string
}

// A Citation is one Citations/EventIVORN.
type Citation struct {
	IVORN, Cite string
}

// Retraction reports whether the packet retracts an earlier one.
func (a *Alert) Retraction() bool {
	for _, c := range a.Citations {
		if c.Cite == "retraction" {
			return true
		}
	}
	return false
}

// Name is a file-name-safe form of the IVORN: '/' '#' and other
// characters outside [A-Za-z0-9_.+-] become '_'.
func (a *Alert) Name() string {
	s := strings.TrimPrefix(a.IVORN, "ivo://")
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '+':
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// voePacket is the part of a VOEvent packet ParseAlert reads. Child
// elements are unqualified in VOEvent 2.0 (elementFormDefault), so they
// match by local name.
type voePacket struct {
	XMLName xml.Name
	Version string `xml:"version,attr"`
	IVORN   string `xml:"ivorn,attr"`
	Role    string `xml:"role,attr"`
	Who     struct {
		AuthorIVORN string `xml:"AuthorIVORN"`
		Date        string `xml:"Date"`
	} `xml:"Who"`
	WhereWhen *struct {
		Coords []struct {
			System   string `xml:"coord_system_id,attr"`
			ISOTime  string `xml:"Time>TimeInstant>ISOTime"`
			Position *struct {
				Unit   string `xml:"unit,attr"`
				C1     string `xml:"Value2>C1"`
				C2     string `xml:"Value2>C2"`
				ErrRad string `xml:"Error2Radius"`
			} `xml:"Position2D"`
		} `xml:"ObsDataLocation>ObservationLocation>AstroCoords"`
	} `xml:"WhereWhen"`
	Citations []struct {
		IVORN string `xml:",chardata"`
		Cite  string `xml:"cite,attr"`
	} `xml:"Citations>EventIVORN"`
	Why struct {
		Concept []string `xml:"Inference>Concept"`
	} `xml:"Why"`
	Description string `xml:"Description"`
	What        struct {
		Description string `xml:"Description"`
	} `xml:"What"`
}

// voe2NS is the VOEvent 2.0 namespace.
const voe2NS = "http://www.ivoa.net/xml/VOEvent/v2.0"

// ParseAlert parses a VOEvent 2.0 packet. name (a file name or the
// broker's address) only labels errors. It rejects, with an error that
// says why: text that is not XML, a root element other than VOEvent, a
// VOEvent of another version or namespace (1.1 packets: ErrNotVOEvent2),
// a missing or malformed IVORN or role, and numbers, units or times that
// do not parse or lie off the sky.
func ParseAlert(name string, packet []byte) (*Alert, error) {
	var p voePacket
	dec := xml.NewDecoder(bytes.NewReader(packet))
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("respond: alert %s: not a well-formed XML document: %w", name, err)
	}
	if p.XMLName.Local != "VOEvent" {
		return nil, fmt.Errorf("respond: alert %s: root element <%s>, want <VOEvent>", name, p.XMLName.Local)
	}
	if p.XMLName.Space != voe2NS || p.Version != "2.0" {
		return nil, fmt.Errorf("%w: alert %s: version %q in namespace %q (want 2.0 in %s)", ErrNotVOEvent2, name, p.Version, p.XMLName.Space, voe2NS)
	}
	if !strings.HasPrefix(p.IVORN, "ivo://") || len(p.IVORN) <= len("ivo://") || strings.ContainsAny(p.IVORN, " \t\n") {
		return nil, fmt.Errorf("respond: alert %s: IVORN %q is not ivo://...", name, p.IVORN)
	}
	switch p.Role {
	case "observation", "test", "utility", "prediction":
	default:
		return nil, fmt.Errorf("respond: alert %s: role %q is not observation, test, utility or prediction", name, p.Role)
	}
	a := &Alert{IVORN: p.IVORN, Role: p.Role, Author: strings.TrimSpace(p.Who.AuthorIVORN), Date: strings.TrimSpace(p.Who.Date),
		Description: strings.TrimSpace(p.What.Description)}
	if a.Description == "" {
		a.Description = strings.TrimSpace(p.Description)
	}
	if len(p.Why.Concept) > 0 {
		a.Concept = strings.TrimSpace(p.Why.Concept[0])
	}
	for _, c := range p.Citations {
		a.Citations = append(a.Citations, Citation{IVORN: strings.TrimSpace(c.IVORN), Cite: c.Cite})
	}
	if p.WhereWhen == nil || len(p.WhereWhen.Coords) == 0 {
		return a, nil
	}
	co := p.WhereWhen.Coords[0]
	a.CoordSystem = co.System
	if s := strings.TrimSpace(co.ISOTime); s != "" {
		t, err := parseISOTime(s)
		if err != nil {
			return nil, fmt.Errorf("respond: alert %s: ISOTime %q: %w", name, s, err)
		}
		a.Time = t
	}
	pos := co.Position
	if pos == nil {
		return a, nil
	}
	num := func(what, s string) (float64, error) {
		x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("respond: alert %s: Position2D %s %q is not a number", name, what, s)
		}
		return x, nil
	}
	c1, err := num("C1", pos.C1)
	if err != nil {
		return nil, err
	}
	c2, err := num("C2", pos.C2)
	if err != nil {
		return nil, err
	}
	er := 0.0
	if strings.TrimSpace(pos.ErrRad) != "" {
		if er, err = num("Error2Radius", pos.ErrRad); err != nil {
			return nil, err
		}
	}
	scale := 1.0
	switch strings.ToLower(strings.TrimSpace(pos.Unit)) {
	case "deg", "":
	case "rad":
		scale = 180 / math.Pi
	default:
		return nil, fmt.Errorf("respond: alert %s: Position2D unit %q (want deg or rad)", name, pos.Unit)
	}
	sys := strings.ToUpper(co.System)
	if !strings.Contains(sys, "ICRS") && !strings.Contains(sys, "FK5") {
		return nil, fmt.Errorf("respond: alert %s: coordinate system %q: only ICRS and FK5 (J2000) positions are used", name, co.System)
	}
	c1, c2, er = c1*scale, c2*scale, er*scale
	if c1 == 0 && c2 == 0 && er == 0 {
		return a, nil // GCN's "unavailable/inappropriate" position
	}
	if !(c2 >= -90 && c2 <= 90) || er < 0 {
		return nil, fmt.Errorf("respond: alert %s: position (%v, %v) radius %v is not on the sky", name, c1, c2, er)
	}
	if c1 < 0 || c1 >= 360 {
		c1 = math.Mod(math.Mod(c1, 360)+360, 360)
	}
	a.HasPosition, a.RA, a.Dec, a.ErrRadius = true, c1, c2, er
	return a, nil
}

// parseISOTime reads the ISO 8601 forms VOEvents use: with or without
// fractional seconds and a time zone (UTC when none).
func parseISOTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("not an ISO 8601 date and time")
}
