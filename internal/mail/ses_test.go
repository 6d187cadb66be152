package mail_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/mail"
)

// sesStandIn answers the SES v2 SendEmail operation the way AWS does, and
// records each request. AWS itself cannot be reached from the test
// machines, so this is where the mock stops: the request is the SDK's own,
// SigV4-signed, JSON over HTTPS.
type sesStandIn struct {
	mu   sync.Mutex
	reqs []sesRequest
	// reject, when set, is answered as SES's MessageRejected.
	reject string
}

type sesRequest struct {
	Method, Path, Auth, Date, ContentType string
	Body                                  map[string]any
}

func (s *sesStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	s.mu.Lock()
	s.reqs = append(s.reqs, sesRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Amz-Date"), r.Header.Get("Content-Type"), body})
	reject := s.reject
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if reject != "" {
		w.Header().Set("X-Amzn-Errortype", "MessageRejected")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"message":"`+reject+`"}`)
		return
	}
	_, _ = io.WriteString(w, `{"MessageId":"0100018c-test"}`)
}

func newSES(t *testing.T, h http.Handler, set string) *mail.SES {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	cfg := aws.Config{
		Region:      "eu-west-2",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDPALISADETEST", "secret-key", ""),
		HTTPClient:  srv.Client(),
	}
	m, err := mail.NewSES(cfg, srv.URL, "Palisade <no-reply@palisade.test>", set)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSESSendsSignedSendEmail(t *testing.T) {
	peer := &sesStandIn{}
	m := newSES(t, peer, "palisade-production")
	err := m.Send(context.Background(), core.Mail{To: "owner@acme.test", Subject: "Welcome — ünïcode", Body: "Line one\nLine two"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if len(peer.reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(peer.reqs))
	}
	r := peer.reqs[0]
	if r.Method != http.MethodPost || r.Path != "/v2/email/outbound-emails" {
		t.Errorf("request %s %s, want POST /v2/email/outbound-emails (SES v2 SendEmail)", r.Method, r.Path)
	}
	// SigV4 with the caller's credentials, scoped to SES in the region.
	sig := regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDPALISADETEST/\d{8}/eu-west-2/ses/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$`)
	if !sig.MatchString(r.Auth) || r.Date == "" {
		t.Errorf("Authorization %q (X-Amz-Date %q) is not a SigV4 signature for ses in eu-west-2", r.Auth, r.Date)
	}
	if !strings.HasPrefix(r.ContentType, "application/json") {
		t.Errorf("Content-Type %q, want JSON", r.ContentType)
	}
	got, _ := json.Marshal(r.Body)
	want := `{"ConfigurationSetName":"palisade-production","Content":{"Simple":{"Body":{"Text":{"Charset":"UTF-8","Data":"Line one\nLine two"}},"Subject":{"Charset":"UTF-8","Data":"Welcome — ünïcode"}}},"Destination":{"ToAddresses":["owner@acme.test"]},"FromEmailAddress":"Palisade \u003cno-reply@palisade.test\u003e"}`
	if string(got) != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}

func TestSESWithoutConfigurationSet(t *testing.T) {
	peer := &sesStandIn{}
	m := newSES(t, peer, "")
	if err := m.Send(context.Background(), core.Mail{To: "a@b.test", Subject: "s", Body: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := peer.reqs[0].Body["ConfigurationSetName"]; ok {
		t.Errorf("body names a configuration set: %v", peer.reqs[0].Body)
	}
}

func TestSESRejectionIsAnError(t *testing.T) {
	peer := &sesStandIn{reject: "Email address is not verified."}
	m := newSES(t, peer, "")
	err := m.Send(context.Background(), core.Mail{To: "a@b.test", Subject: "s", Body: "b"})
	if err == nil || !strings.Contains(err.Error(), "MessageRejected") || !strings.Contains(err.Error(), "not verified") {
		t.Fatalf("send to a rejecting SES: %v, want the MessageRejected error", err)
	}
}

func TestNewSESNeedsRegionAndSender(t *testing.T) {
	if _, err := mail.NewSES(aws.Config{}, "", "a@b.test", ""); err == nil || !strings.Contains(err.Error(), "PALISADE_SES_REGION") {
		t.Errorf("no region: %v", err)
	}
	if _, err := mail.NewSES(aws.Config{Region: "eu-west-2"}, "", "", ""); err == nil {
		t.Error("no sender accepted")
	}
}
