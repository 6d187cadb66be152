package deploytest

// The recording proxy: one per role, set as that role's AWS endpoint. It
// names the IAM action and resource of every request, forwards S3 to the
// real S3-compatible server (keeping Host, so SigV4 signatures stay valid)
// and answers SES, Secrets Manager, KMS and STS itself (mocked AWS: the
// request is recorded and given a plausible answer).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// call is one AWS request as IAM sees it.
type call struct {
	Action   string
	Resource string
	Detail   string // method and path, for messages
	// Context holds condition keys AWS would see: the object's ScanStatus
	// tag (s3:ExistingObjectTag/ScanStatus) at the time of a read.
	Context map[string][]string
}

type recorder struct {
	role     string
	URL      string
	s3       *url.URL
	admin    *s3.Client        // the S3 server's own keys, to read tags unrecorded
	secrets  map[string]string // SecretId (name or ARN) -> value
	mu       sync.Mutex
	calls    []call
	failures []string
	// owner is the x-amz-expected-bucket-owner every S3 request must carry:
	// the S3 server's account (its access key) standing in for the account
	// id Terraform sets in PALISADE_S3_EXPECTED_BUCKET_OWNER.
	// It is set while an earlier process of the role may still be making
	// requests, hence atomic.
	owner atomic.Pointer[string]
	kms   *kmsStandIn
}

func newRecorder(t *testing.T, role string, s3env testenv.S3Env, secrets map[string]string) *recorder {
	t.Helper()
	u, err := url.Parse(s3env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{role: role, s3: u, secrets: secrets, admin: adminS3(s3env)}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // the signature covers Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(req.Body, 64<<20))
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		if target := req.Header.Get("X-Amz-Target"); target != "" {
			r.jsonService(w, target, body)
			return
		}
		if strings.HasPrefix(req.URL.Path, "/v2/email/") {
			r.ses(w, req, body)
			return
		}
		if req.Method == http.MethodPost && strings.Contains(req.Header.Get("Content-Type"), "x-www-form-urlencoded") && bytes.Contains(body, []byte("Action=GetCallerIdentity")) {
			r.add(call{Action: "sts:GetCallerIdentity", Resource: "*", Detail: "POST /"})
			w.Header().Set("Content-Type", "text/xml")
			fmt.Fprint(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:sts::`+account+`:assumed-role/test/x</Arn><UserId>x</UserId><Account>`+account+`</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`)
			return
		}
		for _, c := range s3Calls(req, body) {
			if c.Action == "s3:GetObject" || c.Action == "s3:GetObjectVersion" {
				c.Context = r.tagContext(req.Context(), c.Resource, req.URL.Query().Get("versionId"))
			}
			// Tags set on upload are the bucket policy's
			// s3:RequestObjectTagKeys.
			if tagging := req.Header.Get("X-Amz-Tagging"); tagging != "" && c.Action == "s3:PutObject" {
				if q, err := url.ParseQuery(tagging); err == nil {
					c.Context = map[string][]string{"s3:RequestObjectTagKeys": sortedKeys(q)}
				}
			}
			// Presigned URLs (the browser's upload and download) cannot
			// carry the header; every server call must.
			owner := ""
			if o := r.owner.Load(); o != nil {
				owner = *o
			}
			if got := req.Header.Get("X-Amz-Expected-Bucket-Owner"); got != owner && req.URL.Query().Get("X-Amz-Signature") == "" {
				r.fail("%s %s: x-amz-expected-bucket-owner is %q, want %q (PALISADE_S3_EXPECTED_BUCKET_OWNER on every S3 call)", c.Action, c.Detail, got, owner)
			}
			r.add(c)
		}
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// adminS3 is a client of the S3 server with its own keys.
func adminS3(e testenv.S3Env) *s3.Client {
	return s3.New(s3.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(e.AccessKey, e.SecretKey, "")})
}

// tagContext reads the object's ScanStatus tag as the bucket policy's
// condition would see it when the request arrives (absent: untagged).
func (r *recorder) tagContext(ctx context.Context, resource, version string) map[string][]string {
	bucket, key, ok := strings.Cut(strings.TrimPrefix(resource, "arn:aws:s3:::"), "/")
	if !ok {
		return nil
	}
	in := &s3.GetObjectTaggingInput{Bucket: &bucket, Key: &key}
	if version != "" {
		in.VersionId = &version
	}
	out, err := r.admin.GetObjectTagging(ctx, in)
	if err != nil {
		return nil // no such object: nothing to condition on
	}
	for _, tag := range out.TagSet {
		if aws.ToString(tag.Key) == scan.TagKey {
			return map[string][]string{"s3:ExistingObjectTag/" + scan.TagKey: {aws.ToString(tag.Value)}}
		}
	}
	return nil
}

func (r *recorder) add(c call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

// Calls is a copy of what was recorded so far.
func (r *recorder) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

func (r *recorder) jsonService(w http.ResponseWriter, target string, body []byte) {
	svc, op, _ := strings.Cut(target, ".")
	var in map[string]any
	_ = json.Unmarshal(body, &in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch svc {
	case "secretsmanager":
		id, _ := in["SecretId"].(string)
		r.add(call{Action: "secretsmanager:" + op, Resource: secretARN(id), Detail: target + " " + id})
		v, ok := r.secrets[id]
		if op != "GetSecretValue" || !ok {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ResourceNotFoundException","Message":"no test secret %s"}`, id)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": secretARN(id), "Name": id, "SecretString": v, "VersionId": "v1"})
	case "TrentService":
		r.kms.serve(r, w, op, in)
	default:
		r.add(call{Action: "unknown:" + target, Resource: "*", Detail: target})
		r.fail("request to an AWS service this proxy does not know: %s", target)
		w.WriteHeader(http.StatusBadRequest)
	}
}

func secretARN(id string) string {
	if strings.HasPrefix(id, "arn:") {
		return id
	}
	return "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + id + "-AbCdEf"
}

// ses answers the SES v2 REST API (ses:SendEmail is checked against the
// sending identity and the configuration set, as AWS does).
func (r *recorder) ses(w http.ResponseWriter, req *http.Request, body []byte) {
	if req.Method != http.MethodPost || req.URL.Path != "/v2/email/outbound-emails" {
		r.add(call{Action: "unknown:ses " + req.Method + " " + req.URL.Path, Resource: "*"})
		r.fail("SES request this proxy does not know: %s %s", req.Method, req.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var in struct {
		FromEmailAddress     string
		ConfigurationSetName string
	}
	_ = json.Unmarshal(body, &in)
	from := in.FromEmailAddress
	if i := strings.LastIndex(from, "<"); i >= 0 {
		from = strings.TrimSuffix(from[i+1:], ">")
	}
	_, domain, _ := strings.Cut(from, "@")
	r.add(call{Action: "ses:SendEmail", Resource: "arn:aws:ses:" + region + ":" + account + ":identity/" + domain, Detail: "from " + in.FromEmailAddress})
	if in.ConfigurationSetName != "" {
		r.add(call{Action: "ses:SendEmail", Resource: "arn:aws:ses:" + region + ":" + account + ":configuration-set/" + in.ConfigurationSetName, Detail: "configuration set"})
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"MessageId":"test-message"}`)
}

var versionIDInBody = regexp.MustCompile(`<VersionId>`)

// s3Calls maps a path-style S3 request to the IAM actions it needs
// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
func s3Calls(req *http.Request, body []byte) []call {
	path := strings.TrimPrefix(req.URL.EscapedPath(), "/")
	bucket, key, _ := strings.Cut(path, "/")
	key, _ = url.PathUnescape(key)
	q := req.URL.Query()
	has := func(k string) bool { _, ok := q[k]; return ok }
	detail := req.Method + " /" + path + "?" + req.URL.RawQuery
	bucketARN := "arn:aws:s3:::" + bucket
	one := func(action string) []call {
		res := bucketARN
		if key != "" {
			res = bucketARN + "/" + key
		}
		return []call{{Action: "s3:" + action, Resource: res, Detail: detail}}
	}
	versioned := func(base string) string {
		if q.Get("versionId") != "" {
			// s3:GetObject -> s3:GetObjectVersion, ...Tagging -> ...VersionTagging
			if strings.HasSuffix(base, "Tagging") {
				return strings.TrimSuffix(base, "Tagging") + "VersionTagging"
			}
			return base + "Version"
		}
		return base
	}
	if bucket == "" {
		return []call{{Action: "s3:ListAllMyBuckets", Resource: "*", Detail: detail}}
	}
	// Bucket sub-resources, in the order AWS documents them.
	subs := []struct{ q, get, put, del string }{
		{"versioning", "GetBucketVersioning", "PutBucketVersioning", ""},
		{"encryption", "GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"},
		{"publicAccessBlock", "GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"},
		{"ownershipControls", "GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"},
		{"lifecycle", "GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"},
		{"cors", "GetBucketCORS", "PutBucketCORS", "PutBucketCORS"},
		{"policy", "GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"},
		{"notification", "GetBucketNotification", "PutBucketNotification", ""},
		{"location", "GetBucketLocation", "", ""},
		{"object-lock", "GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", ""},
	}
	if key == "" {
		for _, s := range subs {
			if !has(s.q) {
				continue
			}
			switch req.Method {
			case http.MethodGet, http.MethodHead:
				return one(s.get)
			case http.MethodPut:
				return one(s.put)
			case http.MethodDelete:
				return one(s.del)
			}
		}
		switch {
		case has("tagging") && req.Method == http.MethodGet:
			return one("GetBucketTagging")
		case has("tagging"):
			return one("PutBucketTagging")
		case has("versions"):
			return one("ListBucketVersions")
		case has("uploads"):
			return one("ListBucketMultipartUploads")
		case has("delete") && req.Method == http.MethodPost:
			// DeleteObjects: one DeleteObject(Version) per key; the keys
			// are in the body, the resource is checked per object.
			action := "s3:DeleteObject"
			if versionIDInBody.Match(body) {
				action = "s3:DeleteObjectVersion"
			}
			return []call{{Action: action, Resource: bucketARN + "/*", Detail: detail}}
		}
		switch req.Method {
		case http.MethodPut:
			return one("CreateBucket")
		case http.MethodDelete:
			return one("DeleteBucket")
		case http.MethodGet, http.MethodHead:
			return one("ListBucket") // ListObjects(V2) and HeadBucket
		}
		return []call{{Action: "unknown:s3 " + detail, Resource: bucketARN, Detail: detail}}
	}
	switch {
	case has("tagging"):
		switch req.Method {
		case http.MethodGet:
			return one(versioned("GetObjectTagging"))
		case http.MethodPut:
			return one(versioned("PutObjectTagging"))
		case http.MethodDelete:
			return one(versioned("DeleteObjectTagging"))
		}
	case has("attributes") && req.Method == http.MethodGet:
		if q.Get("versionId") != "" {
			return one("GetObjectVersionAttributes")
		}
		return one("GetObjectAttributes")
	case has("uploadId") && req.Method == http.MethodDelete:
		return one("AbortMultipartUpload")
	case has("uploadId") && req.Method == http.MethodGet:
		return one("ListMultipartUploadParts")
	case has("uploads") || has("uploadId"):
		return one("PutObject")
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return one(versioned("GetObject"))
	case http.MethodPut:
		out := one("PutObject")
		if src := req.Header.Get("X-Amz-Copy-Source"); src != "" {
			src, _ = url.PathUnescape(strings.TrimPrefix(src, "/"))
			src, _, _ = strings.Cut(src, "?")
			out = append(out, call{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + src, Detail: "copy source"})
		}
		return out
	case http.MethodDelete:
		return one(versioned("DeleteObject"))
	}
	return []call{{Action: "unknown:s3 " + detail, Resource: bucketARN + "/" + key, Detail: detail}}
}

// distinctCalls sorts and de-duplicates by action and resource.
func distinctCalls(cs []call) []call {
	seen := map[string]bool{}
	var out []call
	for _, c := range cs {
		k := c.Action + " " + c.Resource + " " + fmt.Sprint(c.Context)
		if !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Action != out[j].Action {
			return out[i].Action < out[j].Action
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}
