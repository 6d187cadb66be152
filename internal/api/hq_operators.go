package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/store"
)

// Operators manage operators. Every change lands on the platform chain.

func (s *Server) hqListOperators(w http.ResponseWriter, r *http.Request) error {
	os, err := s.Store.Operators(r.Context())
	if err != nil {
		return err
	}
	invs, err := s.Store.PendingOperatorInvitations(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"operators": os, "invitations": invs})
	return nil
}

type inviteOperatorRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// hqInviteOperator mails a single-use link to the newcomer, who opens it
// on admin.<domain> and chooses their own password there (then enrols a
// second factor): the inviting operator never learns it. The invitation
// machinery is the tenant one's (token, hash, TTL, mailer).
func (s *Server) hqInviteOperator(w http.ResponseWriter, r *http.Request) error {
	var req inviteOperatorRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	email, err := core.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	name, err := core.ValidateName("name", req.Name)
	if err != nil {
		return err
	}
	inviter := reqCtx(r).operator
	token, hash := auth.NewToken()
	ev := s.event(r, "hq.operator.invited")
	ev.Detail = email
	link := s.Hosts.AdminURL() + "/invitations/" + token
	body := fmt.Sprintf("Hello %s,\n\n%s invited you to become a Palisade HQ operator.\nWithin %s, open this link, choose your password and set up two-step verification:\n\n%s\n\nThe link works once. If you did not expect this, ignore this mail.\n",
		name, inviter.Name, core.HumanDuration(s.InvitationTTL), link)
	// The mail is written with the invitation, in its transaction.
	fx := s.effects(outbox.Mail(core.Mail{To: email, Subject: "You are invited to Palisade HQ", Body: body}))
	inv, err := s.Store.CreateOperatorInvitation(r.Context(), email, name, inviter.ID, hash, s.Store.Now().Add(s.InvitationTTL), ev, fx.Write)
	if err != nil {
		return err
	}
	s.nudge(r, fx)
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"invitation": inv})
	return nil
}

// hqLookupInvitation tells the accept page whom an invitation is for, or
// why it cannot be used (unknown 404, used 409, expired 422).
func (s *Server) hqLookupInvitation(w http.ResponseWriter, r *http.Request) error {
	hash, err := invitationToken(r.URL.Query().Get("token"))
	if err != nil {
		return err
	}
	inv, err := s.Store.OperatorInvitationByToken(r.Context(), hash)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"email": inv.Email, "name": inv.Name, "expires_at": inv.ExpiresAt})
	return nil
}

type acceptOperatorInvitationRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// hqAcceptInvitation creates the operator with the password they chose
// and logs them in: a login path, so the request's HQ session, whoever it
// was, is thrown away and a fresh one holds only this operator, still
// without a second factor (HQ sends them to enrolment).
func (s *Server) hqAcceptInvitation(w http.ResponseWriter, r *http.Request) error {
	var req acceptOperatorInvitationRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	hash, err := invitationToken(req.Token)
	if err != nil {
		return err
	}
	inv, err := s.Store.OperatorInvitationByToken(r.Context(), hash)
	if err != nil {
		return err
	}
	if err := core.ValidatePassword(req.Password); err != nil {
		return err
	}
	ph, err := s.Hasher.Hash(req.Password)
	if err != nil {
		return err
	}
	o, err := s.Store.AcceptOperatorInvitation(r.Context(), inv, ph, s.event(r, "hq.operator.invitation_accepted"))
	if err != nil {
		return err
	}
	if err := s.startOperatorSession(r, o.ID); err != nil {
		return err
	}
	reqCtx(r).operator = &o
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"operator": o})
	return nil
}

func (s *Server) hqDisableOperator(w http.ResponseWriter, r *http.Request) error {
	return s.setOperatorStatus(w, r, store.OperatorDisabled, "hq.operator.disabled")
}

func (s *Server) hqEnableOperator(w http.ResponseWriter, r *http.Request) error {
	return s.setOperatorStatus(w, r, store.OperatorActive, "hq.operator.enabled")
}

func (s *Server) setOperatorStatus(w http.ResponseWriter, r *http.Request, status, action string) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if status == store.OperatorDisabled && id == s.operatorID(r) {
		return core.Invalid("id", "you cannot disable yourself; ask another operator")
	}
	o, err := s.Store.SetOperatorStatus(r.Context(), id, status, s.event(r, action))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"operator": o})
	return nil
}

// ScannerStatus is what the health page shows of malware scanning. The
// files feature implements ScannerProbe; until it is wired the page says
// the scanner is not reported.
type ScannerStatus struct {
	ClamdReachable   bool      `json:"clamd_reachable"`
	SignatureVersion string    `json:"signature_version"`
	SignatureTime    time.Time `json:"signature_time"`
	PendingOverdue   int64     `json:"pending_overdue"`
	Infected24h      int64     `json:"infected_24h"`
	Error            string    `json:"error,omitempty"`
	// NotConfigured: no PALISADE_CLAMD_ADDR, a state (dev, the Lambda
	// scans) rather than a failure.
	NotConfigured bool `json:"not_configured,omitempty"`
}

// ScannerProbe reports the scanner's state (clamd reachable, signature
// version and age, files pending longer than the rescan threshold,
// infected files in the last 24 hours).
type ScannerProbe interface {
	ScannerStatus(ctx context.Context) (ScannerStatus, error)
}

// hqHealthSummary is the platform state HQ's health page shows beside the
// roles' own readiness: the scheduler heartbeat, queue depth and failures,
// the last audit verification and the scanner.
func (s *Server) hqHealthSummary(w http.ResponseWriter, r *http.Request) error {
	out := map[string]any{}
	hb, err := jobs.LastHeartbeat(r.Context(), s.Redis, s.RedisPrefix)
	if err != nil {
		out["heartbeat_error"] = err.Error()
	} else if !hb.IsZero() {
		out["heartbeat"] = hb
	}
	qs, fails, err := s.jobsInspector().Overview(r.Context(), 5)
	if err != nil {
		out["queues_error"] = err.Error()
	} else {
		if fails == nil {
			fails = []jobs.Job{}
		}
		out["queues"], out["failures"] = qs, fails
	}
	switch ev, err := s.Store.LastAuditVerification(r.Context()); {
	case err == nil:
		out["audit_verify"] = ev
	case !core.IsNotFound(err):
		return err
	}
	if s.Scanner != nil {
		st, err := s.Scanner.ScannerStatus(r.Context())
		if err != nil {
			st.Error = err.Error()
		}
		out["scanner"] = st
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
