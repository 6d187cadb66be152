// Package skiplog records, for the summary `make test` prints at the end,
// the tests that were skipped or ran on an embedded stand-in for want of a
// real service. It imports nothing of Palisade's, so any package's tests
// can use it (testenv itself imports most of the module).
package skiplog

import (
	"os"
	"testing"
)

// Note appends one line (kind, service, variable, test) to the file
// PALISADE_TEST_SKIPLOG names; without the variable it does nothing. Small
// O_APPEND writes from parallel test binaries do not interleave.
func Note(tb testing.TB, kind, service, envVar string) {
	path := os.Getenv("PALISADE_TEST_SKIPLOG")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600) // #nosec G304 -- a path the Makefile chose
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.WriteString(kind + "\t" + service + "\t" + envVar + "\t" + tb.Name() + "\n")
}
