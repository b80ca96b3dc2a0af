package fitsimg

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FITS record geometry (FITS 4.0 sections 3.1 and 4.1).
const (
	CardLen       = 80   // bytes in a header card ("keyword record")
	BlockLen      = 2880 // bytes in a FITS block
	cardsPerBlock = BlockLen / CardLen
)

// Card is one header card: keyword, value and comment.
//
// Key is the keyword in upper case: up to 8 characters for a standard card,
// longer for an ESO HIERARCH card (read only, "HIERARCH" dropped), and
// "COMMENT", "HISTORY" or "" for commentary cards. Value is nil (a
// commentary card, an undefined value, or a value that could not be
// parsed), bool, int64, float64 or string. Comment is the text after the
// "/" of a valued card, or the text of a commentary card.
type Card struct {
	Key     string
	Value   any
	Comment string
}

// isCommentary reports whether key names a card whose bytes 9-80 are text,
// never a value.
func isCommentary(key string) bool {
	return key == "COMMENT" || key == "HISTORY" || key == ""
}

// parseCard parses one 80-byte card. It never fails: a value that cannot be
// parsed gives a nil Value and a problem description. cont reports a
// CONTINUE card (long-string convention), whose string is in Value.
func parseCard(b []byte) (c Card, cont bool, problem string) {
	if len(b) != CardLen {
		panic(badLength)
	}
	for _, ch := range b {
		if ch < 0x20 || ch > 0x7e {
			problem = "non-ASCII byte in card"
			break
		}
	}
	key := strings.ToUpper(strings.TrimRight(string(b[:8]), " "))
	var rest string // the text that holds the value, if any
	switch {
	case key == "HIERARCH":
		s := string(b[8:])
		eq := strings.IndexByte(s, '=')
		name := ""
		if eq >= 0 {
			name = strings.ToUpper(strings.Join(strings.Fields(s[:eq]), " "))
		}
		if name == "" {
			// No "=" or no keyword before it: not a HIERARCH value card.
			return Card{Key: key, Comment: strings.TrimRight(s, " ")}, false, problem
		}
		key = name
		rest = s[eq+1:]
	case key == "CONTINUE" && b[8] == ' ' && b[9] == ' ':
		v, com, p := parseValue(string(b[10:]))
		if _, ok := v.(string); !ok {
			return Card{Key: key, Comment: strings.TrimRight(string(b[8:]), " ")}, false, problem
		}
		if problem == "" {
			problem = p
		}
		return Card{Key: key, Value: v, Comment: com}, true, problem
	case isCommentary(key) || b[8] != '=' || b[9] != ' ':
		return Card{Key: key, Comment: strings.TrimRight(string(b[8:]), " ")}, false, problem
	default:
		rest = string(b[10:])
	}
	v, com, p := parseValue(rest)
	if problem == "" {
		problem = p
	}
	return Card{Key: key, Value: v, Comment: com}, false, problem
}

// parseValue parses the value field of a card and the comment after it
// (FITS 4.0 section 4.2, free format).
func parseValue(s string) (v any, comment, problem string) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i == len(s) {
		return nil, "", ""
	}
	var rest string
	switch s[i] {
	case '/':
		return nil, strings.TrimSpace(s[i+1:]), ""
	case '\'':
		var b strings.Builder
		j := i + 1
		closed := false
		for j < len(s) {
			if s[j] == '\'' {
				if j+1 < len(s) && s[j+1] == '\'' {
					b.WriteByte('\'')
					j += 2
					continue
				}
				closed = true
				j++
				break
			}
			b.WriteByte(s[j])
			j++
		}
		if !closed {
			return nil, "", "unterminated string"
		}
		v, rest = strings.TrimRight(b.String(), " "), s[j:]
	case '(':
		end := strings.IndexByte(s[i:], ')')
		if end < 0 {
			return nil, "", "unterminated complex value"
		}
		problem = "complex values are not supported"
		rest = s[i+end+1:]
	default:
		end := strings.IndexAny(s[i:], " /")
		if end < 0 {
			end = len(s) - i
		}
		tok := s[i : i+end]
		rest = s[i+end:]
		switch tok {
		case "T":
			v = true
		case "F":
			v = false
		default:
			var err error
			v, err = parseNumber(tok)
			if err != nil {
				return nil, "", err.Error()
			}
		}
	}
	rest = strings.TrimLeft(rest, " ")
	switch {
	case rest == "":
	case rest[0] == '/':
		comment = strings.TrimSpace(rest[1:])
	default:
		comment = strings.TrimSpace(rest)
		if problem == "" {
			problem = "text after the value without a '/'"
		}
	}
	return v, comment, problem
}

// parseNumber parses a FITS integer or real value: an optional sign,
// digits with an optional decimal point, and an optional exponent with E or
// D (either case). Integers that overflow int64 become float64.
func parseNumber(tok string) (any, error) {
	isInt := true
	digits := 0
	for k := 0; k < len(tok); k++ {
		c := tok[k]
		switch {
		case c >= '0' && c <= '9':
			digits++
		case c == '+' || c == '-':
		case c == '.' || c == 'E' || c == 'e' || c == 'D' || c == 'd':
			isInt = false
		default:
			return nil, fmt.Errorf("invalid value %q", tok)
		}
	}
	if digits == 0 {
		return nil, fmt.Errorf("invalid value %q", tok)
	}
	if isInt {
		n, err := strconv.ParseInt(tok, 10, 64)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("invalid value %q", tok)
		}
	}
	f, err := strconv.ParseFloat(strings.NewReplacer("D", "E", "d", "E").Replace(tok), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, fmt.Errorf("invalid value %q", tok)
	}
	return f, nil
}

// validKey reports whether key can be written as a standard keyword: 1 to 8
// characters from A-Z, 0-9, '-' and '_' (FITS 4.0 section 4.1.2.1).
func validKey(key string) bool {
	if len(key) == 0 || len(key) > 8 {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// printable reports whether s holds only the ASCII characters a header may
// contain (0x20 to 0x7E).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// formatFloat formats v so that it reads back as a real (it always has a
// '.' or an exponent) and round-trips exactly.
func formatFloat(v float64) string {
	s := strconv.FormatFloat(v, 'G', -1, 64)
	if !strings.ContainsAny(s, ".E") {
		s += ".0"
	}
	return s
}

// formatValue returns the value field of a valued card, or an error for a
// value FITS cannot hold. Strings are returned quoted, without length
// limit; appendCard splits long ones.
func formatValue(v any) (string, error) {
	switch v := v.(type) {
	case nil:
		return "", nil
	case bool:
		if v {
			return "T", nil
		}
		return "F", nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("%w: %v", ErrUnwritable, v)
		}
		return formatFloat(v), nil
	case string:
		if !printable(v) {
			return "", fmt.Errorf("%w: string %q has non-ASCII characters", ErrUnwritable, v)
		}
		return quote(v), nil
	}
	panic(badValueType)
}

// quote returns s in FITS quotes, with quotes doubled and padded to at
// least 8 characters inside the quotes (FITS 4.0 section 4.2.1.1).
func quote(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	if len(s) < 8 {
		s += strings.Repeat(" ", 8-len(s))
	}
	return "'" + s + "'"
}

// appendCard appends the 80-byte card(s) of c to dst: one card, or several
// for commentary text longer than 72 characters and for strings longer
// than one card holds (the CONTINUE long-string convention, FITS 4.0
// section 4.2.1.2). A comment that does not fit in the last card is cut.
func appendCard(dst []byte, c Card) ([]byte, error) {
	if !printable(c.Comment) {
		return dst, fmt.Errorf("%w: comment of %s has non-ASCII characters", ErrUnwritable, c.Key)
	}
	// A HIERARCH card without "=" is text, like a commentary card: written
	// as a valued card it would read back with an empty keyword.
	if isCommentary(c.Key) || (c.Key == "CONTINUE" || c.Key == "HIERARCH") && c.Value == nil {
		text := c.Comment
		for {
			n := min(len(text), CardLen-8)
			dst = appendPadded(dst, fmt.Sprintf("%-8s%s", c.Key, text[:n]))
			text = text[n:]
			if text == "" {
				return dst, nil
			}
		}
	}
	if !validKey(c.Key) {
		return dst, fmt.Errorf("%w: keyword %q", ErrUnwritable, c.Key)
	}
	val, err := formatValue(c.Value)
	if err != nil {
		return dst, fmt.Errorf("%s: %w", c.Key, err)
	}
	line := fmt.Sprintf("%-8s= ", c.Key)
	if s, ok := c.Value.(string); ok && len(val) > CardLen-10 {
		// Long string: chunks of the escaped text, each ending in '&'
		// except the last, never splitting a doubled quote.
		esc := strings.ReplaceAll(s, "'", "''")
		const room = CardLen - 10 - 3 // quote, '&', quote
		for len(esc) > room {
			n := room
			if q := strings.Count(esc[:n], "'"); q%2 == 1 {
				n-- // do not split a doubled quote
			}
			dst = appendPadded(dst, line+"'"+esc[:n]+"&'")
			esc = esc[n:]
			line = "CONTINUE  "
		}
		if c.Comment != "" && len(line)+len(esc)+2+3 >= CardLen {
			// The comment would not fit beside the last chunk: end the
			// string with an empty continuation that carries it.
			dst = appendPadded(dst, line+"'"+esc+"&'")
			esc, line = "", "CONTINUE  "
		}
		val = "'" + esc + "'"
	} else if _, ok := c.Value.(string); !ok && len(val) < 20 {
		val = fmt.Sprintf("%20s", val) // fixed format: right-justified in columns 11-30
	}
	line += val
	if c.Comment != "" && len(line)+3 < CardLen {
		line += " / " + c.Comment
		if len(line) > CardLen {
			line = line[:CardLen]
		}
	}
	return appendPadded(dst, line), nil
}

// appendPadded appends s padded with spaces to 80 bytes. s is at most 80
// bytes long.
func appendPadded(dst []byte, s string) []byte {
	dst = append(dst, s...)
	for i := len(s); i < CardLen; i++ {
		dst = append(dst, ' ')
	}
	return dst
}
