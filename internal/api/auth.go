package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/session"
	"github.com/palisade-hq/palisade/internal/store"
)

// handoffTTL bounds the one-time token that carries a fresh sign-up from the
// apex site to the tenant's own host, where its session cookie must live.
const handoffTTL = 2 * time.Minute

type signupRequest struct {
	OrganisationName string `json:"organisation_name"`
	Slug             string `json:"slug"`
	Name             string `json:"name"`
	Email            string `json:"email"`
	Password         string `json:"password"`
}

type signupResponse struct {
	Tenant   core.Tenant `json:"tenant"`
	User     core.User   `json:"user"`
	LoginURL string      `json:"login_url"`
}

// signup creates a tenant and its owner in one transaction, then returns a
// one-time link that logs the owner in on the tenant's own host.
func (s *Server) signup(w http.ResponseWriter, r *http.Request) error {
	var req signupRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	orgName, err := core.ValidateName("organisation_name", req.OrganisationName)
	if err != nil {
		return err
	}
	slug := strings.ToLower(strings.TrimSpace(req.Slug))
	if err := core.ValidateSlug(slug); err != nil {
		return err
	}
	name, err := core.ValidateName("name", req.Name)
	if err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if err := core.ValidatePassword(req.Password); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(req.Password)
	if err != nil {
		return err
	}
	ev := s.event(r, "tenant.signup")
	ev.ActorType = "user"
	ev.Target = "tenant:" + slug
	t, u, err := s.Store.SignUp(r.Context(), slug, orgName, store.NewUser{Email: email, Name: name, PasswordHash: hash}, ev)
	if err != nil {
		return err
	}
	s.provisionBucket(r, t.ID)
	token, tokenHash := auth.NewToken()
	if err := s.Redis.Set(r.Context(), s.RedisPrefix+"handoff:"+tokenHash, fmt.Sprintf("%d:%d", t.ID, u.ID), handoffTTL).Err(); err != nil {
		return fmt.Errorf("store handoff: %w", err)
	}
	httpx.WriteJSON(w, http.StatusCreated, signupResponse{Tenant: t, User: u, LoginURL: s.Hosts.TenantURL(t.Slug) + "/auth/handoff?token=" + token})
	return nil
}

type handoffRequest struct {
	Token string `json:"token"`
}

// handoff exchanges a sign-up token for a session on the tenant's host.
func (s *Server) handoff(w http.ResponseWriter, r *http.Request) error {
	var req handoffRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Token == "" || len(req.Token) > 100 {
		return core.Invalid("token", "is required")
	}
	val, err := s.Redis.GetDel(r.Context(), s.RedisPrefix+"handoff:"+auth.HashToken(req.Token)).Result()
	if errors.Is(err, redis.Nil) {
		return core.Invalid("token", "this sign-in link has expired or was used; log in with your password")
	}
	if err != nil {
		return err
	}
	tid, uid, _ := strings.Cut(val, ":")
	rc := reqCtx(r)
	if tid != strconv.FormatInt(rc.tenant.ID, 10) {
		return core.Invalid("token", "this sign-in link belongs to another organisation")
	}
	userID, _ := strconv.ParseInt(uid, 10, 64)
	m, err := s.tenantStore(r).Member(r.Context(), userID)
	if err != nil {
		return err
	}
	if err := s.startTenantSession(r, m.UserID, false); err != nil {
		return err
	}
	rc.member = &m
	ev := s.event(r, "auth.login")
	ev.Detail = "sign-up handoff"
	if err := s.Store.Audit(r.Context(), ev); err != nil {
		return err
	}
	return s.writeMe(w, r, m)
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type meResponse struct {
	User   core.User   `json:"user"`
	Role   core.Role   `json:"role"`
	Tenant core.Tenant `json:"tenant"`
}

var errBadCredentials = &core.Error{Kind: core.KindUnauthenticated, Message: "the email or password is wrong"}

// throttled reports a login attempt the throttle refuses.
func throttled(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return &core.Error{Kind: core.KindThrottled, RetryAfterSeconds: secs,
		Message: "too many failed attempts; try again in " + core.HumanDuration(time.Duration(secs)*time.Second)}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	if req.Password == "" || len(req.Password) > core.MaxPasswordLen {
		return core.Invalid("password", "is required")
	}
	rc := reqCtx(r)
	a := s.passwordAttempt(r, email, "auth.login")
	if err := s.allowAttempt(r, a); err != nil {
		return err
	}
	m, err := s.checkTenantPassword(r.Context(), s.tenantStore(r), email, req.Password)
	if err != nil {
		if errors.Is(err, errBadCredentials) {
			if ferr := s.failedAttempt(r, a); ferr != nil {
				return ferr
			}
			ev := s.event(r, "auth.login")
			ev.Outcome, ev.Detail = store.OutcomeFailure, email
			if aerr := s.Store.Audit(r.Context(), ev); aerr != nil {
				return aerr
			}
		}
		return err
	}
	if err := s.succeededAttempt(r, a); err != nil {
		return err
	}
	if err := s.startTenantSession(r, m.UserID, false); err != nil {
		return err
	}
	rc.member = &m
	if err := s.Store.Audit(r.Context(), s.event(r, "auth.login")); err != nil {
		return err
	}
	return s.writeMe(w, r, m)
}

// checkTenantPassword verifies a member's password. Unknown emails, wrong
// passwords and non-members all look the same, and take the same time.
func (s *Server) checkTenantPassword(ctx context.Context, ts *store.TenantStore, email, password string) (core.Member, error) {
	u, err := s.Store.UserByEmail(ctx, email)
	if core.IsNotFound(err) {
		s.Hasher.VerifyDummy(password)
		return core.Member{}, errBadCredentials
	}
	if err != nil {
		return core.Member{}, err
	}
	ok, err := s.Hasher.Verify(password, u.PasswordHash)
	if err != nil {
		return core.Member{}, fmt.Errorf("verify password of user %d: %w", u.ID, err)
	}
	if !ok {
		return core.Member{}, errBadCredentials
	}
	m, err := ts.Member(ctx, u.ID)
	if core.IsNotFound(err) {
		return core.Member{}, errBadCredentials
	}
	return m, err
}

func (s *Server) writeMe(w http.ResponseWriter, r *http.Request, m core.Member) error {
	u, err := s.Store.UserByID(r.Context(), m.UserID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, meResponse{User: u, Role: m.Role, Tenant: *reqCtx(r).tenant})
	return nil
}

// logout destroys the session server-side, so a copied cookie is dead too.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	sm := s.TenantSessions
	if uid := sm.GetInt64(r.Context(), session.KeyUserID); uid != 0 {
		ev := s.event(r, "auth.logout")
		ev.ActorType, ev.ActorID = "user", &uid
		if err := s.Store.Audit(r.Context(), ev); err != nil {
			return err
		}
	}
	if err := s.endTenantSession(r); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	return s.writeMe(w, r, *reqCtx(r).member)
}

func (s *Server) tenantInfo(w http.ResponseWriter, r *http.Request) error {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"tenant": reqCtx(r).tenant})
	return nil
}

type passwordResetRequest struct {
	Email string `json:"email"`
}

// requestPasswordReset always answers the same, so it reveals no accounts.
func (s *Server) requestPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var req passwordResetRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	rc := reqCtx(r)
	ts := s.tenantStore(r)
	u, err := s.Store.UserByEmail(r.Context(), email)
	if err == nil {
		if _, merr := ts.Member(r.Context(), u.ID); merr == nil {
			token, hash := auth.NewToken()
			link := s.Hosts.TenantURL(rc.tenant.Slug) + "/password/reset?token=" + token
			body := fmt.Sprintf("Hello %s,\n\nSomeone asked to reset your password for %s on Palisade.\nTo choose a new one, open this link within %s:\n\n%s\n\nIf it was not you, ignore this message; your password stays as it is.\n",
				u.Name, rc.tenant.Name, core.HumanDuration(s.PasswordResetTTL), link)
			ev := s.event(r, "auth.password_reset.requested")
			ev.ActorType, ev.ActorID, ev.Target = "user", &u.ID, fmt.Sprintf("user:%d", u.ID)
			// The token, its audit row and its mail in one transaction; the
			// mail goes after the answer, so a relay that is down or slow
			// shows in neither the status nor the timing of the answer for
			// an existing account (the outbox retries it).
			fx := s.effects(outbox.Mail(core.Mail{To: u.Email, Subject: "Reset your Palisade password", Body: body}))
			if err := ts.CreatePasswordReset(r.Context(), u.ID, hash, s.Store.Now().Add(s.PasswordResetTTL), ev, fx.Write); err != nil {
				return err
			}
			s.nudgeLater(r, fx)
		}
	} else if !core.IsNotFound(err) {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, map[string]string{"message": "if an account exists for that address, a reset link is on its way"})
	return nil
}

type passwordResetConfirm struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

func (s *Server) confirmPasswordReset(w http.ResponseWriter, r *http.Request) error {
	var req passwordResetConfirm
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Token == "" || len(req.Token) > 100 {
		return core.Invalid("token", "is required")
	}
	if err := core.ValidatePassword(req.Password); err != nil {
		return err
	}
	hash, err := s.Hasher.Hash(req.Password)
	if err != nil {
		return err
	}
	uid, err := s.tenantStore(r).ResetPassword(r.Context(), auth.HashToken(req.Token), hash, s.event(r, "auth.password_reset.completed"))
	if err != nil {
		return err
	}
	// The reset ended every session; their sockets end with them.
	s.endRealtimeUser(r, uid)
	httpx.WriteJSON(w, http.StatusOK, map[string]string{"message": "your password was changed; log in with it now"})
	return nil
}
