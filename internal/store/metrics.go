package store

import (
	"context"
	"fmt"
	"time"
)

// ScanMetrics counts, over all tenants, files still pending since before
// overdue (the rescan sweep has not got a verdict for them) and files
// whose scan ended in an Error verdict since since. The worker exports
// both for the CloudWatch alarms (internal/app/metrics.go).
func (s *Store) ScanMetrics(ctx context.Context, overdue, since time.Time) (pendingOverdue, errored int64, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT
		COALESCE(SUM(CASE WHEN status = ? AND COALESCE(uploaded_at, created_at) < ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN status = ? AND scanned_at >= ? THEN 1 ELSE 0 END), 0)
		FROM files`, FilePending, overdue.UnixMilli(), FileError, since.UnixMilli()).Scan(&pendingOverdue, &errored)
	if err != nil {
		return 0, 0, fmt.Errorf("scan metrics: %w", err)
	}
	return pendingOverdue, errored, nil
}
