package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
)

// member invites email into owner's tenant as a plain member and returns
// the new member's browser, logged in.
func (s *stack) member(owner *browser, email string) *browser {
	s.t.Helper()
	want(s.t, owner.do("POST", "/api/invitations", map[string]string{"email": email, "role": "member"}), http.StatusCreated)
	token := linkToken(s.t, s.lastMail(email).Body, "/invitations/")
	b := s.browser(owner.host)
	want(s.t, b.do("POST", "/api/invitations/accept", map[string]string{"token": token, "name": "Member " + strings.Split(email, "@")[0], "password": testPassword}), http.StatusOK)
	return b
}

// enrolTOTP sets up an authenticator app through the API at prefix
// (/api/mfa/totp or /api/hq/mfa/totp) and returns its secret and the
// recovery codes.
func (s *stack) enrolTOTP(b *browser, prefix string) (secret string, recovery []string) {
	s.t.Helper()
	r := b.do("POST", prefix, nil)
	want(s.t, r, http.StatusCreated)
	var en struct {
		Secret     string `json:"secret"`
		OTPAuthURL string `json:"otpauth_url"`
		QRPNG      string `json:"qr_png"`
	}
	r.json(s.t, &en)
	if !strings.HasPrefix(en.OTPAuthURL, "otpauth://totp/Palisade:") || !strings.HasPrefix(en.QRPNG, "data:image/png;base64,") {
		s.t.Fatalf("enrolment: %+v", en)
	}
	r = b.do("POST", prefix+"/confirm", map[string]string{"code": totpCode(s.t, en.Secret, time.Now())})
	want(s.t, r, http.StatusOK)
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.json(s.t, &out)
	if len(out.RecoveryCodes) != 10 {
		s.t.Fatalf("%d recovery codes", len(out.RecoveryCodes))
	}
	return en.Secret, out.RecoveryCodes
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *stack) createOperator(email string) {
	s.t.Helper()
	if _, err := app.CreateOperator(context.Background(), s.st, auth.Hasher{P: auth.FastParams}, email, "Ops", testPassword); err != nil {
		s.t.Fatal(err)
	}
}
