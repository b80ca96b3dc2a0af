package config

import (
	"errors"
	"fmt"
	"gotrap/internal/rundir"
	"io/fs"
	"math"
	"net/url"
	"os"
	"strings"
	"time"
)

// Events is the [events] section: which changes of the catalogue are
// events (docs/responses.md "Event types"). Every event is computed from
// the data up to and including its own timestep.
type Events struct {
	// RiseSigma is n of the rise and drop events: a point beyond n sigma
	// of the weighted mean of the earlier points of its light curve.
	RiseSigma float64 `toml:"rise_sigma"`
	// MinPoints is the number of earlier points of a light curve (one
	// source in one band) needed before rise, drop, high and low events.
	MinPoints int `toml:"min_points"`
	// VariabilityAlpha and VariabilityVMin are the variables query's cut
	// (docs/variability.md) applied at each timestep: p_int <= alpha /
	// (light curves of two or more points so far) and v_int >= v_min.
	VariabilityAlpha float64 `toml:"variability_alpha"`
	VariabilityVMin  float64 `toml:"variability_v_min"`
	// MonitorSigma: a monitor fit with f_int / f_int_err at least this is
	// a monitor event.
	MonitorSigma float64 `toml:"monitor_sigma"`
	// SpectralFlat and SpectralSteep bound the spectral index alpha (S ~
	// nu^alpha) across the bands of one timestep; SpectralSigma is how
	// many of its standard errors alpha must lie beyond a bound.
	SpectralFlat  float64 `toml:"spectral_flat"`
	SpectralSteep float64 `toml:"spectral_steep"`
	SpectralSigma float64 `toml:"spectral_sigma"`
	// KnownFile names a CSV of known sources, RA,DEC,RADIUS in degrees
	// (the format of "gotrap report --known"); events of a source within
	// a known source's radius carry its number, and its first detection
	// is a known event.
	KnownFile string `toml:"known_file"`
}

// DefaultEvents returns rise/drop at 5 sigma after 3 points, the
// variables query's default cut (0.01, 0.1), monitor fits at 5 sigma,
// flat above -0.5 and steep below -1.2 at 3 sigma, no known sources.
func DefaultEvents() Events {
	return Events{RiseSigma: 5, MinPoints: 3, VariabilityAlpha: 0.01, VariabilityVMin: 0.1,
		MonitorSigma: 5, SpectralFlat: -0.5, SpectralSteep: -1.2, SpectralSigma: 3}
}

// Validate reports the first [events] setting out of range.
func (e *Events) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: events.%s = %v: %s", ErrInvalid, key, v, why)
	}
	for _, f := range []struct {
		key string
		v   float64
	}{{"rise_sigma", e.RiseSigma}, {"monitor_sigma", e.MonitorSigma}, {"spectral_sigma", e.SpectralSigma}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return bad(f.key, f.v, "must be a finite number > 0")
		}
	}
	if e.MinPoints < 1 {
		return bad("min_points", e.MinPoints, "must be at least 1")
	}
	if !(e.VariabilityAlpha > 0 && e.VariabilityAlpha < 1) {
		return bad("variability_alpha", e.VariabilityAlpha, "must be a probability in (0, 1)")
	}
	if !(e.VariabilityVMin >= 0) || math.IsInf(e.VariabilityVMin, 0) {
		return bad("variability_v_min", e.VariabilityVMin, "must be a finite number >= 0")
	}
	if math.IsNaN(e.SpectralFlat) || math.IsNaN(e.SpectralSteep) || !(e.SpectralSteep < e.SpectralFlat) {
		return bad("spectral_steep", e.SpectralSteep, fmt.Sprintf("must be below spectral_flat (%v)", e.SpectralFlat))
	}
	return nil
}

// Responses is the [responses] section: settings shared by the rules
// ([[response]]): the VOEvent identity, the SMTP server, retries.
type Responses struct {
	// Authority and Stream make the IVORNs ivo://AUTHORITY/STREAM#ID of
	// the VOEvents sent; Contact is their author's contactName.
	Authority string `toml:"authority"`
	Stream    string `toml:"stream"`
	Contact   string `toml:"contact"`
	// SMTPHost and SMTPPort name the mail server of the email action.
	SMTPHost string `toml:"smtp_host"`
	SMTPPort int    `toml:"smtp_port"`
	// SMTPTLS is "starttls" (use STARTTLS when the server offers it),
	// "required" (fail unless it does) or "none".
	SMTPTLS string `toml:"smtp_tls"`
	// SMTPCAFile, when not "", names a PEM file of the certificate
	// authorities trusted for STARTTLS instead of the system's (a site's
	// own CA).
	SMTPCAFile string `toml:"smtp_ca_file"`
	// SMTPUser, when not "", authenticates (PLAIN) with the password in
	// the environment variable SMTPPasswordEnv (never in the file).
	SMTPUser        string `toml:"smtp_user"`
	SMTPPasswordEnv string `toml:"smtp_password_env"`
	// EmailFrom is the sender address.
	EmailFrom string `toml:"email_from"`
	// LinkBase, when not "", starts the light-curve link of emails and
	// webhooks: LINK_BASE/report/index.html#runcat-N.
	LinkBase string `toml:"link_base"`
	// Retries is how many times a failed delivery is retried within one
	// call, waiting RetryBackoff, then twice that, ...; after that it
	// waits for the next call (the next timestep, or "gotrap respond").
	Retries      int    `toml:"retries"`
	RetryBackoff string `toml:"retry_backoff"`
	// Timeout bounds one delivery attempt.
	Timeout string `toml:"timeout"`
}

// DefaultResponses returns authority gotrap.invalid, stream trap, SMTP on
// localhost:25 with STARTTLS when offered, 2 retries 1 s apart (doubling),
// 10 s per attempt.
func DefaultResponses() Responses {
	return Responses{Authority: "gotrap.invalid", Stream: "trap", Contact: "gotrap",
		SMTPHost: "localhost", SMTPPort: 25, SMTPTLS: "starttls", EmailFrom: "gotrap@localhost",
		Retries: 2, RetryBackoff: "1s", Timeout: "10s"}
}

// Validate reports the first [responses] setting out of range.
func (r *Responses) Validate() error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: responses.%s = %v: %s", ErrInvalid, key, v, why)
	}
	if r.Authority == "" || strings.ContainsAny(r.Authority, "#?/ \t\n<>\"{}|\\^`") {
		return bad("authority", r.Authority, "must be a non-empty IVORN authority (no / # ? or spaces)")
	}
	if r.Stream == "" || strings.ContainsAny(r.Stream, "#? \t\n<>\"{}|\\^`") || strings.HasPrefix(r.Stream, "/") {
		return bad("stream", r.Stream, "must be a non-empty IVORN path")
	}
	if r.SMTPPort < 1 || r.SMTPPort > 65535 {
		return bad("smtp_port", r.SMTPPort, "must be a TCP port")
	}
	switch r.SMTPTLS {
	case "starttls", "required", "none":
	default:
		return bad("smtp_tls", r.SMTPTLS, `must be "starttls", "required" or "none"`)
	}
	if r.SMTPUser != "" && r.SMTPPasswordEnv == "" {
		return bad("smtp_password_env", `""`, "smtp_user needs the name of the environment variable holding the password")
	}
	if r.Retries < 0 {
		return bad("retries", r.Retries, "must be >= 0")
	}
	for _, d := range []struct{ key, v string }{{"retry_backoff", r.RetryBackoff}, {"timeout", r.Timeout}} {
		if x, err := time.ParseDuration(d.v); err != nil || x < 0 {
			return bad(d.key, fmt.Sprintf("%q", d.v), `must be a duration such as "1s" or "2m"`)
		}
	}
	return nil
}

// Response actions.
const (
	ActionVOEvent = "voevent"
	ActionEmail   = "email"
	ActionWebhook = "webhook"
	ActionExec    = "exec"
)

// Rule is one [[response]] table: when its condition holds for an event,
// its actions deliver it (docs/responses.md).
type Rule struct {
	// Name identifies the rule in the delivery log; unique.
	Name string `toml:"name"`
	// When is a SQL boolean expression over the columns of events.parquet,
	// evaluated by DuckDB, e.g. "type = 'new_source' AND newsource_type =
	// 1 AND significance > 10".
	When string `toml:"when"`
	// Actions are some of "voevent", "email", "webhook", "exec".
	Actions []string `toml:"actions"`
	// Brokers receive the VOEvents (HOST:PORT or tcp:HOST:PORT); Role is
	// the packets' role, "test" unless set to "observation".
	Brokers []string `toml:"brokers"`
	Role    string   `toml:"role"`
	// EmailTo are the recipients of the email action.
	EmailTo []string `toml:"email_to"`
	// Webhooks are the URLs the webhook action POSTs the event to (JSON).
	Webhooks []string `toml:"webhooks"`
	// Exec is the command (program and arguments, no shell) the exec
	// action runs with the event as JSON on standard input.
	Exec []string `toml:"exec"`
	// RateLimit, when > 0, lets at most that many of the rule's events be
	// delivered per RatePeriod of event time; the others are logged as
	// suppressed.
	RateLimit  int    `toml:"rate_limit"`
	RatePeriod string `toml:"rate_period"`
	// DedupWindow, when not "0s", delivers at most one event per source
	// (runcat) within that much event time; the others are logged as
	// duplicates.
	DedupWindow string `toml:"dedup_window"`
	// Quiet logs the rule's matches without delivering them (for
	// re-processing archives).
	Quiet bool `toml:"quiet"`
}

// withDefaults fills the keys a rule may leave out.
func (r *Rule) withDefaults() {
	if r.Role == "" {
		r.Role = "test"
	}
	if r.RatePeriod == "" {
		r.RatePeriod = "1h"
	}
	if r.DedupWindow == "" {
		r.DedupWindow = "0s"
	}
}

// Validate reports the first bad key of rule i.
func (r *Rule) Validate(i int) error {
	bad := func(key string, v any, why string) error {
		return fmt.Errorf("%w: response[%d] (%q).%s = %v: %s", ErrInvalid, i, r.Name, key, v, why)
	}
	if r.Name == "" || strings.ContainsAny(r.Name, "/\\ \t\n#") {
		return bad("name", fmt.Sprintf("%q", r.Name), "must be a non-empty name without spaces, '/', '\\' or '#'")
	}
	if strings.TrimSpace(r.When) == "" {
		return bad("when", `""`, "must be a SQL condition over the event columns, e.g. \"type = 'new_source'\"")
	}
	if strings.Contains(r.When, ";") {
		return bad("when", fmt.Sprintf("%q", r.When), "must be one SQL expression (no ';')")
	}
	if len(r.Actions) == 0 {
		return bad("actions", "[]", `must name at least one of "voevent", "email", "webhook", "exec"`)
	}
	seen := map[string]bool{}
	for _, a := range r.Actions {
		if seen[a] {
			return bad("actions", a, "named twice")
		}
		seen[a] = true
		switch a {
		case ActionVOEvent:
			if len(r.Brokers) == 0 {
				return bad("brokers", "[]", "the voevent action needs at least one broker (HOST:PORT)")
			}
		case ActionEmail:
			if len(r.EmailTo) == 0 {
				return bad("email_to", "[]", "the email action needs at least one recipient")
			}
		case ActionWebhook:
			if len(r.Webhooks) == 0 {
				return bad("webhooks", "[]", "the webhook action needs at least one URL")
			}
		case ActionExec:
			if len(r.Exec) == 0 || r.Exec[0] == "" {
				return bad("exec", "[]", "the exec action needs a command")
			}
		default:
			return bad("actions", fmt.Sprintf("%q", a), `must be "voevent", "email", "webhook" or "exec"`)
		}
	}
	for _, b := range r.Brokers {
		if strings.TrimSpace(strings.TrimPrefix(b, "tcp:")) == "" || !strings.Contains(b, ":") {
			return bad("brokers", fmt.Sprintf("%q", b), "must be HOST:PORT or tcp:HOST:PORT")
		}
	}
	for _, w := range r.Webhooks {
		if u, err := url.Parse(w); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("webhooks", fmt.Sprintf("%q", w), "must be an http or https URL")
		}
	}
	for _, m := range r.EmailTo {
		if !strings.Contains(m, "@") {
			return bad("email_to", fmt.Sprintf("%q", m), "must be an email address")
		}
	}
	switch r.Role {
	case "test", "observation", "utility":
	default:
		return bad("role", fmt.Sprintf("%q", r.Role), `must be "test", "observation" or "utility"`)
	}
	if r.RateLimit < 0 {
		return bad("rate_limit", r.RateLimit, "must be >= 0")
	}
	for _, d := range []struct{ key, v string }{{"rate_period", r.RatePeriod}, {"dedup_window", r.DedupWindow}} {
		if x, err := time.ParseDuration(d.v); err != nil || x < 0 {
			return bad(d.key, fmt.Sprintf("%q", d.v), `must be a duration such as "1h" or "30m"`)
		}
	}
	return nil
}

// validateResponses validates [events], [responses] and the rules, and
// fills the rules' defaults.
func (c *Config) validateResponses() error {
	if err := c.Events.Validate(); err != nil {
		return err
	}
	if err := c.Responses.Validate(); err != nil {
		return err
	}
	names := map[string]bool{}
	for i := range c.Response {
		r := &c.Response[i]
		r.withDefaults()
		if err := r.Validate(i); err != nil {
			return err
		}
		if names[r.Name] {
			return fmt.Errorf("%w: response[%d].name = %q: two rules have that name", ErrInvalid, i, r.Name)
		}
		names[r.Name] = true
	}
	return nil
}

// RunConfig returns the configuration of the run directory run
// (RUN/gotrap.toml, written by "gotrap run"), or the defaults when the run
// has none.
func RunConfig(run string) (Config, error) {
	p := rundir.ConfigPath(run)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return Default(), nil
	}
	return Load(p)
}
