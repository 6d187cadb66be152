package api

import (
	"context"
	"net/http"
	"time"

	"github.com/palisade-hq/palisade/internal/outbox"
)

// A change's side effects (its mail) are outbox messages written in the
// change's own transaction; see internal/outbox.

// effects are msgs to pass, as their Write, to the store method making
// the change.
func (s *Server) effects(msgs ...outbox.Message) *outbox.Pending {
	return outbox.With(s.Store.Now, msgs...)
}

// nudgeTimeout bounds the nudge; a slower mailer is the worker's sweep's.
const nudgeTimeout = 15 * time.Second

// nudge delivers a committed change's messages at once, so an invitation
// mail is not left for the next sweep. Best effort: a failure is logged,
// not returned, because the messages are committed and the worker's
// outbox.deliver sweep retries them.
func (s *Server) nudge(r *http.Request, p *outbox.Pending) {
	if s.Outbox == nil || len(p.IDs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), nudgeTimeout)
	defer cancel()
	if err := s.Outbox.Deliver(ctx, p.IDs...); err != nil {
		s.Log.WarnContext(r.Context(), "outbox nudge failed; the worker retries", "outbox_ids", p.IDs, "err", err)
	}
}

// nudgeLater is nudge after the answer, for a change whose answer must
// not depend on the mail (a password reset's, which would tell an
// existing account from a missing one by a slow or failing relay).
func (s *Server) nudgeLater(r *http.Request, p *outbox.Pending) {
	rr := r.WithContext(context.WithoutCancel(r.Context()))
	s.later.Add(1)
	go func() {
		defer s.later.Done()
		s.nudge(rr, p)
	}()
}

// WaitNudges waits for the nudges still running after their answers; a
// message they miss is the worker's sweep's, so only tests need this.
func (s *Server) WaitNudges() { s.later.Wait() }
