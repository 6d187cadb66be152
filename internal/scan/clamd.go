// Package scan decides whether an uploaded object is safe to hand out: it
// streams the object to clamd with the INSTREAM command and tags it
// ScanStatus=Clean, Infected or Error. It has two entry points over the same
// code: an AWS Lambda handler for S3 "Object Created" events from
// EventBridge (`palisade scan`), and the worker's files.scan job.
//
// It fails closed. Only an explicit "OK" from clamd for the whole object
// yields Clean; an unreachable clamd or a timeout leaves the object
// untagged (still pending, retried later), and an object too large to scan
// is tagged Error, never Clean.
package scan

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// Status is a ScanStatus tag value.
type Status string

const (
	Clean    Status = "Clean"
	Infected Status = "Infected"
	Error    Status = "Error"
)

// Valid reports whether s is one of the three tag values.
func (s Status) Valid() bool { return s == Clean || s == Infected || s == Error }

// Verdict is clamd's answer about one stream.
type Verdict struct {
	Status Status
	// Signature names what was found (Infected), or why the object could not
	// be judged (Error).
	Signature string
}

// ErrUnavailable wraps failures to reach or hear from clamd. They are
// transient: the object stays pending and the scan is retried.
var ErrUnavailable = errors.New("clamd unavailable")

// Clamd speaks the clamd protocol over TCP or a unix socket.
type Clamd struct {
	// Addr is tcp://host:port, unix:///path, or host:port.
	Addr string
	// Timeout bounds one whole scan, connection to answer.
	Timeout time.Duration
	// MaxStream is the largest stream sent; a longer one is refused here as
	// Error without asking clamd. Keep it at or below clamd's
	// StreamMaxLength.
	MaxStream int64
	// ChunkSize of INSTREAM frames; 0 (or over 64 MiB) means 256 KiB.
	ChunkSize int
}

const maxChunk = 64 << 20

func (c Clamd) dial(ctx context.Context) (net.Conn, error) {
	network, addr := "tcp", c.Addr
	if u, err := url.Parse(c.Addr); err == nil && u.Scheme != "" {
		switch u.Scheme {
		case "tcp":
			addr = u.Host
		case "unix":
			network, addr = "unix", u.Path
		default:
			return nil, fmt.Errorf("clamd address %q: scheme must be tcp or unix", c.Addr)
		}
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: no clamd address configured", ErrUnavailable)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return conn, nil
}

func (c Clamd) timeout() time.Duration {
	if c.Timeout <= 0 {
		return 2 * time.Minute
	}
	return c.Timeout
}

// Ping checks clamd answers PONG.
func (c Clamd) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout(), 5*time.Second))
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	if strings.TrimRight(reply, "\x00") != "PONG" {
		return fmt.Errorf("%w: unexpected reply %q", ErrUnavailable, reply)
	}
	return nil
}

// Scan streams r to clamd. size is the object's length when known (-1
// otherwise); a known size over MaxStream is judged Error without
// streaming. A returned error (always wrapping ErrUnavailable) means no
// verdict: the caller must not treat the object as clean.
func (c Clamd) Scan(ctx context.Context, r io.Reader, size int64) (Verdict, error) {
	return c.ScanFrom(ctx, func() (io.ReadCloser, int64, error) { return io.NopCloser(r), size, nil })
}

// ScanFrom connects to clamd first and only then opens the stream, so an
// unreachable clamd costs no read of the object (and no extra round trip
// to check it beforehand). open returns the stream and its size (-1 if
// unknown); an error from it is returned as is.
func (c Clamd) ScanFrom(ctx context.Context, open func() (io.ReadCloser, int64, error)) (Verdict, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return Verdict{}, err
	}
	defer conn.Close()
	r, size, err := open()
	if err != nil {
		return Verdict{}, err
	}
	defer r.Close()
	if c.MaxStream > 0 && size > c.MaxStream {
		return tooLarge(size, c.MaxStream), nil
	}
	// The deadline covers both directions, and closing on ctx's end
	// unblocks a read or write stuck on a silent peer.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() }) // only unblocks I/O; the scan's own error is what counts
	defer stop()

	sent, werr := c.stream(conn, r)
	if errors.Is(werr, errTooLarge) {
		return tooLarge(sent, c.MaxStream), nil
	}
	if werr != nil && !isConnWriteErr(werr) {
		return Verdict{}, werr
	}
	// clamd closes its end when a stream passes StreamMaxLength; its answer
	// is still waiting to be read, so a write error alone is not the end.
	reply, rerr := bufio.NewReader(conn).ReadString(0)
	if rerr != nil && reply == "" {
		if ctx.Err() != nil {
			return Verdict{}, fmt.Errorf("%w: scan timed out after %s", ErrUnavailable, c.timeout())
		}
		if werr != nil {
			return Verdict{}, fmt.Errorf("%w: %v", ErrUnavailable, werr)
		}
		return Verdict{}, fmt.Errorf("%w: read reply: %v", ErrUnavailable, rerr)
	}
	return ParseReply(reply), nil
}

var errTooLarge = errors.New("stream over the scan limit")

// readErr marks an error from the object's reader, as opposed to the
// socket: S3 failing mid-object is no verdict about the object.
type readErr struct{ err error }

func (e readErr) Error() string { return "read object: " + e.err.Error() }
func (e readErr) Unwrap() error { return e.err }

func (c Clamd) stream(conn net.Conn, r io.Reader) (int64, error) {
	// A frame's length is a uint32 on the wire; clamd itself reads at most
	// its StreamMaxLength, so larger frames would be pointless anyway.
	chunk := c.ChunkSize
	if chunk <= 0 || chunk > maxChunk {
		chunk = 256 << 10
	}
	w := bufio.NewWriterSize(conn, chunk+4)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return 0, err
	}
	buf := make([]byte, chunk)
	var hdr [4]byte
	var sent int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if c.MaxStream > 0 && sent+int64(n) > c.MaxStream {
				return sent + int64(n), errTooLarge
			}
			binary.BigEndian.PutUint32(hdr[:], uint32(n)) // #nosec G115 -- n <= len(buf) = chunk <= maxChunk (64 MiB)
			if _, err := w.Write(hdr[:]); err != nil {
				return sent, err
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return sent, err
			}
			sent += int64(n)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return sent, fmt.Errorf("%w: %w", ErrUnavailable, readErr{rerr})
		}
	}
	binary.BigEndian.PutUint32(hdr[:], 0)
	if _, err := w.Write(hdr[:]); err != nil {
		return sent, err
	}
	return sent, w.Flush()
}

func isConnWriteErr(err error) bool {
	var re readErr
	if errors.As(err, &re) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "broken pipe") || strings.Contains(err.Error(), "connection reset")
}

func tooLarge(size, limit int64) Verdict {
	return Verdict{Status: Error, Signature: fmt.Sprintf("too large to scan (%d bytes; the limit is %d)", size, limit)}
}

// ParseReply turns clamd's INSTREAM answer into a verdict. Only "stream:
// OK" is Clean. "<name> FOUND" is Infected, except the Heuristics.Limits
// alerts (AlertExceedsMax), which say the file was not fully scanned and so
// are Error. Anything else — "size limit exceeded", a parse error, text we
// do not know — is Error.
func ParseReply(reply string) Verdict {
	reply = strings.TrimSpace(strings.TrimRight(reply, "\x00"))
	body := strings.TrimPrefix(reply, "stream: ")
	switch {
	case body == "OK":
		return Verdict{Status: Clean}
	case strings.HasSuffix(body, " FOUND"):
		name := strings.TrimSuffix(body, " FOUND")
		if strings.HasPrefix(name, "Heuristics.Limits.Exceeded") {
			return Verdict{Status: Error, Signature: "not fully scanned: " + name}
		}
		return Verdict{Status: Infected, Signature: name}
	case strings.Contains(body, "size limit exceeded"):
		return Verdict{Status: Error, Signature: "too large to scan: " + body}
	default:
		if body == "" {
			body = "empty reply"
		}
		return Verdict{Status: Error, Signature: "clamd: " + body}
	}
}

// Version asks clamd for its engine and signature versions. clamd answers
// "ClamAV <engine>/<signature version>/<signature date>"; a clamd started
// with only local signatures may answer without the last two parts.
func (c Clamd) Version(ctx context.Context) (engine, signatures string, date time.Time, err error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout(), 5*time.Second))
	defer cancel()
	conn, err := c.dial(ctx)
	if err != nil {
		return "", "", time.Time{}, err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte("zVERSION\x00")); err != nil {
		return "", "", time.Time{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	reply, err := bufio.NewReader(conn).ReadString(0)
	if err != nil {
		return "", "", time.Time{}, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return ParseVersion(strings.TrimRight(reply, "\x00"))
}

// ParseVersion splits clamd's VERSION reply.
func ParseVersion(reply string) (engine, signatures string, date time.Time, err error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(reply), "ClamAV ")
	if !ok {
		return "", "", time.Time{}, fmt.Errorf("%w: unexpected VERSION reply %q", ErrUnavailable, reply)
	}
	parts := strings.SplitN(rest, "/", 3)
	engine = parts[0]
	if len(parts) > 1 {
		signatures = parts[1]
	}
	if len(parts) > 2 {
		date, _ = time.Parse("Mon Jan _2 15:04:05 2006", strings.TrimSpace(parts[2]))
	}
	return engine, signatures, date, nil
}
