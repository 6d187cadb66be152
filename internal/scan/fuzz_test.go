package scan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzParseReply: whatever clamd (or something pretending to be it) says,
// the verdict is one of the three, and Clean only for exactly "OK": the
// parser fails closed.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"stream: OK\x00", "stream: Eicar-Test-Signature FOUND\x00", "INSTREAM size limit exceeded. ERROR\x00",
		"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", "", "OK", "stream: OK FOUND", " stream: OK \x00\x00", "stream: OKAY"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		v := ParseReply(reply)
		if !v.Status.Valid() {
			t.Fatalf("ParseReply(%q) = invalid status %q", reply, v.Status)
		}
		body := strings.TrimPrefix(strings.TrimSpace(strings.TrimRight(reply, "\x00")), "stream: ")
		if v.Status == Clean && body != "OK" {
			t.Fatalf("ParseReply(%q) judged Clean", reply)
		}
		if body == "OK" && v.Status != Clean {
			t.Fatalf("ParseReply(%q) = %v, want Clean", reply, v)
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"ClamAV 1.4.6/27830/Wed Nov 25 09:21:02 2026", "ClamAV 1.4.6", "ClamAV ", "UNKNOWN COMMAND", "ClamAV a/b/c/d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		engine, sigs, _, err := ParseVersion(reply)
		if err != nil {
			return
		}
		if !strings.HasPrefix(strings.TrimSpace(reply), "ClamAV ") || strings.Contains(engine, "/") || strings.Contains(sigs, "/") {
			t.Fatalf("ParseVersion(%q) = %q %q", reply, engine, sigs)
		}
	})
}

// FuzzObjectFromEventBridge: an event either names a bucket and a key, or
// is refused; it never yields an object to scan with missing parts.
func FuzzObjectFromEventBridge(f *testing.F) {
	f.Add(`{"version":"0","bucket":{"name":"palisade-staging-tenant-7"},"object":{"key":"files/1/x","size":5,"version-id":"v1"},"reason":"PutObject"}`)
	f.Add(`{"bucket":{},"object":{}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, detail string) {
		ev := events.EventBridgeEvent{Source: "aws.s3", DetailType: "Object Created", Detail: json.RawMessage(detail)}
		o, err := ObjectFromEventBridge(ev)
		if err == nil && (o.Bucket == "" || o.Key == "") {
			t.Fatalf("accepted %q as %+v", detail, o)
		}
	})
}
