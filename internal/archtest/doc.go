// Package archtest holds no code: its test checks the package dependency
// rules of docs/architecture.md, so a forbidden import fails CI instead of
// creeping back.
package archtest
