package process

import (
	"bytes"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clamdProxy sits between a worker and clamd and holds each reply for
// delay, so every scan job spends a known while in flight: the test can
// kill a worker while one of its jobs is certainly mid-run, and count the
// scans each worker started.
type clamdProxy struct {
	ln       net.Listener
	target   string
	delay    time.Duration
	inflight atomic.Int64 // INSTREAM scans whose reply has not gone back
	scans    atomic.Int64
	wg       sync.WaitGroup
}

func newClamdProxy(t *testing.T, clamdAddr string, delay time.Duration) *clamdProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &clamdProxy{ln: ln, target: strings.TrimPrefix(clamdAddr, "tcp://"), delay: delay}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.handle(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

// Addr is the PALISADE_CLAMD_ADDR of the proxy.
func (p *clamdProxy) Addr() string { return "tcp://" + p.ln.Addr().String() }

func (p *clamdProxy) handle(c net.Conn) {
	defer c.Close()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer up.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	_ = up.SetDeadline(time.Now().Add(2 * time.Minute))
	first := make([]byte, 64<<10)
	n, err := c.Read(first)
	if n == 0 || err != nil && n == 0 {
		return
	}
	scan := bytes.Contains(first[:n], []byte("INSTREAM"))
	if scan {
		p.scans.Add(1)
		p.inflight.Add(1)
	}
	done := func() {
		if scan {
			p.inflight.Add(-1)
			scan = false
		}
	}
	defer done()
	if _, err := up.Write(first[:n]); err != nil {
		return
	}
	go func() { _, _ = io.Copy(up, c) }()
	reply := make([]byte, 4096)
	n, _ = up.Read(reply) // an error with no bytes ends the connection below
	if n == 0 {
		return
	}
	time.Sleep(p.delay)
	if _, err := c.Write(reply[:n]); err != nil {
		return
	}
	done()
	_, _ = io.Copy(c, up)
}
