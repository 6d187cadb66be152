// Package obs is Palisade's observability: logs that carry the request's
// ids from its context (JSON in production, one readable line per record
// in dev) with configured secrets masked, and Prometheus metrics.
package obs

import (
	"context"
	"io"
	"log/slog"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyTenantID
	keyUserID
)

// WithRequestID, WithTenantID and WithUserID annotate a context; every log
// line written with that context carries them.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, keyRequestID, id)
}

func WithTenantID(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, keyTenantID, id)
}

func WithUserID(ctx context.Context, id int64) context.Context {
	return context.WithValue(ctx, keyUserID, id)
}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// ctxHandler adds the context's ids to every record.
type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if v, ok := ctx.Value(keyRequestID).(string); ok {
		r.AddAttrs(slog.String("request_id", v))
	}
	if v, ok := ctx.Value(keyTenantID).(int64); ok {
		r.AddAttrs(slog.Int64("tenant_id", v))
	}
	if v, ok := ctx.Value(keyUserID).(int64); ok {
		r.AddAttrs(slog.Int64("user_id", v))
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(a []slog.Attr) slog.Handler { return ctxHandler{h.Handler.WithAttrs(a)} }
func (h ctxHandler) WithGroup(n string) slog.Handler      { return ctxHandler{h.Handler.WithGroup(n)} }

// NewLogger writes JSON lines to w (stdout in production, for CloudWatch).
// Any of secrets met in a message or a value is written as ***.
func NewLogger(w io.Writer, level string, role string, secrets ...string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: ParseLevel(level)})
	return slog.New(ctxHandler{redact(h, secrets)}).With("role", role)
}

// ParseLevel reads debug, info, warn or error; anything else is info.
func ParseLevel(level string) slog.Level {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return l
}
