package core

import (
	"fmt"
	"strings"
	"unicode"
)

// HiddenRune reports the first character of s that a reader cannot see
// for what it is: a control character, a Unicode format character
// (category Cf: the bidi overrides and isolates U+202A–U+202E and
// U+2066–U+2069, zero-width spaces and joiners U+200B–U+200F, the byte
// order mark U+FEFF…) or the replacement character of broken UTF-8. Such a
// character makes "gnp.exe" display as "exe.png", or one member's name
// look like another's, on every screen and in every mail it reaches. Names
// of files, people and organisations all go through this one check.
func HiddenRune(s string) (rune, bool) {
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar {
			return r, true
		}
	}
	return 0, false
}

// RefuseHidden is the error for a field holding a HiddenRune, naming the
// field and the character so the person can find it.
func RefuseHidden(field string, r rune) *Error {
	label := strings.ReplaceAll(field, "_", " ")
	return Invalid(field, "%s must not contain control or invisible formatting characters (found %s)", label, runeName(r))
}

func runeName(r rune) string {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return fmt.Sprintf("U+%04X, a text-direction control", r)
	case r >= 0x200B && r <= 0x200D, r == 0x2060, r == 0xFEFF:
		return fmt.Sprintf("U+%04X, a zero-width character", r)
	case r == 0xFFFD:
		return "U+FFFD, broken text encoding"
	default:
		return fmt.Sprintf("U+%04X", r)
	}
}
