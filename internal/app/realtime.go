package app

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/api"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/realtime"
	"github.com/palisade-hq/palisade/internal/realtime/channels"
	"github.com/palisade-hq/palisade/internal/realtime/publish"
)

// NewRealtime builds the Pusher-protocol server from the configuration.
// sink receives channel webhooks (nil turns them off).
func NewRealtime(cfg config.Config, rdb redis.UniversalClient, log *slog.Logger, reg prometheus.Registerer, sink realtime.WebhookSink) (*realtime.Server, error) {
	if err := cfg.RequireRealtime(); err != nil {
		return nil, err
	}
	return realtime.NewServer(realtime.Config{
		AppID:                 cfg.RealtimeAppID,
		AppKey:                cfg.RealtimeAppKey,
		AppSecret:             cfg.RealtimeAppSecret,
		MaxConnections:        cfg.RealtimeMaxConnections,
		TenantMaxConnections:  cfg.RealtimeTenantMaxConnections,
		MaxMessageBytes:       cfg.RealtimeMaxMessageBytes,
		ClientEventsPerSecond: cfg.RealtimeClientEventsPerSec,
		ActivityTimeout:       cfg.RealtimeActivityTimeout,
		PongTimeout:           cfg.RealtimePongTimeout,
		WebhookURL:            cfg.RealtimeWebhookURL,
		RedisPrefix:           cfg.RedisPrefix + "realtime:",
	}, rdb, log, reg, sink)
}

// realtimeEncryptionKey is the validated master key of encrypted channels
// (config.Load checked it is base64 of 32 bytes), or nil.
func realtimeEncryptionKey(cfg config.Config) []byte {
	k, err := base64.StdEncoding.DecodeString(cfg.RealtimeEncryptionMasterKey)
	if err != nil || len(k) != channels.EncryptionMasterKeyLen {
		return nil
	}
	return k
}

// realtimeTerminator is what the api calls to close sockets when access
// ends; nil (a nil interface, not a nil pointer) without realtime.
func realtimeTerminator(cfg config.Config) api.RealtimeTerminator {
	if cfg.RequireRealtime() != nil {
		return nil
	}
	return publish.New(cfg.RealtimeAPIURL, cfg.RealtimeAppID, cfg.RealtimeAppKey, cfg.RealtimeAppSecret, &http.Client{Timeout: 5 * time.Second})
}

// WebhookSink hands channel webhooks to the job queue, so the socket loop
// never waits on the tenant's endpoint; nil when no webhook URL is set.
func WebhookSink(cfg config.Config, rdb redis.UniversalClient) realtime.WebhookSink {
	if cfg.RealtimeWebhookURL == "" {
		return nil
	}
	return realtime.QueueSink{Client: jobs.NewClient(rdb)}
}

// RealtimeHandler serves the realtime port: the WebSocket and HTTP API of
// the Pusher protocol, plus health.
func RealtimeHandler(rt *realtime.Server, health *httpx.Health) http.Handler {
	mux := http.NewServeMux()
	health.Register(mux)
	mux.Handle("/", rt.Handler())
	return mux
}

// RunRealtime serves the realtime role until ctx ends; on SIGTERM sockets
// are told to reconnect (4200) to another replica before the port closes.
func RunRealtime(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	rdb, err := OpenRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	m := obs.NewMetrics()
	health := &httpx.Health{}
	health.Check("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	rt, err := NewRealtime(cfg, rdb, log, m.Registry, WebhookSink(cfg, rdb))
	if err != nil {
		return err
	}
	return withEMF(ctx, cfg, log, "realtime", m, func(ctx context.Context) error {
		return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
			httpx.Server{Name: "realtime", Addr: addr(cfg, DefaultRealtimeAddr), Handler: RealtimeHandler(rt, health),
				BeforeShutdown: func(ctx context.Context) {
					if err := rt.Shutdown(ctx); err != nil {
						log.Warn("realtime shutdown", "err", err)
					}
				}},
			MetricsServer(m, health, cfg.MetricsAddr))
	})
}
