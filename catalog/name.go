package catalog

import (
	"regexp"
	"sync"
)

// DefaultNamePrefix is the prefix of the IAU-style source names
// ("GTR Jhhmmss.s+ddmmss", catalog/duck's gotrap_name) when the
// configuration sets none ([catalog] name_prefix).
const DefaultNamePrefix = "GTR"

// namePrefixRE is compiled on first use, not by every start-up.
var namePrefixRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,15}$`)
})

// ValidNamePrefix reports whether p can prefix a source name: a letter,
// then up to 15 letters, digits, '_' or '-' (IAU acronyms are short and
// have no spaces).
func ValidNamePrefix(p string) bool { return namePrefixRE().MatchString(p) }
