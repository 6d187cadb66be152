package scan

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Tag keys the scanner writes. The bucket policy reads TagKey.
const (
	TagKey        = "ScanStatus"
	QuarantineKey = "Quarantine"
)

// Object names one version of an uploaded object. An empty VersionID means
// the current version, which Scan pins before reading.
type Object struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
}

func (o Object) String() string {
	return "s3://" + o.Bucket + "/" + o.Key + "?versionId=" + o.VersionID
}

// Result is the outcome of scanning one object version.
type Result struct {
	Object
	Verdict
	Size int64
	// Cached is set when the version already carried a final tag, so it
	// was not streamed again: scanning is idempotent per version.
	Cached   bool
	Duration time.Duration
}

// Scanner reads objects from S3, asks clamd, and tags the version.
type Scanner struct {
	S3    *s3.Client
	Clamd Clamd
	Log   *slog.Logger
}

// Scan judges one object version and tags it. It returns an error (and
// leaves the object untagged, so still pending) when no verdict could be
// reached: S3 or clamd unreachable, a timeout. A tagging failure is also an
// error: a verdict nobody can see protects no one.
func (s *Scanner) Scan(ctx context.Context, o Object) (Result, error) {
	start := time.Now()
	if o.VersionID == "" {
		// Pin the version first, so the tag lands on the bytes scanned even
		// if a newer upload replaces the key meanwhile.
		head, err := s.S3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &o.Bucket, Key: &o.Key})
		if err != nil {
			return Result{Object: o}, fmt.Errorf("head %s: %w", o, err)
		}
		o.VersionID = aws.ToString(head.VersionId)
	}
	res := Result{Object: o}
	tags, err := s.tags(ctx, o)
	if err != nil {
		return res, err
	}
	if cached, ok := taggedVerdict(o, tags); ok {
		cached.Duration = time.Since(start)
		return cached, nil
	}
	v, err := s.Clamd.ScanFrom(ctx, func() (io.ReadCloser, int64, error) {
		obj, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: optional(o.VersionID)})
		if err != nil {
			return nil, 0, fmt.Errorf("get %s: %w", o, err)
		}
		res.Size = aws.ToInt64(obj.ContentLength)
		return obj.Body, res.Size, nil
	})
	if err != nil {
		return res, fmt.Errorf("scan %s: %w", o, err)
	}
	res.Verdict = v
	if err := s.tag(ctx, o, tags, res.Verdict); err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// Tagged is the verdict already tagged on the object (by the scan Lambda
// or an earlier scan), without scanning; ok is false when it has none.
// It needs no clamd.
func (s *Scanner) Tagged(ctx context.Context, o Object) (res Result, ok bool, err error) {
	tags, err := s.tags(ctx, o)
	if err != nil {
		return Result{Object: o}, false, err
	}
	res, ok = taggedVerdict(o, tags)
	return res, ok, nil
}

func taggedVerdict(o Object, tags map[string]string) (Result, bool) {
	if st := Status(tags[TagKey]); st == Clean || st == Infected {
		return Result{Object: o, Verdict: Verdict{Status: st, Signature: tags["Signature"]}, Cached: true}, true
	}
	return Result{Object: o}, false
}

func (s *Scanner) tags(ctx context.Context, o Object) (map[string]string, error) {
	out, err := s.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: optional(o.VersionID)})
	if err != nil {
		return nil, fmt.Errorf("read tags of %s: %w", o, err)
	}
	m := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m, nil
}

// tag replaces the scan tags and keeps any others the object had.
func (s *Scanner) tag(ctx context.Context, o Object, existing map[string]string, v Verdict) error {
	set := []types.Tag{{Key: aws.String(TagKey), Value: aws.String(string(v.Status))}}
	if v.Status == Infected {
		set = append(set, types.Tag{Key: aws.String(QuarantineKey), Value: aws.String("true")})
	}
	for k, val := range existing {
		if k != TagKey && k != QuarantineKey && len(set) < 10 {
			set = append(set, types.Tag{Key: aws.String(k), Value: aws.String(val)})
		}
	}
	_, err := s.S3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: &o.Bucket, Key: &o.Key, VersionId: optional(o.VersionID),
		Tagging: &types.Tagging{TagSet: set}})
	if err != nil {
		return fmt.Errorf("tag %s %s=%s: %w", o, TagKey, v.Status, err)
	}
	return nil
}

// ReadStatus is the object's ScanStatus tag, "" when untagged. Download
// decisions use this, not only the database.
func ReadStatus(ctx context.Context, c *s3.Client, o Object) (Status, error) {
	s := Scanner{S3: c}
	tags, err := s.tags(ctx, o)
	if err != nil {
		return "", err
	}
	return Status(tags[TagKey]), nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
