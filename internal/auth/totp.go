package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters: RFC 6238 defaults, which every authenticator app reads.
const (
	TOTPPeriod = 30 * time.Second
	// TOTPSkew is how many periods either side of now a code may come from,
	// for phone clocks that drift.
	TOTPSkew = 1
)

// TOTPEnrolment is a fresh secret with what an authenticator app scans.
type TOTPEnrolment struct {
	Secret string
	URL    string // otpauth:// URL
	QRPNG  []byte // the URL as a QR code
}

// NewTOTP makes a secret for account at issuer (shown in the app).
func NewTOTP(issuer, account string) (TOTPEnrolment, error) {
	return totpEnrolment(issuer, account, nil)
}

// TOTPEnrolmentFor shows an existing secret again (an enrolment that is
// still pending), with the same URL and QR code the app scanned.
func TOTPEnrolmentFor(issuer, account, secret string) (TOTPEnrolment, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		return TOTPEnrolment{}, fmt.Errorf("decode totp secret: %w", err)
	}
	return totpEnrolment(issuer, account, raw)
}

func totpEnrolment(issuer, account string, secret []byte) (TOTPEnrolment, error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: uint(TOTPPeriod.Seconds()), SecretSize: 20, Secret: secret})
	if err != nil {
		return TOTPEnrolment{}, err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// TOTPStep is the time step a moment falls in.
func TOTPStep(t time.Time) int64 { return t.Unix() / int64(TOTPPeriod.Seconds()) }

// CheckTOTP returns the time step whose code matches, within the skew, or
// false. The caller must then accept the step at most once (store.UseTOTPStep):
// that, not this function, is what stops a replay.
func CheckTOTP(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	opts := totp.ValidateOpts{Period: uint(TOTPPeriod.Seconds()), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	step := TOTPStep(now)
	// Newest step first, so a code valid in two steps (never, in practice)
	// is charged to the later one.
	for d := int64(TOTPSkew); d >= -TOTPSkew; d-- {
		want, err := totp.GenerateCodeCustom(secret, time.Unix((step+d)*int64(TOTPPeriod.Seconds()), 0), opts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step + d, true
		}
	}
	return 0, false
}

// RecoveryCodeCount is how many recovery codes a subject gets at a time.
const RecoveryCodeCount = 10

// NewRecoveryCodes returns codes to show once and their hashes to store.
// Each is 10 base32 characters (50 bits) written as xxxxx-xxxxx.
func NewRecoveryCodes() (codes, hashes []string) {
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	for range RecoveryCodeCount {
		b := make([]byte, 7)
		if _, err := rand.Read(b); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		s := strings.ToLower(enc.EncodeToString(b))[:10]
		codes = append(codes, s[:5]+"-"+s[5:])
		hashes = append(hashes, HashRecoveryCode(s))
	}
	return codes, hashes
}

// HashRecoveryCode normalises a typed code (case, dashes, spaces) and
// hashes it; codes have 50 random bits, so a plain SHA-256 is enough.
func HashRecoveryCode(code string) string {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	return HashToken("recovery:" + c)
}
