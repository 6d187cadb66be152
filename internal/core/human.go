package core

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// HumanDuration says a duration the way people do, for every message, page
// and mail: "15 minutes", "3 days", "1 hour 30 minutes", never Go's
// "15m0s". It names at most the two largest units and rounds the second
// up, so that "try again in" never promises less than the wait.
func HumanDuration(d time.Duration) string {
	secs := int64((d + time.Second - 1) / time.Second)
	if secs <= 0 {
		return "0 seconds"
	}
	units := []struct {
		name string
		secs int64
	}{{"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}}
	i := 0
	for secs < units[i].secs {
		i++
	}
	big := units[i]
	if secs%big.secs == 0 || big.secs == 1 {
		return plural(secs/big.secs, big.name)
	}
	small := units[i+1]
	m := (secs + small.secs - 1) / small.secs // in small units, rounded up
	per := big.secs / small.secs
	if m%per == 0 {
		return plural(m/per, big.name)
	}
	return plural(m/per, big.name) + " " + plural(m%per, small.name)
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// HumanSize says a byte count as people read it: "512 bytes", "3.2 MB",
// "1 GB" (decimal units, as browsers and operating systems show sizes).
func HumanSize(n int64) string {
	if n < 1000 {
		if n == 1 {
			return "1 byte"
		}
		return fmt.Sprintf("%d bytes", n)
	}
	v := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB", "PB"} {
		v /= 1000
		if v < 999.95 || u == "PB" {
			s := fmt.Sprintf("%.1f", v)
			s = strings.TrimSuffix(s, ".0")
			return s + " " + u
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// RelativeTime says t from now as people do: "just now", "5 minutes ago",
// "3 days ago", "in 2 hours" (an expiry). One unit, truncated, so that "in
// 2 hours" never promises more than is left.
func RelativeTime(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	if d < time.Minute {
		return "just now" // also a clock a little ahead
	}
	for _, u := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if d >= u {
			s := HumanDuration(d.Truncate(u))
			if future {
				return "in " + s
			}
			return s + " ago"
		}
	}
	return "just now"
}

// ExactSize is the exact byte count for a hover title, grouped in
// thousands: "3,240,000 bytes".
func ExactSize(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s + " bytes"
}

// DeviceName says a User-Agent as people know their devices: "Chrome on
// macOS", "Safari on iPhone", "curl"; "unknown device" when there is none.
// The raw string stays available to show on hover.
func DeviceName(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "unknown device"
	}
	l := strings.ToLower(ua)
	browser := ""
	for _, b := range []struct{ key, name string }{
		{"edg/", "Edge"}, {"opr/", "Opera"}, {"firefox/", "Firefox"}, {"headlesschrome", "Headless Chrome"},
		{"chrome/", "Chrome"}, {"chromium/", "Chromium"}, {"safari/", "Safari"},
		{"curl/", "curl"}, {"wget/", "Wget"}, {"python", "Python script"}, {"go-http-client", "Go program"}, {"node", "Node.js program"},
	} {
		if strings.Contains(l, b.key) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, o := range []struct{ key, name string }{
		{"iphone", "iPhone"}, {"ipad", "iPad"}, {"android", "Android"}, {"windows", "Windows"},
		{"mac os x", "macOS"}, {"macintosh", "macOS"}, {"cros", "ChromeOS"}, {"linux", "Linux"},
	} {
		if strings.Contains(l, o.key) {
			system = o.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "a browser on " + system
	}
	if len(ua) > 40 {
		return ua[:40] + "…"
	}
	return ua
}

// PlaceName says an IP address for people: loopback is "this computer".
func PlaceName(ip string) string {
	switch ip {
	case "", "invalid IP":
		return "unknown"
	case "::1", "127.0.0.1":
		return "this computer (" + ip + ")"
	}
	return ip
}
