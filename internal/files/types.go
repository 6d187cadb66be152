package files

import (
	"mime"
	"strings"
)

// typeNames are what people call the common upload types.
var typeNames = map[string]string{
	"application/pdf":          "PDF",
	"image/png":                "PNG image",
	"image/jpeg":               "JPEG image",
	"image/gif":                "GIF image",
	"image/webp":               "WebP image",
	"image/svg+xml":            "SVG image",
	"text/plain":               "text file",
	"text/csv":                 "CSV file",
	"application/json":         "JSON file",
	"application/zip":          "ZIP archive",
	"application/octet-stream": "other file",
	"application/msword":       "Word document (.doc)",
	"application/vnd.ms-excel": "Excel sheet (.xls)",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   "Word document (.docx)",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         "Excel sheet (.xlsx)",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint deck (.pptx)",
}

// TypeName says a media type as people know it: "PDF", "Word document
// (.docx)"; an unknown type by its usual extension ("a .heic file") or,
// failing that, as the media type itself.
func TypeName(mt string) string {
	if n, ok := typeNames[mt]; ok {
		return n
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return "a " + exts[0] + " file"
	}
	return mt
}

// TypeNames lists media types as people know them, joined for a sentence.
func TypeNames(mts []string) string {
	names := make([]string, 0, len(mts))
	for _, mt := range mts {
		names = append(names, TypeName(mt))
	}
	return strings.Join(names, ", ")
}
