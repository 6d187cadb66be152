package obs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NewDevLogger writes one short line per record for a developer's
// terminal (`palisade dev`): time, level, the component (the server
// attribute), the message and the remaining attributes as key=value.
// Request lines read "GET /path 200 1.2ms". Secrets are masked as in
// NewLogger.
func NewDevLogger(w io.Writer, level string, secrets ...string) *slog.Logger {
	h := &devHandler{out: &devOutput{w: w}, level: ParseLevel(level)}
	return slog.New(ctxHandler{redact(h, secrets)})
}

type devOutput struct {
	mu sync.Mutex
	w  io.Writer
}

type devHandler struct {
	out       *devOutput
	level     slog.Level
	component string
	prefix    string // group prefix of later keys, "a.b."
	attrs     []byte // pre-formatted " key=value" pairs from With
}

func (h *devHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *devHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = bytes.Clone(h.attrs)
	for _, a := range as {
		if a.Key == "server" && h.prefix == "" {
			c.component = a.Value.String()
			continue
		}
		c.attrs = appendAttr(c.attrs, h.prefix, a)
	}
	return &c
}

func (h *devHandler) WithGroup(n string) slog.Handler {
	if n == "" {
		return h
	}
	c := *h
	c.prefix = h.prefix + n + "."
	return &c
}

func (h *devHandler) Handle(_ context.Context, r slog.Record) error {
	var b []byte
	b = r.Time.AppendFormat(b, "15:04:05.000")
	b = append(b, ' ')
	b = append(b, fmt.Sprintf("%-5s", r.Level.String())...)
	component := h.component
	var rest []slog.Attr
	req := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool {
		switch {
		case a.Key == "server" && h.prefix == "":
			component = a.Value.String()
		case r.Message == "request" && h.prefix == "" && isRequestKey(a.Key):
			req[a.Key] = a.Value.Resolve()
		case a.Key == "role" || a.Key == "request_id":
			// One process, one role; request ids only help across services.
		default:
			rest = append(rest, a)
		}
		return true
	})
	if component != "" {
		b = append(b, ' ')
		b = append(b, fmt.Sprintf("%-8s", component)...)
	}
	b = append(b, ' ')
	if r.Message == "request" && len(req) > 0 {
		b = append(b, req["method"].String()...)
		b = append(b, ' ')
		b = append(b, req["path"].String()...)
		b = append(b, ' ')
		b = append(b, req["status"].String()...)
		if d, ok := req["duration_ms"]; ok {
			b = append(b, ' ')
			b = strconv.AppendFloat(b, d.Float64(), 'f', 1, 64)
			b = append(b, "ms"...)
		}
	} else {
		b = append(b, r.Message...)
	}
	b = append(b, h.attrs...)
	for _, a := range rest {
		b = appendAttr(b, h.prefix, a)
	}
	b = append(b, '\n')
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(b)
	return err
}

// The request line's own fields; route and bytes add nothing a developer reads.
func isRequestKey(k string) bool {
	switch k {
	case "method", "path", "status", "duration_ms", "route", "bytes":
		return true
	}
	return false
}

func appendAttr(b []byte, prefix string, a slog.Attr) []byte {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return b
	}
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, x := range v.Group() {
			b = appendAttr(b, p, x)
		}
		return b
	}
	b = append(b, ' ')
	b = append(b, prefix...)
	b = append(b, a.Key...)
	b = append(b, '=')
	var s string
	switch v.Kind() {
	case slog.KindDuration:
		s = v.Duration().String()
	case slog.KindTime:
		s = v.Time().Format(time.RFC3339)
	default:
		s = v.String()
	}
	if s == "" || strings.ContainsAny(s, " \t\n\"=") {
		s = strconv.Quote(s)
	}
	return append(b, s...)
}
