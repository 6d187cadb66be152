//go:build !unix

package realtime

import (
	"net"
	"syscall"
)

func rawConnOf(net.Conn) syscall.RawConn { return nil }

func (c *conn) rawWrite(uintptr) bool { return true }
