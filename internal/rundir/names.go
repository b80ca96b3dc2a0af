package rundir

import (
	"strings"
	"unicode/utf8"
)

// EscapeName returns s when it is valid UTF-8, else s with every byte that
// is not part of a valid UTF-8 sequence written \xNN (two lowercase hex
// digits) and every backslash written \\: valid UTF-8 that UnescapeName
// turns back into s. A file name on Unix is any bytes; the catalogue's
// string columns and the manifest (JSON) hold valid UTF-8 only, so names
// are stored this way, and the manifest keeps the original bytes of an
// escaped name (pipeline.InputFile.PathRaw) for reopening the file.
func EscapeName(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[s[i]>>4])
			b.WriteByte(hex[s[i]&15])
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += max(n, 1)
	}
	return b.String()
}

// UnescapeName inverts EscapeName for a name that EscapeName escaped (a
// valid one comes back unchanged only if it holds no backslash: keep the
// original bytes where it matters, as the manifest does).
func UnescapeName(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch {
			case s[i+1] == '\\':
				b.WriteByte('\\')
				i++
				continue
			case s[i+1] == 'x' && i+3 < len(s) && isHex(s[i+2]) && isHex(s[i+3]):
				b.WriteByte(unhex(s[i+2])<<4 | unhex(s[i+3]))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }
func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}
