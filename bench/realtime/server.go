package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/realtime"
)

// runServer runs one Palisade realtime replica until SIGINT/SIGTERM.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7001", "listen address")
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/0", "Redis URL")
	prefix := fs.String("prefix", "bench:realtime:", "Redis key prefix")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	_ = fs.Parse(args)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); _ = f.Close() }()
	}
	opt, err := redis.ParseURL(*redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opt)
	cfg := realtime.Config{
		AppID: "bench", AppKey: "bench-key", AppSecret: "bench-secret",
		MaxConnections: 100_000, RedisPrefix: *prefix,
		WriteBufferMessages: 1024,
	}
	s, err := realtime.NewServer(cfg, rdb, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil, nil)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	fmt.Printf("listening %s pid %d\n", ln.Addr(), os.Getpid())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = hs.Shutdown(sctx)
	return s.Shutdown(sctx)
}

// runWSLib holds idle WebSocket connections with one library, configured as
// the realtime server would use it, to compare the libraries' memory.
func runWSLib(args []string) error {
	fs := flag.NewFlagSet("wslib", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:7002", "listen address")
	lib := fs.String("lib", "gorilla", "gorilla or coder")
	_ = fs.Parse(args)
	var h http.HandlerFunc
	switch *lib {
	case "gorilla":
		up := gorilla.Upgrader{ReadBufferSize: 512, WriteBufferPool: &syncPool, CheckOrigin: func(*http.Request) bool { return true }}
		h = func(w http.ResponseWriter, r *http.Request) {
			c, err := up.Upgrade(w, r, nil)
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for {
					if _, _, err := c.ReadMessage(); err != nil {
						return
					}
				}
			}()
		}
	case "coder":
		h = func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
			if err != nil {
				return
			}
			go func() {
				defer c.CloseNow()
				for {
					if _, _, err := c.Read(context.Background()); err != nil {
						return
					}
				}
			}()
		}
	default:
		return fmt.Errorf("unknown -lib %q", *lib)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s pid %d\n", ln.Addr(), os.Getpid())
	go func() { _ = http.Serve(ln, h) }()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return nil
}
