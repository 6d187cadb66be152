package api

import (
	"context"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/store"
)

// Operators manage operators. Every change lands on the platform chain.

func (s *Server) hqListOperators(w http.ResponseWriter, r *http.Request) error {
	os, err := s.Store.Operators(r.Context())
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"operators": os})
	return nil
}

type inviteOperatorRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// hqInviteOperator creates an operator with a one-time password, returned
// once to the inviting operator to hand over out of band. The newcomer
// must enrol a second factor at first login before HQ opens, so the
// password alone never grants access for long.
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
	password, _ := auth.NewToken()
	hash, err := s.Hasher.Hash(password)
	if err != nil {
		return err
	}
	ev := s.event(r, "hq.operator.invited")
	ev.Detail = email
	o, err := s.Store.CreateOperator(r.Context(), email, name, hash, ev)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, map[string]any{"operator": o, "one_time_password": password})
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
