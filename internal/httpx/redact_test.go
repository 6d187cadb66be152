package httpx

import "testing"

func TestLogPath(t *testing.T) {
	for in, want := range map[string]string{
		"/":                                      "/",
		"/api/me":                                "/api/me",
		"/security/sessions/revoke-others":       "/security/sessions/revoke-others",
		"/api/auth/password-reset/confirm":       "/api/auth/password-reset/confirm",
		"/invitations/12/revoke":                 "/invitations/12/revoke",
		"/api/invitations/7":                     "/api/invitations/7",
		"/api/hq/tenants/3/files/9/download-url": "/api/hq/tenants/3/files/9/download-url",
		"/api/invitations/accept":                "/api/invitations/accept",
		"/invitations/aB3":                       "/invitations/" + Redacted,
		"/invitations/Zx81_kq-LmN0pQrStUvWxYz0123456789abcdEF":         "/invitations/" + Redacted,
		"/invitations/Zx81_kq/extra":                                   "/invitations/" + Redacted + "/extra",
		"/hq/invite/Zx81kqLmN0pQrStUvW":                                "/hq/invite/" + Redacted,
		"/files/4f3a2b1c9d8e7f6a5b4c3d2e1f0a9b8c":                      "/files/" + Redacted,
		"/x/" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": "/x/" + Redacted,
		"/auth/handoff": "/auth/handoff",
	} {
		if got := LogPath(in); got != want {
			t.Errorf("LogPath(%q) = %q, want %q", in, got, want)
		}
	}
}
