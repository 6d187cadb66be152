package api

import (
	"net/http"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
)

// dashboardActivity is how many recent events the home page shows.
const dashboardActivity = 10

// Onboarding steps, in the order the home page lists them.
const (
	stepInvite     = "invite_teammate"
	stepTwoFactor  = "two_factor"
	stepUploadFile = "upload_file"
	stepAPIToken   = "api_token"
)

type dashboardCounts struct {
	Members int64 `json:"members"`
	// PendingInvitations is only for those who manage invitations.
	PendingInvitations *int64           `json:"pending_invitations,omitempty"`
	Files              int64            `json:"files"`
	FilesByStatus      map[string]int64 `json:"files_by_status"`
	StorageBytes       int64            `json:"storage_bytes"`
}

type checklistItem struct {
	ID   string `json:"id"`
	Done bool   `json:"done"`
}

type dashboardResponse struct {
	Role      core.Role       `json:"role"`
	CanManage bool            `json:"can_manage"`
	Counts    dashboardCounts `json:"counts"`
	// ActivityScope says whose events Activity holds: the whole tenant's
	// for those who may read the audit trail, else the member's own.
	ActivityScope string          `json:"activity_scope"`
	Activity      []core.AuditRow `json:"activity"`
	Checklist     []checklistItem `json:"checklist"`
}

// dashboard is the tenant home page's data: counts, recent activity and
// the onboarding checklist. Every query goes through the request's tenant
// handle, so nothing of another tenant can appear in it. What a member may
// not see elsewhere (invitations, the tenant's audit trail) is left out.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	rc := reqCtx(r)
	ts := s.tenantStore(r)
	ctx := r.Context()
	uid := rc.member.UserID
	manage := rc.member.Role.CanManageMembers()

	c, err := ts.DashboardCounts(ctx)
	if err != nil {
		return err
	}
	out := dashboardResponse{
		Role: rc.member.Role, CanManage: manage,
		Counts: dashboardCounts{Members: c.Members, Files: c.Files, FilesByStatus: c.FilesByStatus, StorageBytes: c.StorageBytes},
	}
	var evs []core.AuditEvent
	if manage {
		out.Counts.PendingInvitations = &c.PendingInvitations
		out.ActivityScope = "tenant"
		evs, err = ts.AuditEvents(ctx, 0, dashboardActivity)
	} else {
		out.ActivityScope = "own"
		evs, err = ts.AuditEventsBy(ctx, uid, dashboardActivity)
	}
	if err != nil {
		return err
	}
	if out.Activity, err = s.Store.AuditNames(ctx, evs); err != nil {
		return err
	}

	twoFactor, err := ts.HasSecondFactor(ctx, uid)
	if err != nil {
		return err
	}
	token, err := ts.HasCreatedAPIToken(ctx, uid)
	if err != nil {
		return err
	}
	if manage {
		out.Checklist = append(out.Checklist, checklistItem{stepInvite, c.InvitationsSent > 0 || c.Members > 1})
	}
	out.Checklist = append(out.Checklist,
		checklistItem{stepTwoFactor, twoFactor},
		checklistItem{stepUploadFile, c.Files > 0},
		checklistItem{stepAPIToken, token},
	)
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
