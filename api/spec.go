// Package apispec embeds the OpenAPI 3.0 document of the internal API, so
// tests validate real responses against it and it cannot drift from the code.
package apispec

import _ "embed"

// OpenAPI is the document's YAML.
//
//go:embed openapi.yaml
var OpenAPI []byte
