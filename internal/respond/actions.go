package respond

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/report"
	"gotrap/internal/vtp"
)

// eventJSON is the event as a JSON object: the columns of events.parquet
// by name; NaN and infinities become null, times RFC 3339 UTC.
func eventJSON(e Event) map[string]any {
	num := func(x float64) any {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	}
	return map[string]any{
		"id": e.ID, "type": e.Type, "runcat": e.Runcat, "band": e.Band, "image": e.Image,
		"timestep": e.Timestep, "time": e.Time.UTC().Format(time.RFC3339Nano),
		"ra": num(e.RA), "decl": num(e.Decl), "measurement": e.Measurement, "extract_type": e.ExtractType,
		"significance": num(e.Significance), "value": num(e.Value), "reference": num(e.Reference),
		"f_int": num(e.FInt), "f_int_err": num(e.FIntErr), "freq_hz": num(e.FreqHz), "n_points": e.NPoints,
		"newsource_type": e.NewsourceType, "known": e.Known, "monitored": e.Monitored, "detail": e.Detail,
	}
}

// payload is what the webhook and exec actions send: the rule, the event
// and, when [responses] link_base is set, the light-curve link.
func payload(rule string, e Event, link string) []byte {
	m := map[string]any{"rule": rule, "event": eventJSON(e)}
	if link != "" {
		m["link"] = link
	}
	b, _ := json.Marshal(m) // only plain values: cannot fail
	return b
}

// lightCurveLink is LINK_BASE/report/index.html#runcat-N, or "".
func lightCurveLink(rs config.Responses, e Event) string {
	if rs.LinkBase == "" || e.Runcat == 0 {
		return ""
	}
	return strings.TrimRight(rs.LinkBase, "/") + fmt.Sprintf("/report/index.html#runcat-%d", e.Runcat)
}

// IVORN returns the IVORN of the VOEvent of rule for event e:
// ivo://AUTHORITY/STREAM#RULE.EVENT.
func IVORN(rs config.Responses, rule string, e Event) string {
	return fmt.Sprintf("ivo://%s/%s#%s.%s", rs.Authority, rs.Stream, rule, e.ID)
}

// eventConcepts names each event type for the VOEvent Why section.
var eventConcepts = map[string]string{
	TypeNewSource: "new source", TypeRise: "flux rise", TypeDrop: "flux drop",
	TypeHigh: "all-time high", TypeLow: "all-time low", TypeVariable: "variable source",
	TypeMonitor: "monitored source active", TypeKnown: "known source detected",
	TypeSpectralFlat: "flat spectrum", TypeSpectralSteep: "steep spectrum",
	TypeSingleTimestep: "single-timestep detection", TypeAlert: "external alert follow-up",
}

// BuildVOEvent writes the VOEvent 2.0 packet of rule r for event e
// (report's VOEvent types; valid against the IVOA schema).
func BuildVOEvent(rs config.Responses, r config.Rule, e Event, now time.Time) ([]byte, error) {
	f := func(x float64) string {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "NaN"
		}
		return strconv.FormatFloat(x, 'g', 10, 64)
	}
	i := func(x int64) string { return strconv.FormatInt(x, 10) }
	params := []report.VOParam{
		{Name: "event_type", UCD: "meta.code.class", DataType: "string", Value: e.Type, Description: "gotrap event type (docs/responses.md)"},
		{Name: "event_id", UCD: "meta.id", DataType: "string", Value: e.ID},
		{Name: "runcat", UCD: "meta.id;meta.main", DataType: "int", Value: i(e.Runcat), Description: "running-catalogue id of the source"},
		{Name: "band", UCD: "meta.id;em.freq", DataType: "int", Value: i(e.Band)},
		{Name: "freq", UCD: "em.freq", Unit: "Hz", DataType: "float", Value: f(e.FreqHz)},
		{Name: "image", UCD: "meta.id;obs.image", DataType: "int", Value: i(e.Image)},
		{Name: "timestep", UCD: "time.epoch;meta.number", DataType: "int", Value: i(e.Timestep)},
		{Name: "significance", UCD: "stat.snr", DataType: "float", Value: f(e.Significance)},
		{Name: "value", UCD: "stat.value", DataType: "float", Value: f(e.Value)},
		{Name: "reference", UCD: "stat.value", DataType: "float", Value: f(e.Reference)},
		{Name: "f_int", UCD: "phot.flux.density;em.radio", Unit: "Jy", DataType: "float", Value: f(e.FInt)},
		{Name: "f_int_err", UCD: "stat.error;phot.flux.density", Unit: "Jy", DataType: "float", Value: f(e.FIntErr)},
		{Name: "newsource_type", UCD: "meta.code.class", DataType: "int", Value: strconv.Itoa(int(e.NewsourceType)), Description: "1 likely transient, 0 possible, -1 not a new source"},
	}
	ev := &report.VOEvent{
		NS: report.VOEventNS, XSI: "http://www.w3.org/2001/XMLSchema-instance",
		SchemaLoc: report.VOEventNS + " http://www.ivoa.net/xml/VOEvent/VOEvent-v2.0.xsd",
		Version:   "2.0", IVORN: IVORN(rs, r.Name, e), Role: r.Role,
		Who: report.VOWho{AuthorIVORN: "ivo://" + rs.Authority, Date: now.UTC().Format("2006-01-02T15:04:05"),
			Author: &report.VOAuthor{ShortName: "gotrap", ContactName: rs.Contact}},
		What: report.VOWhat{Params: params, Description: e.Detail},
		WhereWhen: report.VOWhere{Observatory: report.VOIDRef{ID: "GEOLUN"}, CoordSystem: report.VOIDRef{ID: "UTC-ICRS-GEO"},
			Coords: report.VOCoords{System: "UTC-ICRS-GEO",
				Time:     report.VOTime{Unit: "s", ISOTime: e.Time.UTC().Format("2006-01-02T15:04:05.000000")},
				Position: report.VOPosition2D{Unit: "deg", Name1: "RA", Name2: "Dec", C1: e.RA, C2: e.Decl}}},
		How: report.VOHow{Description: []string{"gotrap response rule " + r.Name + ": " + r.When}},
		Why: report.VOWhy{Importance: 0.5, Inference: report.VOInference{Probability: 0.5,
			Name: fmt.Sprintf("runcat %d", e.Runcat), Concept: eventConcepts[e.Type], Description: e.Detail}},
	}
	var b bytes.Buffer
	if err := report.WriteVOEvent(&b, ev); err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	return b.Bytes(), nil
}

// sender delivers one (event, action, target).
type sender struct {
	rs      config.Responses
	timeout time.Duration
	now     func() time.Time
	getenv  func(string) string
}

func (s *sender) deliver(ctx context.Context, r config.Rule, e Event, action, target string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	switch action {
	case config.ActionVOEvent:
		pkt, err := BuildVOEvent(s.rs, r, e, s.now())
		if err != nil {
			return err
		}
		return vtp.Send(ctx, target, pkt, s.timeout)
	case config.ActionEmail:
		return s.email(ctx, r, e, target)
	case config.ActionWebhook:
		return s.webhook(ctx, r, e, target)
	case config.ActionExec:
		return s.exec(ctx, r, e)
	}
	return fmt.Errorf("respond: unknown action %q", action)
}

// webhook POSTs the payload as JSON; any 2xx status is success.
func (s *sender) webhook(ctx context.Context, r config.Rule, e Event, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload(r.Name, e, lightCurveLink(s.rs, e))))
	if err != nil {
		return fmt.Errorf("respond: webhook %s: %w", url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gotrap")
	req.Header.Set("Idempotency-Key", r.Name+"."+e.ID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("respond: webhook: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("respond: webhook %s: HTTP %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// exec runs the rule's command with the payload on standard input; exit
// status 0 is success.
func (s *sender) exec(ctx context.Context, r config.Rule, e Event) error {
	cmd := exec.CommandContext(ctx, r.Exec[0], r.Exec[1:]...)
	cmd.Stdin = bytes.NewReader(payload(r.Name, e, lightCurveLink(s.rs, e)))
	cmd.Env = append(os.Environ(), "GOTRAP_RULE="+r.Name, "GOTRAP_EVENT="+e.ID, "GOTRAP_EVENT_TYPE="+e.Type)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 300 {
			tail = tail[len(tail)-300:]
		}
		return fmt.Errorf("respond: exec %s: %w: %s", r.Exec[0], err, strings.TrimSpace(tail))
	}
	return nil
}

// emailText is the message of rule r for event e to address to.
func (s *sender) emailText(r config.Rule, e Event, to string) []byte {
	var b bytes.Buffer
	subj := fmt.Sprintf("[gotrap] %s: %s runcat %d at RA %.5f Dec %.5f", r.Name, e.Type, e.Runcat, e.RA, e.Decl)
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n", s.rs.EmailFrom, to, subj, s.now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s.%s@%s>\r\n", r.Name, e.ID, s.rs.Authority)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	fmt.Fprintf(&b, "gotrap response rule %q (when %s) matched event %s.\r\n\r\n", r.Name, r.When, e.ID)
	fmt.Fprintf(&b, "%s\r\n\r\n", e.Detail)
	line := func(k, v string) { fmt.Fprintf(&b, "%-15s %s\r\n", k, v) }
	line("type", e.Type)
	line("runcat", strconv.FormatInt(e.Runcat, 10))
	line("time", e.Time.UTC().Format(time.RFC3339))
	line("timestep", strconv.FormatInt(e.Timestep, 10))
	line("ra, decl (deg)", fmt.Sprintf("%.6f, %.6f", e.RA, e.Decl))
	line("band", fmt.Sprintf("%d (%.3f MHz)", e.Band, e.FreqHz/1e6))
	line("image", strconv.FormatInt(e.Image, 10))
	line("f_int (Jy)", fmt.Sprintf("%.5g +- %.3g", e.FInt, e.FIntErr))
	line("significance", fmt.Sprintf("%.4g", e.Significance))
	line("value", fmt.Sprintf("%.6g", e.Value))
	line("reference", fmt.Sprintf("%.6g", e.Reference))
	if e.NewsourceType >= 0 {
		line("newsource_type", strconv.Itoa(int(e.NewsourceType)))
	}
	if l := lightCurveLink(s.rs, e); l != "" {
		line("light curve", l)
	} else {
		line("light curve", fmt.Sprintf("gotrap query RUN lightcurve %d", e.Runcat))
	}
	return b.Bytes()
}

// email sends the message to one recipient over SMTP: STARTTLS when the
// server offers it (or required by smtp_tls = "required"), PLAIN
// authentication when smtp_user is set.
func (s *sender) email(ctx context.Context, r config.Rule, e Event, to string) error {
	addr := net.JoinHostPort(s.rs.SMTPHost, strconv.Itoa(s.rs.SMTPPort))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("respond: smtp %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.rs.SMTPHost)
	if err != nil {
		conn.Close()
		return fmt.Errorf("respond: smtp %s: %w", addr, err)
	}
	defer c.Close()
	if err := c.Hello("gotrap"); err != nil {
		return fmt.Errorf("respond: smtp %s: %w", addr, err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok && s.rs.SMTPTLS != "none" {
		tc := &tls.Config{ServerName: s.rs.SMTPHost}
		if s.rs.SMTPCAFile != "" {
			pem, err := os.ReadFile(s.rs.SMTPCAFile)
			if err != nil {
				return fmt.Errorf("respond: [responses] smtp_ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return fmt.Errorf("respond: [responses] smtp_ca_file %s: no PEM certificate in it", s.rs.SMTPCAFile)
			}
		}
		if err := c.StartTLS(tc); err != nil {
			return fmt.Errorf("respond: smtp %s: STARTTLS: %w", addr, err)
		}
	} else if s.rs.SMTPTLS == "required" {
		return fmt.Errorf("respond: smtp %s: the server does not offer STARTTLS and [responses] smtp_tls = \"required\"", addr)
	}
	if s.rs.SMTPUser != "" {
		pw := s.getenv(s.rs.SMTPPasswordEnv)
		if err := c.Auth(smtp.PlainAuth("", s.rs.SMTPUser, pw, s.rs.SMTPHost)); err != nil {
			return fmt.Errorf("respond: smtp %s: authentication: %w", addr, err)
		}
	}
	if err := c.Mail(s.rs.EmailFrom); err != nil {
		return fmt.Errorf("respond: smtp %s: MAIL FROM: %w", addr, err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("respond: smtp %s: RCPT TO %s: %w", addr, to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("respond: smtp %s: DATA: %w", addr, err)
	}
	if _, err := w.Write(s.emailText(r, e, to)); err != nil {
		return fmt.Errorf("respond: smtp %s: %w", addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("respond: smtp %s: %w", addr, err)
	}
	// The server accepted the message with its reply to the end of DATA:
	// a failing QUIT does not undo that.
	c.Quit()
	return nil
}
