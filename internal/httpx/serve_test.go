package httpx_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/httpx"
)

// TestServeAllDrains: on shutdown readiness fails at once, a request in
// flight still completes, and ServeAll returns nil.
func TestServeAllDrains(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	health := &httpx.Health{}
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	health.Register(mux)
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- httpx.ServeAll(ctx, slog.New(slog.DiscardHandler), health, 10*time.Second, httpx.Server{Name: "t", Handler: mux, Listener: ln})
	}()
	base := "http://" + ln.Addr().String()
	slow := make(chan string, 1)
	go func() {
		res, err := http.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		slow <- string(b)
	}()
	<-started
	// Readiness before the drain.
	if res, err := http.Get(base + "/readyz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("readyz before drain: %v %v", err, res)
	}
	cancel()
	// The drain has begun when readiness fails; the listener stops accepting
	// soon after, so poll only until either is seen.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !health.Ready() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if health.Ready() {
		t.Fatal("readiness did not fail when draining started")
	}
	close(release)
	if got := <-slow; got != "done" {
		t.Fatalf("in-flight request: %q", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("ServeAll: %v", err)
	}
}
