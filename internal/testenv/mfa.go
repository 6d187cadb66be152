package testenv

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

var (
	totpSecretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`)
	recoveryCodeRE = regexp.MustCompile(`<li><code>([^<]+)</code></li>`)
)

// EnrolOperator finishes an HQ login for a client that has just logged in
// with a password as a new operator: HQ sends operators without a second
// factor to /mfa/setup, and this walks it as a browser would (the setup
// page, then the first code from the secret it shows). c must keep
// cookies (Stack.Client does); the session is rotated on enrolment. It
// returns the recovery codes the confirmation page shows.
func (s *Stack) EnrolOperator(tb testing.TB, c *http.Client) []string {
	tb.Helper()
	res, err := c.Get(s.URL("admin.localhost", "/mfa/setup"))
	if err != nil {
		tb.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := totpSecretRE.FindSubmatch(page)
	if res.StatusCode != http.StatusOK || m == nil {
		tb.Fatalf("HQ second-factor setup page: %d\n%s", res.StatusCode, page)
	}
	code, err := totp.GenerateCode(string(m[1]), time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	res, err = c.PostForm(s.URL("admin.localhost", "/mfa/setup"), url.Values{"code": {code}})
	if err != nil {
		tb.Fatal(err)
	}
	page, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), `id="recovery-codes"`) {
		tb.Fatalf("HQ second-factor confirmation: %d\n%s", res.StatusCode, page)
	}
	var codes []string
	for _, m := range recoveryCodeRE.FindAllSubmatch(page, -1) {
		codes = append(codes, string(m[1]))
	}
	return codes
}
