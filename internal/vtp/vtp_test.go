package vtp_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/internal/testutil"
	"gotrap/internal/vtp"
	"gotrap/internal/vtp/comettest"
)

func TestFrameRoundTrip(t *testing.T) {
	for _, msg := range [][]byte{{}, []byte("<x/>"), bytes.Repeat([]byte("a"), 70000)} {
		var b bytes.Buffer
		if err := vtp.WriteFrame(&b, msg); err != nil {
			t.Fatal(err)
		}
		if got := b.Bytes()[:4]; int(got[0])<<24|int(got[1])<<16|int(got[2])<<8|int(got[3]) != len(msg) {
			t.Fatalf("length prefix %v is not %d big-endian", got, len(msg))
		}
		back, err := vtp.ReadFrame(&b)
		if err != nil || !bytes.Equal(back, msg) {
			t.Fatalf("read back %d bytes, err %v; want %d", len(back), err, len(msg))
		}
	}
	// A little-endian length of a short message reads as a huge frame.
	if _, err := vtp.ReadFrame(bytes.NewReader([]byte{10, 0, 0, 0, 1})); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("little-endian length: err %v, want 'exceeds'", err)
	}
	if _, err := vtp.ReadFrame(bytes.NewReader([]byte{0, 0, 0, 9, 'a'})); err == nil {
		t.Error("truncated frame read without error")
	}
}

func TestParseTransport(t *testing.T) {
	msg := vtp.Transport("nak", "ivo://a/b#1", "ivo://me", "Event rejected: <dup>", time.Unix(0, 0))
	m, err := vtp.Parse(msg)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Transport || m.Role != "nak" || m.Origin != "ivo://a/b#1" || m.Response != "ivo://me" || m.Result != "Event rejected: <dup>" {
		t.Errorf("parsed %+v", m)
	}
	if _, err := vtp.Parse([]byte("<html/>")); err == nil {
		t.Error("<html/> parsed as a VTP message")
	}
}

// TestSendToComet publishes real packets to a real Comet broker: the
// subscriber saves them byte for byte; a repeated IVORN and a VOEvent 1.1
// packet are refused with a nak.
func TestSendToComet(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Comet, an SMTP server or a child process")
	}
	b := comettest.Start(t, true)
	dir := testutil.SharedFile(t, "voevents")
	pkt, err := os.ReadFile(filepath.Join(dir, "swift-bat-grb-pos_655721-214.xml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := vtp.Send(ctx, b.Addr(), pkt, 20*time.Second); err != nil {
		t.Fatalf("send: %v", err)
	}
	got := b.WaitSaved(t, 1, 20*time.Second)
	if len(got) == 0 {
		l1, _ := os.ReadFile(filepath.Join(b.Dir, "broker.log"))
		l2, _ := os.ReadFile(filepath.Join(b.Dir, "sub.log"))
		t.Logf("broker:\n%s\nsub:\n%s", l1, l2)
	}
	if len(got) != 1 {
		t.Fatalf("subscriber saved %v, want one event", got)
	}
	saved, err := os.ReadFile(filepath.Join(b.Saved, got[0]))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, pkt) {
		t.Errorf("saved packet differs from the one sent (%d vs %d bytes)", len(saved), len(pkt))
	}
	if err := vtp.Send(ctx, b.Addr(), pkt, 20*time.Second); !errors.Is(err, vtp.ErrNAK) {
		t.Errorf("second send of the same IVORN: err %v, want a nak", err)
	}
	old, err := os.ReadFile(filepath.Join(dir, "fermi-gbm-flt-pos_VOEvent-v1.1_pygcn.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vtp.Send(ctx, b.Addr(), old, 20*time.Second); !errors.Is(err, vtp.ErrNAK) {
		t.Errorf("VOEvent 1.1 packet: err %v, want a nak", err)
	}
	// Nothing listens: a clear error, no hang.
	if err := vtp.Send(ctx, "127.0.0.1:1", pkt, 5*time.Second); err == nil || !strings.Contains(err.Error(), "connect") {
		t.Errorf("send to a closed port: err %v", err)
	}
}

// TestServeFromCometSendVO: Comet's own sender publishes to gotrap's
// receiver; an accepted packet arrives byte for byte and comet-sendvo
// exits 0 on the ack; a packet the handler refuses gets a nak (exit 1).
func TestServeFromCometSendVO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Comet, an SMTP server or a child process")
	}
	comettest.Source(t)
	dir := testutil.SharedFile(t, "voevents")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan []byte, 4)
	go vtp.Serve(ctx, l, "ivo://gotrap.test/listener", func(p []byte) error {
		got <- p
		if bytes.Contains(p, []byte("refuse-me")) {
			return errors.New("refused by the test")
		}
		return nil
	})
	file := filepath.Join(dir, "swift-bat-grb-pos_655721-214.xml")
	want, _ := os.ReadFile(file)
	if out, err := comettest.SendVO(t, l.Addr().String(), file); err != nil {
		t.Fatalf("comet-sendvo: %v\n%s", err, out)
	}
	if p := <-got; !bytes.Equal(p, want) {
		t.Errorf("received %d bytes, sent %d", len(p), len(want))
	}
	bad := filepath.Join(t.TempDir(), "refuse.xml")
	os.WriteFile(bad, bytes.Replace(want, []byte("ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_655721-214"), []byte("ivo://gotrap.test/refuse-me#1"), 1), 0o644)
	if out, err := comettest.SendVO(t, l.Addr().String(), bad); err == nil {
		t.Errorf("comet-sendvo of a refused packet exited 0:\n%s", out)
	}
}
