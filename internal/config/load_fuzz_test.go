package config_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/config"
)

// leafErrors flattens errors.Join trees.
func leafErrors(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// FuzzLoad sets one or two PALISADE_* variables (picked by index from the
// Config struct, so a new variable is fuzzed without touching this test) to
// arbitrary text on top of the defaults. Properties: Load never panics; a
// success holds exactly the value given (trimmed, parsed as the field's
// type) and masks it in the log if it is a secret; a failure is made only of
// FieldErrors naming real variables, and its text names a variable that was
// set, so an operator knows which one to fix.
func FuzzLoad(f *testing.F) {
	t := reflect.TypeFor[config.Config]()
	index := map[string]uint16{}
	names := map[string]bool{}
	for i := range t.NumField() {
		index[t.Field(i).Tag.Get("env")] = uint16(i)
		names[t.Field(i).Tag.Get("env")] = true
	}
	for _, s := range []struct{ a, va, b, vb string }{
		{"SESSION_IDLE_TIMEOUT", "10m", "TRUSTED_PROXIES", "10.0.0.0/16, 10.1.2.3"},
		{"SESSION_IDLE_TIMEOUT", "13h", "ENV", "production"},
		{"SESSION_IDLE_TIMEOUT", "-1s", "ENV", "dev"},
		{"WORKER_CONCURRENCY", "0x10", "WORKER_DRAIN_TIMEOUT", "1h"},
		{"LOGIN_MAX_FAILURES_ACCOUNT", "99999999999999999999", "RATE_LIMIT_PERIOD", "9223372036854775807ns"},
		{"BASE_URL", "http://palisade.example.com", "ENV", "staging"},
		{"BASE_URL", "https://palisade.example.com/path", "API_URL", "::"},
		{"SMTP_URL", "smtp://user:hunter2secret@mail.example.com:587", "MAIL_DRIVER", "smtp"},
		{"DB_DSN", "palisade:hunter2secret@tcp(db:3306)/palisade", "REDIS_URL", "rediss://:hunter2secret@cache:6379/0"},
		{"DB_DSN", "aws-sm://prod/db#dsn", "ENV", "test"},
		{"S3_ENDPOINT", "http://[::1]:7070", "S3_PATH_STYLE", "sometimes"},
		{"SCAN_MAX_BYTES", "0", "FILES_MAX_BYTES", "10"},
		{"CLAMD_TIMEOUT", "1ms", "FILES_RESCAN_AFTER", "1h"},
		{"HEALTH_TARGETS", "api=http://api:8080/readyz,api=http://x", "HEALTH_REALTIME_METRICS", "http://rt:9090/metrics, nope"},
		{"REALTIME_URL", "https://wss.example.com", "OUTBOUND_ALLOW", "10.0.0.0/33"},
		{"SCHEDULER_EVERY", "1500ms", "HQ_BREAK_GLASS_MAX", "25h"},
	} {
		f.Add(index[s.a], s.va, index[s.b], s.vb)
	}
	f.Fuzz(func(tt *testing.T, ia uint16, va string, ib uint16, vb string) {
		fa, fb := t.Field(int(ia)%t.NumField()), t.Field(int(ib)%t.NumField())
		env := map[string]string{config.Prefix + fa.Tag.Get("env"): va}
		if fb.Name != fa.Name {
			env[config.Prefix+fb.Tag.Get("env")] = vb
		}
		cfg, err := config.Load(context.Background(), func(k string) string { return env[k] }, nil, nil)
		if err == nil {
			got := reflect.ValueOf(cfg)
			for k, v := range env {
				if v == "" {
					continue // unset: the default applies
				}
				name := strings.TrimPrefix(k, config.Prefix)
				field := t.Field(int(index[name]))
				want, perr := parseAs(field.Type, v)
				if perr != nil {
					tt.Fatalf("Load accepted %s=%q, which does not parse as %s: %v", k, v, field.Type, perr)
				}
				if g := got.FieldByIndex(field.Index).Interface(); g != want {
					tt.Fatalf("Load(%s=%q) holds %#v, want %#v", k, v, g, want)
				}
				if field.Tag.Get("secret") == "true" {
					checkMasked(tt, cfg, name, strings.TrimSpace(v))
				}
			}
			return
		}
		named := false
		for _, e := range leafErrors(err) {
			var fe *config.FieldError
			if !errors.As(e, &fe) || !names[fe.Var] || fe.Msg == "" || !strings.HasPrefix(e.Error(), config.Prefix+fe.Var+": ") {
				tt.Fatalf("Load error %q is not a FieldError naming a variable", e)
			}
		}
		for k := range env {
			named = named || strings.Contains(err.Error(), strings.TrimPrefix(k, config.Prefix))
		}
		if !named {
			tt.Fatalf("setting %v gave an error that names none of them: %v", env, err)
		}
	})
}

func parseAs(typ reflect.Type, raw string) (any, error) {
	raw = strings.TrimSpace(raw)
	switch typ {
	case reflect.TypeFor[string]():
		return raw, nil
	case reflect.TypeFor[int]():
		return strconv.Atoi(raw)
	case reflect.TypeFor[time.Duration]():
		return time.ParseDuration(raw)
	}
	return nil, fmt.Errorf("no parser for %s", typ)
}

// checkMasked: a secret never reaches the log. A URL keeps its scheme and
// host (not secret, and needed to debug); nothing else of it is shown.
func checkMasked(t *testing.T, cfg config.Config, name, value string) {
	var logged string
	for _, a := range cfg.LogValue().Group() {
		if a.Key == name {
			logged = a.Value.String()
		}
	}
	if value == "" {
		return
	}
	if u, err := url.Parse(value); err == nil && u.Scheme != "" && u.Host != "" {
		if logged != u.Scheme+"://***@"+u.Host {
			t.Fatalf("secret %s=%q logged as %q", name, value, logged)
		}
		return
	}
	if logged != "***" {
		t.Fatalf("secret %s=%q logged as %q", name, value, logged)
	}
}
