// Package vtp speaks the VOEvent Transport Protocol (VTP; IVOA Note
// "VOEvent Transport Protocol", Swinbank 2017), the TCP protocol that
// VOEvent brokers such as Comet use.
//
// # Framing
//
// Every message is a 4-byte unsigned length in network (big-endian) byte
// order followed by that many bytes of XML: either a VOEvent packet or a
// Transport message (namespace TransportNS) whose role is "ack", "nak",
// "iamalive" or "authenticate". ReadFrame refuses frames longer than
// MaxFrame (a sender that writes its length little-endian looks like a
// huge frame).
//
// # Roles
//
//   - Author (Send): connect to a broker's receiving port, send one
//     VOEvent, read the broker's Transport reply: "ack" is success, "nak"
//     an error carrying the broker's Meta/Result text (ErrNAK).
//   - Subscriber (Subscribe): connect to a broker's broadcasting port;
//     answer each "iamalive" with an "iamalive" response and each VOEvent
//     with an "ack" (Origin = the event's IVORN), after passing the packet
//     to the handler.
//   - Receiver (Serve): accept connections from authors, hand each VOEvent
//     to the handler and answer "ack", or "nak" with the handler's error.
//
// The package knows bytes and XML only: it does not validate VOEvents
// against the schema (the caller does) and imports nothing of gotrap's.
// Network errors, timeouts and malformed frames are returned as errors
// wrapped with context ("vtp: ..."); nothing panics on input.
package vtp
