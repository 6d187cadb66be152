// Package mail sends Palisade's mail: over SMTP in production, into the
// database outbox in dev (shown on HQ's /outbox page).
package mail

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/palisade-hq/palisade/internal/core"
)

// Mailer sends one message.
type Mailer interface {
	Send(ctx context.Context, m core.Mail) error
}

// OutboxStore is the part of the store the outbox needs.
type OutboxStore interface {
	AddMail(ctx context.Context, m core.Mail) error
}

// Outbox keeps mail in the database instead of sending it.
type Outbox struct{ Store OutboxStore }

func (o Outbox) Send(ctx context.Context, m core.Mail) error { return o.Store.AddMail(ctx, m) }

// SMTP sends through a relay (SES, Postmark, …) with STARTTLS or implicit TLS.
type SMTP struct {
	URL  *url.URL
	From string
	// TLS overrides the TLS settings (tests trust their own CA with it).
	TLS *tls.Config
}

// NewSMTP parses smtp://user:pass@host:587 or smtps://user:pass@host:465.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, fmt.Errorf("smtp url must look like smtp://user:pass@host:587")
	}
	return &SMTP{URL: u, From: from}, nil
}

func (s *SMTP) Send(ctx context.Context, m core.Mail) error {
	host := s.URL.Hostname()
	port := s.URL.Port()
	if port == "" {
		port = map[string]string{"smtp": "587", "smtps": "465"}[s.URL.Scheme]
	}
	addr := net.JoinHostPort(host, port)
	d := net.Dialer{Timeout: 10 * time.Second}
	var (
		conn net.Conn
		err  error
	)
	tlsCfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.TLS != nil {
		tlsCfg = s.TLS.Clone()
		tlsCfg.ServerName = host
	}
	if s.URL.Scheme == "smtps" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("smtp dial: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close() // the failed greeting is the error worth reporting
		return fmt.Errorf("smtp hello: %w", err)
	}
	defer c.Close()
	if s.URL.Scheme == "smtp" {
		// Credentials never cross the network in the clear.
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return fmt.Errorf("smtp server %s does not offer STARTTLS", host)
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if s.URL.User != nil {
		pass, _ := s.URL.User.Password()
		if err := c.Auth(smtp.PlainAuth("", s.URL.User.Username(), pass, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	from := s.From
	if a, err := parseAddr(from); err == nil {
		from = a
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(Format(s.From, m)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func parseAddr(s string) (string, error) {
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		return s[i+1 : len(s)-1], nil
	}
	return s, nil
}

// messageID is the Message-ID of a message with an idempotency key: the key
// at the sender's domain; empty without a key.
func messageID(from, key string) string {
	if key == "" || strings.ContainsAny(key, "<>@ \r\n") {
		return ""
	}
	addr, _ := parseAddr(from)
	domain := "palisade.invalid"
	if i := strings.LastIndexByte(addr, '@'); i >= 0 && i < len(addr)-1 {
		domain = addr[i+1:]
	}
	return "<" + key + "@" + domain + ">"
}

// Format renders an RFC 5322 plain-text message.
func Format(from string, m core.Mail) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", m.To)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", m.Subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	if id := messageID(from, m.IdempotencyKey); id != "" {
		// A re-delivered outbox mail carries the same Message-ID, which
		// receivers may use to drop the copy.
		fmt.Fprintf(&b, "Message-ID: %s\r\n", id)
	}
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n"))
	return []byte(b.String())
}
