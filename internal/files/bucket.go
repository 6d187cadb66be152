package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/palisade-hq/palisade/internal/scan"
)

// Lifecycle numbers of a tenant bucket: old versions are kept for a
// quarter (recovery from a bad overwrite or delete), unfinished multipart
// uploads for a week.
const (
	NoncurrentVersionDays   = 90
	AbortMultipartAfterDays = 7
	lifecycleRuleID         = "palisade-old-versions"
)

// Policy is the tenant bucket policy: no request over plain HTTP, and no
// read of an object unless its ScanStatus tag is Clean. StringNotEquals
// matches an untagged object too (the key is absent, so it is "not
// equal"), so an object nobody scanned is denied. The roles that scan must
// read untagged objects, so they are exempt from that one statement.
//
// The tag is the verdict, so only the taggers (the scanner) may write
// object tags at all: PutObjectTagging replaces the whole set, so any tag
// write by another principal could set ScanStatus=Clean or drop
// Quarantine. Nobody may upload (or copy) an object that already carries
// a scan tag (x-amz-tagging on PutObject): a verdict is never uploaded.
// An empty taggers list means the exempt roles.
func Policy(bucket string, exemptRoleARNs, taggerRoleARNs []string) ([]byte, error) {
	arn := "arn:aws:s3:::" + bucket
	deny := map[string]any{
		"Sid":       "DenyReadUnlessScannedClean",
		"Effect":    "Deny",
		"Principal": "*",
		"Action":    []string{"s3:GetObject", "s3:GetObjectVersion"},
		"Resource":  arn + "/*",
		"Condition": map[string]any{
			"StringNotEquals": map[string]any{"s3:ExistingObjectTag/" + scan.TagKey: string(scan.Clean)},
		},
	}
	if len(exemptRoleARNs) > 0 {
		deny["Condition"].(map[string]any)["ArnNotEquals"] = map[string]any{"aws:PrincipalArn": exemptRoleARNs}
	}
	if len(taggerRoleARNs) == 0 {
		taggerRoleARNs = exemptRoleARNs
	}
	tagWrites := map[string]any{
		"Sid":       "DenyTagWritesExceptScanner",
		"Effect":    "Deny",
		"Principal": "*",
		"Action":    TagWriteActions,
		"Resource":  arn + "/*",
	}
	if len(taggerRoleARNs) > 0 {
		tagWrites["Condition"] = map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": taggerRoleARNs}}
	}
	doc := map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{
				"Sid":       "DenyInsecureTransport",
				"Effect":    "Deny",
				"Principal": "*",
				"Action":    "s3:*",
				"Resource":  []string{arn, arn + "/*"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			},
			deny,
			tagWrites,
			map[string]any{
				"Sid":       "DenyUploadWithScanTags",
				"Effect":    "Deny",
				"Principal": "*",
				"Action":    "s3:PutObject",
				"Resource":  arn + "/*",
				"Condition": map[string]any{"ForAnyValue:StringEquals": map[string]any{"s3:RequestObjectTagKeys": []string{scan.TagKey, scan.QuarantineKey}}},
			},
		},
	}
	return json.Marshal(doc)
}

// TagWriteActions are the object-tag writes only the scanner may make.
var TagWriteActions = []string{"s3:PutObjectTagging", "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"}

// Provisioner creates and checks tenant buckets.
type Provisioner struct {
	S3       *s3.Client
	Settings Settings
	// Keys, when set, gives each bucket its tenant's own KMS key.
	Keys *TenantKeys
	Log  *slog.Logger
}

// Provision creates the tenant's bucket if needed and (re)applies every
// setting; running it again is harmless. On a non-AWS endpoint a setting
// the server does not implement becomes a warning (returned and logged);
// on AWS every refusal is an error.
func (p *Provisioner) Provision(ctx context.Context, tenantID int64) (bucket string, warnings []string, err error) {
	bucket = p.Settings.BucketName(tenantID)
	b := aws.String(bucket)
	var unenforced []string
	step := func(what string, err error) error {
		if err == nil {
			return nil
		}
		if !p.Settings.AWS() && (unsupported(err) || what == "bucket policy" || what == "event notifications" || what == "ownership controls" || what == "lifecycle") {
			w := fmt.Sprintf("%s: the S3 server refused it (%s); not enforced by this server", what, errorCode(err))
			p.Log.DebugContext(ctx, "bucket setting not supported by this S3 server", "bucket", bucket, "setting", what, "err", err)
			warnings = append(warnings, w)
			unenforced = append(unenforced, what)
			return nil
		}
		return fmt.Errorf("bucket %s: %s: %w", bucket, what, err)
	}
	// The key first: an offboarded tenant's key is pending deletion, and
	// then no bucket is made for it.
	rule, err := p.encryptionRule(ctx, tenantID)
	if err != nil {
		return bucket, nil, fmt.Errorf("bucket %s: %w", bucket, err)
	}
	in := &s3.CreateBucketInput{Bucket: b, ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}
	if p.Settings.AWS() && p.Settings.Region != "us-east-1" {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(p.Settings.Region)}
	}
	if err := p.create(ctx, in, tenantID); err != nil {
		return bucket, nil, err
	}
	_, err = p.S3.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}})
	if err = step("versioning", err); err != nil {
		return bucket, warnings, err
	}
	_, err = p.S3.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b,
		ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{rule}}})
	if err = step("default encryption", err); err != nil {
		return bucket, warnings, err
	}
	_, err = p.S3.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: publicAccessBlock()})
	if err = step("public access block", err); err != nil {
		return bucket, warnings, err
	}
	_, err = p.S3.PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: b,
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}})
	if err = step("ownership controls", err); err != nil {
		return bucket, warnings, err
	}
	_, err = p.S3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{lifecycleRule()}}})
	if err = step("lifecycle", err); err != nil {
		return bucket, warnings, err
	}
	if len(p.Settings.CORSOrigins) > 0 {
		_, err = p.S3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: b, CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedMethods: []string{"PUT", "GET"}, AllowedOrigins: p.Settings.CORSOrigins,
			AllowedHeaders: []string{"content-type", "content-length", "x-amz-*"}, MaxAgeSeconds: aws.Int32(600),
		}}}})
		if err = step("CORS", err); err != nil {
			return bucket, warnings, err
		}
	}
	policy, err := Policy(bucket, p.Settings.ExemptRoleARNs, p.Settings.TaggerRoleARNs)
	if err != nil {
		return bucket, warnings, err
	}
	_, err = p.S3.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(string(policy))})
	if err = step("bucket policy", err); err != nil {
		return bucket, warnings, err
	}
	_, err = p.S3.PutBucketNotificationConfiguration(ctx, &s3.PutBucketNotificationConfigurationInput{Bucket: b,
		NotificationConfiguration: &types.NotificationConfiguration{EventBridgeConfiguration: &types.EventBridgeConfiguration{}}})
	if err = step("event notifications", err); err != nil {
		return bucket, warnings, err
	}
	// One line per bucket, not one per refused setting (dev's store refuses five).
	if len(unenforced) > 0 {
		p.Log.WarnContext(ctx, "tenant bucket provisioned; this S3 server does not enforce some settings", "tenant_id", tenantID, "bucket", bucket,
			"not_enforced", strings.Join(unenforced, ", "))
	} else {
		p.Log.InfoContext(ctx, "tenant bucket provisioned", "tenant_id", tenantID, "bucket", bucket)
	}
	return bucket, warnings, nil
}

// TenantTagKey is the bucket tag provisioning writes on a bucket it
// created; a bucket of this account under the tenant's name without it
// (or with another tenant's id) is not adopted.
const TenantTagKey = "palisade:tenant-id"

// ErrBucketNotOurs is a tenant bucket name taken by someone else: another
// account (BucketAlreadyExists: names are predictable, so squatting one is
// cheap) or a bucket of this account that provisioning did not create.
var ErrBucketNotOurs = errors.New("tenant bucket name is taken by a bucket that is not this tenant's")

// create creates the bucket and tags it with the tenant, or adopts it when
// it is already ours: BucketAlreadyOwnedByYou with our tenant tag.
func (p *Provisioner) create(ctx context.Context, in *s3.CreateBucketInput, tenantID int64) error {
	bucket := aws.ToString(in.Bucket)
	want := strconv.FormatInt(tenantID, 10)
	_, err := p.S3.CreateBucket(ctx, in)
	switch c := errorCode(err); {
	case err == nil:
		_, terr := p.S3.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: in.Bucket,
			Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(TenantTagKey), Value: aws.String(want)}}}})
		if terr != nil {
			// Untagged, the next run would refuse the bucket as not ours:
			// remove the empty bucket and let the retry create it again.
			if _, derr := p.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: in.Bucket}); derr != nil {
				p.Log.ErrorContext(ctx, "untagged new tenant bucket could not be removed", "bucket", bucket, "err", derr)
			}
			return fmt.Errorf("bucket %s: tenant tag: %w", bucket, terr)
		}
		return nil
	case c == "BucketAlreadyOwnedByYou":
		// Another provisioner (a second replica, a retried job) may have
		// created it a moment ago and not yet tagged it: an untagged bucket
		// is given a short while to get its tag before it is refused.
		var got string
		for try := 0; ; try++ {
			var terr error
			if got, terr = p.bucketTenantTag(ctx, in.Bucket); terr != nil {
				return fmt.Errorf("bucket %s exists in this account; its tags cannot be read: %w", bucket, terr)
			}
			if got != "" || try == untaggedBucketPolls {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(untaggedBucketPoll):
			}
		}
		if got != want {
			return fmt.Errorf("bucket %s exists in this account with %s=%q, not %q: %w", bucket, TenantTagKey, got, want, ErrBucketNotOurs)
		}
		return nil
	case c == "BucketAlreadyExists":
		return fmt.Errorf("bucket %s belongs to another account (BucketAlreadyExists): %w", bucket, ErrBucketNotOurs)
	default:
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
}

// encryptionRule is the tenant bucket's default encryption: the tenant's
// own key (created on first use), else the shared key, else SSE-S3. A bucket
// key keeps KMS requests to a few per bucket, not one per object.
func (p *Provisioner) encryptionRule(ctx context.Context, tenantID int64) (types.ServerSideEncryptionRule, error) {
	key := p.Settings.KMSKeyID
	if p.Keys != nil {
		var err error
		if key, err = p.Keys.Ensure(ctx, tenantID); err != nil {
			return types.ServerSideEncryptionRule{}, err
		}
	}
	if key != "" {
		return types.ServerSideEncryptionRule{BucketKeyEnabled: aws.Bool(true), ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{
			SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(key)}}, nil
	}
	return types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256}}, nil
}

func publicAccessBlock() *types.PublicAccessBlockConfiguration {
	t := aws.Bool(true)
	return &types.PublicAccessBlockConfiguration{BlockPublicAcls: t, BlockPublicPolicy: t, IgnorePublicAcls: t, RestrictPublicBuckets: t}
}

func lifecycleRule() types.LifecycleRule {
	return types.LifecycleRule{
		ID:                             aws.String(lifecycleRuleID),
		Status:                         types.ExpirationStatusEnabled,
		Filter:                         &types.LifecycleRuleFilter{Prefix: aws.String("")},
		NoncurrentVersionExpiration:    &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(NoncurrentVersionDays)},
		AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(AbortMultipartAfterDays)},
	}
}

// Finding is one bucket setting that differs from what Provision sets.
type Finding struct {
	Bucket  string `json:"bucket"`
	Setting string `json:"setting"`
	// Problem says what is wrong; Unverified findings could not be read
	// (the server does not implement the call) rather than being wrong.
	Problem    string `json:"problem"`
	Unverified bool   `json:"unverified,omitempty"`
}

// Audit reads every setting of a bucket back and reports each drift.
func (p *Provisioner) Audit(ctx context.Context, bucket string) ([]Finding, error) {
	b := aws.String(bucket)
	var out []Finding
	add := func(setting, format string, args ...any) {
		out = append(out, Finding{Bucket: bucket, Setting: setting, Problem: fmt.Sprintf(format, args...)})
	}
	// failed records a read error; it returns false when the audit must stop.
	failed := func(setting string, err error) bool {
		if unsupported(err) && !p.Settings.AWS() {
			out = append(out, Finding{Bucket: bucket, Setting: setting, Problem: "the S3 server cannot report it (" + errorCode(err) + ")", Unverified: true})
			return true
		}
		add(setting, "missing or unreadable: %s", firstLine(err))
		return true
	}
	if _, err := p.S3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b}); err != nil {
		add("bucket", "does not exist or cannot be reached: %s", firstLine(err))
		return out, nil
	}
	if v, err := p.S3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b}); err != nil {
		failed("versioning", err)
	} else if v.Status != types.BucketVersioningStatusEnabled {
		add("versioning", "status is %q, want Enabled", v.Status)
	}
	if e, err := p.S3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}); err != nil {
		failed("default encryption", err)
	} else if want, werr := p.auditEncryptionRule(ctx, bucket); werr != nil {
		add("default encryption", "the expected key cannot be read: %s", firstLine(werr))
	} else if e.ServerSideEncryptionConfiguration == nil || len(e.ServerSideEncryptionConfiguration.Rules) == 0 ||
		!sameEncryption(e.ServerSideEncryptionConfiguration.Rules[0], want) {
		what := string(want.ApplyServerSideEncryptionByDefault.SSEAlgorithm)
		if k := want.ApplyServerSideEncryptionByDefault.KMSMasterKeyID; k != nil {
			what += " with key " + *k
		}
		add("default encryption", "is not %s", what)
	}
	if pab, err := p.S3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b}); err != nil {
		failed("public access block", err)
	} else if c := pab.PublicAccessBlockConfiguration; c == nil || !aws.ToBool(c.BlockPublicAcls) || !aws.ToBool(c.BlockPublicPolicy) ||
		!aws.ToBool(c.IgnorePublicAcls) || !aws.ToBool(c.RestrictPublicBuckets) {
		add("public access block", "not all four blocks are on")
	}
	if oc, err := p.S3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b}); err != nil {
		failed("ownership controls", err)
	} else if oc.OwnershipControls == nil || len(oc.OwnershipControls.Rules) == 0 || oc.OwnershipControls.Rules[0].ObjectOwnership != types.ObjectOwnershipBucketOwnerEnforced {
		add("ownership controls", "object ownership is not BucketOwnerEnforced")
	}
	if lc, err := p.S3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b}); err != nil {
		failed("lifecycle", err)
	} else if !hasLifecycle(lc.Rules) {
		add("lifecycle", "no enabled rule expiring noncurrent versions after %d days", NoncurrentVersionDays)
	}
	if pol, err := p.S3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); err != nil {
		failed("bucket policy", err)
	} else if want, _ := Policy(bucket, p.Settings.ExemptRoleARNs, p.Settings.TaggerRoleARNs); !sameJSON(aws.ToString(pol.Policy), string(want)) {
		add("bucket policy", "differs from the TLS-only, deny-unless-Clean policy")
	}
	if n, err := p.S3.GetBucketNotificationConfiguration(ctx, &s3.GetBucketNotificationConfigurationInput{Bucket: b}); err != nil {
		failed("event notifications", err)
	} else if n.EventBridgeConfiguration == nil {
		add("event notifications", "EventBridge notifications are off, so uploads would never be scanned")
	}
	return out, nil
}

// auditEncryptionRule is the rule a bucket should have, without creating a
// key: a tenant bucket whose key is missing is a finding, not a repair.
func (p *Provisioner) auditEncryptionRule(ctx context.Context, bucket string) (types.ServerSideEncryptionRule, error) {
	tenantID, ok := p.Settings.TenantOfBucket(bucket)
	if p.Keys == nil || !ok {
		return p.encryptionRule(ctx, 0)
	}
	arn, err := p.Keys.lookup(ctx, p.Keys.Alias(tenantID))
	if err == nil && arn == "" {
		err = fmt.Errorf("the tenant has no key (%s)", p.Keys.Alias(tenantID))
	}
	if err != nil {
		return types.ServerSideEncryptionRule{}, err
	}
	return types.ServerSideEncryptionRule{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{
		SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String(arn)}}, nil
}

func sameEncryption(got, want types.ServerSideEncryptionRule) bool {
	g, w := got.ApplyServerSideEncryptionByDefault, want.ApplyServerSideEncryptionByDefault
	if g == nil || g.SSEAlgorithm != w.SSEAlgorithm {
		return false
	}
	return w.KMSMasterKeyID == nil || strings.HasSuffix(aws.ToString(g.KMSMasterKeyID), aws.ToString(w.KMSMasterKeyID))
}

func hasLifecycle(rules []types.LifecycleRule) bool {
	for _, r := range rules {
		if r.Status == types.ExpirationStatusEnabled && r.NoncurrentVersionExpiration != nil &&
			aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) > 0 && aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) <= NoncurrentVersionDays {
			return true
		}
	}
	return false
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i > 0 {
		s = s[:i]
	}
	return s
}

// How long an untagged bucket of this account is watched for a concurrent
// provisioner's tag: creation and tagging are two calls, milliseconds apart.
const (
	untaggedBucketPolls = 15
	untaggedBucketPoll  = 200 * time.Millisecond
)

// bucketTenantTag reads a bucket's palisade:tenant-id tag ("" if none).
func (p *Provisioner) bucketTenantTag(ctx context.Context, bucket *string) (string, error) {
	tags, err := p.S3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: bucket})
	if err != nil && errorCode(err) != "NoSuchTagSet" {
		return "", err
	}
	if tags != nil {
		for _, t := range tags.TagSet {
			if aws.ToString(t.Key) == TenantTagKey {
				return aws.ToString(t.Value), nil
			}
		}
	}
	return "", nil
}
