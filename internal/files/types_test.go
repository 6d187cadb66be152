package files

import (
	"strings"
	"testing"
)

func TestTypeNames(t *testing.T) {
	for mt, want := range map[string]string{
		"application/pdf": "PDF",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document (.docx)",
		"x-unknown/x-thing": "x-unknown/x-thing",
	} {
		if got := TypeName(mt); got != want {
			t.Errorf("TypeName(%q) = %q, want %q", mt, got, want)
		}
	}
	// An unknown type goes by an extension the system knows for it.
	if got := TypeName("video/mp4"); !strings.HasPrefix(got, "a .") || !strings.HasSuffix(got, " file") {
		t.Errorf("TypeName(video/mp4) = %q", got)
	}
	got := TypeNames([]string{"application/pdf", "image/png", "application/octet-stream"})
	if got != "PDF, PNG image, other file" || strings.Contains(got, "/") {
		t.Errorf("TypeNames = %q", got)
	}
}
