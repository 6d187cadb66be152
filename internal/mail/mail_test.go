package mail_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/mail"
)

// smtpPeer is a minimal SMTP server (RFC 5321 with STARTTLS and AUTH PLAIN)
// that records what it is told, for the client's test.
type smtpPeer struct {
	ln        net.Listener
	cfg       *tls.Config
	starttls  bool
	authPlain string
	authTLS   bool
	data      string
	rcpt      string
}

func newPeer(t *testing.T, starttls bool) (*smtpPeer, *x509.CertPool) {
	t.Helper()
	// httptest's TLS server carries a certificate for 127.0.0.1; borrow it.
	ts := httptest.NewTLSServer(nil)
	cert := ts.TLS.Certificates[0]
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	ts.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	p := &smtpPeer{ln: ln, cfg: &tls.Config{Certificates: []tls.Certificate{cert}}, starttls: starttls}
	go p.serve()
	return p, pool
}

func (p *smtpPeer) serve() {
	c, err := p.ln.Accept()
	if err != nil {
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	conn := net.Conn(c)
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	say := func(s string) { w.WriteString(s + "\r\n"); w.Flush() }
	say("220 peer ESMTP")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimSpace(line)
		up := strings.ToUpper(cmd)
		switch {
		case strings.HasPrefix(up, "EHLO"):
			if p.starttls && !secure {
				say("250-peer\r\n250-STARTTLS\r\n250 AUTH PLAIN")
			} else {
				say("250-peer\r\n250 AUTH PLAIN")
			}
		case up == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, p.cfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, secure = tc, true
			r, w = bufio.NewReader(conn), bufio.NewWriter(conn)
		case strings.HasPrefix(up, "AUTH PLAIN"):
			b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(cmd[len("AUTH PLAIN"):]))
			p.authPlain, p.authTLS = string(b), secure
			say("235 ok")
		case strings.HasPrefix(up, "MAIL FROM"):
			say("250 ok")
		case strings.HasPrefix(up, "RCPT TO"):
			p.rcpt = cmd
			say("250 ok")
		case up == "DATA":
			say("354 go")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			p.data = b.String()
			say("250 queued")
		case up == "QUIT":
			say("221 bye")
			return
		default:
			say("502 what")
		}
	}
}

func TestSMTPSendsOverSTARTTLS(t *testing.T) {
	p, pool := newPeer(t, true)
	m, err := mail.NewSMTP("smtp://user:s3cret@"+p.ln.Addr().String(), "Palisade <no-reply@palisade.test>")
	if err != nil {
		t.Fatal(err)
	}
	m.TLS = &tls.Config{RootCAs: pool}
	err = m.Send(context.Background(), core.Mail{To: "ada@acme.test", Subject: "Réinitialiser", Body: "line one\nline two\n"})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if !p.authTLS || p.authPlain != "\x00user\x00s3cret" {
		t.Fatalf("credentials: %q over TLS=%v", p.authPlain, p.authTLS)
	}
	if !strings.Contains(p.rcpt, "ada@acme.test") || !strings.Contains(p.data, "line one\r\nline two") || !strings.Contains(p.data, "Subject: =?utf-8?q?R=C3=A9initialiser?=") {
		t.Fatalf("message: rcpt %q data %q", p.rcpt, p.data)
	}
}

// A relay that offers no STARTTLS is refused before any credential is sent.
func TestSMTPRefusesPlaintext(t *testing.T) {
	p, _ := newPeer(t, false)
	m, _ := mail.NewSMTP("smtp://user:s3cret@"+p.ln.Addr().String(), "no-reply@palisade.test")
	err := m.Send(context.Background(), core.Mail{To: "ada@acme.test", Subject: "x", Body: "y"})
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("got %v, want a STARTTLS refusal", err)
	}
	if p.authPlain != "" {
		t.Fatal("credentials were sent in the clear")
	}
}
