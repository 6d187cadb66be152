package files

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// FuzzValidName: an accepted upload name is a plain base name, never a path,
// never a control character, never longer than 255 bytes.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"q3 report.txt", "../etc/passwd", "a\\b", "x\x00y", ".", "..", " ", "résumé.pdf", strings.Repeat("a", 300), "\u202egnp.exe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := ValidName(name)
		if err != nil {
			return
		}
		if got == "" || len(got) > 255 || !utf8.ValidString(got) || strings.ContainsAny(got, `/\`) || got == "." || got == ".." {
			t.Fatalf("ValidName(%q) accepted %q", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("ValidName(%q) accepted a control character", name)
			}
		}
	})
}
