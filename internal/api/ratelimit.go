package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/tenancy"
)

// RateLimits are the request limits of the API. The auth class covers the
// endpoints an attacker would hammer (log in, sign up, reset a password,
// accept an invitation, answer an MFA challenge); the api class covers the
// rest. Each class is counted per client IP and per tenant.
type RateLimits struct {
	APIPerIP, APIPerTenant, AuthPerIP, AuthPerTenant auth.Limit
}

// authPath reports whether a path belongs to the auth class.
func authPath(p string) bool {
	for _, pre := range []string{"/api/auth/", "/api/hq/auth/", "/api/signup", "/api/invitations/accept", "/api/invitation-lookup"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// limit applies the per-IP and per-tenant limits before anything else runs
// (no database work for a refused request). The tenant is named by the
// request's host, so a flood spread over many addresses still meets one
// tenant-wide limit, and one address cannot exhaust several tenants' API.
// The response carries RateLimit-Limit/Remaining/Reset for the tighter of
// the two counters, and Retry-After when refused.
func (s *Server) limit(next http.Handler) http.Handler {
	return s.h(func(w http.ResponseWriter, r *http.Request) error {
		class, perIP, perTenant := "api", s.RateLimits.APIPerIP, s.RateLimits.APIPerTenant
		if authPath(r.URL.Path) {
			class, perIP, perTenant = "auth", s.RateLimits.AuthPerIP, s.RateLimits.AuthPerTenant
		}
		rl := &auth.RateLimiter{Redis: s.Redis, Prefix: s.RedisPrefix}
		d, err := rl.Allow(r.Context(), class+":ip:"+s.clientIP(r), perIP)
		if err != nil {
			return err
		}
		scope := "address"
		if kind, slug := s.Hosts.Classify(s.publicHost(r)); kind == tenancy.Tenant && d.Allowed {
			td, err := rl.Allow(r.Context(), class+":tenant:"+slug, perTenant)
			if err != nil {
				return err
			}
			if !td.Allowed || td.Remaining < d.Remaining {
				d = td
				scope = "organisation"
			}
		}
		if !perIP.Off() || !perTenant.Off() {
			h := w.Header()
			h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
			h.Set("RateLimit-Remaining", strconv.Itoa(max(d.Remaining, 0)))
			h.Set("RateLimit-Reset", strconv.Itoa(ceilSeconds(d.ResetAfter)))
		}
		if !d.Allowed {
			secs := max(ceilSeconds(d.RetryAfter), 1)
			// Logged, not audited: a flood would otherwise turn into a flood
			// of database writes.
			s.Log.WarnContext(r.Context(), "rate limited", "class", class, "scope", scope, "ip", s.clientIP(r), "path", httpx.LogPath(r.URL.Path))
			return &core.Error{Kind: core.KindThrottled, RetryAfterSeconds: secs,
				Message: "too many requests from this " + scope + "; try again in " + core.HumanDuration(time.Duration(secs)*time.Second)}
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

func ceilSeconds(d time.Duration) int { return int(math.Ceil(d.Seconds())) }
