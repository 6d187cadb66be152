// Package httpx holds what every Palisade HTTP server shares: JSON in and
// out, the error mapping, middleware, client IPs and graceful serving.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/wire"
)

// MaxJSONBody bounds every JSON request body.
const MaxJSONBody = 64 << 10

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// ErrorBody is the JSON shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong in words a user can act on. Kind (and
// Reason, where set) is what clients branch on; Field only names the input
// at fault.
type ErrorDetail struct {
	Code    string    `json:"code"`
	Kind    wire.Kind `json:"kind"`
	Reason  string    `json:"reason,omitempty"`
	Message string    `json:"message"`
	Field   string    `json:"field,omitempty"`
}

// StatusOf maps a domain error kind to an HTTP status.
func StatusOf(kind core.Kind) int {
	switch kind {
	case core.KindInvalid:
		return http.StatusUnprocessableEntity
	case core.KindNotFound:
		return http.StatusNotFound
	case core.KindConflict:
		return http.StatusConflict
	case core.KindForbidden, core.KindSuspended:
		return http.StatusForbidden
	case core.KindUnauthenticated:
		return http.StatusUnauthorized
	case core.KindThrottled:
		return http.StatusTooManyRequests
	default:
		return http.StatusInternalServerError
	}
}

// KindOf is the wire kind of a domain error: its kind, unless its reason
// is a kind of its own (the steps of logging in further).
func KindOf(e *core.Error) wire.Kind {
	switch e.Kind {
	case core.KindInvalid:
		return wire.KindValidation
	case core.KindNotFound:
		return wire.KindNotFound
	case core.KindConflict:
		return wire.KindConflict
	case core.KindForbidden:
		if k, ok := wire.ReasonKind(e.Reason); ok {
			return k
		}
		return wire.KindForbidden
	case core.KindSuspended:
		return wire.KindForbidden
	case core.KindUnauthenticated:
		return wire.KindUnauthenticated
	case core.KindThrottled:
		return wire.KindRateLimited
	default:
		return wire.KindInternal
	}
}

// reasonOf is the error's reason; a suspended tenant has one of its kind.
func reasonOf(e *core.Error) string {
	if e.Reason == "" && e.Kind == core.KindSuspended {
		return wire.ReasonTenantSuspended
	}
	return e.Reason
}

// WriteError answers with the error's status and message. Internal errors
// are logged with the request id and shown only as a generic message.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *core.Error
	if !errors.As(err, &e) && DependencyDown(err) {
		log.WarnContext(r.Context(), "dependency unavailable", "err", err, "method", r.Method, "path", LogPath(r.URL.Path))
		writeUnavailable(w, obs.RequestID(r.Context()))
		return
	}
	if !errors.As(err, &e) {
		log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", LogPath(r.URL.Path))
		WriteJSON(w, http.StatusInternalServerError, ErrorBody{ErrorDetail{Code: string(core.KindInternal), Kind: wire.KindInternal,
			Message: "something went wrong on our side; the request id is " + obs.RequestID(r.Context())}})
		return
	}
	if e.Kind == core.KindInternal {
		log.ErrorContext(r.Context(), "internal error", "err", err)
	}
	if e.Kind == core.KindThrottled && e.RetryAfterSeconds > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfterSeconds))
	}
	reason, field := reasonOf(e), e.Field
	if field == "" {
		field = wire.LegacyField(reason) // for a BFF of the previous release; see wire.LegacyField
	}
	WriteJSON(w, StatusOf(e.Kind), ErrorBody{ErrorDetail{Code: string(e.Kind), Kind: KindOf(e), Reason: reason, Message: e.Message, Field: field}})
}

// DecodeJSON reads one JSON object into dst, refusing other content types,
// bodies over the limit, unknown fields and trailing data, each with a
// message that says which.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &core.Error{Kind: core.KindInvalid, Message: "the body must be JSON (Content-Type: application/json)"}
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxJSONBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return core.Errorf(core.KindInvalid, "the body must hold a single JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return core.Errorf(core.KindInvalid, "the body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		syntax  *json.SyntaxError
		typeErr *json.UnmarshalTypeError
		tooBig  *http.MaxBytesError
	)
	switch {
	case errors.As(err, &syntax):
		return core.Errorf(core.KindInvalid, "malformed JSON at byte %d", syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return core.Errorf(core.KindInvalid, "malformed JSON: the body ends too early")
	case errors.As(err, &typeErr):
		return &core.Error{Kind: core.KindInvalid, Field: typeErr.Field, Message: fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type)}
	case errors.As(err, &tooBig):
		return core.Errorf(core.KindInvalid, "the body is larger than %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return core.Errorf(core.KindInvalid, "the body is empty; a JSON object is required")
	default:
		if msg := err.Error(); len(msg) > 20 && msg[:20] == "json: unknown field " {
			return core.Errorf(core.KindInvalid, "unknown field %s", msg[20:])
		}
		return core.Errorf(core.KindInvalid, "malformed JSON: %v", err)
	}
}
