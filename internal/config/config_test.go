package config_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/palisade-hq/palisade/internal/config"
)

func env(m map[string]string) config.Getenv { return func(k string) string { return m[k] } }

func TestDefaultsAndParsing(t *testing.T) {
	cfg, err := config.Load(context.Background(), env(map[string]string{
		"PALISADE_SESSION_IDLE_TIMEOUT": "10m",
		"PALISADE_TRUSTED_PROXIES":      "10.0.0.0/16, 10.1.2.3",
	}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SessionIdle != 10*time.Minute || cfg.SessionAbsolute != 12*time.Hour || cfg.Env != "production" || cfg.LoginMaxPerAccount != 5 {
		t.Fatalf("unexpected config: %+v", cfg)
	}
	ps, _ := config.ParseCIDRs(cfg.TrustedProxies)
	if len(ps) != 2 || ps[1].Bits() != 32 {
		t.Fatalf("cidrs: %v", ps)
	}
}

// A bad value is reported with the variable's full name and why.
func TestValidationNamesTheVariable(t *testing.T) {
	cases := map[string]string{
		"PALISADE_SESSION_IDLE_TIMEOUT":       "soon",
		"PALISADE_LOGIN_MAX_FAILURES_ACCOUNT": "many",
		"PALISADE_ENV":                        "prod",
		"PALISADE_DB_DRIVER":                  "oracle",
		"PALISADE_TRUSTED_PROXIES":            "10.0.0.0/33",
		"PALISADE_CDN_PROXIES":                "173.245.48.0/33",
		"PALISADE_CLIENT_IP_HEADER":           "X-Forwarded-For",
		"PALISADE_BASE_URL":                   "http://palisade.example.com",
		"PALISADE_SMTP_URL":                   "mail.example.com",
	}
	for name, val := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(context.Background(), env(map[string]string{name: val}), nil, nil)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("error %v does not name %s", err, name)
			}
		})
	}
}

// PALISADE_BASE_URL is an origin whose host and port the tenant, admin and
// realtime hosts are built from: a port outside 1–65535 (the fuzzer's
// "http://0:0" gave an admin host that classified as unknown), an empty
// label, user info, a query or a fragment is refused by name.
func TestBaseURLMustBeAnOrigin(t *testing.T) {
	for _, base := range []string{"http://0:0", "http://localhost:0", "http://localhost:65536", "http://localhost:", "http://localhost:+80",
		"http://a..b", "http://.localhost", "http://u:p@localhost", "http://localhost?x=1", "http://localhost?", "http://localhost#f"} {
		t.Run(base, func(t *testing.T) {
			_, err := config.Load(context.Background(), env(map[string]string{"PALISADE_ENV": "dev", "PALISADE_BASE_URL": base}), nil, nil)
			if err == nil || !strings.Contains(err.Error(), "PALISADE_BASE_URL") {
				t.Fatalf("%q: error %v does not name PALISADE_BASE_URL", base, err)
			}
		})
	}
	for _, base := range []string{"http://localhost:3000", "http://localhost", "https://palisade.example.com.", "http://127.0.0.1:65535", "https://palisade.example.com/"} {
		if _, err := config.Load(context.Background(), env(map[string]string{"PALISADE_ENV": "dev", "PALISADE_BASE_URL": base}), nil, nil); err != nil {
			t.Errorf("%q refused: %v", base, err)
		}
	}
}

func TestLogValueMasksSecrets(t *testing.T) {
	cfg, err := config.Load(context.Background(), env(map[string]string{
		"PALISADE_DB_DSN":              "palisade:s3cret-db@tcp(db:3306)/palisade",
		"PALISADE_REDIS_URL":           "rediss://:s3cret-redis@cache:6379/0",
		"PALISADE_REALTIME_APP_SECRET": "s3cret-app",
		"PALISADE_SMTP_URL":            "smtp://user:s3cret-smtp@mail.example.com:587",
	}), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("config", "config", cfg)
	out := b.String()
	if strings.Contains(out, "s3cret") {
		t.Fatalf("a secret leaked into the log: %s", out)
	}
	for _, wantSub := range []string{`"DB_DRIVER":"mysql"`, `"REDIS_URL":"rediss://***@cache:6379"`, `"SESSION_IDLE_TIMEOUT":"30m0s"`} {
		if !strings.Contains(out, wantSub) {
			t.Errorf("log lacks %s: %s", wantSub, out)
		}
	}
}

// fakeSecretsManager speaks the GetSecretValue JSON protocol (AWS is the
// one service the tests may fake).
func fakeSecretsManager(t *testing.T, secrets map[string]string, calls *atomic.Int32) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if got := r.Header.Get("X-Amz-Target"); got != "secretsmanager.GetSecretValue" {
			t.Errorf("X-Amz-Target %q", got)
		}
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			t.Errorf("request is not SigV4-signed")
		}
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		v, ok := secrets[in.SecretId]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-2:123456789012:secret:" + in.SecretId, "Name": in.SecretId, "SecretString": v, "VersionId": "v1"})
	}))
}

func TestAWSSecretsResolver(t *testing.T) {
	var calls atomic.Int32
	srv := fakeSecretsManager(t, map[string]string{
		"palisade/prod/db":    `{"dsn":"palisade:pw@tcp(db:3306)/palisade","port":3306}`,
		"palisade/prod/redis": "rediss://:tok@cache:6379/0",
	}, &calls)
	defer srv.Close()
	client := secretsmanager.New(secretsmanager.Options{
		Region:       "eu-west-2",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	})
	resolver := config.NewAWSSecrets(client)
	cfg, err := config.Load(context.Background(), env(map[string]string{
		"PALISADE_DB_DSN":    "aws-sm://palisade/prod/db#dsn",
		"PALISADE_REDIS_URL": "aws-sm://palisade/prod/redis",
	}), resolver, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DBDSN != "palisade:pw@tcp(db:3306)/palisade" || cfg.RedisURL != "rediss://:tok@cache:6379/0" {
		t.Fatalf("resolved %q %q", cfg.DBDSN, cfg.RedisURL)
	}
	// A JSON key that holds a number comes back as its JSON text; the secret is fetched once.
	v, err := resolver.Resolve(context.Background(), "aws-sm://palisade/prod/db#port")
	if err != nil || v != "3306" {
		t.Fatalf("port: %q %v", v, err)
	}
	if calls.Load() != 2 {
		t.Fatalf("%d calls to Secrets Manager, want 2 (one per secret)", calls.Load())
	}

	for ref, wantSub := range map[string]string{
		"aws-sm://palisade/missing":      "ResourceNotFoundException",
		"aws-sm://palisade/prod/db#no":   `no key "no"`,
		"aws-sm://palisade/prod/redis#k": "not a JSON object",
		"aws-sm://":                      "names no secret",
	} {
		_, err := config.Load(context.Background(), env(map[string]string{"PALISADE_DB_DSN": ref}), resolver, nil)
		var fe *config.FieldError
		if !errors.As(err, &fe) || fe.Var != "DB_DSN" || !strings.Contains(err.Error(), wantSub) {
			t.Errorf("%s: got %v, want DB_DSN error containing %q", ref, err, wantSub)
		}
	}
	// Without a resolver a reference is an error, not a literal value.
	if _, err := config.Load(context.Background(), env(map[string]string{"PALISADE_DB_DSN": "aws-sm://x"}), nil, nil); err == nil {
		t.Fatal("aws-sm reference accepted without a resolver")
	}
}

func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"", "10.0.0.0/16", "10.0.0.1, ::1", "fe80::/10,1.2.3.4/32", "x/y", ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := config.ParseCIDRs(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("ParseCIDRs(%q) returned %v", s, p)
			}
		}
	})
}

var update = flag.Bool("update", false, "rewrite docs/configuration.md")

// TestConfigurationDoc keeps docs/configuration.md equal to the code.
func TestConfigurationDoc(t *testing.T) {
	const path = "../../docs/configuration.md"
	want := config.Markdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("docs/configuration.md is out of date: run go test ./internal/config -run TestConfigurationDoc -update")
	}
	for _, line := range strings.Split(want, "\n") {
		if strings.HasPrefix(line, "| `PALISADE_") && strings.HasSuffix(line, "|  |") {
			t.Errorf("variable without an explanation: %s", line)
		}
	}
}
