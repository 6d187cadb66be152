package app

import (
	"context"
	"log/slog"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
)

// Default listen addresses, matching the spec's container ports.
const (
	DefaultAPIAddr      = ":8000"
	DefaultWebAddr      = ":3000"
	DefaultRealtimeAddr = ":8080"
)

func addr(cfg config.Config, def string) string {
	if cfg.HTTPAddr != "" {
		return cfg.HTTPAddr
	}
	return def
}

// RunAPI serves the internal API until ctx ends.
func RunAPI(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rdb, err := OpenRedis(ctx, cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()
	m := obs.NewMetrics()
	health := &httpx.Health{DrainDelay: cfg.ShutdownDelay}
	srv, err := NewAPI(cfg, st, rdb, log, m, health, APIOptions{})
	if err != nil {
		return err
	}
	return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
		httpx.Server{Name: "api", Addr: addr(cfg, DefaultAPIAddr), Handler: srv},
		MetricsServer(m, health, cfg.MetricsAddr))
}

// RunWeb serves the tenant site.
func RunWeb(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	m := obs.NewMetrics()
	health := &httpx.Health{DrainDelay: cfg.ShutdownDelay}
	srv, err := NewWeb(cfg, log, m, health)
	if err != nil {
		return err
	}
	return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
		httpx.Server{Name: "web", Addr: addr(cfg, DefaultWebAddr), Handler: srv},
		MetricsServer(m, health, cfg.MetricsAddr))
}

// RunHQ serves the operators' console.
func RunHQ(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	m := obs.NewMetrics()
	health := &httpx.Health{DrainDelay: cfg.ShutdownDelay}
	srv, err := NewHQ(cfg, log, m, health)
	if err != nil {
		return err
	}
	return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
		httpx.Server{Name: "hq", Addr: addr(cfg, DefaultWebAddr), Handler: srv},
		MetricsServer(m, health, cfg.MetricsAddr))
}

// RunMigrate applies migrations and exits; the deploy pipeline runs it
// before new tasks start.
func RunMigrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx, log); err != nil {
		return err
	}
	log.Info("migrations up to date")
	return nil
}

// RunCreateOperator is `palisade hq create-operator`.
func RunCreateOperator(ctx context.Context, cfg config.Config, log *slog.Logger, email, name, password string) (core.Operator, error) {
	st, err := OpenStore(ctx, cfg)
	if err != nil {
		return core.Operator{}, err
	}
	defer st.Close()
	o, err := CreateOperator(ctx, st, auth.Hasher{P: auth.DefaultParams}, email, name, password)
	if err != nil {
		return core.Operator{}, err
	}
	log.Info("operator created", "operator_id", o.ID, "email", o.Email)
	return o, nil
}
