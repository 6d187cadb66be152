package app

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/outbox"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
	"github.com/palisade-hq/palisade/internal/store"
)

// OutboxDeliverer is the worker's outbox deliverer, with every sender the
// configuration allows. A sender it lacks leaves that kind's messages
// pending rather than dead, so a fixed configuration delivers them.
func OutboxDeliverer(cfg config.Config, st *store.Store, rdb redis.UniversalClient, log *slog.Logger) *outbox.Deliverer {
	if st == nil {
		return nil
	}
	d := &outbox.Deliverer{Store: st, Mailer: filesMailer(cfg, st, log), Log: log}
	if rdb != nil {
		d.Jobs = &outbox.JobQueue{Client: jobs.NewClient(rdb)}
	}
	if cfg.RealtimeAppKey != "" && cfg.RealtimeAPIURL != "" {
		d.Realtime = publish.New(cfg.RealtimeAPIURL, cfg.RealtimeAppID, cfg.RealtimeAppKey, cfg.RealtimeAppSecret, &http.Client{Timeout: 10 * time.Second})
	}
	return d
}
