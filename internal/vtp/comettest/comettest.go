// Package comettest starts Comet, the reference VOEvent broker
// (../shared/vendor/comet, run with Debian's python3-twisted, python3-lxml
// and python3-zope.interface), as real processes for tests: a broker on
// 127.0.0.1 and a subscriber that saves every event it receives. Tests
// skip, saying what is missing, when Comet's source or the Debian
// packages are absent. It is imported only by tests.
package comettest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gotrap/internal/testutil"
)

// Python and Twistd are Debian's interpreters (a python3 earlier on PATH
// may lack the packages; ../shared/vendor/README.md).
const (
	Python = "/usr/bin/python3"
	Twistd = "/usr/bin/twistd3"
)

// Source returns Comet's source folder, skipping the test when it or the
// Debian packages it needs are missing.
func Source(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(testutil.ProjectRoot(t), "..", "shared", "vendor", "comet")
	if _, err := os.Stat(filepath.Join(dir, "comet")); err != nil {
		t.Skipf("Comet's source is not in ../shared/vendor/comet (%v): the VTP tests need it", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Twistd); err != nil {
		t.Skipf("%s missing: install python3-twisted python3-lxml python3-zope.interface (make deps)", Twistd)
	}
	if out, err := exec.Command(Python, "-c", "import twisted, lxml, zope.interface").CombinedOutput(); err != nil {
		t.Skipf("Comet's Python packages missing (%v: %s): install python3-twisted python3-lxml python3-zope.interface (make deps)", err, out)
	}
	return abs
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// WaitPort waits until something listens on 127.0.0.1:port (Comet takes
// 1 to 9 s to start, depending on the machine's load).
func WaitPort(t testing.TB, port int, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	for time.Now().Before(end) {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on 127.0.0.1:%d after %s", port, within)
}

// Broker is a running Comet broker and, when started with a subscriber,
// the folder where the subscriber saves the events it receives.
type Broker struct {
	Receive, Broadcast int    // ports on 127.0.0.1
	Saved              string // the subscriber's folder ("" without one)
	Dir                string
	src                string
	procs              []*exec.Cmd
}

// Addr is the broker's receiving address as gotrap's configuration names
// it.
func (b *Broker) Addr() string { return fmt.Sprintf("tcp:127.0.0.1:%d", b.Receive) }

func (b *Broker) start(t testing.TB, name string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(b.Dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Twistd, append([]string{"-n", "--pidfile=" + filepath.Join(b.Dir, name+".pid"), "comet", "-v"}, args...)...)
	cmd.Dir = b.Dir // save-event writes a lock file in the working directory
	cmd.Env = append(os.Environ(), "PYTHONPATH="+b.src, "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start Comet %s: %v", name, err)
	}
	b.procs = append(b.procs, cmd)
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
}

// New prepares a broker on free ports of 127.0.0.1 without starting it
// (StartBroker, StartSubscriber start the processes).
func New(t testing.TB) *Broker {
	t.Helper()
	src := Source(t)
	b := &Broker{Receive: FreePort(t), Broadcast: FreePort(t), Dir: t.TempDir(), src: src}
	for _, d := range []string{"dbA", "dbB", "saved"} {
		os.MkdirAll(filepath.Join(b.Dir, d), 0o755)
	}
	b.Saved = filepath.Join(b.Dir, "saved")
	return b
}

// Start starts a broker on free ports of 127.0.0.1 and, when subscriber
// is true, a second Comet subscribed to it that saves events in b.Saved;
// it returns when the ports listen and the subscriber is attached. Both
// processes are killed when the test ends.
func Start(t testing.TB, subscriber bool) *Broker {
	t.Helper()
	b := New(t)
	b.StartBroker(t)
	if subscriber {
		b.StartSubscriber(t)
	}
	return b
}

// StartSubscriber starts a Comet that subscribes to the broker and saves
// every event it receives in b.Saved; it returns once the broker has
// logged the subscriber.
func (b *Broker) StartSubscriber(t testing.TB) {
	t.Helper()
	// WaitPort's probe of the broadcast port counts as a subscriber too
	// (its log line may come late): wait for two.
	before := 1
	b.start(t, "sub", "--local-ivo=ivo://gotrap.test/subscriber", "--eventdb="+filepath.Join(b.Dir, "dbB"),
		fmt.Sprintf("--subscribe=tcp:127.0.0.1:%d", b.Broadcast), "--save-event", "--save-event-directory="+b.Saved)
	end := time.Now().Add(30 * time.Second)
	for b.subscribers() <= before {
		if time.Now().After(end) {
			log, _ := os.ReadFile(filepath.Join(b.Dir, "broker.log"))
			t.Fatalf("Comet subscriber not attached after 30 s; broker log:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *Broker) subscribers() int {
	log, _ := os.ReadFile(filepath.Join(b.Dir, "broker.log"))
	return strings.Count(string(log), "New subscriber")
}

// StartBroker (re)starts the broker process on b's ports (after Stop).
func (b *Broker) StartBroker(t testing.TB) {
	t.Helper()
	b.start(t, "broker", "--local-ivo=ivo://gotrap.test/broker", "--eventdb="+filepath.Join(b.Dir, "dbA"),
		fmt.Sprintf("--receive=tcp:%d:interface=127.0.0.1", b.Receive), "--receive-whitelist=127.0.0.1/32",
		fmt.Sprintf("--broadcast=tcp:%d:interface=127.0.0.1", b.Broadcast), "--broadcast-whitelist=127.0.0.1/32",
		"--broadcast-test-interval=0")
	WaitPort(t, b.Receive, 30*time.Second)
	WaitPort(t, b.Broadcast, 30*time.Second)
}

// SavedFiles lists the subscriber's saved events (file names).
func (b *Broker) SavedFiles(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(b.Saved)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && !strings.HasSuffix(e.Name(), ".lock") {
			out = append(out, e.Name())
		}
	}
	return out
}

// received matches the broker's log line of each VOEvent it receives
// (comet/protocol/receiver.py logs it at info level, -v).
var received = regexp.MustCompile(`VOEvent (\S+) received from`)

// Received returns the IVORNs of the events the broker has received
// since it last started, in the order it received them, once per
// receipt: a packet published twice is listed twice, although the
// broker forwards it once (its event database drops the second).
func (b *Broker) Received(t testing.TB) []string {
	t.Helper()
	log, err := os.ReadFile(filepath.Join(b.Dir, "broker.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range received.FindAllStringSubmatch(string(log), -1) {
		out = append(out, m[1])
	}
	return out
}

// WaitSaved waits until the subscriber has saved n events.
func (b *Broker) WaitSaved(t testing.TB, n int, within time.Duration) []string {
	t.Helper()
	end := time.Now().Add(within)
	for {
		got := b.SavedFiles(t)
		if len(got) >= n || time.Now().After(end) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// SendVO publishes file to the address addr (HOST:PORT) with Comet's own
// comet-sendvo; it returns the command's error and output (exit 1 on a
// nak).
func SendVO(t testing.TB, addr, file string) ([]byte, error) {
	t.Helper()
	src := Source(t)
	cmd := exec.Command(Python, filepath.Join(src, "scripts", "comet-sendvo"), "-v", "tcp:"+addr, file)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+src, "PYTHONDONTWRITEBYTECODE=1")
	return cmd.CombinedOutput()
}

// SavedName is the file name Comet's subscriber gives the event ivorn:
// '/' and '\' become '_', and every other character outside
// [A-Za-z0-9_.] is removed (../shared/vendor/README.md).
func SavedName(ivorn string) string {
	var b strings.Builder
	for _, c := range ivorn {
		switch {
		case c == '/' || c == '\\':
			b.WriteByte('_')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.':
			b.WriteRune(c)
		}
	}
	return b.String()
}
