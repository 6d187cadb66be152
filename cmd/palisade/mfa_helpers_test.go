package main

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

// enrolOperator walks HQ's mandatory second-factor enrolment as a browser
// would (the setup page, then the first code) and returns the session
// cookies, which the API rotates on enrolment.
func enrolOperator(t *testing.T, addr, host string, cookies []*http.Cookie) []*http.Cookie {
	t.Helper()
	code, body, _ := get(t, addr, host, "/mfa/setup", cookies)
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("mfa setup page: %d\n%s", code, body)
	}
	otp, err := totp.GenerateCode(m[1], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/mfa/setup", strings.NewReader(url.Values{"code": {otp}}.Encode()))
	req.Host = host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(b), `id="recovery-codes"`) {
		t.Fatalf("mfa confirm: %d\n%s", res.StatusCode, b)
	}
	out := map[string]*http.Cookie{}
	for _, c := range append(cookies, res.Cookies()...) {
		out[c.Name] = c
	}
	cookies = cookies[:0]
	for _, c := range out {
		cookies = append(cookies, c)
	}
	return cookies
}
