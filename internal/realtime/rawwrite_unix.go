//go:build unix

package realtime

import (
	"net"
	"syscall"
)

// rawConnOf is the socket's file descriptor access for non-blocking write
// attempts, or nil when the connection has none (then every write goes
// through the writer goroutine).
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawWrite writes c.rawBuf without blocking: it stops at EAGAIN and leaves
// the rest to the writer goroutine. It always returns true, so RawConn.Write
// never waits for the socket to become writable.
func (c *conn) rawWrite(fd uintptr) bool {
	for len(c.rawBuf) > c.rawN {
		n, err := syscall.Write(int(fd), c.rawBuf[c.rawN:])
		if n > 0 {
			c.rawN += n
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN:
			c.rawErr = errWouldBlock
			return true
		case err != nil:
			c.rawErr = err
			return true
		case n == 0:
			c.rawErr = errWouldBlock
			return true
		}
	}
	return true
}
