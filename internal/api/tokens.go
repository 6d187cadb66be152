package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/store"
)

// tokenResources are what a personal access token can be scoped to, each
// with :read and :write. Write includes read of the same resource.
var tokenResources = []string{"members", "invitations", "audit", "files"}

const maxTokenDays = 365

// scopeFor names the scope a bearer request needs, from its path and
// method; "" means the route is for interactive sessions only (managing
// tokens, MFA, sessions), which a token can never reach.
func scopeFor(r *http.Request) (scope string, ok bool) {
	p := r.URL.Path
	if p == "/api/me" && r.Method == http.MethodGet {
		return "", true // any valid token may ask whose it is
	}
	for _, res := range tokenResources {
		if p == "/api/"+res || strings.HasPrefix(p, "/api/"+res+"/") {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return res + ":read", true
			}
			return res + ":write", true
		}
	}
	return "", false
}

func hasScope(granted []string, need string) bool {
	if need == "" || slices.Contains(granted, need) {
		return true
	}
	res, level, _ := strings.Cut(need, ":")
	return level == "read" && slices.Contains(granted, res+":write")
}

// bearerToken returns the token of an Authorization: Bearer header. It is
// the only place a token is read from: never a cookie, never the URL.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(tok), true
}

var errBadToken = &core.Error{Kind: core.KindUnauthenticated, Message: "the API token is not valid, has expired or was revoked"}

// tokenUser authenticates a bearer request for requireUser: the token must
// belong to this host's tenant, be live, carry the route's scope, and its
// owner must still be a member (with their current role, not the role they
// had when the token was made).
func (s *Server) tokenUser(r *http.Request, raw string) (*core.Member, *store.APIToken, error) {
	if !auth.LooksLikePAT(raw) {
		return nil, nil, errBadToken
	}
	ts := s.tenantStore(r)
	tok, err := ts.APITokenByHash(r.Context(), auth.HashToken(raw))
	if core.IsNotFound(err) {
		s.auditDenied(r, "api_token.refused", "unknown token or a token of another organisation")
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	if tok.RevokedAt != nil || !s.Store.Now().Before(tok.ExpiresAt) {
		s.auditDeniedToken(r, "api_token.refused", "revoked or expired token "+tok.Hint, &tok)
		return nil, nil, errBadToken
	}
	need, ok := scopeFor(r)
	if !ok {
		return nil, nil, &core.Error{Kind: core.KindForbidden, Message: "API tokens cannot use this endpoint; it needs an interactive login"}
	}
	if !hasScope(tok.Scopes, need) {
		s.auditDeniedToken(r, "api_token.scope", "token "+tok.Hint+" lacks "+need, &tok)
		return nil, nil, &core.Error{Kind: core.KindForbidden, Message: "this API token lacks the " + need + " scope"}
	}
	m, err := ts.Member(r.Context(), tok.UserID)
	if core.IsNotFound(err) {
		return nil, nil, errBadToken
	}
	if err != nil {
		return nil, nil, err
	}
	if err := ts.TouchAPIToken(r.Context(), tok.ID, s.clientIP(r)); err != nil {
		return nil, nil, err
	}
	return &m, &tok, nil
}

type createTokenRequest struct {
	Name          string   `json:"name"`
	Scopes        []string `json:"scopes"`
	ExpiresInDays int      `json:"expires_in_days"`
}

// createToken makes a personal access token. The secret is in this one
// response only. It needs a recent login (step-up).
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var req createTokenRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	name, err := core.ValidateName("name", req.Name)
	if err != nil {
		return err
	}
	if len(req.Scopes) == 0 {
		return core.Invalid("scopes", "choose at least one scope, e.g. members:read")
	}
	var scopes []string
	for _, sc := range req.Scopes {
		res, level, _ := strings.Cut(sc, ":")
		if !slices.Contains(tokenResources, res) || (level != "read" && level != "write") {
			return core.Invalid("scopes", "%q is not a scope; scopes are <resource>:read or <resource>:write for %s", sc, strings.Join(tokenResources, ", "))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	if req.ExpiresInDays == 0 {
		req.ExpiresInDays = 90
	}
	if req.ExpiresInDays < 1 || req.ExpiresInDays > maxTokenDays {
		return core.Invalid("expires_in_days", "must be from 1 to %d", maxTokenDays)
	}
	if err := s.requireRecentAuth(r); err != nil {
		return err
	}
	rc := reqCtx(r)
	raw, hash := auth.NewPAT()
	tok, err := s.tenantStore(r).CreateAPIToken(r.Context(), store.NewAPIToken{
		UserID: rc.member.UserID, Name: name, Hash: hash, Hint: raw[len(raw)-4:], Scopes: scopes,
		ExpiresAt: s.Store.Now().Add(time.Duration(req.ExpiresInDays) * 24 * time.Hour),
	}, s.event(r, "api_token.created"))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"token": raw, "api_token": tok})
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	toks, err := s.tenantStore(r).APITokens(r.Context(), reqCtx(r).member.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"api_tokens": toks})
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.tenantStore(r).RevokeAPIToken(r.Context(), reqCtx(r).member.UserID, id, s.event(r, "api_token.revoked")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
