package files_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/palisade-hq/palisade/internal/files"
	"github.com/palisade-hq/palisade/internal/jobs"
)

// TestJobsWithoutObjectStore: on a worker with no object store the jobs
// that need one fail for good saying so, and the periodic sweeps succeed
// doing nothing, so they do not fill the dead-letter queue every minute.
func TestJobsWithoutObjectStore(t *testing.T) {
	reg := jobs.NewRegistry()
	files.RegisterJobs(reg, nil)
	ctx := context.Background()
	for _, name := range []string{files.ScanFile.Name, files.ProvisionBucket.Name, files.AuditBuckets.Name} {
		err := reg.Run(ctx, name, []byte(`{"tenant_id":1,"file_id":2}`))
		if err == nil || !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "no object store") {
			t.Fatalf("%s without an object store: %v, want a permanent failure naming it", name, err)
		}
	}
	for _, name := range []string{files.RescanPendingFiles.Name, files.ProvisionBuckets.Name} {
		if err := reg.Run(ctx, name, []byte(`{}`)); err != nil {
			t.Fatalf("sweep %s without an object store: %v", name, err)
		}
	}
}
