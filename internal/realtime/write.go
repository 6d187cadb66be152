package realtime

import (
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/gorilla/websocket"
)

// The server writes WebSocket frames itself, below gorilla: a broadcast is
// encoded once into its wire frame (header and payload, unmasked as a
// server's frames are, uncompressed since compression is not negotiated) and
// that one byte slice is written to every subscriber. gorilla still reads
// and does the handshake. Every write of a frame is one write(2) or
// writev(2) call while the socket's write lock is held, so frames never
// interleave on the wire; the reader's ping and close answers go through the
// same queue (see serveWebSocket), and the only writes gorilla makes itself
// are the close frames of a protocol violation, after which the socket is
// dropped anyway.

// wsFrame is payload as one unfragmented WebSocket frame of opcode op.
func wsFrame(op byte, payload []byte) []byte {
	n := len(payload)
	var hdr [10]byte
	hdr[0] = 0x80 | op // FIN
	h := 2
	switch {
	case n <= 125:
		hdr[1] = byte(n)
	case n <= 0xffff:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(n))
		h = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(n))
		h = 10
	}
	b := make([]byte, h+n)
	copy(b, hdr[:h])
	copy(b[h:], payload)
	return b
}

// textFrame is a text message's wire frame.
func textFrame(payload []byte) []byte { return wsFrame(websocket.TextMessage, payload) }

// closeFrame is a close message's wire frame with a code and reason.
func closeFrame(code int, text string) []byte {
	if len(text) > 123 {
		text = text[:123]
	}
	return wsFrame(websocket.CloseMessage, websocket.FormatCloseMessage(code, text))
}

// errWouldBlock: the socket's send buffer is full; the writer goroutine
// takes over.
var errWouldBlock = errors.New("would block")

// write queues frame for the socket. When nothing is queued and no writer is
// running, the caller (a fan-out worker, usually) tries one non-blocking
// write at once: the common case, a socket whose send buffer has room, then
// costs one system call and no goroutine, allocation or timer. Whatever does
// not fit goes to the socket's queue and a writer goroutine that lives only
// until the queue is empty. isClose marks a close frame: nothing is written
// after it, and the socket is cut if the client has not answered within
// closeGrace. It reports false when the frame was dropped (socket closing).
func (c *conn) write(frame []byte, isClose bool) bool {
	c.wmu.Lock()
	if c.closing || c.dead {
		c.wmu.Unlock()
		return false
	}
	if isClose {
		c.closing = true
	}
	if c.writing || c.qn > 0 || c.raw == nil {
		ok := c.pushLocked(frame)
		start := ok && !c.writing
		if start {
			c.writing = true
		}
		c.wmu.Unlock()
		if !ok {
			c.tooSlow()
			return false
		}
		if start {
			go c.flush()
		}
		return true
	}
	c.writing = true // claim the socket for this one attempt
	c.wmu.Unlock()

	n, err := c.tryWrite(frame)
	if err != nil && !errors.Is(err, errWouldBlock) {
		c.kill()
		return false
	}
	c.wmu.Lock()
	if n < len(frame) {
		c.pushFrontLocked(frame[n:])
	} else if isClose {
		c.afterCloseLocked()
	}
	if c.qn == 0 || c.dead {
		c.writing = false
		c.wmu.Unlock()
		return true
	}
	c.wmu.Unlock()
	go c.flush()
	return true
}

// tryWrite makes one non-blocking write attempt. The closure is built once
// per socket (rawWriteFn), so the attempt allocates nothing.
func (c *conn) tryWrite(b []byte) (int, error) {
	c.rawBuf, c.rawN, c.rawErr = b, 0, nil
	if err := c.raw.Write(c.rawWriteFn); err != nil {
		c.rawBuf = nil
		return 0, err
	}
	n, err := c.rawN, c.rawErr
	c.rawBuf = nil
	return n, err
}

// pushLocked appends to the ring; false when it is full.
func (c *conn) pushLocked(b []byte) bool {
	limit := c.s.cfg.WriteBufferMessages
	if c.qn >= limit {
		return false
	}
	if c.qn == len(c.q) {
		c.growLocked(limit)
	}
	c.q[(c.qh+c.qn)%len(c.q)] = b
	c.qn++
	return true
}

// pushFrontLocked puts the unwritten rest of a frame before everything
// queued (it was sent first). The ring may exceed the limit by this one.
func (c *conn) pushFrontLocked(b []byte) {
	if c.qn == len(c.q) {
		c.growLocked(c.qn + 1)
	}
	c.qh = (c.qh - 1 + len(c.q)) % len(c.q)
	c.q[c.qh] = b
	c.qn++
}

func (c *conn) growLocked(limit int) {
	n := max(8, 2*len(c.q))
	n = max(min(n, limit), c.qn+1)
	q := make([][]byte, n)
	for i := range c.qn {
		q[i] = c.q[(c.qh+i)%len(c.q)]
	}
	c.q, c.qh = q, 0
}

// afterCloseLocked runs once the close frame is on the wire.
func (c *conn) afterCloseLocked() {
	if c.closeTimer == nil {
		c.closeTimer = time.AfterFunc(closeGrace, c.kill)
	}
}

func (c *conn) tooSlow() {
	c.s.m.refusals.WithLabelValues(strconv.Itoa(CodeOverCapacity)).Inc()
	c.s.log.Warn("realtime socket too slow, dropped", "socket_id", c.id)
	c.kill()
}

// flush is the socket's writer while its queue is not empty: it writes what
// is queued, several frames in one writev(2), with a deadline.
func (c *conn) flush() {
	var bufs net.Buffers
	var batch [][]byte
	nc := c.ws.NetConn()
	for {
		c.wmu.Lock()
		if c.qn == 0 || c.dead {
			c.writing = false
			c.q, c.qh, c.qn = nil, 0, 0 // an idle socket keeps no queue
			c.wmu.Unlock()
			return
		}
		batch = batch[:0]
		for i := range c.qn {
			j := (c.qh + i) % len(c.q)
			batch = append(batch, c.q[j])
			c.q[j] = nil
		}
		c.qh, c.qn = 0, 0
		// The close frame, when queued, is the last thing queued.
		closing := c.closing
		c.wmu.Unlock()

		_ = nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		bufs = append(bufs[:0], batch...)
		if _, err := bufs.WriteTo(nc); err != nil {
			c.kill()
			continue
		}
		if closing {
			c.wmu.Lock()
			c.afterCloseLocked()
			c.wmu.Unlock()
		}
		clear(batch)
	}
}

// send queues one frame (its JSON) for this socket alone.
func (c *conn) send(payload []byte) {
	if c.write(textFrame(payload), false) {
		c.s.m.messagesOut.Inc()
	}
}

// sendFrame queues a prepared wire frame for this socket alone.
func (c *conn) sendFrame(frame []byte) {
	if c.write(frame, false) {
		c.s.m.messagesOut.Inc()
	}
}

// closeWith queues a close frame with a Pusher code after what is queued;
// the socket is cut if the client does not answer within closeGrace.
func (c *conn) closeWith(code int, text string) {
	c.s.m.refusals.WithLabelValues(strconv.Itoa(code)).Inc()
	c.write(closeFrame(code, text), true)
}

// kill cuts the TCP connection; the reader then finishes.
func (c *conn) kill() {
	c.wmu.Lock()
	c.dead = true
	t := c.closeTimer
	c.wmu.Unlock()
	if t != nil {
		t.Stop()
	}
	_ = c.ws.NetConn().Close()
}
