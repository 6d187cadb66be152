package api

import (
	"net/http"

	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
)

// HQ's queue view (Horizon's role): counts per queue, recent failures and
// the dead jobs, with retry and delete. Jobs are platform-wide, so only
// operators on admin.<domain> reach these routes, and every change is
// audited as a platform event.

// queuesFailures is how many recent failures the overview lists.
const queuesFailures = 20

// deadPageSize is the page size of a queue's dead jobs.
const deadPageSize = 25

// jobsInspector is built per request: it holds no state beyond the
// shared Redis pool.
func (s *Server) jobsInspector() *jobs.Inspector { return jobs.NewInspector(s.Redis) }

func (s *Server) hqQueues(w http.ResponseWriter, r *http.Request) error {
	qs, fails, err := s.jobsInspector().Overview(r.Context(), queuesFailures)
	if err != nil {
		return err
	}
	if fails == nil {
		fails = []jobs.Job{}
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"queues": qs, "failures": fails})
	return nil
}

func (s *Server) hqDeadJobs(w http.ResponseWriter, r *http.Request) error {
	queue := r.PathValue("queue")
	if err := jobs.ValidQueue(queue); err != nil {
		return err
	}
	page, err := queryInt(r, "page", 1, 1, 10_000)
	if err != nil {
		return err
	}
	js, total, err := s.jobsInspector().Dead(r.Context(), queue, page, deadPageSize)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"jobs": js, "total": total, "page": page, "per_page": deadPageSize})
	return nil
}

func (s *Server) hqRetryDeadJob(w http.ResponseWriter, r *http.Request) error {
	queue, id := r.PathValue("queue"), r.PathValue("id")
	j, err := s.jobsInspector().RetryDead(r.Context(), queue, id)
	if err != nil {
		return err
	}
	if err := s.auditJob(r, "hq.job.retried", j); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"job": j})
	return nil
}

func (s *Server) hqDeleteDeadJob(w http.ResponseWriter, r *http.Request) error {
	queue, id := r.PathValue("queue"), r.PathValue("id")
	j, err := s.jobsInspector().DeleteDead(r.Context(), queue, id)
	if err != nil {
		return err
	}
	if err := s.auditJob(r, "hq.job.deleted", j); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// auditJob records an operator's action on a job. The action has already
// happened in Redis, which has no transaction with the database; a failed
// audit write is returned as an error so the operator sees it.
func (s *Server) auditJob(r *http.Request, action string, j jobs.Job) error {
	ev := s.event(r, action)
	ev.TenantID = nil
	ev.Target = "job:" + j.Queue + "/" + j.ID
	ev.Detail = j.Type
	if j.LastError != "" {
		ev.Detail += ": " + j.LastError
	}
	return s.Store.Audit(r.Context(), ev)
}
