package files_test

import (
	"context"
	"testing"

	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/jobs"
	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
)

// TestOneScanJobPerVersion: the webhook, the upload's completion and the
// rescan sweep ask for the same object version; one files.scan job
// results. A new version is a new job.
func TestOneScanJobPerVersion(t *testing.T) {
	ctx := context.Background()
	rdb, _ := jobstest.Redis(t)
	svc := &files.Service{Jobs: jobs.NewClient(rdb)}
	for range 3 { // webhook, /complete, sweep
		if err := svc.EnqueueScan(ctx, 1, 2, "v1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.EnqueueScan(ctx, 1, 2, "v1", jobs.ReviveDead()); err != nil {
		t.Fatal(err)
	}
	insp := jobs.NewInspector(rdb)
	pending, err := insp.List(jobs.QueueDefault, "pending", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].Type != "files.scan" || pending[0].ID != files.ScanJobID(1, 2, "v1") {
		t.Fatalf("pending jobs after four asks for one version: %+v", pending)
	}
	if err := svc.EnqueueScan(ctx, 1, 2, "v2"); err != nil {
		t.Fatal(err)
	}
	if pending, _ = insp.List(jobs.QueueDefault, "pending", 100); len(pending) != 2 {
		t.Fatalf("a new version did not get its own job: %+v", pending)
	}
	if err := jobs.ValidJobID(files.ScanJobID(1, 2, "odd/version+id==")); err != nil {
		t.Fatalf("scan job ids must be ids HQ can act on: %v", err)
	}
}
