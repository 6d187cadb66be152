package scan

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzS3Notification: the body of POST /api/files/s3-events, decoded the
// way the API decodes it. Properties: only ObjectCreated records become
// objects, in order, each with a bucket and a key (a record that names no
// object is not something to scan); the key is the record's key
// URL-decoded, and a key S3 encoded comes back exactly.
func FuzzS3Notification(f *testing.F) {
	for _, s := range []string{
		`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"palisade-tenant-7"},"object":{"key":"files/12/abc","size":5,"versionId":"v1"}}}]}`,
		`{"Records":[{"eventName":"ObjectCreated:CompleteMultipartUpload","s3":{"bucket":{"name":"b"},"object":{"key":"a+b%2Fc%zz"}}},{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"k"}}}]}`,
		`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{},"object":{}}}]}`,
		`{"Records":[{"eventName":"s3:ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%00"}}}]}`,
		`{"Records":null}`, `{}`, `[]`, `{"Records":[{"s3":{"object":{"size":"x"}}}]}`, `{"Records":[]} trailing`,
	} {
		f.Add([]byte(s), "files/1/q3 report+final%.pdf")
	}
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		var n S3Notification
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&n); err == nil {
			objs := n.Objects()
			i := 0
			for _, r := range n.Records {
				if !strings.Contains(r.EventName, "ObjectCreated") || r.S3.Bucket.Name == "" || r.S3.Object.Key == "" {
					continue
				}
				if i >= len(objs) {
					t.Fatalf("record %+v has no object in %+v", r, objs)
				}
				o := objs[i]
				want := r.S3.Object.Key
				if k, err := url.QueryUnescape(want); err == nil {
					want = k
				}
				if o.Bucket != r.S3.Bucket.Name || o.Key != want || o.VersionID != r.S3.Object.VersionID {
					t.Fatalf("record %+v became %+v", r, o)
				}
				i++
			}
			if i != len(objs) {
				t.Fatalf("%d objects from %d usable records: %+v", len(objs), i, objs)
			}
			for _, o := range objs {
				if o.Bucket == "" || o.Key == "" {
					t.Fatalf("object with missing parts from %q: %+v", body, o)
				}
			}
		}
		// A key as S3 encodes it in a notification comes back exactly.
		if key == "" {
			return
		}
		rec := S3Notification{Records: make([]struct {
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
		}, 1)}
		rec.Records[0].EventName = "s3:ObjectCreated:Put"
		rec.Records[0].S3.Bucket.Name = "palisade-tenant-7"
		rec.Records[0].S3.Object.Key = url.QueryEscape(key)
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var back S3Notification
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		objs := back.Objects()
		if len(objs) != 1 || objs[0].Key != key {
			t.Fatalf("key %q (sent as %q) came back as %+v", key, url.QueryEscape(key), objs)
		}
	})
}
