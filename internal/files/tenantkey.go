package files

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// Tags on a tenant key. IAM lets the app create keys only with both, and use
// or delete only keys that carry its scope (docs/architecture.md,
// crypto-shredding); the scope is the deployment's bucket prefix, so two
// environments in one account never touch each other's keys.
const (
	KeyTenantTag = TenantTagKey
	KeyScopeTag  = "palisade:key-scope"
)

// Pending-deletion window of a shredded key, in days: AWS's own bounds.
const (
	MinShredDays = 7
	MaxShredDays = 30
)

// ErrKeyShredded is a tenant whose key is already scheduled for deletion:
// an offboarded tenant gets no new data.
var ErrKeyShredded = errors.New("the tenant's encryption key is scheduled for deletion")

// TenantKeys gives each tenant its own customer-managed KMS key, the default
// encryption of its bucket, so that offboarding can crypto-shred: once the
// key is deleted, every copy of the tenant's objects that outlived the
// bucket (old versions, backups, replicas) is unreadable.
type TenantKeys struct {
	KMS *kms.Client
	// Scope is the bucket prefix: the alias is alias/<Scope><tenant id>.
	Scope     string
	ShredDays int // clamped to MinShredDays..MaxShredDays
	Log       *slog.Logger
}

// Alias is the tenant key's alias.
func (k *TenantKeys) Alias(tenantID int64) string {
	return "alias/" + k.Scope + strconv.FormatInt(tenantID, 10)
}

// Ensure returns the ARN of the tenant's key, creating it (tagged, with
// yearly rotation) and its alias on first use. Two provisioners at once
// both create a key, but only one alias can be created: the loser schedules
// its own key for deletion and uses the winner's.
func (k *TenantKeys) Ensure(ctx context.Context, tenantID int64) (string, error) {
	alias := k.Alias(tenantID)
	if arn, err := k.lookup(ctx, alias); err != nil || arn != "" {
		return arn, err
	}
	id := strconv.FormatInt(tenantID, 10)
	created, err := k.KMS.CreateKey(ctx, &kms.CreateKeyInput{
		Description: aws.String("Palisade tenant " + id + " (" + k.Scope + "): default encryption of its bucket; deleted at offboarding"),
		KeySpec:     kmstypes.KeySpecSymmetricDefault,
		KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
		Tags: []kmstypes.Tag{
			{TagKey: aws.String(KeyTenantTag), TagValue: aws.String(id)},
			{TagKey: aws.String(KeyScopeTag), TagValue: aws.String(k.Scope)},
		},
	})
	if err != nil {
		return "", fmt.Errorf("tenant key %s: create: %w", alias, err)
	}
	keyARN := aws.ToString(created.KeyMetadata.Arn)
	_, err = k.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyARN)})
	var exists *kmstypes.AlreadyExistsException
	if errors.As(err, &exists) {
		k.discard(ctx, keyARN, alias)
		arn, lerr := k.lookup(ctx, alias)
		if lerr == nil && arn == "" {
			lerr = fmt.Errorf("tenant key %s: the alias exists but names no key", alias)
		}
		return arn, lerr
	}
	if err != nil {
		k.discard(ctx, keyARN, alias)
		return "", fmt.Errorf("tenant key %s: alias: %w", alias, err)
	}
	if _, err := k.KMS.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(keyARN)}); err != nil {
		return "", fmt.Errorf("tenant key %s: rotation: %w", alias, err)
	}
	k.Log.InfoContext(ctx, "tenant key created", "tenant_id", tenantID, "alias", alias, "key", keyARN)
	return keyARN, nil
}

// lookup is the ARN of the key behind alias, "" when there is none.
func (k *TenantKeys) lookup(ctx context.Context, alias string) (string, error) {
	out, err := k.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	var notFound *kmstypes.NotFoundException
	if errors.As(err, &notFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("tenant key %s: %w", alias, err)
	}
	switch out.KeyMetadata.KeyState {
	case kmstypes.KeyStatePendingDeletion, kmstypes.KeyStatePendingReplicaDeletion:
		return "", fmt.Errorf("tenant key %s: %w", alias, ErrKeyShredded)
	case kmstypes.KeyStateEnabled:
		return aws.ToString(out.KeyMetadata.Arn), nil
	default:
		return "", fmt.Errorf("tenant key %s is %s, not Enabled", alias, out.KeyMetadata.KeyState)
	}
}

// discard schedules a key this provisioner created but cannot use.
func (k *TenantKeys) discard(ctx context.Context, keyARN, alias string) {
	if _, err := k.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyARN), PendingWindowInDays: aws.Int32(MinShredDays)}); err != nil {
		k.Log.ErrorContext(ctx, "unused tenant key could not be scheduled for deletion", "alias", alias, "key", keyARN, "err", err)
	}
}

// Shred schedules the tenant's key for deletion (ShredDays from now; AWS
// deletes its alias with it). A tenant without a key, or whose key is
// already scheduled, is success, so a retried offboarding finishes.
func (k *TenantKeys) Shred(ctx context.Context, tenantID int64) (time.Time, error) {
	alias := k.Alias(tenantID)
	out, err := k.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	var notFound *kmstypes.NotFoundException
	if errors.As(err, &notFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("tenant key %s: %w", alias, err)
	}
	md := out.KeyMetadata
	if md.KeyState == kmstypes.KeyStatePendingDeletion {
		return aws.ToTime(md.DeletionDate), nil
	}
	s, err := k.KMS.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: md.Arn, PendingWindowInDays: aws.Int32(shredWindow(k.ShredDays))})
	if err != nil {
		return time.Time{}, fmt.Errorf("tenant key %s: schedule deletion: %w", alias, err)
	}
	k.Log.InfoContext(ctx, "tenant key scheduled for deletion", "tenant_id", tenantID, "alias", alias, "key", aws.ToString(md.Arn),
		"deletion_date", aws.ToTime(s.DeletionDate))
	return aws.ToTime(s.DeletionDate), nil
}

// shredWindow is days within AWS's pending-deletion bounds.
func shredWindow(days int) int32 {
	if days < MinShredDays {
		return MinShredDays
	}
	if days > MaxShredDays {
		return MaxShredDays
	}
	return int32(days)
}
