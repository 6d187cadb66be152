package httpx

import (
	"database/sql/driver"
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/wire"
)

// CodeUnavailable is the error code of a 503: a dependency (database,
// Redis) is away for a moment; the same request may be retried.
const CodeUnavailable = "unavailable"

// retryAfterUnavailable is the Retry-After of a 503, in seconds: a Redis
// failover or a database restart takes seconds, not minutes.
const retryAfterUnavailable = "5"

// DependencyDown reports whether err means a dependency could not be
// reached or dropped the connection (refused, reset, shutting down,
// loading its data), as opposed to a bug: such a request gets a clean 503
// with Retry-After instead of a 500.
func DependencyDown(err error) bool {
	if err == nil {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, redis.ErrPoolTimeout) {
		return true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1053, // ER_SERVER_SHUTDOWN
			1927, // ER_CONNECTION_KILLED
			2006, // CR_SERVER_GONE_ERROR
			2013: // CR_SERVER_LOST
			return true
		}
	}
	var re redis.Error
	if errors.As(err, &re) {
		msg := re.Error()
		return strings.HasPrefix(msg, "LOADING ") || strings.HasPrefix(msg, "MASTERDOWN ") || strings.HasPrefix(msg, "READONLY ")
	}
	return false
}

// writeUnavailable answers a request whose dependency is down.
func writeUnavailable(w http.ResponseWriter, requestID string) {
	w.Header().Set("Retry-After", retryAfterUnavailable)
	WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{ErrorDetail{Code: CodeUnavailable, Kind: wire.KindUnavailable, Reason: wire.ReasonDependencyDown,
		Message: "the service is briefly unavailable; try again in a few seconds (request id " + requestID + ")"}})
}
