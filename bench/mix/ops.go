package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
)

// op is one weighted operation of the mix. run returns the HTTP status
// of a failure (0 for a transport error) through opError; sub-steps that
// are separate requests record themselves under their own names.
type op struct {
	name    string
	weight  int
	manager bool // only owners and admins may do it
	run     func(ctx context.Context, m *mix, u *user) error
}

// The weights are a guess at a dashboard's day: mostly reading pages and
// lists, a few writes, fewer uploads. Every operation goes through web,
// as a browser's would, except S3 transfers (presigned, straight to S3).
func operations() []op {
	page := func(path string) func(context.Context, *mix, *user) error {
		return func(ctx context.Context, m *mix, u *user) error {
			_, err := m.c.do(ctx, u, "GET", m.c.web+path, nil, 200, nil)
			return err
		}
	}
	get := func(path string) func(context.Context, *mix, *user) error {
		return func(ctx context.Context, m *mix, u *user) error {
			_, err := m.c.do(ctx, u, "GET", m.c.web+path, nil, 200, nil)
			return err
		}
	}
	return []op{
		{name: "page /", weight: 12, run: page("/")},
		{name: "page /members", weight: 8, run: page("/members")},
		{name: "page /files", weight: 8, run: page("/files")},
		{name: "GET /api/members", weight: 14, run: get("/api/members")},
		{name: "GET /api/files", weight: 12, run: get("/api/files")},
		{name: "GET /api/invitations", weight: 6, manager: true, run: get("/api/invitations")},
		{name: "GET /api/audit", weight: 5, manager: true, run: get("/api/audit")},
		{name: "POST /api/invitations", weight: 4, manager: true, run: createInvitation},
		{name: "DELETE /api/invitations/{id}", weight: 4, manager: true, run: revokeInvitation},
		{name: "upload", weight: 4, run: func(ctx context.Context, m *mix, u *user) error {
			_, err := uploadFile(ctx, m.c, u, m)
			return err
		}},
		{name: "download", weight: 8, run: download},
		{name: "realtime subscribe", weight: 3, run: func(ctx context.Context, m *mix, u *user) error {
			s, err := subscribe(ctx, m.c, u, "private-tenant."+fmt.Sprint(u.tenant.id)+".files", m, nil)
			if err != nil {
				return err
			}
			s.close()
			return nil
		}},
	}
}

func createInvitation(ctx context.Context, m *mix, u *user) error {
	var out struct {
		Invitation struct{ ID int64 } `json:"invitation"`
	}
	email := fmt.Sprintf("inv%d@%s.test", m.c.nextInv(), u.tenant.slug)
	if _, err := m.c.do(ctx, u, "POST", m.c.web+"/api/invitations", map[string]string{"email": email, "role": "member"}, 201, &out); err != nil {
		return err
	}
	t := u.tenant
	t.mu.Lock()
	t.invites = append(t.invites, out.Invitation.ID)
	t.mu.Unlock()
	return nil
}

// errSkip: nothing to revoke yet; the caller draws another operation.
var errSkip = errors.New("skip")

func revokeInvitation(ctx context.Context, m *mix, u *user) error {
	t := u.tenant
	t.mu.Lock()
	if len(t.invites) == 0 {
		t.mu.Unlock()
		return errSkip
	}
	id := t.invites[0]
	t.invites = t.invites[1:]
	t.mu.Unlock()
	_, err := m.c.do(ctx, u, "DELETE", fmt.Sprintf("%s/api/invitations/%d", m.c.web, id), nil, 204, nil)
	return err
}

// uploadFile asks for an upload URL, PUTs the bytes to S3 and completes the
// upload; the worker then scans it. With m set, each step is timed under
// its own name, and the file's scan is expected as a realtime event.
func uploadFile(ctx context.Context, c *client, u *user, m *mix) (int64, error) {
	size := 512 + rand.IntN(8<<10)
	body := bytes.Repeat([]byte("palisade mix bench line\n"), size/24+1)[:size]
	var up struct {
		File   struct{ ID int64 } `json:"file"`
		Upload struct {
			URL     string            `json:"url"`
			Method  string            `json:"method"`
			Headers map[string]string `json:"headers"`
		} `json:"upload"`
	}
	step := func(name string, fn func() error) error {
		if m == nil {
			return fn()
		}
		return m.stats.time(name, fn)
	}
	err := step("POST /api/files/upload-url", func() error {
		_, err := c.do(ctx, u, "POST", c.web+"/api/files/upload-url",
			map[string]any{"name": fmt.Sprintf("report-%d.txt", rand.Uint32()), "size": size, "content_type": "text/plain"}, 201, &up)
		return err
	})
	if err != nil {
		return 0, err
	}
	err = step("PUT s3 (presigned)", func() error {
		req, err := http.NewRequestWithContext(ctx, up.Upload.Method, up.Upload.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		for k, v := range up.Upload.Headers {
			req.Header.Set(k, v)
		}
		res, err := c.http.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		if res.StatusCode != 200 {
			return &apiError{res.StatusCode, string(b)}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = step("POST /api/files/{id}/complete", func() error {
		_, err := c.do(ctx, u, "POST", fmt.Sprintf("%s/api/files/%d/complete", c.web, up.File.ID), nil, 202, nil)
		return err
	})
	if err == nil && m != nil {
		m.expectScan(u.tenant, up.File.ID)
	}
	return up.File.ID, err
}

// download asks for a clean file's URL and fetches it from S3.
func download(ctx context.Context, m *mix, u *user) error {
	id := u.tenant.clean[rand.IntN(len(u.tenant.clean))]
	var d struct {
		Download struct{ URL string } `json:"download"`
	}
	err := m.stats.time("GET /api/files/download-url", func() error {
		_, err := m.c.do(ctx, u, "GET", fmt.Sprintf("%s/api/files/download-url?file_id=%d", m.c.web, id), nil, 200, &d)
		return err
	})
	if err != nil {
		return err
	}
	return m.stats.time("GET s3 (presigned)", func() error {
		req, err := http.NewRequestWithContext(ctx, "GET", d.Download.URL, nil)
		if err != nil {
			return err
		}
		res, err := m.c.http.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		n, _ := io.Copy(io.Discard, res.Body)
		if res.StatusCode != 200 || n == 0 {
			return &apiError{res.StatusCode, fmt.Sprintf("%d bytes", n)}
		}
		return nil
	})
}

// statusOf names an error for the report: its HTTP status, or a kind of
// transport failure.
func statusOf(err error) string {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return fmt.Sprint(ae.status)
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "Client.Timeout"):
		return "timeout"
	default:
		return "transport"
	}
}
