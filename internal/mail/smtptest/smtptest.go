// Package smtptest is an in-process SMTP relay for tests: implicit TLS
// (smtps), as the production client speaks it, recording every message it
// accepts. It can be taken down (it then answers 421, as a relay in
// maintenance does) and brought back.
package smtptest

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/mail"
)

// Message is one accepted message.
type Message struct {
	From, To string
	// Data is the message as sent (headers and body, CRLF lines).
	Data string
	// MessageID is the Message-ID header, empty when there was none.
	MessageID string
}

// Server is the relay.
type Server struct {
	ln   net.Listener
	pool *x509.CertPool

	mu   sync.Mutex
	msgs []Message
	down bool
	// onData runs once a message's data is read, before it is acknowledged.
	onData func(Message)
}

// Start runs a relay until the test ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	// httptest's TLS server carries a certificate for 127.0.0.1; borrow it.
	ts := httptest.NewTLSServer(nil)
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{ln: ln, pool: pool}
	tb.Cleanup(func() { _ = ln.Close() })
	go s.serve()
	return s
}

// Mailer is the production SMTP client pointed at the relay.
func (s *Server) Mailer(from string) *mail.SMTP {
	return &mail.SMTP{URL: &url.URL{Scheme: "smtps", Host: s.ln.Addr().String()}, From: from, TLS: &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}}
}

// SetDown makes the relay refuse (421) or accept mail.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// OnData sets a hook run after a message is received and before the relay
// acknowledges it (a test kills something there).
func (s *Server) OnData(f func(Message)) {
	s.mu.Lock()
	s.onData = f
	s.mu.Unlock()
}

// Messages are the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

func (s *Server) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *Server) session(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		say("421 4.3.2 service not available")
		return
	}
	say("220 smtptest ESMTP")
	var m Message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		up := strings.ToUpper(cmd)
		switch {
		case strings.HasPrefix(up, "EHLO"), strings.HasPrefix(up, "HELO"):
			say("250 smtptest")
		case strings.HasPrefix(up, "MAIL FROM:"):
			m = Message{From: strings.Trim(cmd[len("MAIL FROM:"):], "<> ")}
			say("250 ok")
		case strings.HasPrefix(up, "RCPT TO:"):
			m.To = strings.Trim(cmd[len("RCPT TO:"):], "<> ")
			say("250 ok")
		case up == "DATA":
			say("354 go ahead")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = b.String()
			m.MessageID = header(m.Data, "Message-ID")
			s.mu.Lock()
			s.msgs = append(s.msgs, m)
			hook := s.onData
			s.mu.Unlock()
			if hook != nil {
				hook(m)
			}
			say("250 queued")
		case up == "RSET", up == "NOOP":
			say("250 ok")
		case up == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

func header(data, name string) string {
	head, _, _ := strings.Cut(data, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
