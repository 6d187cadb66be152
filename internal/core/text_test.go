package core_test

import (
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/core"
)

// Display and organisation names refuse what file names refuse (issue 14,
// item 10): bidi overrides and isolates, zero-width characters, the BOM
// and every other control or format character.
func TestValidateNameRefusesHiddenCharacters(t *testing.T) {
	for _, bad := range []string{
		"Ada\u202Egnp.exe", // right-to-left override
		"Ada\u202A", "Ada\u202B", "Ada\u202C", "Ada\u202D",
		"\u2066Ada\u2069", "Ada\u2067", "Ada\u2068", // isolates
		"A\u200Bda", "A\u200Cda", "A\u200Dda", "A\u200Eda", "A\u200Fda", // zero-width, LRM/RLM
		"\uFEFFAda", "A\u2060da", "A\u00ADda", "A\u061Cda", // BOM, word joiner, soft hyphen, ALM
		"A\x00da", "A\x1bda", "A\x7fda", "A\u0085da", // C0, DEL, C1
		"A\uFFFDda", "A\xffda", // broken UTF-8
	} {
		for _, field := range []string{"name", "organisation_name"} {
			_, err := core.ValidateName(field, bad)
			var e *core.Error
			if err == nil {
				t.Errorf("ValidateName(%q, %q) accepted it", field, bad)
				continue
			}
			e, _ = err.(*core.Error)
			if e == nil || e.Kind != core.KindInvalid || e.Field != field ||
				!strings.HasPrefix(e.Message, strings.ReplaceAll(field, "_", " ")+" must not contain") || !strings.Contains(e.Message, "U+") {
				t.Errorf("ValidateName(%q, %q) = %#v, want an invalid-%s error naming the field and the character", field, bad, err, field)
			}
		}
	}
	for _, good := range []string{"Ada Lovelace", "Zoë O'Brien-Smith", "عائشة", "李小龍", "Mañana GmbH & Co.", "Emoji 🙂"} {
		if got, err := core.ValidateName("name", "  "+good+" "); err != nil || got != good {
			t.Errorf("ValidateName(%q) = %q, %v", good, got, err)
		}
	}
}
