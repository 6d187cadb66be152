package core_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

func TestHumanDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                                 "0 seconds",
		-time.Minute:                      "0 seconds",
		time.Millisecond:                  "1 second",
		time.Second:                       "1 second",
		59 * time.Second:                  "59 seconds",
		time.Minute:                       "1 minute",
		61 * time.Second:                  "1 minute 1 second",
		10 * time.Minute:                  "10 minutes",
		15*time.Minute - time.Millisecond: "15 minutes",
		90 * time.Minute:                  "1 hour 30 minutes",
		time.Hour + 30*time.Second:        "1 hour 1 minute",
		2*time.Hour - time.Second:         "2 hours",
		24 * time.Hour:                    "1 day",
		72 * time.Hour:                    "3 days",
		30 * time.Hour:                    "1 day 6 hours",
		2*24*time.Hour - time.Minute:      "2 days",
		365 * 24 * time.Hour:              "365 days",
		12*time.Hour + 1:                  "12 hours 1 minute",
	} {
		if got := core.HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// No duration people read is ever said in Go's syntax.
func TestHumanDurationNeverGoSyntax(t *testing.T) {
	goSyntax := regexp.MustCompile(`\d+(h|m|s|ms|µs|ns)\b|\d+h\d+m|\d+m\d+s`)
	for d := time.Duration(0); d < 100*time.Hour; d += 17*time.Minute + 13*time.Second + 7*time.Millisecond {
		if s := core.HumanDuration(d); goSyntax.MatchString(s) {
			t.Fatalf("HumanDuration(%v) = %q", d, s)
		}
		if core.HumanDuration(d) == "" {
			t.Fatalf("empty for %v", d)
		}
	}
}

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1 kB", 1500: "1.5 kB",
		3240000: "3.2 MB", 52428800: "52.4 MB", 999_960: "1 MB", 1e9: "1 GB", 5e12: "5 TB", 7e18: "7000 PB",
	} {
		if got := core.HumanSize(n); got != want {
			t.Errorf("HumanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestDeviceAndPlaceNames(t *testing.T) {
	for ua, want := range map[string]string{
		"": "unknown device",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36":                   "Chrome on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0":                                                        "Firefox on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0":           "Edge on Windows",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36":                            "Chrome on Android",
		"curl/8.5.0":         "curl",
		"Go-http-client/1.1": "Go program",
	} {
		if got := core.DeviceName(ua); got != want {
			t.Errorf("DeviceName(%q) = %q, want %q", ua, got, want)
		}
	}
	if got := core.PlaceName("::1"); got != "this computer (::1)" {
		t.Errorf("PlaceName(::1) = %q", got)
	}
	if got := core.PlaceName("203.0.113.7"); got != "203.0.113.7" {
		t.Errorf("PlaceName = %q", got)
	}
}

func TestExactSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1,000 bytes", 3240000: "3,240,000 bytes", 1234567890: "1,234,567,890 bytes"} {
		if got := core.ExactSize(n); got != want {
			t.Errorf("ExactSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestActionName(t *testing.T) {
	for code, want := range map[string]string{
		"invitation.created":    "Invitation sent",
		"auth.login":            "Logged in",
		"passkey.added":         "Passkey added",
		"hq.operator.created":   "HQ operator created",
		"security.totp_removed": "Security TOTP removed",
		"":                      "Something happened",
	} {
		if got := core.ActionName(code); got != want {
			t.Errorf("ActionName(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestRelativeTime(t *testing.T) {
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
		if got := core.RelativeTime(now, now.Add(-d)); got != want {
			t.Errorf("RelativeTime(%v) = %q, want %q", d, got, want)
		}
	}
}
