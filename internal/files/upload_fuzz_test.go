package files

import (
	"context"
	"errors"
	"mime"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
)

// FuzzNewUpload: the upload-url request (name, size, content type) as
// NewUpload checks it, with the deployment's default limits. The service's
// database is closed, so an announcement that passes every check stops at
// the first database call with that error, and one that fails stops with a
// validation error first. Properties: refused exactly when the name, size or
// type breaks its rule, with the field of the first rule broken named, as a
// 422 (never a 500); accepted only for a valid name, 1..max bytes and an
// allowed media type.
func FuzzNewUpload(f *testing.F) {
	for _, s := range []struct {
		name string
		size int64
		ct   string
	}{
		{"q3 report.pdf", 1234, "application/pdf"},
		{"photo.PNG", 1, "image/png"},
		{"notes.txt", 52428800, "text/plain; charset=utf-8"},
		{"big.zip", 52428801, "application/zip"},
		{"x.exe", 10, "application/x-msdownload"},
		{"x.pdf", 10, "Application/PDF"},
		{"x.pdf", 10, "application/pdf; charset"},
		{"x.pdf", 10, ""},
		{"x.pdf", 0, "application/pdf"},
		{"x.pdf", -1, "application/pdf"},
		{"x.pdf", -9223372036854775808, "application/pdf"},
		{"../x.pdf", 10, "application/pdf"},
		{"  padded.pdf  ", 10, "application/pdf"},
		{"\u202egnp.exe", 10, "image/png"},
		{"", 10, "application/pdf"},
	} {
		f.Add(s.name, s.size, s.ct)
	}
	cfg, err := config.Load(context.Background(), func(string) string { return "" }, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	st, err := store.Open(context.Background(), "sqlite", filepath.Join(f.TempDir(), "closed.db"))
	if err != nil {
		f.Fatal(err)
	}
	_ = st.Close()
	svc := &Service{Settings: SettingsFrom(cfg, "https://*.example.com"), Store: st}
	f.Fuzz(func(t *testing.T, name string, size int64, ct string) {
		_, _, err := svc.NewUpload(context.Background(), 1, 1, name, size, ct, core.AuditEvent{})
		if err == nil {
			t.Fatalf("NewUpload succeeded against a closed database")
		}
		wantField := ""
		if _, nerr := ValidName(name); nerr != nil {
			wantField = "name"
		} else if size <= 0 || size > svc.Settings.MaxBytes {
			wantField = "size"
		} else if mt, _, perr := mime.ParseMediaType(ct); perr != nil || ct == "" || !slices.Contains(svc.Settings.AllowedTypes, mt) {
			wantField = "content_type"
		}
		var ce *core.Error
		isInvalid := errors.As(err, &ce) && ce.Kind == core.KindInvalid
		switch {
		case wantField == "" && isInvalid:
			t.Fatalf("NewUpload(%q, %d, %q) refused a valid upload: %v", name, size, ct, err)
		case wantField == "":
			// Passed every check and reached the database: fine.
		case !isInvalid:
			t.Fatalf("NewUpload(%q, %d, %q) = %v, want a validation error on %s", name, size, ct, err, wantField)
		case ce.Field != wantField || ce.Message == "":
			t.Fatalf("NewUpload(%q, %d, %q) blamed %q (%q), want %s", name, size, ct, ce.Field, ce.Message, wantField)
		}
	})
}

// FuzzTenantOfBucket: the bucket named in an S3 event decides the tenant
// whose file is scanned, so the mapping must be exact both ways: a bucket
// maps to a tenant only if it is that tenant's bucket name spelled the one
// canonical way, and every tenant's bucket maps back to it.
func FuzzTenantOfBucket(f *testing.F) {
	for _, s := range []string{"palisade-tenant-7", "palisade-tenant-07", "palisade-tenant-+7", "palisade-tenant-0", "palisade-tenant--7",
		"palisade-tenant-9223372036854775807", "palisade-tenant-9223372036854775808", "palisade-tenant-", "palisade-tenant-7x", "other-7"} {
		f.Add(s, int64(7))
	}
	set := Settings{BucketPrefix: "palisade-tenant-"}
	f.Fuzz(func(t *testing.T, bucket string, id int64) {
		if got, ok := set.TenantOfBucket(bucket); ok {
			if got <= 0 || set.BucketName(got) != bucket {
				t.Fatalf("TenantOfBucket(%q) = %d, whose bucket is %q", bucket, got, set.BucketName(got))
			}
		}
		if id > 0 {
			if got, ok := set.TenantOfBucket(set.BucketName(id)); !ok || got != id {
				t.Fatalf("tenant %d's bucket %q maps to %d, %v", id, set.BucketName(id), got, ok)
			}
		} else if _, ok := set.TenantOfBucket(set.BucketPrefix + strconv.FormatInt(id, 10)); ok {
			t.Fatalf("bucket of non-positive id %d accepted", id)
		}
	})
}
