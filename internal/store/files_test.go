package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func TestFilesAreTenantScoped(t *testing.T) {
	testenv.ForEachDriver(t, func(t *testing.T, driver string) {
		ctx := context.Background()
		st := testenv.Store(t, driver)
		ev := core.AuditEvent{Action: "test", ActorType: "system"}
		a, err := st.CreateTenant(ctx, "acme", "Acme", ev)
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.CreateTenant(ctx, "beta", "Beta", ev)
		if err != nil {
			t.Fatal(err)
		}
		f, err := st.Tenant(a.ID).CreateFile(ctx, store.File{UploaderID: 1, Name: "a.txt", ContentType: "text/plain", Size: 3, Bucket: "bk-1"},
			func(id int64) string { return "files/x" }, ev)
		if err != nil {
			t.Fatal(err)
		}
		if f.Status != store.FilePending || f.ObjectKey != "files/x" {
			t.Fatalf("created %+v", f)
		}
		other := st.Tenant(b.ID)
		if _, err := other.File(ctx, f.ID); !core.IsNotFound(err) {
			t.Fatalf("beta reads acme's file: %v", err)
		}
		if err := other.DeleteFile(ctx, f.ID, ev); !core.IsNotFound(err) {
			t.Fatalf("beta deletes acme's file: %v", err)
		}
		if _, _, err := other.RecordScan(ctx, f.ID, "v1", store.FileClean, "", ev); !core.IsNotFound(err) {
			t.Fatalf("beta records a scan on acme's file: %v", err)
		}
		if list, err := other.Files(ctx, 50, 0); err != nil || len(list) != 0 {
			t.Fatalf("beta lists %d files (%v)", len(list), err)
		}
		// A result is recorded once per version; a repeat changes nothing.
		got, changed, err := st.Tenant(a.ID).RecordScan(ctx, f.ID, "v1", store.FileInfected, "Eicar", ev)
		if err != nil || !changed || got.Status != store.FileInfected || got.ScannedAt == nil {
			t.Fatalf("record: %+v %v %v", got, changed, err)
		}
		if _, changed, err := st.Tenant(a.ID).RecordScan(ctx, f.ID, "v1", store.FileInfected, "Eicar", ev); err != nil || changed {
			t.Fatalf("repeat record changed=%v err=%v", changed, err)
		}
		byObj, err := st.FileByObject(ctx, "bk-1", "files/x")
		if err != nil || byObj.ID != f.ID || byObj.TenantID != a.ID {
			t.Fatalf("by object: %+v %v", byObj, err)
		}
		// Only pending files are swept.
		p, err := st.Tenant(a.ID).CreateFile(ctx, store.File{UploaderID: 1, Name: "b.txt", ContentType: "text/plain", Size: 3, Bucket: "bk-1"},
			func(id int64) string { return "files/y" }, ev)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := st.PendingFiles(ctx, time.Now().Add(time.Hour), 10)
		if err != nil || len(pending) != 1 || pending[0].ID != p.ID {
			t.Fatalf("pending: %+v %v", pending, err)
		}
	})
}
