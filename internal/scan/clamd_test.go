package scan_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/scan"
	"github.com/palisade-hq/palisade/internal/testenv"
)

func zipOf(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestClamdVerdicts(t *testing.T) {
	c := scan.Clamd{Addr: testenv.Clamd(t), Timeout: 30 * time.Second}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	big := randomBytes(t, 3<<20)
	embedded := append(append(randomBytes(t, 700<<10), testenv.EICAR()...), randomBytes(t, 300<<10)...)
	cases := []struct {
		name string
		body []byte
		want scan.Status
	}{
		{"plain text", []byte("quarterly report\n"), scan.Clean},
		{"empty", nil, scan.Clean},
		{"3 MiB random, many chunks", big, scan.Clean},
		{"eicar", testenv.EICAR(), scan.Infected},
		{"eicar inside a zip", zipOf(t, "docs/readme.txt", testenv.EICAR()), scan.Infected},
		{"eicar in the middle of a larger file", embedded, scan.Infected},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := c.Scan(context.Background(), bytes.NewReader(tc.body), int64(len(tc.body)))
			if err != nil {
				t.Fatalf("scan: %v", err)
			}
			if v.Status != tc.want {
				t.Fatalf("status %s (%q), want %s", v.Status, v.Signature, tc.want)
			}
			if tc.want == scan.Infected && !strings.Contains(v.Signature, "EICAR") {
				t.Fatalf("signature %q does not name EICAR", v.Signature)
			}
		})
	}
}

func TestClamdFailsClosed(t *testing.T) {
	ctx := context.Background()
	t.Run("unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there now
		v, err := scan.Clamd{Addr: "tcp://" + addr, Timeout: 5 * time.Second}.Scan(ctx, strings.NewReader("hello"), 5)
		if !errors.Is(err, scan.ErrUnavailable) || v.Status == scan.Clean {
			t.Fatalf("got %+v, %v; want no verdict and ErrUnavailable", v, err)
		}
	})
	t.Run("silent peer times out", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go io.Copy(io.Discard, c) // reads everything, never answers
			}
		}()
		v, err := scan.Clamd{Addr: "tcp://" + ln.Addr().String(), Timeout: time.Second}.Scan(ctx, strings.NewReader("hello"), 5)
		if !errors.Is(err, scan.ErrUnavailable) || v.Status == scan.Clean {
			t.Fatalf("got %+v, %v; want a timeout, not a verdict", v, err)
		}
	})
	t.Run("over the scanner's limit is never sent", func(t *testing.T) {
		c := scan.Clamd{Addr: testenv.Clamd(t), MaxStream: 1 << 20}
		v, err := c.Scan(ctx, bytes.NewReader(randomBytes(t, 2<<20)), 2<<20)
		if err != nil || v.Status != scan.Error {
			t.Fatalf("known size: got %+v, %v; want Error", v, err)
		}
		// An unknown length is cut off while streaming.
		v, err = c.Scan(ctx, io.LimitReader(rand.Reader, 2<<20), -1)
		if err != nil || v.Status != scan.Error {
			t.Fatalf("streamed: got %+v, %v; want Error", v, err)
		}
	})
	t.Run("clamd's own StreamMaxLength", func(t *testing.T) {
		addr, _, _ := testenv.PrivateClamd(t, "1M")
		c := scan.Clamd{Addr: addr, Timeout: 30 * time.Second}
		v, err := c.Scan(ctx, bytes.NewReader(randomBytes(t, 3<<20)), 3<<20)
		if err != nil {
			t.Fatalf("scan: %v", err)
		}
		if v.Status != scan.Error {
			t.Fatalf("a stream over clamd's limit got %+v; want Error (never Clean)", v)
		}
	})
}

func TestParseReply(t *testing.T) {
	for reply, want := range map[string]scan.Status{
		"stream: OK\x00":                                       scan.Clean,
		"stream: Eicar-Test-Signature FOUND\x00":               scan.Infected,
		"stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND": scan.Error,
		"INSTREAM size limit exceeded. ERROR\x00":              scan.Error,
		"stream: Can't allocate memory ERROR":                  scan.Error,
		"":                                                     scan.Error,
		"stream: OKAY":                                         scan.Error,
	} {
		if got := scan.ParseReply(reply).Status; got != want {
			t.Errorf("ParseReply(%q) = %s, want %s", reply, got, want)
		}
	}
}
