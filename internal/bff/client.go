// Package bff is what the two backend-for-frontend servers (web and hq)
// share: a client that calls the internal API on the browser's behalf, the
// /api/* reverse proxy, and server-side page rendering.
package bff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/wire"
)

// Client calls the internal API as the browser's proxy.
type Client struct {
	Base *url.URL
	HTTP *http.Client
	// ClientIPHeader is the CDN's client-IP header (CF-Connecting-IP),
	// passed on as received: the API alone decides whether to believe it,
	// from the X-Forwarded-For chain this proxy extends.
	ClientIPHeader string
}

// NewClient builds a client with bounded timeouts and a pooled transport.
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("api url %q is not a URL", base)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 256
	tr.MaxIdleConnsPerHost = 256
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &Client{Base: u, HTTP: &http.Client{Transport: tr, Timeout: 60 * time.Second,
		// The API never redirects; a redirect would be a misconfiguration.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// APIError is a non-2xx answer of the API. Pages decide on Kind (and
// Reason where one kind has cases); Field only names the input at fault.
type APIError struct {
	Status     int
	Code       string
	Kind       wire.Kind
	Reason     string
	Message    string
	Field      string
	RetryAfter string
}

// LoginNeeded reports whether the session must log in, or finish logging
// in (second factor, enrolment), before any page can help: the page then
// hands the error to its fail, which sends the browser there.
func (e *APIError) LoginNeeded() bool {
	return e.Kind == wire.KindUnauthenticated || e.Kind == wire.KindMFARequired || e.Kind == wire.KindMFAEnrolmentRequired
}

// kindOfStatus is the kind of an answer without one (not the API's JSON:
// a proxy's or a crashed handler's page), by its status alone.
func kindOfStatus(status int) wire.Kind {
	switch {
	case status == http.StatusUnauthorized:
		return wire.KindUnauthenticated
	case status == http.StatusForbidden:
		return wire.KindForbidden
	case status == http.StatusNotFound:
		return wire.KindNotFound
	case status == http.StatusConflict:
		return wire.KindConflict
	case status == http.StatusTooManyRequests:
		return wire.KindRateLimited
	case status == http.StatusServiceUnavailable, status == http.StatusBadGateway, status == http.StatusGatewayTimeout:
		return wire.KindUnavailable
	case status >= 500:
		return wire.KindInternal
	default:
		return wire.KindValidation
	}
}

func (e *APIError) Error() string { return fmt.Sprintf("api %d %s: %s", e.Status, e.Code, e.Message) }

// AsAPIError unwraps an *APIError.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

// Call sends method path with body as JSON on behalf of the browser request
// r, relays the API's Set-Cookie to w, and decodes a 2xx body into out.
func (c *Client) Call(w http.ResponseWriter, r *http.Request, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, c.Base.String()+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.ForwardHeaders(req.Header, r)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("call api %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	if w != nil {
		for _, sc := range resp.Header.Values("Set-Cookie") {
			w.Header().Add("Set-Cookie", sc)
		}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("read api %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		e := &APIError{Status: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
		var eb struct {
			Error struct {
				Code, Reason, Message, Field string
				Kind                         wire.Kind
			}
		}
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			e.Code, e.Kind, e.Reason, e.Message, e.Field = eb.Error.Code, eb.Error.Kind, eb.Error.Reason, eb.Error.Message, eb.Error.Field
			if e.Field != "" && e.Field == wire.LegacyField(e.Reason) {
				e.Field = "" // the old signal beside the kind, not an input
			}
		} else {
			e.Code, e.Message = "upstream", http.StatusText(resp.StatusCode)
		}
		if e.Kind == "" {
			// An API of the previous release: no kind, signals in field.
			if reason, ok := wire.LegacyReason(resp.StatusCode, e.Field); ok {
				e.Reason, e.Field = reason, ""
				if k, ok := wire.ReasonKind(reason); ok {
					e.Kind = k
				}
			}
		}
		if e.Kind == "" {
			e.Kind = kindOfStatus(resp.StatusCode)
		}
		return e
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("decode api %s %s: %w", method, path, err)
		}
	}
	return nil
}

// Ready asks the API's /readyz.
func (c *Client) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base.String()+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("api not ready: %s", resp.Status)
	}
	return nil
}

// ForwardHeaders copies what the API needs to know about the browser's
// request: its credentials, its origin and the proxy chain (with the CDN's
// client-IP header when one is configured).
func (c *Client) ForwardHeaders(dst http.Header, r *http.Request) {
	for _, h := range []string{"Cookie", "Authorization", "User-Agent", "X-Request-Id", "Accept-Language"} {
		if v := r.Header.Values(h); len(v) > 0 {
			dst[h] = append([]string(nil), v...)
		}
	}
	if c.ClientIPHeader != "" {
		dst.Del(c.ClientIPHeader)
		if v := r.Header.Values(c.ClientIPHeader); len(v) > 0 {
			dst[http.CanonicalHeaderKey(c.ClientIPHeader)] = append([]string(nil), v...)
		}
	}
	prior := strings.Join(r.Header.Values("X-Forwarded-For"), ", ")
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		if prior != "" {
			prior += ", "
		}
		prior += ip
	}
	if prior != "" {
		dst.Set("X-Forwarded-For", prior)
	}
	dst.Set("X-Forwarded-Host", r.Host)
	proto := "http"
	if r.TLS != nil {
		proto = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "https" || p == "http" {
		proto = p
	}
	dst.Set("X-Forwarded-Proto", proto)
}
