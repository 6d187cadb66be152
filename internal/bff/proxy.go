package bff

import (
	"log/slog"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/palisade-hq/palisade/internal/httpx"
	"github.com/palisade-hq/palisade/internal/wire"
)

// Proxy forwards the browser's /api/* calls to the internal API: Cookie and
// Authorization pass through, X-Forwarded-For gets the browser's address
// appended, and the API's Set-Cookie comes back. allow decides which paths
// this site may reach (the tenant site never reaches /api/hq/).
func Proxy(c *Client, log *slog.Logger, allow func(path string) bool) http.Handler {
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(c.Base)
			// SetURL keeps the inbound path under the base; the API's paths are absolute.
			pr.Out.URL.Path = pr.In.URL.Path
			pr.Out.URL.RawPath = pr.In.URL.RawPath
			pr.Out.Header.Del("X-Forwarded-For")
			pr.Out.Header.Del("X-Forwarded-Host")
			pr.Out.Header.Del("X-Forwarded-Proto")
			c.ForwardHeaders(pr.Out.Header, pr.In)
		},
		Transport: c.HTTP.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			log.ErrorContext(r.Context(), "api proxy failed", "err", err, "path", httpx.LogPath(r.URL.Path))
			httpx.WriteJSON(w, http.StatusBadGateway, httpx.ErrorBody{Error: httpx.ErrorDetail{Code: "bad_gateway", Kind: wire.KindUnavailable, Reason: wire.ReasonBadGateway,
				Message: "the API is unavailable; try again shortly"}})
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allow(r.URL.Path) || strings.Contains(r.URL.Path, "..") {
			httpx.WriteJSON(w, http.StatusNotFound, httpx.ErrorBody{Error: httpx.ErrorDetail{Code: "not_found", Kind: wire.KindNotFound, Message: "no such endpoint"}})
			return
		}
		rp.ServeHTTP(w, r)
	})
}
