package web

import (
	"testing"
	"time"
)

func TestAgo(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0:                              "just now",
		59 * time.Second:               "just now",
		time.Minute:                    "1 minute ago",
		5*time.Minute + 40*time.Second: "5 minutes ago",
		90 * time.Minute:               "1 hour ago",
		49 * time.Hour:                 "2 days ago",
		-30 * time.Second:              "just now", // a clock a little ahead
		-time.Hour:                     "in 1 hour",
		-(3*24*time.Hour + time.Hour):  "in 3 days",
	} {
		if got := ago(now, now.Add(-d)); got != want {
			t.Errorf("ago(%v) = %q, want %q", d, got, want)
		}
	}
}
