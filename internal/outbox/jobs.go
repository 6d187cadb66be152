package outbox

import (
	"context"
	"fmt"
	"time"

	"github.com/palisade-hq/palisade/internal/jobs"
)

// DeliverDue sweeps the outbox: every due message is delivered or
// rescheduled. The API's nudge delivers most mail before this runs; the
// sweep is for what the nudge could not (the mailer was down, the process
// died after its commit) and for the kinds only the worker sends.
// Two sweeps at once are safe: each message is claimed by a lease.
var DeliverDue = jobs.Define[jobs.Empty]("outbox.deliver", jobs.Options{Queue: jobs.QueueCritical, MaxAttempts: 1, Timeout: 5 * time.Minute})

// Register wires the outbox job; the worker role calls it with a deliverer
// that has every sender it can build.
func Register(r *jobs.Registry, d *Deliverer) {
	jobs.Handle(r, DeliverDue, func(ctx context.Context, _ jobs.Empty) error {
		if d == nil || d.Store == nil {
			return jobs.Permanent(fmt.Errorf("no database configured on this worker"))
		}
		n, err := d.DeliverDue(ctx)
		if n > 0 {
			d.log().InfoContext(ctx, "outbox messages delivered", "messages", n)
		}
		return err
	})
}
