package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
)

// Passkeys (WebAuthn). The relying party id is the base domain, so one
// passkey serves the user on every tenant host (except on a single-label
// base such as localhost; see relyingParty); the allowed origin is the
// exact host of the request, so a ceremony started on one tenant's site
// cannot be finished from another.

const (
	keyWebAuthnReg   = "webauthn_reg"
	keyWebAuthnLogin = "webauthn_login"
	maxWebAuthnBody  = 64 << 10
)

// passkeyUser adapts a user to the WebAuthn library.
type passkeyUser struct {
	id    int64
	name  string
	creds []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte {
	return []byte(userHandlePrefix + strconv.FormatInt(u.id, 10))
}
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// userHandlePrefix starts every user handle; the rest is the user id. The
// id is no secret (handles are not shown to users), and a fixed prefix
// keeps handles of other relying parties from parsing.
const userHandlePrefix = "palisade-user:"

// userIDFromHandle reverses WebAuthnID.
func userIDFromHandle(h []byte) (int64, bool) {
	s, ok := strings.CutPrefix(string(h), userHandlePrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// relyingParty is configured per request: RP id the base domain, origin
// the public origin the browser used.
func (s *Server) relyingParty(r *http.Request) (*webauthn.WebAuthn, error) {
	base, err := url.Parse(s.Hosts.ApexURL())
	if err != nil {
		return nil, err
	}
	proto := base.Scheme
	if p := r.Header.Get("X-Forwarded-Proto"); (p == "http" || p == "https") && r.Header.Get("X-Forwarded-Host") != "" {
		proto = p
	}
	rpID := base.Hostname()
	if !strings.Contains(rpID, ".") {
		// A browser lets a page claim a parent domain as RP id only if it
		// is a registrable domain, which a single label such as "localhost"
		// (development and tests, tenants at <slug>.localhost) is not; there
		// each tenant host is its own RP id.
		h, _, err := net.SplitHostPort(s.publicHost(r))
		if err != nil {
			h = s.publicHost(r)
		}
		rpID = h
	}
	return webauthn.New(&webauthn.Config{
		RPID:          rpID,
		RPDisplayName: "Palisade",
		RPOrigins:     []string{proto + "://" + s.publicHost(r)},
	})
}

func (s *Server) loadPasskeyUser(r *http.Request, userID int64) (*passkeyUser, error) {
	u, err := s.Store.UserByID(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	pks, err := s.Store.Passkeys(r.Context(), store.UserSubject(userID))
	if err != nil {
		return nil, err
	}
	pu := &passkeyUser{id: u.ID, name: u.Email}
	for _, p := range pks {
		var c webauthn.Credential
		if err := json.Unmarshal(p.Credential, &c); err != nil {
			return nil, err
		}
		pu.creds = append(pu.creds, c)
	}
	return pu, nil
}

// ownsCredential reports whether credential id is one of user uid's passkeys.
func (s *Server) ownsCredential(r *http.Request, uid int64, id []byte) (bool, error) {
	pu, err := s.loadPasskeyUser(r, uid)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, c := range pu.creds {
		if bytes.Equal(c.ID, id) {
			return true, nil
		}
	}
	return false, nil
}

func (s *Server) putCeremony(r *http.Request, key string, sd *webauthn.SessionData) error {
	b, err := json.Marshal(sd)
	if err != nil {
		return err
	}
	s.TenantSessions.Put(r.Context(), key, string(b))
	return nil
}

// takeCeremony returns and forgets the ceremony, so a response can be
// submitted once.
func (s *Server) takeCeremony(r *http.Request, key string) (webauthn.SessionData, error) {
	var sd webauthn.SessionData
	raw := s.TenantSessions.PopString(r.Context(), key)
	if raw == "" {
		return sd, core.Invalid("credential", "start again: no passkey request is pending in this session")
	}
	return sd, json.Unmarshal([]byte(raw), &sd)
}

var errPasskey = core.Invalid("credential", "the passkey response was not accepted")

func (s *Server) webauthnFailed(r *http.Request, action string, err error) error {
	s.Log.InfoContext(r.Context(), "passkey refused", "action", action, "err", err)
	ev := s.event(r, action)
	ev.Outcome, ev.Detail = store.OutcomeFailure, clipDetail(err.Error())
	if aerr := s.Store.Audit(r.Context(), ev); aerr != nil {
		return aerr
	}
	return errPasskey
}

func clipDetail(s string) string {
	for len(s) > 200 || !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// passkeyRegisterBegin starts adding a passkey (step-up).
func (s *Server) passkeyRegisterBegin(w http.ResponseWriter, r *http.Request) error {
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	pu, err := s.loadPasskeyUser(r, reqCtx(r).member.UserID)
	if err != nil {
		return err
	}
	creation, sd, err := rp.BeginRegistration(pu, webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()),
		webauthn.WithResidentKeyRequirement("preferred"))
	if err != nil {
		return err
	}
	if err := s.putCeremony(r, keyWebAuthnReg, sd); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, creation)
	return nil
}

// passkeyRegisterFinish verifies the authenticator's attestation and stores
// the credential. ?name= labels it.
func (s *Server) passkeyRegisterFinish(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" {
		name = "Passkey"
	}
	name, err := core.ValidateName("name", name)
	if err != nil {
		return err
	}
	sd, err := s.takeCeremony(r, keyWebAuthnReg)
	if err != nil {
		return err
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	rc := reqCtx(r)
	pu, err := s.loadPasskeyUser(r, rc.member.UserID)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebAuthnBody)
	cred, err := rp.FinishRegistration(pu, sd, r)
	if err != nil {
		return s.webauthnFailed(r, "mfa.passkey.added", err)
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	p, err := s.Store.AddPasskey(r.Context(), store.UserSubject(rc.member.UserID), base64.RawURLEncoding.EncodeToString(cred.ID), b, name, s.event(r, "mfa.passkey.added"))
	if err != nil {
		return err
	}
	// The new passkey was just used: the session has proved it, which is
	// a privilege change (an enrolling session becomes a full one).
	if err := s.renewSessionToken(r, s.TenantSessions); err != nil {
		return err
	}
	s.TenantSessions.Put(r.Context(), keyMFAAt, s.Store.Now().Unix())
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"passkey": p})
	return nil
}

// mfaPasskeyBegin: second step of a password login, with a passkey.
func (s *Server) mfaPasskeyBegin(w http.ResponseWriter, r *http.Request) error {
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	pu, err := s.loadPasskeyUser(r, reqCtx(r).member.UserID)
	if err != nil {
		return err
	}
	if len(pu.creds) == 0 {
		return core.Errorf(core.KindConflict, "no passkey is registered; use your authenticator app or a recovery code")
	}
	assertion, sd, err := rp.BeginLogin(pu)
	if err != nil {
		return err
	}
	if err := s.putCeremony(r, keyWebAuthnLogin, sd); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, assertion)
	return nil
}

func (s *Server) mfaPasskeyFinish(w http.ResponseWriter, r *http.Request) error {
	sd, err := s.takeCeremony(r, keyWebAuthnLogin)
	if err != nil {
		return err
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	uid := reqCtx(r).member.UserID
	a := passkeyAttempt(store.UserSubject(uid).String(), "auth.mfa")
	if err := s.allowAttempt(r, a); err != nil {
		return err
	}
	pu, err := s.loadPasskeyUser(r, uid)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebAuthnBody)
	cred, err := rp.FinishLogin(pu, sd, r)
	if err != nil {
		if ferr := s.failedAttempt(r, a); ferr != nil {
			return ferr
		}
		return s.webauthnFailed(r, "auth.mfa", err)
	}
	if err := s.passkeyUsed(r, uid, cred); err != nil {
		return err
	}
	if err := s.succeededAttempt(r, a); err != nil {
		return err
	}
	return s.markMFA(w, r, store.UserSubject(uid), "passkey", "auth.mfa")
}

// markMFA completes a login with a second factor, as finishSecondFactor
// does for codes.
func (s *Server) markMFA(w http.ResponseWriter, r *http.Request, subj store.Subject, method, action string) error {
	sm := s.TenantSessions
	if err := s.renewSessionToken(r, sm); err != nil {
		return err
	}
	now := s.Store.Now().Unix()
	sm.Put(r.Context(), keyMFAAt, now)
	sm.Put(r.Context(), keyAuthAt, now)
	ev := s.event(r, action)
	ev.Target, ev.Detail = subj.String(), method
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		return err
	}
	return s.writeMFAStatus(w, r, subj, http.StatusOK, nil)
}

func (s *Server) passkeyUsed(r *http.Request, uid int64, cred *webauthn.Credential) error {
	if cred.Authenticator.CloneWarning {
		s.auditDenied(r, "auth.passkey.clone_warning", "signature counter went backwards")
		return core.Invalid("credential", "this passkey looks cloned and was refused")
	}
	b, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	return s.Store.UsePasskey(r.Context(), store.UserSubject(uid), base64.RawURLEncoding.EncodeToString(cred.ID), b)
}

// passkeyLoginBegin starts a passwordless login: the browser offers any
// passkey it holds for this site.
func (s *Server) passkeyLoginBegin(w http.ResponseWriter, r *http.Request) error {
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	// Passwordless: the passkey is both factors only if the authenticator
	// verified the user (PIN, biometrics), so the ceremony requires it.
	assertion, sd, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return err
	}
	if err := s.putCeremony(r, keyWebAuthnLogin, sd); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, assertion)
	return nil
}

// passkeyLoginFinish logs in the passkey's owner, who must be a member of
// the host's tenant. A passkey with user verification is both factors.
func (s *Server) passkeyLoginFinish(w http.ResponseWriter, r *http.Request) error {
	sd, err := s.takeCeremony(r, keyWebAuthnLogin)
	if err != nil {
		return err
	}
	rp, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	rc := reqCtx(r)
	var member core.Member
	handler := func(rawID, userHandle []byte) (webauthn.User, error) {
		uid, ok := userIDFromHandle(userHandle)
		if !ok {
			return nil, errors.New("unknown user handle")
		}
		m, err := s.tenantStore(r).Member(r.Context(), uid)
		if err != nil {
			return nil, errors.New("not a member of this organisation")
		}
		member = m
		return s.loadPasskeyUser(r, uid)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxWebAuthnBody)
	parsed, err := protocol.ParseCredentialRequestResponse(r)
	if err != nil {
		return s.webauthnFailed(r, "auth.login", err)
	}
	// Failures count on the account only when the assertion names one of
	// that account's own credentials: the user handle alone is a claim
	// anyone can make, and counting it would let a stranger lock a user
	// out of their passkey. Other failures count on the address alone.
	a := passkeyAttempt("", "auth.login")
	if uid, ok := userIDFromHandle(parsed.Response.UserHandle); ok {
		owns, err := s.ownsCredential(r, uid, parsed.RawID)
		if err != nil {
			return err
		}
		if owns {
			a.account = store.UserSubject(uid).String()
		}
	}
	if err := s.allowAttempt(r, a); err != nil {
		return err
	}
	// User verification is judged on this assertion's own flag, never on
	// the flags stored with the credential at registration; and only a
	// ceremony that required it (passkeyLoginBegin) can log in.
	if sd.UserVerification != protocol.VerificationRequired || !parsed.Response.AuthenticatorData.Flags.HasUserVerified() {
		if ferr := s.failedAttempt(r, a); ferr != nil {
			return ferr
		}
		if err := s.webauthnFailed(r, "auth.login", errors.New("the authenticator did not verify the user")); err != errPasskey {
			return err // the audit write failed
		}
		return core.Invalid("credential", "your passkey did not confirm it's you (with a PIN, fingerprint or face); try again and unlock it when asked")
	}
	_, cred, err := rp.ValidatePasskeyLogin(handler, sd, parsed)
	if err != nil {
		if ferr := s.failedAttempt(r, a); ferr != nil {
			return ferr
		}
		return s.webauthnFailed(r, "auth.login", err)
	}
	if err := s.passkeyUsed(r, member.UserID, cred); err != nil {
		return err
	}
	if err := s.succeededAttempt(r, a); err != nil {
		return err
	}
	// A passkey with user verification is both factors at once.
	if err := s.startTenantSession(r, member.UserID, true); err != nil {
		return err
	}
	rc.member = &member
	ev := s.event(r, "auth.login")
	ev.Detail = "passkey"
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		return err
	}
	return s.writeMe(w, r, member)
}

// listPasskeys lists the user's passkeys (their names and last use; never
// the key material).
func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	pks, err := s.Store.Passkeys(r.Context(), s.userSubject(r))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"passkeys": pks})
	return nil
}

// removePasskey deletes one of the user's passkeys (step-up), unless it is
// the last second factor of someone whose organisation requires one.
func (s *Server) removePasskey(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	subj := s.userSubject(r)
	st, err := s.Store.MFAStatusOf(r.Context(), subj)
	if err != nil {
		return err
	}
	required, err := s.tenantStore(r).RequiresMFA(r.Context())
	if err != nil {
		return err
	}
	if required && !st.TOTP && st.Passkeys <= 1 {
		// Only refuse for the user's own passkey: another id is simply not found.
		pks, err := s.Store.Passkeys(r.Context(), subj)
		if err != nil {
			return err
		}
		for _, p := range pks {
			if p.ID == id {
				return core.Errorf(core.KindConflict, "your organisation requires a second factor; set up an authenticator app or another passkey before removing this one")
			}
		}
	}
	if err := s.Store.RemovePasskey(r.Context(), subj, id, s.event(r, "mfa.passkey.removed")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
