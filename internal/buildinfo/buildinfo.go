// Package buildinfo carries the version stamped in at link time:
//
//	go build -ldflags "-X github.com/palisade-hq/palisade/internal/buildinfo.Version=v1.2.3 ..."
package buildinfo

import "runtime/debug"

var (
	Version = "dev"
	Commit  = ""
	Date    = ""
)

// String is the one-line version report.
func String() string {
	commit := Commit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					commit = s.Value
				}
			}
		}
	}
	if commit == "" {
		commit = "unknown"
	}
	date := Date
	if date == "" {
		date = "unknown"
	}
	return "palisade " + Version + " (commit " + commit + ", built " + date + ")"
}
