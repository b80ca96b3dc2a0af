package config

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestResponseRules parses the acceptance rule with the defaults filled,
// and round-trips it through Encode.
func TestResponseRules(t *testing.T) {
	src := `[responses]
authority = "lofar.example"
smtp_user = "trap"
smtp_password_env = "GOTRAP_SMTP_PASSWORD"

[[response]]
name = "new-transients"
when = "type = 'new_source' AND newsource_type = 1 AND significance > 10"
actions = ["voevent", "email", "webhook"]
brokers = ["tcp:127.0.0.1:8098"]
email_to = ["swg@example.org"]
webhooks = ["https://chat.example.org/hook"]

[[response]]
name = "flag-rises"
when = "type = 'rise'"
actions = ["exec"]
exec = ["/bin/true"]
quiet = true
rate_limit = 3
dedup_window = "30m"
`
	c, err := Parse("job.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Response) != 2 {
		t.Fatalf("%d rules", len(c.Response))
	}
	r := c.Response[0]
	if r.Role != "test" || r.RatePeriod != "1h" || r.DedupWindow != "0s" || r.Quiet {
		t.Errorf("defaults of a rule: %+v", r)
	}
	if q := c.Response[1]; !q.Quiet || q.RateLimit != 3 || q.DedupWindow != "30m" {
		t.Errorf("second rule: %+v", q)
	}
	if c.Responses.Authority != "lofar.example" || c.Responses.Stream != "trap" || c.Events.RiseSigma != 5 {
		t.Errorf("sections: %+v %+v", c.Responses, c.Events)
	}
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	back, err := Parse("encoded.toml", b.Bytes())
	if err != nil {
		t.Fatalf("encoded configuration does not parse: %v\n%s", err, b.String())
	}
	if !reflect.DeepEqual(back.Response, c.Response) || back.Responses != c.Responses || back.Events != c.Events {
		t.Errorf("round trip changed the response settings")
	}
}

// TestResponseRulesInvalid: each bad key is an ErrInvalid naming it.
func TestResponseRulesInvalid(t *testing.T) {
	rule := func(extra string) string {
		return "[[response]]\nname = \"r\"\nwhen = \"type = 'rise'\"\n" + extra
	}
	for _, c := range []struct{ src, key string }{
		{rule(`actions = []`), "actions"},
		{rule(`actions = ["sms"]`), "actions"},
		{rule(`actions = ["voevent"]`), "brokers"},
		{rule(`actions = ["email"]`), "email_to"},
		{rule(`actions = ["email"]` + "\nemail_to = [\"nobody\"]"), "email_to"},
		{rule(`actions = ["webhook"]` + "\nwebhooks = [\"ftp://x\"]"), "webhooks"},
		{rule(`actions = ["exec"]`), "exec"},
		{rule(`actions = ["exec", "exec"]` + "\nexec = [\"true\"]"), "actions"},
		{rule(`actions = ["exec"]` + "\nexec = [\"true\"]\nrole = \"rumour\""), "role"},
		{rule(`actions = ["exec"]` + "\nexec = [\"true\"]\nrate_period = \"soon\""), "rate_period"},
		{rule(`actions = ["exec"]` + "\nexec = [\"true\"]\nrate_limit = -1"), "rate_limit"},
		{"[[response]]\nname = \"r\"\nwhen = \"1; DROP TABLE x\"\nactions = [\"exec\"]\nexec = [\"true\"]\n", "when"},
		{"[[response]]\nname = \"r\"\nactions = [\"exec\"]\nexec = [\"true\"]\n", "when"},
		{"[[response]]\nname = \"a b\"\nwhen = \"true\"\nactions = [\"exec\"]\nexec = [\"true\"]\n", "name"},
		{rule(`actions = ["exec"]`+"\nexec = [\"true\"]\n") + rule(`actions = ["exec"]`+"\nexec = [\"true\"]\n"), "name"},
		{"[responses]\nsmtp_tls = \"maybe\"\n", "smtp_tls"},
		{"[responses]\nsmtp_user = \"u\"\n", "smtp_password_env"},
		{"[responses]\nauthority = \"a/b\"\n", "authority"},
		{"[responses]\nretry_backoff = \"x\"\n", "retry_backoff"},
		{"[events]\nrise_sigma = 0.0\n", "rise_sigma"},
		{"[events]\nvariability_alpha = 1.5\n", "variability_alpha"},
		{"[events]\nspectral_steep = 0.0\n", "spectral_steep"},
		{"[events]\nmin_points = 0\n", "min_points"},
	} {
		t.Run(c.key, func(t *testing.T) {
			_, err := Parse("job.toml", []byte(c.src))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.key) {
				t.Errorf("%q: err %v, want ErrInvalid naming %s", c.src, err, c.key)
			}
		})
	}
}
