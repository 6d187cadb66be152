package api

import (
	"log/slog"
	"net/http"

	"github.com/palisade-hq/palisade/internal/httpx"
)

// guardSessions wraps a session manager's LoadAndSave. The manager saves
// the session at the response's first byte (every request refreshes the
// idle timeout), after the handler has done its work; when the store fails
// then (Redis went away mid-request), SessionError has already answered,
// and the handler's own answer must not be appended to that error.
func guardSessions(loadAndSave func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		inner := loadAndSave(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(&sessionWriter{ResponseWriter: w}, r)
		})
	}
}

type sessionWriter struct {
	http.ResponseWriter
	failed bool
}

func (w *sessionWriter) WriteHeader(code int) {
	if !w.failed {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *sessionWriter) Write(b []byte) (int, error) {
	if w.failed {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *sessionWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// SessionError is the session managers' ErrorFunc: the store's failure is
// answered like any other error (a 503 when the store is unreachable), and
// nothing the handler writes afterwards reaches the client. The handler's
// work may have been done: a 503 never promises that it was not.
func SessionError(log *slog.Logger) func(http.ResponseWriter, *http.Request, error) {
	return func(w http.ResponseWriter, r *http.Request, err error) {
		sw, _ := w.(*sessionWriter)
		if sw != nil && sw.failed {
			return
		}
		httpx.WriteError(w, r, log, err)
		if sw != nil {
			sw.failed = true
		}
	}
}
