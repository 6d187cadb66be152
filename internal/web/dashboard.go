package web

import (
	"net/http"

	"github.com/palisade-hq/palisade/internal/core"
)

// dashboardAPI is GET /api/dashboard as the home page reads it.
type dashboardAPI struct {
	CanManage bool `json:"can_manage"`
	Counts    struct {
		Members            int64            `json:"members"`
		PendingInvitations *int64           `json:"pending_invitations"`
		Files              int64            `json:"files"`
		FilesByStatus      map[string]int64 `json:"files_by_status"`
		StorageBytes       int64            `json:"storage_bytes"`
	} `json:"counts"`
	ActivityScope string          `json:"activity_scope"`
	Activity      []core.AuditRow `json:"activity"`
	Checklist     []struct {
		ID   string `json:"id"`
		Done bool   `json:"done"`
	} `json:"checklist"`
}

// scanStat is one file count by scan status, in the words the files page uses.
type scanStat struct {
	Status string
	Label  string
	Count  int64
}

// checkStep is one onboarding step with where to do it.
type checkStep struct {
	ID, Label, Hint, Href string
	Done                  bool
}

type dashboardData struct {
	dashboardAPI
	Scans []scanStat
	Steps []checkStep
	Left  int
}

// onboarding says each checklist step of the API for people.
var onboarding = map[string]checkStep{
	"invite_teammate": {Label: "Invite a teammate", Hint: "Send an invitation from the members page.", Href: "/members#invite-email"},
	"two_factor":      {Label: "Turn on two-step verification", Hint: "Add an authenticator app or a passkey.", Href: "/security#mfa"},
	"upload_file":     {Label: "Upload a file", Hint: "Every upload is scanned for malware.", Href: "/files"},
	"api_token":       {Label: "Create an API token", Hint: "For scripts that use the API.", Href: "/security#tokens-card"},
}

// dashboard is the tenant's home page: counts, recent activity and the
// onboarding checklist, all from GET /api/dashboard, which leaves out what
// the member may not see.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, t tenantInfo) {
	m, err := s.me(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var api dashboardAPI
	if err := s.API.Call(w, r, http.MethodGet, "/api/dashboard", nil, &api); err != nil {
		s.fail(w, r, err)
		return
	}
	d := dashboardData{dashboardAPI: api}
	for _, st := range []string{"clean", "pending", "infected", "error"} {
		d.Scans = append(d.Scans, scanStat{Status: st, Label: fileRow{Status: st}.Badge(), Count: api.Counts.FilesByStatus[st]})
	}
	for _, c := range api.Checklist {
		step, ok := onboarding[c.ID]
		if !ok {
			continue
		}
		step.ID, step.Done = c.ID, c.Done
		if !c.Done {
			d.Left++
		}
		d.Steps = append(d.Steps, step)
	}
	p := s.page(t, m, "Home")
	p.Flash, p.Data = flash(r), d
	s.Views.Render(w, http.StatusOK, "dashboard", p)
}
