package devmode

import (
	"bufio"
	"context"
	"io"
	"log"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/palisade-hq/palisade/internal/config"
)

// logConfig prints what a developer needs to know of the configuration in
// one line; the whole of it (masked) is at debug level.
func logConfig(log *slog.Logger, cfg config.Config, environ []string, embedRedis, embedS3 bool) {
	redis, s3, clamd := cfg.RedisURL, cfg.S3Endpoint, cfg.ClamdAddr
	if embedRedis {
		redis = "embedded"
	}
	if embedS3 {
		s3 = "embedded " + cfg.S3Endpoint
	}
	if clamd == "" {
		clamd = "none (uploads stay pending)"
	}
	var set []string
	for _, kv := range environ {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, config.Prefix) {
			set = append(set, k)
		}
	}
	slices.Sort(set)
	if !embedRedis {
		redis = config.Mask(redis)
	}
	log.Info("configuration", "data", cfg.DevDataDir, "db", cfg.DBDriver, "redis", redis, "s3", s3,
		"mail", cfg.MailDriver, "clamd", clamd, "from_environment", strings.Join(set, ","))
	log.Debug("configuration (all)", "config", cfg)
}

var stray struct {
	mu    sync.Mutex
	users int
	undo  func()
}

// captureStrayOutput sends what libraries print to os.Stdout (versitygw's
// start-up notes) to log at debug level, and the standard log package's
// lines at info, until the returned function is called. Concurrent dev
// runs (tests) share one capture.
func captureStrayOutput(l *slog.Logger) (restore func()) {
	stray.mu.Lock()
	defer stray.mu.Unlock()
	stray.users++
	if stray.users == 1 {
		stray.undo = redirect(l)
	}
	return func() {
		stray.mu.Lock()
		defer stray.mu.Unlock()
		if stray.users--; stray.users == 0 {
			stray.undo()
		}
	}
}

func redirect(l *slog.Logger) func() {
	r, w, err := os.Pipe()
	if err != nil {
		l.Warn("cannot capture library output", "err", err)
		return func() {}
	}
	oldStdout := os.Stdout
	oldLogOut, oldFlags := log.Writer(), log.Flags()
	os.Stdout = w
	lw := lineLogger{l, slog.LevelInfo}
	log.SetOutput(lw)
	log.SetFlags(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				l.Debug(line)
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return func() {
		os.Stdout = oldStdout
		log.SetOutput(oldLogOut)
		log.SetFlags(oldFlags)
		_ = w.Close()
		<-done
		_ = r.Close()
	}
}

// lineLogger is an io.Writer for the standard log package: a line per record.
type lineLogger struct {
	l     *slog.Logger
	level slog.Level
}

func (w lineLogger) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			w.l.Log(context.Background(), w.level, line)
		}
	}
	return len(p), nil
}
