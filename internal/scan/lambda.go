package scan

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// objectCreated is the detail of an EventBridge "Object Created" event.
type objectCreated struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		VersionID string `json:"version-id"`
	} `json:"object"`
	Reason string `json:"reason"`
}

// ObjectFromEventBridge extracts the object of an S3 "Object Created"
// event delivered by EventBridge.
func ObjectFromEventBridge(ev events.EventBridgeEvent) (Object, error) {
	if ev.Source != "aws.s3" || ev.DetailType != "Object Created" {
		return Object{}, fmt.Errorf("not an S3 Object Created event (source %q, detail-type %q)", ev.Source, ev.DetailType)
	}
	var d objectCreated
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return Object{}, fmt.Errorf("event detail: %w", err)
	}
	if d.Bucket.Name == "" || d.Object.Key == "" {
		return Object{}, fmt.Errorf("event names no bucket or key")
	}
	return Object{Bucket: d.Bucket.Name, Key: d.Object.Key, VersionID: d.Object.VersionID}, nil
}

// S3Notification is an S3 event notification, the shape S3-compatible
// servers post to webhooks. Only the fields used are decoded, and loosely
// (no time fields), since servers differ in the rest.
type S3Notification struct {
	Records []struct {
		EventName string `json:"eventName"`
		S3        struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key       string `json:"key"`
				Size      int64  `json:"size"`
				VersionID string `json:"versionId"`
			} `json:"object"`
		} `json:"s3"`
	} `json:"Records"`
}

// Objects lists the ObjectCreated records' objects. Keys there are
// URL-encoded with '+' for spaces.
func (n S3Notification) Objects() []Object {
	var out []Object
	for _, r := range n.Records {
		// A record that names no object is nothing to scan (as in
		// ObjectFromEventBridge).
		if !strings.Contains(r.EventName, "ObjectCreated") || r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
			continue
		}
		key := r.S3.Object.Key
		if k, err := url.QueryUnescape(key); err == nil {
			key = k
		}
		out = append(out, Object{Bucket: r.S3.Bucket.Name, Key: key, VersionID: r.S3.Object.VersionID})
	}
	return out
}

// Handler is the Lambda entry point: scan the object, tag it, then hand
// the result to OnResult (which records it where a database is reachable).
// An error makes Lambda retry the event and finally send it to the DLQ,
// which is what an unreachable clamd must do: nothing is tagged Clean.
type Handler struct {
	Scanner  *Scanner
	OnResult func(ctx context.Context, r Result) error
}

// Handle is the function given to lambda.Start.
func (h Handler) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	o, err := ObjectFromEventBridge(ev)
	if err != nil {
		return Result{}, err
	}
	res, err := h.Scanner.Scan(ctx, o)
	if err != nil {
		return res, err
	}
	if h.Scanner.Log != nil {
		h.Scanner.Log.InfoContext(ctx, "object scanned", "bucket", o.Bucket, "key", o.Key, "version_id", res.VersionID,
			"status", res.Status, "signature", res.Signature, "cached", res.Cached, "bytes", res.Size, "duration", res.Duration)
	}
	if h.OnResult != nil {
		if err := h.OnResult(ctx, res); err != nil {
			return res, fmt.Errorf("record result: %w", err)
		}
	}
	return res, nil
}
