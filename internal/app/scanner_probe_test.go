package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/api"
	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestScannerProbe: HQ's health page learns from a real clamd whether it
// answers and which signatures it runs, says plainly when it is down, and
// counts overdue and infected files over all tenants.
func TestScannerProbe(t *testing.T) {
	addr := testenv.Clamd(t)
	st := testenv.Store(t, "sqlite")
	ctx := context.Background()
	now := time.Now()
	if _, err := st.DB().Exec(`INSERT INTO tenants (slug, name, status, created_at, updated_at) VALUES ('acme','Acme','active',0,0)`); err != nil {
		t.Fatal(err)
	}
	insert := func(key, status string, created, scanned int64) {
		t.Helper()
		if _, err := st.DB().Exec(`INSERT INTO files (tenant_id, uploader_id, name, content_type, size, bucket, object_key, status, created_at, scanned_at) VALUES (1, 1, 'f', 'text/plain', 1, 'b', ?, ?, ?, ?)`,
			key, status, created, scanned); err != nil {
			t.Fatal(err)
		}
	}
	insert("old-pending", "pending", now.Add(-time.Hour).UnixMilli(), 0)
	insert("new-pending", "pending", now.UnixMilli(), 0)
	insert("infected-today", "infected", now.Add(-time.Hour).UnixMilli(), now.Add(-time.Hour).UnixMilli())
	insert("infected-last-week", "infected", now.Add(-200*time.Hour).UnixMilli(), now.Add(-200*time.Hour).UnixMilli())

	probe := func(clamdAddr string) api.ScannerProbe {
		env := map[string]string{"PALISADE_ENV": "test", "PALISADE_BASE_URL": "http://localhost:3000", "PALISADE_CLAMD_ADDR": clamdAddr, "PALISADE_FILES_RESCAN_AFTER": "10m"}
		cfg, err := config.Load(ctx, func(k string) string { return env[k] }, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return app.NewScannerProbe(cfg, st)
	}
	s, err := probe(addr).ScannerStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.ClamdReachable || !strings.HasPrefix(s.SignatureVersion, "ClamAV ") || s.Error != "" {
		t.Fatalf("clamd up: %+v", s)
	}
	if s.PendingOverdue != 1 || s.Infected24h != 1 {
		t.Fatalf("counts: pending overdue %d, infected 24h %d; want 1 and 1", s.PendingOverdue, s.Infected24h)
	}

	s, err = probe("tcp://127.0.0.1:1").ScannerStatus(ctx)
	if err != nil || s.ClamdReachable || !strings.Contains(s.Error, "clamd unreachable") {
		t.Fatalf("clamd down: %+v %v", s, err)
	}
	// No scanner is a state, not an error (HQ shows "scanner not configured").
	if s, _ = probe("").ScannerStatus(ctx); s.ClamdReachable || !s.NotConfigured || s.Error != "" {
		t.Fatalf("clamd unset: %+v", s)
	}
}

func TestParseClamdVersion(t *testing.T) {
	e, sigs, date, err := scan.ParseVersion("ClamAV 1.4.6/27830/Wed Nov 25 09:21:02 2026")
	if err != nil || e != "1.4.6" || sigs != "27830" || date.Day() != 25 {
		t.Fatalf("%q %q %v %v", e, sigs, date, err)
	}
	if e, sigs, _, err = scan.ParseVersion("ClamAV 1.4.6"); err != nil || e != "1.4.6" || sigs != "" {
		t.Fatalf("engine only: %q %q %v", e, sigs, err)
	}
	if _, _, _, err = scan.ParseVersion("UNKNOWN COMMAND"); err == nil {
		t.Fatal("garbage accepted")
	}
}
