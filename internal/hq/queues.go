package hq

import (
	"net/http"
	"net/url"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/jobs"
)

// The queue page: Horizon's view of the job queues, over the API's
// /api/hq/queues routes.

type deadQueue struct {
	Queue string     `json:"-"`
	Jobs  []jobs.Job `json:"jobs"`
	Total int        `json:"total"`
}

type queuesData struct {
	Queues   []jobs.QueueStats `json:"queues"`
	Failures []jobs.Job        `json:"failures"`
	Dead     []deadQueue       `json:"-"`
}

var queueFlashes = map[string]string{
	"retried": "The job is back on its queue for one more attempt.",
	"deleted": "The dead job was deleted.",
}

func (s *Server) queuesPage(w http.ResponseWriter, r *http.Request, o core.Operator) {
	var d queuesData
	if err := s.API.Call(w, r, http.MethodGet, "/api/hq/queues", nil, &d); err != nil {
		s.fail(w, r, err)
		return
	}
	for _, q := range jobs.QueueNames {
		dq := deadQueue{Queue: q}
		if err := s.API.Call(w, r, http.MethodGet, "/api/hq/queues/"+q+"/dead", nil, &dq); err != nil {
			s.fail(w, r, err)
			return
		}
		d.Dead = append(d.Dead, dq)
	}
	p := s.page(r, o, "Queues")
	p.Data, p.Flash = d, queueFlashes[r.URL.Query().Get("done")]
	s.Views.Render(w, http.StatusOK, "hq_queues", p)
}

// deadJobPath is the API path of the dead job named in the page's URL;
// the API validates both parts.
func deadJobPath(r *http.Request) string {
	return "/api/hq/queues/" + url.PathEscape(r.PathValue("queue")) + "/dead/" + url.PathEscape(r.PathValue("id"))
}

func (s *Server) retryDeadJob(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if err := s.API.Call(w, r, http.MethodPost, deadJobPath(r)+"/retry", nil, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/queues?done=retried", http.StatusSeeOther)
}

func (s *Server) deleteDeadJob(w http.ResponseWriter, r *http.Request, o core.Operator) {
	if err := s.API.Call(w, r, http.MethodDelete, deadJobPath(r), nil, nil); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/queues?done=deleted", http.StatusSeeOther)
}
