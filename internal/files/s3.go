// Package files is Palisade's file storage: per-tenant S3 buckets with the
// settings ISO 27001 8.9 evidence asks for, presigned uploads and
// downloads, and the jobs that scan uploads (internal/scan) and record the
// verdict. A file is downloadable only once its object carries the tag
// ScanStatus=Clean.
package files

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/palisade-hq/palisade/internal/config"
)

// Settings are the files configuration.
type Settings struct {
	Endpoint       string // empty: AWS
	PublicEndpoint string // where browsers reach presigned URLs; empty: Endpoint
	Region         string
	AccessKey      string
	SecretKey      string
	PathStyle      bool
	BucketPrefix   string
	KMSKeyID       string
	// TenantKeys: each tenant bucket gets its own KMS key (AWS only).
	TenantKeys     bool
	ShredDays      int
	ExemptRoleARNs []string
	// TaggerRoleARNs may write the scan tags (ScanStatus, Quarantine);
	// empty: ExemptRoleARNs.
	TaggerRoleARNs []string
	// ExpectedBucketOwner, the account id, goes on every S3 request as
	// x-amz-expected-bucket-owner (not on presigned URLs, whose headers
	// the browser would have to send).
	ExpectedBucketOwner string
	// CORSOrigins may PUT to and GET from the buckets (the tenant sites).
	CORSOrigins  []string
	MaxBytes     int64
	AllowedTypes []string
	UploadTTL    time.Duration
	DownloadTTL  time.Duration
	RescanAfter  time.Duration
	ScanMaxBytes int64
	ClamdAddr    string
	ClamdTimeout time.Duration
}

// Configured reports whether cfg names an object store: an S3-compatible
// endpoint, or AWS itself outside dev and test.
func Configured(cfg config.Config) bool {
	return cfg.S3Endpoint != "" || cfg.Env == config.EnvStaging || cfg.Env == config.EnvProduction
}

// SettingsFrom reads the files settings of cfg. tenantOrigin is the tenant
// sites' origin pattern for bucket CORS (e.g. https://*.example.com).
func SettingsFrom(cfg config.Config, tenantOrigin string) Settings {
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	pathStyle := cfg.S3PathStyle == "on" || (cfg.S3PathStyle == "auto" && cfg.S3Endpoint != "")
	return Settings{
		Endpoint: cfg.S3Endpoint, PublicEndpoint: cfg.S3PublicEndpoint, Region: cfg.S3Region,
		AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, PathStyle: pathStyle,
		BucketPrefix: cfg.S3BucketPrefix, KMSKeyID: cfg.KMSKeyID,
		TenantKeys: cfg.KMSTenantKeys == "on", ShredDays: cfg.KMSShredDays, ExemptRoleARNs: split(cfg.S3ExemptRoleARNs),
		TaggerRoleARNs: split(cfg.S3TaggerRoleARNs), ExpectedBucketOwner: cfg.S3ExpectedBucketOwner,
		CORSOrigins: []string{tenantOrigin}, MaxBytes: int64(cfg.FilesMaxBytes), AllowedTypes: split(cfg.FilesAllowedTypes),
		UploadTTL: cfg.FilesUploadURLTTL, DownloadTTL: cfg.FilesDownloadURLTTL, RescanAfter: cfg.FilesRescanAfter,
		ScanMaxBytes: int64(cfg.ScanMaxBytes), ClamdAddr: cfg.ClamdAddr, ClamdTimeout: cfg.ClamdTimeout,
	}
}

// AWS reports whether the store is AWS S3 itself.
func (s Settings) AWS() bool { return s.Endpoint == "" }

// PublicOrigin is the origin browsers PUT to, for the web CSP.
func (s Settings) PublicOrigin() string {
	if s.PublicEndpoint != "" {
		return strings.TrimRight(s.PublicEndpoint, "/")
	}
	if s.Endpoint != "" {
		return strings.TrimRight(s.Endpoint, "/")
	}
	// Virtual-hosted buckets on AWS: https://<bucket>.s3.<region>.amazonaws.com.
	return "https://*.s3." + s.Region + ".amazonaws.com"
}

// Clients are the S3 client for server calls and the presigner for URLs
// handed to browsers (which may use another endpoint).
type Clients struct {
	S3      *s3.Client
	Presign *s3.PresignClient
	// KMS is set when the tenants have their own keys.
	KMS *kms.Client
}

// NewClients builds the S3 clients.
func NewClients(ctx context.Context, s Settings) (Clients, error) {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(s.Region)}
	if s.AccessKey != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, "")))
	}
	acfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return Clients{}, fmt.Errorf("aws config: %w", err)
	}
	client := func(endpoint string, owner string) *s3.Client {
		return s3.NewFromConfig(acfg, func(o *s3.Options) {
			o.UsePathStyle = s.PathStyle
			if owner != "" {
				o.APIOptions = append(o.APIOptions, expectedOwner(owner))
			}
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
			// S3-compatible servers may not know the newer default
			// checksums; send them only where the operation needs one.
			if !s.AWS() {
				o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
				o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		})
	}
	c := Clients{S3: client(s.Endpoint, s.ExpectedBucketOwner)}
	pub := s.Endpoint
	if s.PublicEndpoint != "" {
		pub = s.PublicEndpoint
	}
	c.Presign = s3.NewPresignClient(client(pub, ""))
	if s.TenantKeys {
		c.KMS = kms.NewFromConfig(acfg)
	}
	return c, nil
}

// ExpectedBucketOwnerHeader is what S3 compares with the bucket's account:
// a mismatch answers 403 AccessDenied, so a call never reaches a bucket of
// another account that took one of our predictable names.
const ExpectedBucketOwnerHeader = "X-Amz-Expected-Bucket-Owner"

// expectedOwner sets the header on every request of the client, whatever
// the operation (the inputs' ExpectedBucketOwner fields would have to be
// remembered in each call, and a forgotten one is silent).
func expectedOwner(account string) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Build.Add(middleware.BuildMiddlewareFunc("palisadeExpectedBucketOwner",
			func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok && req.Header.Get(ExpectedBucketOwnerHeader) == "" {
					req.Header.Set(ExpectedBucketOwnerHeader, account)
				}
				return next.HandleBuild(ctx, in)
			}), middleware.After)
	}
}

// BucketName is the tenant's bucket.
func (s Settings) BucketName(tenantID int64) string {
	return s.BucketPrefix + strconv.FormatInt(tenantID, 10)
}

// TenantOfBucket is the inverse of BucketName; ok is false for a bucket
// that is not a tenant bucket of this deployment.
func (s Settings) TenantOfBucket(bucket string) (int64, bool) {
	rest, ok := strings.CutPrefix(bucket, s.BucketPrefix)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == rest
}

// unsupported reports a "this server does not do that" answer, which on a
// non-AWS endpoint is a warning rather than a failure.
func unsupported(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "NotImplemented", "NotSupported", "MethodNotAllowed", "XNotImplemented":
		return true
	}
	return false
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
