package auth

import (
	"crypto/rand"
	"hash/crc32"
	"math/big"
	"strings"
)

// PATPrefix starts every personal access token. A fixed, distinctive
// prefix lets secret scanners (GitHub push protection, trufflehog, gitleaks)
// recognise a leaked token; the trailing checksum lets them rule out random
// strings without calling us.
const PATPrefix = "pal_pat_"

const (
	base62     = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	patBodyLen = 40 // 40 base62 characters: 238 bits of randomness
	patSumLen  = 6  // CRC-32 of the body, base62, zero-padded
)

// NewPAT returns a new token (shown to its owner once) and the SHA-256 hex
// that is stored.
func NewPAT() (token, hash string) {
	var b strings.Builder
	max := big.NewInt(int64(len(base62)))
	for range patBodyLen {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b.WriteByte(base62[n.Int64()])
	}
	body := b.String()
	token = PATPrefix + body + patChecksum(body)
	return token, HashToken(token)
}

func patChecksum(body string) string {
	n := uint64(crc32.ChecksumIEEE([]byte(body)))
	out := make([]byte, patSumLen)
	for i := patSumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// LooksLikePAT checks a token's shape and checksum, so a typo or a token
// of another system is refused without a database lookup.
func LooksLikePAT(token string) bool {
	if len(token) != len(PATPrefix)+patBodyLen+patSumLen || !strings.HasPrefix(token, PATPrefix) {
		return false
	}
	rest := token[len(PATPrefix):]
	for i := range len(rest) {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return patChecksum(rest[:patBodyLen]) == rest[patBodyLen:]
}
