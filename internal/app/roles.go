package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/store"
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
	return withEMF(ctx, cfg, log, "api", m, func(ctx context.Context) error {
		return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
			httpx.Server{Name: "api", Addr: addr(cfg, DefaultAPIAddr), Handler: srv},
			MetricsServer(m, health, cfg.MetricsAddr))
	})
}

// RunWeb serves the tenant site.
func RunWeb(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	m := obs.NewMetrics()
	health := &httpx.Health{DrainDelay: cfg.ShutdownDelay}
	srv, err := NewWeb(cfg, log, m, health)
	if err != nil {
		return err
	}
	return withEMF(ctx, cfg, log, "web", m, func(ctx context.Context) error {
		return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
			httpx.Server{Name: "web", Addr: addr(cfg, DefaultWebAddr), Handler: srv},
			MetricsServer(m, health, cfg.MetricsAddr))
	})
}

// RunHQ serves the operators' console.
func RunHQ(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	m := obs.NewMetrics()
	health := &httpx.Health{DrainDelay: cfg.ShutdownDelay}
	srv, err := NewHQ(cfg, log, m, health)
	if err != nil {
		return err
	}
	return withEMF(ctx, cfg, log, "hq", m, func(ctx context.Context) error {
		return httpx.ServeAll(ctx, log, health, cfg.ShutdownTimeout,
			httpx.Server{Name: "hq", Addr: addr(cfg, DefaultWebAddr), Handler: srv},
			MetricsServer(m, health, cfg.MetricsAddr))
	})
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
	users, err := RoleUsers(cfg)
	if err != nil {
		return err
	}
	if len(users) > 0 {
		if err := st.EnsureRoleUsers(ctx, users); err != nil {
			return fmt.Errorf("database role users: %w", err)
		}
		names := make([]string, 0, len(users))
		for _, u := range users {
			names = append(names, u.Role+"="+u.User)
		}
		log.Info("database role users up to date", "users", strings.Join(names, ","))
	}
	return nil
}

// RoleUsers reads the role users migrate maintains from the DSNs of
// PALISADE_DB_USER_* (resolved from Secrets Manager by config.Load).
func RoleUsers(cfg config.Config) ([]store.RoleUser, error) {
	var out []store.RoleUser
	for _, r := range []struct{ role, env, dsn string }{
		{"api", "DB_USER_API", cfg.DBUserAPI}, {"worker", "DB_USER_WORKER", cfg.DBUserWorker},
		{"hq", "DB_USER_HQ", cfg.DBUserHQ}, {"scanner", "DB_USER_SCANNER", cfg.DBUserScanner},
	} {
		if r.dsn == "" {
			continue
		}
		c, err := mysql.ParseDSN(r.dsn)
		if err != nil {
			return nil, &config.FieldError{Var: r.env, Msg: "not a MariaDB DSN"} // never the DSN itself: it holds the password
		}
		out = append(out, store.RoleUser{Role: r.role, User: c.User, Password: c.Passwd})
	}
	return out, nil
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
