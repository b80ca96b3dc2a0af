// Package respondtest runs a real SMTP server for the response tests:
// aiosmtpd (Debian python3-aiosmtpd) on 127.0.0.1, saving every message
// it receives to a Maildir. Tests skip, saying what is missing, when the
// package is absent. It is imported only by tests.
package respondtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"gotrap/internal/vtp/comettest"
)

// SMTP is a running (or prepared) aiosmtpd.
type SMTP struct {
	Port    int
	Maildir string
	// CAFile is the PEM certificate that signs the server's STARTTLS
	// certificate (TLS true).
	CAFile string
	tls    bool
	dir    string
	cmd    *exec.Cmd
	// User and Password, when set (NewAuthSMTP), are required (PLAIN or
	// LOGIN, after STARTTLS).
	User, Password string
}

// authServer runs aiosmtpd's own Controller with an authenticator: its
// command line has no authentication options. argv: port maildir cert
// key user password.
const authServer = `
import sys, ssl, time
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword
port, maildir, cert, key, user, password = sys.argv[1:7]
def check(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == user.encode() and data.password == password.encode()
    # handled=False: aiosmtpd answers a failure with 535 itself (its
    # default, handled=True, would leave the client waiting for a reply).
    return AuthResult(success=ok, handled=False)
tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
tls.load_cert_chain(cert, key)
c = Controller(Mailbox(maildir), hostname="127.0.0.1", port=int(port), authenticator=check,
               auth_required=True, tls_context=tls, require_starttls=True)
c.start()
print("listening", flush=True)
while True:
    time.sleep(3600)
`

// NewAuthSMTP prepares an SMTP server that requires STARTTLS and then
// authentication as user with password (aiosmtpd's Controller).
func NewAuthSMTP(t testing.TB, user, password string) *SMTP {
	t.Helper()
	s := NewSMTP(t, true)
	s.User, s.Password = user, password
	return s
}

// NewSMTP prepares an SMTP server on a free port of 127.0.0.1, with
// STARTTLS when tls is true (a self-signed certificate for 127.0.0.1),
// skipping the test when aiosmtpd is not installed. Start starts it.
func NewSMTP(t testing.TB, tls bool) *SMTP {
	t.Helper()
	if out, err := exec.Command(comettest.Python, "-c", "import aiosmtpd").CombinedOutput(); err != nil {
		t.Skipf("aiosmtpd missing (%v: %s): install python3-aiosmtpd (make deps)", err, out)
	}
	dir := t.TempDir()
	s := &SMTP{Port: comettest.FreePort(t), Maildir: filepath.Join(dir, "maildir"), dir: dir, tls: tls}
	if tls {
		s.CAFile = filepath.Join(dir, "cert.pem")
		writeCert(t, s.CAFile, filepath.Join(dir, "key.pem"))
	}
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server and waits until it listens.
func (s *SMTP) Start(t testing.TB) {
	t.Helper()
	args := []string{"-m", "aiosmtpd", "-n", "-l", fmt.Sprintf("127.0.0.1:%d", s.Port)}
	if s.tls {
		args = append(args, "--tlscert", s.CAFile, "--tlskey", filepath.Join(s.dir, "key.pem"))
	}
	args = append(args, "-c", "aiosmtpd.handlers.Mailbox", s.Maildir)
	if s.User != "" {
		args = []string{"-c", authServer, fmt.Sprint(s.Port), s.Maildir, s.CAFile, filepath.Join(s.dir, "key.pem"), s.User, s.Password}
	}
	log, err := os.OpenFile(filepath.Join(s.dir, "smtp.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(comettest.Python, args...)
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	comettest.WaitPort(t, s.Port, 30*time.Second)
}

// Stop kills the server (Start starts it again on the same port).
func (s *SMTP) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Messages returns the messages received so far, in the order the
// server saved them (arrivalOrder).
func (s *SMTP) Messages(t testing.TB) []*mail.Message {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(s.Maildir, "new"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	arrivalOrder(names)
	var out []*mail.Message
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(s.Maildir, "new", n))
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("saved message %s: %v", n, err)
		}
		out = append(out, m)
	}
	return out
}

// maildirName is the unique name Python's mailbox.Maildir gives a
// message it saves: SECONDS.MMICROSECONDS.PPID.QCOUNT.HOST, the time of
// saving and a counter of the process.
var maildirName = regexp.MustCompile(`^(\d+)\.M(\d+)P(\d+)Q(\d+)\.`)

// arrivalOrder sorts Maildir names by the time of saving, then the
// process's counter (messages saved in the same microsecond); names of
// another form go last, in name order.
func arrivalOrder(names []string) {
	key := func(n string) ([3]int64, bool) {
		m := maildirName.FindStringSubmatch(n)
		if m == nil {
			return [3]int64{}, false
		}
		var k [3]int64
		for i, g := range []string{m[1], m[2], m[4]} {
			k[i], _ = strconv.ParseInt(g, 10, 64)
		}
		return k, true
	}
	sort.SliceStable(names, func(i, j int) bool {
		a, aok := key(names[i])
		b, bok := key(names[j])
		switch {
		case aok != bok:
			return aok
		case !aok:
			return names[i] < names[j]
		}
		return slices.Compare(a[:], b[:]) < 0
	})
}

// writeCert writes a self-signed ECDSA certificate for 127.0.0.1 and
// localhost, valid for a day, and its key.
func writeCert(t testing.TB, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
}
