package obs

import (
	"context"
	"log/slog"
	"slices"
	"strings"
)

// minSecretLen keeps a short value (a one-letter test password) from
// masking every occurrence of a common substring.
const minSecretLen = 6

// redactHandler writes *** in place of any configured secret, so a value
// that reaches a log line by another way than the masked configuration (a
// URL with a token in it, a library's message) is still hidden.
type redactHandler struct {
	slog.Handler
	r *strings.Replacer
}

func redact(h slog.Handler, secrets []string) slog.Handler {
	var pairs []string
	// Longest first, so a secret containing another is masked whole.
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		if len(s) >= minSecretLen {
			pairs = append(pairs, s, "***")
		}
	}
	if len(pairs) == 0 {
		return h
	}
	return redactHandler{h, strings.NewReplacer(pairs...)}
}

func (h redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.r.Replace(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.Handler.Handle(ctx, out)
}

func (h redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, h.r.Replace(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = h.attr(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	case slog.KindAny:
		// Errors and other values print through their String or Error
		// method; mask that text.
		// Only a value that holds a secret changes shape.
		if s, ok := stringOf(v.Any()); ok {
			if m := h.r.Replace(s); m != s {
				return slog.String(a.Key, m)
			}
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func stringOf(v any) (string, bool) {
	switch x := v.(type) {
	case error:
		return x.Error(), true
	case interface{ String() string }:
		return x.String(), true
	}
	return "", false
}

func (h redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	out := make([]slog.Attr, len(as))
	for i, a := range as {
		out[i] = h.attr(a)
	}
	return redactHandler{h.Handler.WithAttrs(out), h.r}
}

func (h redactHandler) WithGroup(n string) slog.Handler {
	return redactHandler{h.Handler.WithGroup(n), h.r}
}
