package deploytest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The S3 mapping against the Service Authorization Reference's action
// names for the requests the app sends.
func TestS3ActionNames(t *testing.T) {
	for _, c := range []struct {
		method, target, body, action, resource string
		header                                 map[string]string
	}{
		{"PUT", "/b", "", "s3:CreateBucket", "arn:aws:s3:::b", nil},
		{"HEAD", "/b", "", "s3:ListBucket", "arn:aws:s3:::b", nil},
		{"GET", "/b?list-type=2", "", "s3:ListBucket", "arn:aws:s3:::b", nil},
		{"GET", "/b?versions", "", "s3:ListBucketVersions", "arn:aws:s3:::b", nil},
		{"PUT", "/b?lifecycle", "", "s3:PutLifecycleConfiguration", "arn:aws:s3:::b", nil},
		{"GET", "/b?lifecycle", "", "s3:GetLifecycleConfiguration", "arn:aws:s3:::b", nil},
		{"PUT", "/b?encryption", "", "s3:PutEncryptionConfiguration", "arn:aws:s3:::b", nil},
		{"GET", "/b?publicAccessBlock", "", "s3:GetBucketPublicAccessBlock", "arn:aws:s3:::b", nil},
		{"PUT", "/b?notification", "", "s3:PutBucketNotification", "arn:aws:s3:::b", nil},
		{"PUT", "/b?cors", "", "s3:PutBucketCORS", "arn:aws:s3:::b", nil},
		{"DELETE", "/b", "", "s3:DeleteBucket", "arn:aws:s3:::b", nil},
		{"POST", "/b?delete", "<Delete><Object><Key>k</Key><VersionId>1</VersionId></Object></Delete>", "s3:DeleteObjectVersion", "arn:aws:s3:::b/*", nil},
		{"POST", "/b?delete", "<Delete><Object><Key>k</Key></Object></Delete>", "s3:DeleteObject", "arn:aws:s3:::b/*", nil},
		{"GET", "/b/files/1/x", "", "s3:GetObject", "arn:aws:s3:::b/files/1/x", nil},
		{"GET", "/b/k?versionId=3", "", "s3:GetObjectVersion", "arn:aws:s3:::b/k", nil},
		{"HEAD", "/b/k", "", "s3:GetObject", "arn:aws:s3:::b/k", nil},
		{"GET", "/b/k?tagging", "", "s3:GetObjectTagging", "arn:aws:s3:::b/k", nil},
		{"GET", "/b/k?attributes", "", "s3:GetObjectAttributes", "arn:aws:s3:::b/k", nil},
		{"GET", "/b/k?attributes&versionId=3", "", "s3:GetObjectVersionAttributes", "arn:aws:s3:::b/k", nil},
		{"PUT", "/b/k?tagging&versionId=3", "", "s3:PutObjectVersionTagging", "arn:aws:s3:::b/k", nil},
		{"PUT", "/b/k", "", "s3:PutObject", "arn:aws:s3:::b/k", nil},
		{"DELETE", "/b/k?versionId=3", "", "s3:DeleteObjectVersion", "arn:aws:s3:::b/k", nil},
		{"DELETE", "/b/k?uploadId=u", "", "s3:AbortMultipartUpload", "arn:aws:s3:::b/k", nil},
	} {
		req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		got := s3Calls(req, []byte(c.body))
		if len(got) != 1 || got[0].Action != c.action || got[0].Resource != c.resource {
			t.Errorf("%s %s = %+v, want %s on %s", c.method, c.target, got, c.action, c.resource)
		}
	}
	req := httptest.NewRequest(http.MethodPut, "/b/dst", nil)
	req.Header.Set("X-Amz-Copy-Source", "/b/src?versionId=1")
	if got := s3Calls(req, nil); len(got) != 2 || got[1].Action != "s3:GetObject" || got[1].Resource != "arn:aws:s3:::b/src" {
		t.Errorf("CopyObject = %+v, want PutObject and GetObject on the source", got)
	}
}
