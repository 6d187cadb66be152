// Package process holds the process-fault tests of the resilience suite
// (docs/reliability.md): the real palisade binary runs each role as a child
// process on MariaDB and Redis, and the tests restart and kill those
// processes while load runs. The package has no code of its own.
package process
