package vtp

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// TransportNS is the namespace of VTP's Transport messages.
const TransportNS = "http://www.telescope-networks.org/xml/Transport/v1.1"

// MaxFrame is the largest frame ReadFrame accepts (16 MiB: a VOEvent is a
// few kB; a length read in the wrong byte order is gigabytes).
const MaxFrame = 16 << 20

// ErrNAK is wrapped by Send's error when the broker refused the packet.
var ErrNAK = errors.New("vtp: broker refused the event (nak)")

// WriteFrame writes msg with its 4-byte big-endian length.
func WriteFrame(w io.Writer, msg []byte) error {
	if len(msg) > MaxFrame {
		return fmt.Errorf("vtp: message of %d bytes exceeds %d", len(msg), MaxFrame)
	}
	buf := make([]byte, 4+len(msg))
	binary.BigEndian.PutUint32(buf, uint32(len(msg)))
	copy(buf[4:], msg)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("vtp: write: %w", err)
	}
	return nil
}

// ReadFrame reads one framed message.
func ReadFrame(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("vtp: read length: %w", err)
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("vtp: frame of %d bytes exceeds %d (length not in network byte order?)", n, MaxFrame)
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, fmt.Errorf("vtp: read %d-byte frame: %w", n, err)
	}
	return msg, nil
}

// Message is what a frame holds, as far as VTP cares.
type Message struct {
	// Transport is true for a Transport message, false for a VOEvent.
	Transport bool
	// Role is the Transport role (ack, nak, iamalive, authenticate) or the
	// VOEvent's role attribute.
	Role string
	// IVORN is the VOEvent's ivorn attribute.
	IVORN string
	// Origin, Response and Result are a Transport message's elements
	// (Result is Meta/Result, the reason of a nak).
	Origin, Response, Result string
}

// Parse reads the root element of msg: a Transport message or a VOEvent.
func Parse(msg []byte) (Message, error) {
	var root struct {
		XMLName  xml.Name
		Role     string `xml:"role,attr"`
		IVORN    string `xml:"ivorn,attr"`
		Origin   string `xml:"Origin"`
		Response string `xml:"Response"`
		Result   string `xml:"Meta>Result"`
	}
	if err := xml.NewDecoder(bytes.NewReader(msg)).Decode(&root); err != nil {
		return Message{}, fmt.Errorf("vtp: message is not XML: %w", err)
	}
	switch root.XMLName.Local {
	case "Transport":
		return Message{Transport: true, Role: root.Role, Origin: strings.TrimSpace(root.Origin),
			Response: strings.TrimSpace(root.Response), Result: strings.TrimSpace(root.Result)}, nil
	case "VOEvent":
		return Message{Role: root.Role, IVORN: root.IVORN}, nil
	}
	return Message{}, fmt.Errorf("vtp: message root is <%s>, not Transport or VOEvent", root.XMLName.Local)
}

// Transport returns a Transport message of role with Origin origin and,
// when response is not "", Response response; result, when not "", goes
// to Meta/Result.
func Transport(role, origin, response, result string, now time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	fmt.Fprintf(&b, `<trn:Transport xmlns:trn=%q xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.0" role=%q `+
		`xsi:schemaLocation="http://telescope-networks.org/schema/Transport/v1.1 http://www.telescope-networks.org/schema/Transport-v1.1.xsd">`,
		TransportNS, role)
	el := func(name, v string) {
		b.WriteString("<" + name + ">")
		xml.EscapeText(&b, []byte(v))
		b.WriteString("</" + name + ">")
	}
	el("Origin", origin)
	if response != "" {
		el("Response", response)
	}
	el("TimeStamp", now.UTC().Format("2006-01-02T15:04:05Z"))
	if result != "" {
		b.WriteString("<Meta>")
		el("Result", result)
		b.WriteString("</Meta>")
	}
	b.WriteString("</trn:Transport>\n")
	return b.Bytes()
}

// Addr turns a broker address "HOST:PORT" or Twisted's "tcp:HOST:PORT"
// into "HOST:PORT".
func Addr(s string) (string, error) {
	a := strings.TrimPrefix(strings.TrimSpace(s), "tcp:")
	if _, _, err := net.SplitHostPort(a); err != nil {
		return "", fmt.Errorf("vtp: broker address %q: want HOST:PORT or tcp:HOST:PORT", s)
	}
	return a, nil
}

// Send publishes the VOEvent packet to the broker at addr (Addr's forms)
// as an author: it sends the packet and waits for the broker's ack. A nak
// returns an error wrapping ErrNAK with the broker's reason; no reply
// within the context's deadline (or timeout, when the context has none)
// is an error.
func Send(ctx context.Context, addr string, packet []byte, timeout time.Duration) error {
	a, err := Addr(addr)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok && timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", a)
	if err != nil {
		return fmt.Errorf("vtp: connect to %s: %w", a, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := WriteFrame(conn, packet); err != nil {
		return fmt.Errorf("vtp: send to %s: %w", a, err)
	}
	for {
		msg, err := ReadFrame(conn)
		if err != nil {
			return fmt.Errorf("vtp: no reply from %s: %w", a, err)
		}
		m, err := Parse(msg)
		if err != nil {
			return fmt.Errorf("vtp: reply from %s: %w", a, err)
		}
		if !m.Transport {
			continue
		}
		switch m.Role {
		case "ack":
			return nil
		case "nak":
			return fmt.Errorf("%w: %s: %s", ErrNAK, a, m.Result)
		}
		// iamalive or anything else: keep waiting for the verdict.
	}
}

// Handler receives a VOEvent packet; a non-nil error makes a receiver
// answer nak with its text.
type Handler func(packet []byte) error

// Subscribe connects to the broadcasting port of the broker at addr as
// the subscriber localIVO and passes every VOEvent it receives to h until
// ctx ends or the connection fails (the error says which). Each event is
// acked after h returns, whatever h returned (a subscriber must not nak:
// brokers drop subscribers that do).
func Subscribe(ctx context.Context, addr, localIVO string, h Handler) error {
	a, err := Addr(addr)
	if err != nil {
		return err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", a)
	if err != nil {
		return fmt.Errorf("vtp: subscribe to %s: %w", a, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		msg, err := ReadFrame(conn)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("vtp: subscription to %s: %w", a, err)
		}
		m, err := Parse(msg)
		if err != nil {
			continue // not ours to answer
		}
		var reply []byte
		switch {
		case m.Transport && m.Role == "iamalive":
			reply = Transport("iamalive", m.Origin, localIVO, "", time.Now())
		case m.Transport && m.Role == "authenticate":
			reply = Transport("authenticate", m.Origin, localIVO, "", time.Now())
		case !m.Transport:
			h(msg)
			reply = Transport("ack", m.IVORN, localIVO, "", time.Now())
		}
		if reply != nil {
			if err := WriteFrame(conn, reply); err != nil {
				return fmt.Errorf("vtp: subscription to %s: %w", a, err)
			}
		}
	}
}

// Serve accepts authors on l and hands each VOEvent they send to h,
// answering ack, or nak with h's error, until ctx ends; then it closes l
// and returns ctx's error. A connection may send several events.
func Serve(ctx context.Context, l net.Listener, localIVO string, h Handler) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		conn, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("vtp: accept: %w", err)
		}
		go serveConn(ctx, conn, localIVO, h)
	}
}

func serveConn(ctx context.Context, conn net.Conn, localIVO string, h Handler) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for {
		msg, err := ReadFrame(conn)
		if err != nil {
			return
		}
		m, err := Parse(msg)
		var reply []byte
		switch {
		case err != nil:
			reply = Transport("nak", "", localIVO, err.Error(), time.Now())
		case m.Transport:
			if m.Role == "iamalive" {
				reply = Transport("iamalive", m.Origin, localIVO, "", time.Now())
			}
		default:
			if herr := h(msg); herr != nil {
				reply = Transport("nak", m.IVORN, localIVO, herr.Error(), time.Now())
			} else {
				reply = Transport("ack", m.IVORN, localIVO, "", time.Now())
			}
		}
		if reply != nil {
			if WriteFrame(conn, reply) != nil {
				return
			}
		}
	}
}
