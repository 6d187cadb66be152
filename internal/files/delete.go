package files

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DeleteTenantData removes every object version and delete marker in the
// tenant's bucket, then the bucket, then schedules the tenant's own KMS key
// for deletion where it has one (HQ's offboarding, offboarding.TenantDataDeleter).
// A bucket that is already gone is success, so a retried deletion finishes.
func (s *Service) DeleteTenantData(ctx context.Context, tenantID int64) error {
	bucket := s.Settings.BucketName(tenantID)
	p := s3.NewListObjectVersionsPaginator(s.Clients.S3, &s3.ListObjectVersionsInput{Bucket: &bucket})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if errorCode(err) == "NoSuchBucket" {
			return s.shredKey(ctx, tenantID)
		}
		if err != nil {
			return fmt.Errorf("list versions of %s: %w", bucket, err)
		}
		var ids []types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		// One page is at most 1,000 entries, DeleteObjects' own limit.
		if len(ids) > 0 {
			out, err := s.Clients.S3.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{Objects: ids, Quiet: &[]bool{true}[0]}})
			if err != nil {
				return fmt.Errorf("delete objects of %s: %w", bucket, err)
			}
			if len(out.Errors) > 0 {
				e := out.Errors[0]
				return fmt.Errorf("delete objects of %s: %d failed, first %s: %s", bucket, len(out.Errors), deref(e.Key), deref(e.Message))
			}
		}
	}
	if _, err := s.Clients.S3.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil && errorCode(err) != "NoSuchBucket" {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	s.Log.InfoContext(ctx, "tenant bucket deleted", "tenant_id", tenantID, "bucket", bucket)
	return s.shredKey(ctx, tenantID)
}

// shredKey comes last, so that a failed deletion above is retried with the
// key still there; from here every copy that outlived the bucket is
// unreadable.
func (s *Service) shredKey(ctx context.Context, tenantID int64) error {
	if k := s.TenantKeys(); k != nil {
		if _, err := k.Shred(ctx, tenantID); err != nil {
			return err
		}
	}
	return nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
