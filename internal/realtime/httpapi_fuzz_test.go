package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisade-hq/palisade/internal/realtime/publish"
	"github.com/palisade-hq/palisade/internal/realtime/sign"
)

const (
	fuzzMaxBody    = 4096
	fuzzMaxMessage = 600
)

// specEvent checks one event against the protocol's rules, written out
// again from the spec (not by calling checkEvent).
func specEvent(ev apiEvent) bool {
	if ev.Name == "" || len(ev.Name) > 200 {
		return false
	}
	chans := ev.Channels
	if ev.Channel != "" {
		chans = append(chans[:len(chans):len(chans)], ev.Channel)
	}
	if len(chans) == 0 || len(chans) > 100 {
		return false
	}
	for _, c := range chans {
		if c == "" || len(c) > 200 || strings.Trim(c, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-=@,.;") != "" {
			return false
		}
	}
	if ev.SocketID != "" {
		a, b, ok := strings.Cut(ev.SocketID, ".")
		if !ok || len(ev.SocketID) > 41 || a == "" || b == "" || strings.Trim(a+b, "0123456789") != "" {
			return false
		}
	}
	data := string(ev.Data)
	if len(ev.Data) > 0 && ev.Data[0] == '"' {
		if json.Unmarshal(ev.Data, &data) != nil {
			return false
		}
	}
	return len(data) <= fuzzMaxMessage
}

// specBody says whether a body is a valid events (or batch) request.
func specBody(body []byte, batch bool) bool {
	if !batch {
		var ev apiEvent
		return json.Unmarshal(body, &ev) == nil && specEvent(ev)
	}
	var b struct {
		Batch []apiEvent `json:"batch"`
	}
	if json.Unmarshal(body, &b) != nil || len(b.Batch) == 0 || len(b.Batch) > 10 {
		return false
	}
	for _, ev := range b.Batch {
		if !specEvent(ev) {
			return false
		}
	}
	return true
}

// FuzzEventsAPI drives POST /apps/<id>/events and /batch_events of a real
// server (Redis behind it) with arbitrary bodies and query strings, signed
// correctly or not. Properties: the answer is never a 5xx and always a JSON
// error naming the fault; a 200 only ever follows a query whose key,
// version, timestamp, body MD5 and HMAC signature are all right, and a body
// that obeys the protocol's limits; and a correctly signed request with a
// valid body is accepted.
func FuzzEventsAPI(f *testing.F) {
	for _, s := range []struct {
		body, extra string
		sign, batch bool
	}{
		{`{"name":"file.updated","channels":["private-tenant.1.files"],"data":"{\"id\":1}"}`, "", true, false},
		{`{"name":"e","channel":"news","data":{"a":1},"socket_id":"123.456"}`, "", true, false},
		{`{"name":"e","channels":["a b"],"data":"{}"}`, "", true, false},
		{`{"name":"e","channels":["news"],"data":"` + strings.Repeat("x", 700) + `"}`, "", true, false},
		{`{"name":"e","channels":["news"],"socket_id":"1.2.3"}`, "", true, false},
		{`{"name":"","channels":["news"]}`, "", true, false},
		{`{"batch":[{"name":"a","channel":"x","data":"1"},{"name":"b","channels":["y","z"],"data":"2"}]}`, "", true, true},
		{`{"batch":[]}`, "", true, true},
		{`{"name":"e","channels":["news"]}`, "auth_key=nope", true, false},
		{`{"name":"e","channels":["news"]}`, "auth_timestamp=1", true, false},
		{`{"name":"e","channels":["news"]}`, "auth_version=2.0", true, false},
		{`{"name":"e","channels":["news"]}`, "auth_signature=" + strings.Repeat("0", 64), false, false},
		{`{"name":"e","channels":["news"]}`, "body_md5=00&body_md5=11", true, false},
		{`{"name":"e","channels":["news"]}`, "extra=1&EXTRA=2", true, false},
		{``, "", true, false},
		{`{`, "", true, false},
		{`{"name":"e","channels":["news"]}` + strings.Repeat(" ", fuzzMaxBody), "", true, false},
	} {
		f.Add([]byte(s.body), s.extra, s.sign, s.batch)
	}
	rdb, _ := testRedis(f)
	cfg := testConfig(testPrefix(f, rdb))
	cfg.MaxBodyBytes, cfg.MaxMessageBytes = fuzzMaxBody, fuzzMaxMessage
	// Not startServer: its logger writes to f, which a fuzz target may not use.
	srv, err := NewServer(cfg, rdb, nil, prometheus.NewRegistry(), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	h := srv.Handler()
	f.Fuzz(func(t *testing.T, body []byte, extra string, signIt, batch bool) {
		path := "/apps/" + testAppID + "/events"
		if batch {
			path = "/apps/" + testAppID + "/batch_events"
		}
		now := time.Now()
		q := publish.SignedQuery(testKey, testSecret, http.MethodPost, path, body, now)
		// The fuzzer's parameters add to or replace the signed ones.
		eq, _ := url.ParseQuery(extra)
		for k, v := range eq {
			q[k] = v
		}
		if signIt {
			q.Set("auth_signature", sign.Request(testSecret, http.MethodPost, path, q))
		}
		r := httptest.NewRequest(http.MethodPost, path+"?"+q.Encode(), bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)

		if w.Code >= 500 {
			t.Fatalf("status %d for body %q query %q: %s", w.Code, body, q.Encode(), w.Body)
		}
		if w.Code != http.StatusOK {
			var e struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("status %d without a JSON error: %q", w.Code, w.Body)
			}
		}
		// What the server sees is the query as it parses it again.
		got := r.URL.Query()
		single := true
		for _, v := range got {
			single = single && len(v) == 1
		}
		ts, tsErr := strconv.ParseInt(got.Get("auth_timestamp"), 10, 64)
		skew := now.Sub(time.Unix(ts, 0)).Abs()
		authOK := single && got.Get("auth_key") == testKey && got.Get("auth_version") == "1.0" && tsErr == nil &&
			(len(body) == 0 && !got.Has("body_md5") || got.Get("body_md5") == sign.BodyMD5(body)) &&
			got.Get("auth_signature") == sign.Request(testSecret, http.MethodPost, path, got) &&
			len(body) <= fuzzMaxBody
		// A second either side of the limit is left undecided: the server
		// reads its own clock a moment later.
		mayAccept := authOK && skew <= maxTimestampSkew+2*time.Second
		mustAccept := authOK && skew < maxTimestampSkew-2*time.Second
		bodyOK := specBody(body, batch)
		if w.Code == http.StatusOK && !(mayAccept && bodyOK) {
			t.Fatalf("accepted body %q with query %q (auth ok %v, skew %s, body ok %v)", body, q.Encode(), authOK, skew, bodyOK)
		}
		if mustAccept && bodyOK && w.Code != http.StatusOK {
			t.Fatalf("refused a valid signed request: body %q query %q: %d %s", body, q.Encode(), w.Code, w.Body)
		}
		if w.Code == http.StatusOK {
			want := "{}"
			if batch {
				var b struct{ Batch []json.RawMessage }
				_ = json.Unmarshal(body, &b)
				want = `{"batch":[` + strings.TrimSuffix(strings.Repeat("{},", len(b.Batch)), ",") + `]}`
			}
			if strings.TrimSpace(w.Body.String()) != want {
				t.Fatalf("accepted answer %q, want %q", w.Body, want)
			}
		}
	})
}
