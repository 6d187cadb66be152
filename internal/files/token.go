package files

import (
	"crypto/rand"
	"encoding/hex"
)

// randomToken makes object keys unguessable, so a leaked key alone says
// nothing about a tenant's other files.
func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
