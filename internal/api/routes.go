package api

import (
	"net/http"
	"strconv"

	"github.com/palisade-hq/palisade/internal/core"
)

// routes lists every URL of the API. The OpenAPI document in
// api/openapi.yaml describes the same set; a test keeps the two in step.
func (s *Server) routes(mux *http.ServeMux) {
	s.Health.Register(mux)

	endOperatorSession := func(r *http.Request) error { return s.OperatorSessions.Destroy(r.Context()) }
	tenantTimeouts := s.sessionTimeouts(s.TenantSessions, s.endTenantSession)
	hqTimeouts := s.sessionTimeouts(s.OperatorSessions, endOperatorSession)
	tenantSess := func(h http.Handler) http.Handler {
		return guardSessions(s.TenantSessions.LoadAndSave)(tenantTimeouts(h))
	}
	hqSess := func(h http.Handler) http.Handler { return guardSessions(s.OperatorSessions.LoadAndSave)(hqTimeouts(h)) }
	// Anonymous routes of an active tenant's site.
	tenant := func(fn handlerFunc) http.Handler { return s.limit(s.tenantScope(false, tenantSess(s.h(fn)))) }
	// Routes for a logged-in member of the host's tenant.
	user := func(fn handlerFunc) http.Handler {
		return s.limit(s.tenantScope(false, tenantSess(s.requireUser(s.h(fn)))))
	}
	// Routes for owners and admins.
	manager := func(fn handlerFunc) http.Handler {
		return s.limit(s.tenantScope(false, tenantSess(s.requireUser(s.requireManager(s.h(fn))))))
	}
	hqPublic := func(fn handlerFunc) http.Handler { return s.limit(s.adminHost(hqSess(s.h(fn)))) }
	hq := func(fn handlerFunc) http.Handler { return s.limit(s.adminHost(hqSess(s.requireOperator(s.h(fn))))) }

	mux.Handle("POST /api/signup", s.limit(s.h(s.signup)))
	mux.Handle("GET /api/tenant", s.limit(s.tenantScope(true, s.h(s.tenantInfo))))

	mux.Handle("POST /api/auth/login", tenant(s.login))
	mux.Handle("POST /api/auth/logout", tenant(s.logout))
	mux.Handle("POST /api/auth/handoff", tenant(s.handoff))
	mux.Handle("POST /api/auth/password-reset", tenant(s.requestPasswordReset))
	mux.Handle("POST /api/auth/password-reset/confirm", tenant(s.confirmPasswordReset))
	mux.Handle("GET /api/me", user(s.me))
	mux.Handle("GET /api/dashboard", user(s.dashboard))
	mux.Handle("GET /api/sessions", user(s.listSessions))
	mux.Handle("DELETE /api/sessions/{id}", user(s.revokeSession))
	mux.Handle("POST /api/sessions/revoke-others", user(s.revokeOtherSessions))
	mux.Handle("POST /api/auth/password", user(s.changePassword))
	mux.Handle("POST /api/auth/mfa/passkey/begin", user(s.mfaPasskeyBegin))
	mux.Handle("POST /api/auth/mfa/passkey/finish", user(s.mfaPasskeyFinish))
	mux.Handle("POST /api/auth/passkey/begin", tenant(s.passkeyLoginBegin))
	mux.Handle("POST /api/auth/passkey/finish", tenant(s.passkeyLoginFinish))
	mux.Handle("POST /api/mfa/passkeys/begin", user(s.passkeyRegisterBegin))
	mux.Handle("POST /api/mfa/passkeys/finish", user(s.passkeyRegisterFinish))
	mux.Handle("GET /api/mfa/passkeys", user(s.listPasskeys))
	mux.Handle("DELETE /api/mfa/passkeys/{id}", user(s.removePasskey))
	mux.Handle("POST /api/auth/reauth", user(s.reauth))
	mux.Handle("POST /api/auth/mfa", user(s.mfaVerify))
	mux.Handle("GET /api/mfa", user(s.mfaStatus))
	mux.Handle("POST /api/mfa/totp", user(s.startTOTP))
	mux.Handle("POST /api/mfa/totp/confirm", user(s.confirmTOTP))
	mux.Handle("DELETE /api/mfa/totp", user(s.removeTOTP))
	mux.Handle("POST /api/mfa/recovery-codes", user(s.regenerateRecoveryCodes))
	mux.Handle("PUT /api/tenant/mfa-policy", manager(s.setMFAPolicy))
	mux.Handle("GET /api/tokens", user(s.listTokens))
	mux.Handle("POST /api/tokens", user(s.createToken))
	mux.Handle("DELETE /api/tokens/{id}", user(s.revokeToken))

	mux.Handle("GET /api/members", user(s.listMembers))
	mux.Handle("GET /api/members/{id}", user(s.getMember))
	mux.Handle("DELETE /api/members/{id}", manager(s.removeMember))

	mux.Handle("GET /api/invitations", manager(s.listInvitations))
	mux.Handle("POST /api/invitations", manager(s.createInvitation))
	mux.Handle("GET /api/invitations/{id}", manager(s.getInvitation))
	mux.Handle("DELETE /api/invitations/{id}", manager(s.revokeInvitation))
	mux.Handle("GET /api/invitation-lookup", tenant(s.lookupInvitation))
	mux.Handle("POST /api/invitations/accept", tenant(s.acceptInvitation))

	mux.Handle("GET /api/audit", manager(s.listAudit))
	mux.Handle("GET /api/audit/export", manager(s.exportAudit))
	mux.Handle("POST /api/broadcasting/auth", user(s.broadcastingAuth))
	mux.Handle("POST /api/broadcasting/user-auth", user(s.broadcastingUserAuth))

	mux.Handle("POST /api/files/upload-url", user(s.fileUploadURL))
	mux.Handle("GET /api/files/download-url", user(s.fileDownloadURL))
	mux.Handle("GET /api/files", user(s.listFiles))
	mux.Handle("GET /api/files/{id}", user(s.getFile))
	mux.Handle("POST /api/files/{id}/complete", user(s.fileComplete))
	mux.Handle("DELETE /api/files/{id}", user(s.deleteFile))
	mux.Handle("POST /api/files/s3-events", s.limit(s.h(s.s3Events)))

	mux.Handle("POST /api/hq/auth/login", hqPublic(s.hqLogin))
	mux.Handle("POST /api/hq/auth/logout", hqPublic(s.hqLogout))
	mux.Handle("GET /api/hq/invitation-lookup", hqPublic(s.hqLookupInvitation))
	mux.Handle("POST /api/hq/invitations/accept", hqPublic(s.hqAcceptInvitation))
	mux.Handle("GET /api/hq/me", hq(s.hqMe))
	mux.Handle("POST /api/hq/auth/reauth", hq(s.hqReauth))
	mux.Handle("POST /api/hq/auth/password", hq(s.hqChangePassword))
	mux.Handle("GET /api/hq/sessions", hq(s.hqListSessions))
	mux.Handle("DELETE /api/hq/sessions/{id}", hq(s.hqRevokeSession))
	mux.Handle("POST /api/hq/sessions/revoke-others", hq(s.hqRevokeOtherSessions))
	mux.Handle("POST /api/hq/mfa/totp/replace", hq(s.hqStartTOTPReplacement))
	mux.Handle("POST /api/hq/mfa/totp/replace/confirm", hq(s.hqConfirmTOTPReplacement))
	mux.Handle("DELETE /api/hq/mfa/totp/replace", hq(s.hqCancelTOTPReplacement))
	mux.Handle("POST /api/hq/tenants/{id}/sessions/revoke", hq(s.hqRevokeTenantSessions))
	mux.Handle("POST /api/hq/auth/mfa", hq(s.hqMFAVerify))
	mux.Handle("GET /api/hq/mfa", hq(s.hqMFAStatus))
	mux.Handle("POST /api/hq/mfa/totp", hq(s.hqStartTOTP))
	mux.Handle("POST /api/hq/mfa/totp/confirm", hq(s.hqConfirmTOTP))
	mux.Handle("GET /api/hq/tenants", hq(s.hqSearchTenants))
	mux.Handle("POST /api/hq/tenants", hq(s.hqCreateTenant))
	mux.Handle("POST /api/hq/tenants/{id}/owner-invitation", hq(s.hqInviteOwner))
	mux.Handle("GET /api/hq/tenants/{id}", hq(s.hqGetTenant))
	mux.Handle("POST /api/hq/tenants/{id}/suspend", hq(s.hqSuspendTenant))
	mux.Handle("POST /api/hq/tenants/{id}/reactivate", hq(s.hqReactivateTenant))
	mux.Handle("PATCH /api/hq/tenants/{id}", hq(s.hqUpdateTenant))
	mux.Handle("GET /api/hq/tenants/{id}/overview", hq(s.hqTenantOverview))
	mux.Handle("GET /api/hq/tenants/{id}/export", hq(s.hqExportTenant))
	mux.Handle("POST /api/hq/tenants/{id}/deletion", hq(s.hqRequestDeletion))
	mux.Handle("POST /api/hq/tenants/{id}/deletion/approve", hq(s.hqApproveDeletion))
	mux.Handle("DELETE /api/hq/tenants/{id}/deletion", hq(s.hqCancelDeletion))
	mux.Handle("GET /api/hq/deletions", hq(s.hqListDeletions))
	mux.Handle("POST /api/hq/tenants/{id}/break-glass", hq(s.hqOpenBreakGlass))
	mux.Handle("POST /api/hq/tenants/{id}/break-glass/{grant}/revoke", hq(s.hqRevokeBreakGlass))
	mux.Handle("GET /api/hq/tenants/{id}/audit", hq(s.hqTenantAudit))
	mux.Handle("GET /api/hq/tenants/{id}/files", hq(s.hqTenantFiles))
	mux.Handle("GET /api/hq/tenants/{id}/files/{file}/download-url", hq(s.hqFileDownload))
	mux.Handle("GET /api/hq/operators", hq(s.hqListOperators))
	mux.Handle("POST /api/hq/operators", hq(s.hqInviteOperator))
	mux.Handle("POST /api/hq/operators/{id}/disable", hq(s.hqDisableOperator))
	mux.Handle("POST /api/hq/operators/{id}/enable", hq(s.hqEnableOperator))
	mux.Handle("GET /api/hq/health", hq(s.hqHealthSummary))
	mux.Handle("GET /api/hq/audit", hq(s.hqAudit))
	mux.Handle("POST /api/hq/audit/verify", hq(s.hqVerifyAudit))
	mux.Handle("GET /api/hq/outbox", hq(s.hqOutbox))
	mux.Handle("GET /api/hq/queues", hq(s.hqQueues))
	mux.Handle("GET /api/hq/queues/{queue}/dead", hq(s.hqDeadJobs))
	mux.Handle("POST /api/hq/queues/{queue}/dead/{id}/retry", hq(s.hqRetryDeadJob))
	mux.Handle("DELETE /api/hq/queues/{queue}/dead/{id}", hq(s.hqDeleteDeadJob))

	mux.Handle("/", s.h(func(w http.ResponseWriter, r *http.Request) error {
		return &core.Error{Kind: core.KindNotFound, Message: "no such endpoint: " + r.Method + " " + r.URL.Path}
	}))
}

// pathID reads a positive integer path value.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, core.Invalid(name, "%s must be a positive whole number", name)
	}
	return id, nil
}

// pageParams reads the limit (1–200, default 50) and offset of a list.
func pageParams(r *http.Request) (limit, offset int, err error) {
	if limit, err = queryInt(r, "limit", 50, 1, 200); err != nil {
		return 0, 0, err
	}
	offset, err = queryInt(r, "offset", 0, 0, 1_000_000)
	return limit, offset, err
}

// queryInt reads an optional bounded integer query parameter.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, core.Invalid(name, "%s must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}
