package fitsimg

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// pad makes an 80-byte card from s.
func pad(s string) []byte {
	if len(s) > CardLen {
		panic("test card too long: " + s)
	}
	return []byte(s + strings.Repeat(" ", CardLen-len(s)))
}

// headerBytes makes a header block from cards (END appended, padded).
func headerBytes(cards ...string) []byte {
	var b []byte
	for _, c := range cards {
		b = append(b, pad(c)...)
	}
	b = append(b, pad("END")...)
	return padBlock(b, ' ')
}

func TestParseCard(t *testing.T) {
	for _, tc := range []struct {
		card    string
		want    Card
		problem bool
	}{
		{"SIMPLE  =                    T / conforms", Card{"SIMPLE", true, "conforms"}, false},
		{"EXTEND  =                    F", Card{"EXTEND", false, ""}, false},
		{"NAXIS1  =                  512", Card{"NAXIS1", int64(512), ""}, false},
		{"NEG     =                  -17 /", Card{"NEG", int64(-17), ""}, false},
		{"CRVAL1  =   1.369102500000E+02", Card{"CRVAL1", 136.91025, ""}, false},
		{"DEXP    =             1.5D-03 / D exponent", Card{"DEXP", 1.5e-3, "D exponent"}, false},
		{"LOWEXP  = 2.5e+10", Card{"LOWEXP", 2.5e10, ""}, false},
		{"POINT   = 2.", Card{"POINT", 2.0, ""}, false},
		{"LEAD    = .5", Card{"LEAD", 0.5, ""}, false},
		{"BIG     = 123456789012345678901234567890", Card{"BIG", 1.2345678901234568e29, ""}, false},
		{"MININT  = -9223372036854775808", Card{"MININT", int64(math.MinInt64), ""}, false},
		{"STR     = 'JY/BEAM '           / unit", Card{"STR", "JY/BEAM", "unit"}, false},
		{"QUOTE   = 'it''s ''here'''", Card{"QUOTE", "it's 'here'", ""}, false},
		{"LEADSP  = '  x'", Card{"LEADSP", "  x", ""}, false},
		{"EMPTY   = ''", Card{"EMPTY", "", ""}, false},
		{"SLASH   = 'a/b' / c/d", Card{"SLASH", "a/b", "c/d"}, false},
		{"UNDEF   =                      / undefined", Card{"UNDEF", nil, "undefined"}, false},
		{"BLANKV  =", Card{"BLANKV", nil, ""}, false},
		{"lower   = 7", Card{"LOWER", int64(7), ""}, false},
		{"HISTORY AIPS   CLEAN BMAJ=  1.3889E-03", Card{"HISTORY", nil, "AIPS   CLEAN BMAJ=  1.3889E-03"}, false},
		{"COMMENT = 'not a value'", Card{"COMMENT", nil, "= 'not a value'"}, false},
		{"        blank keyword text", Card{"", nil, "blank keyword text"}, false},
		{"NOVALUE   text without indicator", Card{"NOVALUE", nil, "  text without indicator"}, false},
		{"HIERARCH ESO DET CHIP TEMP = 150.5 / h", Card{"ESO DET CHIP TEMP", 150.5, "h"}, false},
		{"BADNUM  = 1.2.3", Card{"BADNUM", nil, ""}, true},
		{"INF     = inf", Card{"INF", nil, ""}, true},
		{"HUGE    = 1E999", Card{"HUGE", nil, ""}, true},
		{"UNTERM  = 'abc", Card{"UNTERM", nil, ""}, true},
		{"CPLX    = (1.0, 2.0)", Card{"CPLX", nil, ""}, true},
		{"JUNK    =                   42 trailing", Card{"JUNK", int64(42), "trailing"}, true},
		{"WORD    = maybe", Card{"WORD", nil, ""}, true},
	} {
		got, cont, problem := parseCard(pad(tc.card))
		if cont {
			t.Errorf("%q: parsed as CONTINUE", tc.card)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %#v\nwant %#v", tc.card, got, tc.want)
		}
		if (problem != "") != tc.problem {
			t.Errorf("%q: problem %q, want a problem: %v", tc.card, problem, tc.problem)
		}
	}
}

func TestParseCardNonASCII(t *testing.T) {
	b := pad("STR     = 'caf\xc3\xa9'")
	c, _, problem := parseCard(b)
	if problem == "" {
		t.Error("a non-ASCII byte gave no problem")
	}
	if c.Key != "STR" {
		t.Errorf("key %q", c.Key)
	}
}

func TestParseHeaderContinue(t *testing.T) {
	b := headerBytes(
		"SIMPLE  =                    T",
		"LONG    = 'first part &' / one",
		"CONTINUE  'second part &'",
		"CONTINUE  'third' / three",
		"CONTINUE  'orphan'",
		"AMP     = 'ends with &'",
		"NEXT    = 1",
	)
	h, n, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	if n != BlockLen {
		t.Errorf("header length %d, want %d", n, BlockLen)
	}
	if s, _ := h.String("LONG"); s != "first part second part third" {
		t.Errorf("LONG = %q", s)
	}
	if c, _ := h.Lookup("LONG"); c.Comment != "one three" {
		t.Errorf("LONG comment %q", c.Comment)
	}
	// An orphan CONTINUE is kept as commentary; a '&' not followed by
	// CONTINUE stays.
	if c := h.Card(2); c.Key != "CONTINUE" || c.Value != nil {
		t.Errorf("orphan CONTINUE parsed as %#v", c)
	}
	if s, _ := h.String("AMP"); s != "ends with &" {
		t.Errorf("AMP = %q", s)
	}
}

func TestParseHeaderErrors(t *testing.T) {
	full := headerBytes("SIMPLE  =                    T", "A       = 1")
	if _, _, err := ParseHeader(full[:3*CardLen-1]); !errors.Is(err, ErrTruncated) {
		t.Errorf("header cut before END: %v, want ErrTruncated", err)
	}
	// END in the first block of a header that is two blocks long.
	var cards []string
	for i := 0; i < 40; i++ {
		cards = append(cards, "HISTORY x")
	}
	b := headerBytes(cards...)
	if _, n, err := ParseHeader(b); err != nil || n != 2*BlockLen {
		t.Errorf("two-block header: n = %d, err = %v", n, err)
	}
	// Duplicate keywords: the first wins, both are kept.
	h, _, err := ParseHeader(headerBytes("TELESCOP= 'LOFAR20'", "TELESCOP= 'OTHER'"))
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := h.String("TELESCOP"); s != "LOFAR20" || h.Len() != 2 {
		t.Errorf("duplicates: TELESCOP = %q, %d cards", s, h.Len())
	}
}

func TestHeaderAccessors(t *testing.T) {
	h, _, err := ParseHeader(headerBytes(
		"INT     = 42", "FLT     = 2.5", "INTF    = 3.0", "S       = 'x'", "B       = T",
		"UNDEF   =", "BAD     = 1.2.3", "HISTORY one", "COMMENT c", "HISTORY two"))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := h.Float("INT"); !ok || v != 42 {
		t.Errorf("Float(INT) = %v, %v", v, ok)
	}
	if v, ok := h.Int("INTF"); !ok || v != 3 {
		t.Errorf("Int(INTF) = %v, %v", v, ok)
	}
	if _, ok := h.Int("FLT"); ok {
		t.Error("Int(FLT) accepted 2.5")
	}
	if _, ok := h.Get("UNDEF"); ok {
		t.Error("Get(UNDEF) reports a value")
	}
	if _, ok := h.Get("BAD"); ok {
		t.Error("Get(BAD) reports a value")
	}
	if p := h.Problems(); len(p) != 1 || !strings.Contains(p[0], "BAD") {
		t.Errorf("Problems = %q", p)
	}
	if b, ok := h.Bool("B"); !ok || !b {
		t.Error("Bool(B)")
	}
	if got := h.History(); !reflect.DeepEqual(got, []string{"one", "two"}) {
		t.Errorf("History = %q", got)
	}
	if _, ok := h.Get("HISTORY"); ok {
		t.Error("Get(HISTORY) found a value")
	}
}

func TestHeaderSet(t *testing.T) {
	h := NewHeader()
	h.Set("A", 1, "first")
	h.Set("B", float32(0.1), "")
	h.Set("C", "text", "")
	h.AddHistory(strings.Repeat("h", 100))
	h.Set("A", int16(2), "again") // replaces in place
	if h.Len() != 5 {
		t.Fatalf("%d cards, want 5", h.Len())
	}
	if c := h.Card(0); c.Value != int64(2) || c.Comment != "again" {
		t.Errorf("A = %#v", c)
	}
	if v, _ := h.Float("B"); v != 0.1 {
		t.Errorf("float32(0.1) stored as %v, want 0.1", v)
	}
	if got := h.History(); len(got) != 2 || len(got[0]) != 72 || len(got[1]) != 28 {
		t.Errorf("History split %q", got)
	}
	if !h.Delete("A") || h.Delete("A") {
		t.Error("Delete")
	}
	if _, ok := h.Get("A"); ok {
		t.Error("A still there")
	}
	if v, _ := h.String("C"); v != "text" {
		t.Error("index stale after Delete")
	}
}

func TestHeaderSetPanics(t *testing.T) {
	for _, tc := range []struct {
		key   string
		value any
		msg   string
	}{
		{"TOOLONGKEY", 1, badKey},
		{"BAD KEY", 1, badKey},
		{"lower", 1, badKey},
		{"END", 1, badKey},
		{"CONTINUE", "x", badKey},
		{"HISTORY", "x", badCommentKey},
		{"OK", []int{1}, badValueType},
		{"OK", uint64(1), badValueType},
	} {
		func() {
			defer func() {
				if r := recover(); r != tc.msg {
					t.Errorf("Set(%q, %v): panic %v, want %q", tc.key, tc.value, r, tc.msg)
				}
			}()
			NewHeader().Set(tc.key, tc.value, "")
		}()
	}
}

func TestAppendCardFormat(t *testing.T) {
	for _, tc := range []struct {
		c    Card
		want string
	}{
		{Card{"SIMPLE", true, ""}, "SIMPLE  =                    T"},
		{Card{"NAXIS1", int64(512), "length"}, "NAXIS1  =                  512 / length"},
		{Card{"CDELT1", -0.001388888888889, ""}, "CDELT1  =   -0.001388888888889"},
		{Card{"ONE", 1.0, ""}, "ONE     =                  1.0"},
		{Card{"BIG", 1.6505187505e10, ""}, "BIG     =     1.6505187505E+10"},
		{Card{"TINY", 1.5e-30, ""}, "TINY    =              1.5E-30"},
		{Card{"LONGF", 0.1234567890123456789e-100, ""}, "LONGF   = 1.2345678901234567E-101"},
		{Card{"TELESCOP", "LOFAR", ""}, "TELESCOP= 'LOFAR   '"},
		{Card{"Q", "it's", "c"}, "Q       = 'it''s   ' / c"},
		{Card{"UNDEF", nil, "why"}, "UNDEF   =                      / why"},
		{Card{"HISTORY", nil, "free text"}, "HISTORY free text"},
	} {
		got, err := appendCard(nil, tc.c)
		if err != nil {
			t.Errorf("%v: %v", tc.c, err)
			continue
		}
		if string(got) != string(pad(tc.want)) {
			t.Errorf("%v:\n got %q\nwant %q", tc.c, got, pad(tc.want))
		}
	}
}

func TestAppendCardErrors(t *testing.T) {
	for _, c := range []Card{
		{"NAN", math.NaN(), ""},
		{"INF", math.Inf(-1), ""},
		{"S", "caf\u00e9", ""},
		{"C", int64(1), "caf\u00e9"},
		{"ESO DET", int64(1), ""},
	} {
		if _, err := appendCard(nil, c); !errors.Is(err, ErrUnwritable) {
			t.Errorf("%#v: err %v, want ErrUnwritable", c, err)
		}
	}
}

// TestCardRoundTrip formats cards, parses them back and compares: long
// strings (CONTINUE), quotes at chunk boundaries, extreme numbers.
func TestCardRoundTrip(t *testing.T) {
	h := NewHeader()
	h.Set("SIMPLE", true, "")
	long := strings.Repeat("abcdefghij", 20)
	h.Set("LONG", long, "a comment on a long string")
	h.Set("QUOTES", strings.Repeat("'", 150), "")
	h.Set("EDGE", strings.Repeat("x", 66)+"'y", "")
	h.Set("AMPEND", strings.Repeat("z", 100)+"&", "")
	h.Set("F1", math.MaxFloat64, "")
	h.Set("F2", -math.SmallestNonzeroFloat64, "")
	h.Set("F3", 1/3.0, strings.Repeat("c", 90))
	h.Set("I1", int64(math.MinInt64), "")
	h.AddComment(strings.Repeat("k", 150))
	b, err := h.AppendCards(nil)
	if err != nil {
		t.Fatal(err)
	}
	b = padBlock(appendPadded(b, "END"), ' ')
	got, _, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range h.Cards() {
		if isCommentary(c.Key) {
			continue
		}
		g, _ := got.Lookup(c.Key)
		if !reflect.DeepEqual(g.Value, c.Value) {
			t.Errorf("%s: got %#v, want %#v", c.Key, g.Value, c.Value)
		}
	}
	if c, _ := got.Lookup("LONG"); c.Comment != "a comment on a long string" {
		t.Errorf("LONG comment %q", c.Comment)
	}
	if c, _ := got.Lookup("F3"); !strings.HasPrefix(strings.Repeat("c", 90), c.Comment) || len(c.Comment) < 40 {
		t.Errorf("F3 comment cut to %q", c.Comment)
	}
	if got := strings.Join(got.Comments(), ""); got != strings.Repeat("k", 150) {
		t.Errorf("COMMENT text %q", got)
	}
	if p := got.Problems(); len(p) != 0 {
		t.Errorf("problems: %q", p)
	}
}

// TestHeaderConcurrentReads reads one header from several goroutines; run
// with -race it proves lookups do not write.
func TestHeaderConcurrentReads(t *testing.T) {
	h, _, err := ParseHeader(headerBytes("A       = 1", "B       = 'x'"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 100; i++ {
				if v, ok := h.Int("A"); !ok || v != 1 {
					t.Error("A")
				}
				h.Get("MISSING")
			}
			done <- true
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}
