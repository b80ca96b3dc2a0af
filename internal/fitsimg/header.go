package fitsimg

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxHeaderBytes bounds the header of one HDU (16 MiB, about 200,000
// cards). A longer header without an END card is treated as corrupt.
const MaxHeaderBytes = 16 << 20

// Header is an ordered list of header cards. It implements wcs.Header.
//
// Lookups (Get, Lookup and the typed getters) find the first card with the
// keyword, as CFITSIO does when a keyword is repeated. A Header read from a
// file keeps every card in order, COMMENT and HISTORY included; long
// strings written with the CONTINUE convention are joined into one card.
//
// The zero Header is empty and ready to use. Lookups never modify a
// Header, so any number of goroutines may read one; modifications (Set,
// Delete, AddHistory, AddComment) need exclusive access.
type Header struct {
	cards    []Card
	index    map[string]int // first card of each keyword; nil until a Set or ParseHeader (lookups then scan)
	problems []string
}

// NewHeader returns an empty header.
func NewHeader() *Header { return &Header{} }

// Len returns the number of cards.
func (h *Header) Len() int { return len(h.cards) }

// Card returns the i-th card. It panics if i is out of range.
func (h *Header) Card(i int) Card { return h.cards[i] }

// Cards returns a copy of the cards in order.
func (h *Header) Cards() []Card { return slices.Clone(h.cards) }

// Problems describes the cards whose value could not be parsed (their
// Value is nil), one line each, with the card number (1-based).
func (h *Header) Problems() []string { return slices.Clone(h.problems) }

// Clone returns a deep copy of h.
func (h *Header) Clone() *Header {
	c := &Header{cards: slices.Clone(h.cards), problems: slices.Clone(h.problems)}
	c.reindex()
	return c
}

// reindex rebuilds the keyword index.
func (h *Header) reindex() {
	h.index = make(map[string]int, len(h.cards))
	for i, c := range h.cards {
		if isCommentary(c.Key) {
			continue
		}
		if _, dup := h.index[c.Key]; !dup {
			h.index[c.Key] = i
		}
	}
}

// find returns the index of the first card with the keyword key, or -1. It
// never modifies h, so concurrent lookups are safe.
func (h *Header) find(key string) int {
	if h.index == nil {
		for i, c := range h.cards {
			if c.Key == key && !isCommentary(key) {
				return i
			}
		}
		return -1
	}
	i, ok := h.index[key]
	if !ok {
		return -1
	}
	return i
}

// Lookup returns the first card with the keyword key (upper case).
func (h *Header) Lookup(key string) (Card, bool) {
	i := h.find(key)
	if i < 0 {
		return Card{}, false
	}
	return h.cards[i], true
}

// Get returns the value of the first card with the keyword key and whether
// it has one: false when the keyword is absent or its value undefined or
// unparseable. Values are bool, int64, float64 or string. Get implements
// wcs.Header.
func (h *Header) Get(key string) (any, bool) {
	c, ok := h.Lookup(key)
	if !ok || c.Value == nil {
		return nil, false
	}
	return c.Value, true
}

// Float returns a numeric value (integer or real) as float64.
func (h *Header) Float(key string) (float64, bool) {
	v, _ := h.Get(key)
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	}
	return 0, false
}

// Int returns an integer value. A real value with no fractional part (such
// as "2." or "1.0E3") is accepted too, within the range of int64.
func (h *Header) Int(key string) (int64, bool) {
	v, _ := h.Get(key)
	switch v := v.(type) {
	case int64:
		return v, true
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<62 {
			return int64(v), true
		}
	}
	return 0, false
}

// String returns a string value, with the trailing blanks FITS ignores
// removed.
func (h *Header) String(key string) (string, bool) {
	v, _ := h.Get(key)
	s, ok := v.(string)
	return s, ok
}

// Bool returns a logical value.
func (h *Header) Bool(key string) (bool, bool) {
	v, _ := h.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// History returns the text of the HISTORY cards in order.
func (h *Header) History() []string { return h.commentary("HISTORY") }

// Comments returns the text of the COMMENT cards in order.
func (h *Header) Comments() []string { return h.commentary("COMMENT") }

func (h *Header) commentary(key string) []string {
	var out []string
	for _, c := range h.cards {
		if c.Key == key {
			out = append(out, c.Comment)
		}
	}
	return out
}

// normalize converts a value given to Set to the stored types.
func normalize(v any) any {
	switch v := v.(type) {
	case nil, bool, int64, float64, string:
		return v
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case float32:
		// The shortest decimal that reads back as v, so 0.1 stays 0.1.
		f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return f
	}
	panic(badValueType)
}

func checkKey(key string) {
	if isCommentary(key) {
		panic(badCommentKey)
	}
	if !validKey(key) || key == "END" || key == "CONTINUE" {
		panic(badKey)
	}
}

// Set sets the value and comment of the first card with the keyword key,
// or appends a card when there is none. Trailing blanks of a string are
// not significant in FITS and do not read back. value is nil (undefined), bool,
// string, an integer type up to 32 bits or int64, float32 or float64.
//
// Set panics if key is not a valid standard keyword (1-8 characters of
// A-Z, 0-9, '-', '_'), is COMMENT, HISTORY, blank, END or CONTINUE, or if
// value has another type. Values FITS cannot hold (NaN, infinities,
// non-ASCII strings) are accepted here and rejected by the writer.
func (h *Header) Set(key string, value any, comment string) {
	checkKey(key)
	c := Card{Key: key, Value: normalize(value), Comment: comment}
	if i := h.find(key); i >= 0 {
		h.cards[i] = c
		return
	}
	h.cards = append(h.cards, c)
	if h.index == nil {
		h.reindex()
	} else {
		h.index[key] = len(h.cards) - 1
	}
}

// Delete removes every card with the keyword key and reports whether there
// was one. Commentary keywords (COMMENT, HISTORY) are accepted.
func (h *Header) Delete(key string) bool {
	n := len(h.cards)
	h.cards = slices.DeleteFunc(h.cards, func(c Card) bool { return c.Key == key })
	h.reindex()
	return len(h.cards) != n
}

// AddHistory appends HISTORY cards holding text, 72 characters a card.
func (h *Header) AddHistory(text string) { h.addText("HISTORY", text) }

// AddComment appends COMMENT cards holding text, 72 characters a card.
func (h *Header) AddComment(text string) { h.addText("COMMENT", text) }

func (h *Header) addText(key, text string) {
	for {
		n := min(len(text), CardLen-8)
		h.cards = append(h.cards, Card{Key: key, Comment: text[:n]})
		text = text[n:]
		if text == "" {
			return
		}
	}
}

// isEnd reports whether the 80-byte card b is the END card.
func isEnd(b []byte) bool {
	return bytes.Equal(b[:8], []byte("END     "))
}

// ParseHeader parses the header at the start of b: whole 2880-byte blocks
// of 80-byte cards up to the END card. It returns the header and the number
// of bytes it occupies (a multiple of 2880: the offset of the data that
// follows). It does not check which kind of HDU the header describes.
//
// A card whose value cannot be parsed is kept with a nil Value and listed
// by Problems; only a missing END card is an error (ErrTruncated when b
// ends first, ErrBadHeader past MaxHeaderBytes).
func ParseHeader(b []byte) (*Header, int, error) {
	end := -1
	for off := 0; off+CardLen <= len(b) && off < MaxHeaderBytes; off += CardLen {
		if isEnd(b[off : off+CardLen]) {
			end = off
			break
		}
	}
	if end < 0 {
		if len(b) >= MaxHeaderBytes {
			return nil, 0, fmt.Errorf("%w: no END card in the first %d bytes", ErrBadHeader, MaxHeaderBytes)
		}
		return nil, 0, fmt.Errorf("%w: the header has no END card (%d bytes)", ErrTruncated, len(b))
	}
	n := (end/BlockLen + 1) * BlockLen
	h := &Header{cards: make([]Card, 0, end/CardLen)}
	pending := -1 // index of a string card ending in '&' that a CONTINUE may extend
	for off := 0; off < end; off += CardLen {
		c, cont, problem := parseCard(b[off : off+CardLen])
		if problem != "" {
			h.problems = append(h.problems, fmt.Sprintf("card %d (%s): %s", off/CardLen+1, c.Key, problem))
		}
		if cont && pending >= 0 {
			p := &h.cards[pending]
			s := p.Value.(string)
			p.Value = s[:len(s)-1] + c.Value.(string)
			if c.Comment != "" {
				p.Comment = strings.TrimSpace(p.Comment + " " + c.Comment)
			}
			if !strings.HasSuffix(p.Value.(string), "&") {
				pending = -1
			}
			continue
		}
		if cont {
			// A CONTINUE that extends nothing is kept as commentary.
			c = Card{Key: "CONTINUE", Comment: strings.TrimRight(string(b[off+8:off+CardLen]), " ")}
		}
		pending = -1
		if s, ok := c.Value.(string); ok && strings.HasSuffix(s, "&") {
			pending = len(h.cards)
		}
		h.cards = append(h.cards, c)
	}
	h.reindex()
	return h, n, nil
}

// AppendCards appends the cards of h to dst in FITS form (80 bytes each,
// no END card, no padding). It fails for a value FITS cannot hold.
func (h *Header) AppendCards(dst []byte) ([]byte, error) {
	var err error
	for _, c := range h.cards {
		if dst, err = appendCard(dst, c); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
