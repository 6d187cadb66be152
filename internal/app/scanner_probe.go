package app

import (
	"context"
	"time"

	"github.com/palisade-hq/palisade/internal/api"
	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/store"
)

// scannerProbe reports malware scanning for HQ's health page: whether
// clamd answers and with which signatures, how many files wait longer than
// the rescan threshold, and how many were found infected in a day.
type scannerProbe struct {
	clamd       *scan.Clamd // nil when PALISADE_CLAMD_ADDR is unset
	st          *store.Store
	rescanAfter time.Duration
	now         func() time.Time
}

func (p scannerProbe) ScannerStatus(ctx context.Context) (api.ScannerStatus, error) {
	var out api.ScannerStatus
	now := p.now()
	pending, infected, err := p.st.ScanHealth(ctx, now.Add(-p.rescanAfter), now.Add(-24*time.Hour))
	if err != nil {
		return out, err
	}
	out.PendingOverdue, out.Infected24h = pending, infected
	if p.clamd == nil {
		out.NotConfigured = true
		return out, nil
	}
	engine, sigs, date, err := p.clamd.Version(ctx)
	if err != nil {
		out.Error = "clamd unreachable: " + err.Error()
		return out, nil
	}
	out.ClamdReachable = true
	out.SignatureVersion = "ClamAV " + engine
	if sigs != "" {
		out.SignatureVersion += " / signatures " + sigs
	}
	out.SignatureTime = date
	return out, nil
}
