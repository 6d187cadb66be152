// Package auth holds the primitives of authentication: argon2id password
// hashes, random tokens stored as hashes, and login throttling in Redis.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters. Defaults follow RFC 9106's second
// recommendation (64 MiB, 3 passes), sized for a 0.5 vCPU task.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	KeyLen  uint32
	SaltLen int
}

// DefaultParams is used in production.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2, KeyLen: 32, SaltLen: 16}

// FastParams keep tests and benchmarks quick; never used outside them.
var FastParams = Params{Memory: 8 * 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Hasher hashes and verifies passwords.
type Hasher struct{ P Params }

// Hash returns a PHC-format argon2id string.
func (h Hasher) Hash(password string) (string, error) {
	salt := make([]byte, h.P.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.P.Time, h.P.Memory, h.P.Threads, h.P.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.P.Memory, h.P.Time, h.P.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// Ceilings on a stored hash's own parameters: 16 times the defaults.
const (
	maxMemory = 1 << 20 // KiB: 1 GiB
	maxTime   = 48
)

// Verify checks a password against a stored hash in constant time. The
// hash's own parameters are used, so raising the defaults keeps old hashes valid.
func (Hasher) Verify(password, encoded string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, errBadHash
	}
	// argon2 panics on zero passes or threads, and a stored hash must not
	// be able to ask for unbounded memory or time, nor an odd key length.
	if t < 1 || t > maxTime || p < 1 || m > maxMemory || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) // #nosec G115 -- len(want) is checked to be 16..64 just above
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified when an account does not exist, so the response
// time does not reveal which emails have accounts.
var dummyHash = sync.OnceValues(func() (string, error) { return Hasher{DefaultParams}.Hash("palisade-dummy-password") })

// VerifyDummy spends the effort of a real verification.
func (h Hasher) VerifyDummy(password string) {
	if h.P != DefaultParams {
		_, _ = h.Verify(password, "")
		return
	}
	if hash, err := dummyHash(); err == nil {
		_, _ = h.Verify(password, hash)
	}
}

// NewToken returns a random URL-safe token and the hex SHA-256 that is stored.
func NewToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how a presented token is looked up.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
