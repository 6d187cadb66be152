package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// logBuffer collects every role's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestNoSecretInLogs drives every link and header that carries a secret
// through the public site (web and HQ in front of the API, as in
// production): the sign-up hand-off, an invitation (opened, accepted, and
// a made-up one), a password reset (opened and used), an API token in
// Authorization and in paths and query strings, and the session cookies of
// both realms. Every role logs at debug level into one buffer, which must
// then hold none of those secrets, nor the password.
func TestNoSecretInLogs(t *testing.T) {
	logs := &logBuffer{}
	s := testenv.NewStackLogging(t, "sqlite", nil, slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	secrets := map[string]string{pw: "the password"}
	keep := func(what, v string) string {
		t.Helper()
		if len(v) < 8 {
			t.Fatalf("%s: %q is no secret", what, v)
		}
		secrets[v] = what
		return v
	}
	send := func(c *http.Client, method, u string, form url.Values, header map[string]string) *http.Response {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequest(method, u, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s: %d", method, u, res.StatusCode)
		}
		return res
	}
	wantStatus := func(res *http.Response, code int) {
		t.Helper()
		if res.StatusCode != code {
			t.Fatalf("%s %s: %d, want %d", res.Request.Method, res.Request.URL.Path, res.StatusCode, code)
		}
	}
	acme := func(p string) string { return s.URL("acme.localhost", p) }
	// A password reset's mail goes after its answer: look for a while.
	mailLink := func(to, re string) string {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			ms, err := s.Store.Outbox(context.Background(), 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.To == to {
					if l := regexp.MustCompile(re).FindString(m.Body); l != "" {
						return l
					}
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no link %s in mail to %s", re, to)
				return ""
			}
		}
	}
	cookie := func(c *http.Client, host, name string) string {
		for _, ck := range c.Jar.Cookies(&url.URL{Scheme: "http", Host: host + ":" + s.PublicPort}) {
			if ck.Name == name {
				return ck.Value
			}
		}
		t.Fatalf("no %s cookie for %s", name, host)
		return ""
	}

	// Sign-up, and its hand-off link to the tenant's host.
	owner := s.Client()
	res := send(owner, "POST", s.URL("localhost", "/signup"), url.Values{"organisation_name": {"Acme Ltd"}, "slug": {"acme"}, "name": {"Ada Owner"}, "email": {"ada@acme.test"}, "password": {pw}}, nil)
	wantStatus(res, http.StatusSeeOther)
	handoff := res.Header.Get("Location")
	hu, err := url.Parse(handoff)
	if err != nil || hu.Query().Get("token") == "" {
		t.Fatalf("sign-up sent us to %q", handoff)
	}
	keep("hand-off token", hu.Query().Get("token"))
	wantStatus(send(owner, "GET", acme("/auth/handoff?"+hu.RawQuery), nil, nil), http.StatusSeeOther)
	wantStatus(send(owner, "GET", acme("/auth/handoff?"+hu.RawQuery), nil, nil), http.StatusUnprocessableEntity) // spent
	keep("tenant session cookie", cookie(owner, "acme.localhost", session.TenantCookie))

	// An invitation: opened, accepted; and one that does not exist.
	wantStatus(send(owner, "POST", acme("/members/invite"), url.Values{"email": {"mia@acme.test"}, "role": {"member"}}, nil), http.StatusSeeOther)
	inv := mailLink("mia@acme.test", `/invitations/\S+`)
	keep("invitation token", strings.TrimPrefix(inv, "/invitations/"))
	mia := s.Client()
	wantStatus(send(mia, "GET", acme(inv), nil, nil), http.StatusOK)
	wantStatus(send(mia, "POST", acme(inv), url.Values{"name": {"Mia Member"}, "password": {pw}}, nil), http.StatusSeeOther)
	keep("invitee's session cookie", cookie(mia, "acme.localhost", session.TenantCookie))
	bogus, _ := auth.NewToken()
	keep("made-up invitation token", bogus)
	send(mia, "GET", acme("/invitations/"+bogus), nil, nil)
	send(mia, "GET", acme("/invitations/"+bogus[:12]), nil, nil)
	keep("first 12 characters of a made-up token", bogus[:12])

	// A password reset: asked for, opened, used.
	anon := s.Client()
	wantStatus(send(anon, "POST", acme("/password/forgot"), url.Values{"email": {"mia@acme.test"}}, nil), http.StatusSeeOther)
	reset := mailLink("mia@acme.test", `/password/reset\?token=\S+`)
	keep("reset token", strings.TrimPrefix(reset, "/password/reset?token="))
	wantStatus(send(anon, "GET", acme(reset), nil, nil), http.StatusOK)
	wantStatus(send(anon, "POST", acme("/password/reset"), url.Values{"token": {strings.TrimPrefix(reset, "/password/reset?token=")}, "password": {"a new passphrase for mia"}}, nil), http.StatusSeeOther)
	keep("new password", "a new passphrase for mia")

	// An API token, in the header, and where a careless client puts it: a
	// query string and a path.
	req, _ := json.Marshal(map[string]any{"name": "script", "scopes": []string{"members:read"}, "expires_in_days": 7})
	tr, err := owner.Post(acme("/api/tokens"), "application/json", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		Secret string `json:"token"`
	}
	_ = json.NewDecoder(tr.Body).Decode(&tok)
	tr.Body.Close()
	if tr.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d", tr.StatusCode)
	}
	keep("API token", tok.Secret)
	script := s.Client()
	wantStatus(send(script, "GET", acme("/api/members"), nil, map[string]string{"Authorization": "Bearer " + tok.Secret}), http.StatusOK)
	send(script, "GET", acme("/api/members?token="+url.QueryEscape(tok.Secret)+"&access_token="+url.QueryEscape(tok.Secret)), nil, nil)
	send(script, "GET", acme("/api/tokens/"+tok.Secret), nil, nil)
	send(script, "GET", acme("/nothing/here/"+tok.Secret+"?token="+tok.Secret), nil, nil)
	send(script, "GET", acme("/api/members"), nil, map[string]string{"Authorization": "Bearer " + tok.Secret + "x"})

	// HQ: an operator's password login and its session cookie.
	if _, err := app.CreateOperator(context.Background(), s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Otto Ops", pw); err != nil {
		t.Fatal(err)
	}
	op := s.Client()
	wantStatus(send(op, "POST", s.URL("admin.localhost", "/login"), url.Values{"email": {"ops@palisade.test"}, "password": {pw}}, nil), http.StatusSeeOther)
	keep("HQ session cookie", cookie(op, "admin.localhost", session.OperatorCookie))
	// Its authenticator-app secret, shown on the enrolment page.
	sr, err := op.Get(s.URL("admin.localhost", "/mfa/setup"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(sr.Body)
	sr.Body.Close()
	m := regexp.MustCompile(`id="totp-secret">([A-Z2-7]+)<`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no TOTP secret on the enrolment page: %d", sr.StatusCode)
	}
	keep("operator's TOTP secret", string(m[1]))
	// Each session cookie also goes to a path, as a leaked link would.
	send(anon, "GET", acme("/invitations/"+cookie(owner, "acme.localhost", session.TenantCookie)), nil, nil)

	out := logs.String()
	if testing.Verbose() {
		t.Log(out)
	}
	// The log is not empty: every request above is in it, redacted.
	for _, wantLine := range []string{`"path":"/invitations/[redacted]"`, `"path":"/auth/handoff"`, `"path":"/api/auth/handoff"`, `"path":"/api/tokens/[redacted]"`} {
		if !strings.Contains(out, wantLine) {
			t.Errorf("the log has no %s", wantLine)
		}
	}
	for secret, what := range secrets {
		if i := strings.Index(out, secret); i >= 0 {
			line := out[strings.LastIndex(out[:i], "\n")+1:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Errorf("the %s is in the log: %s", what, line)
		}
	}
}
