package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// user is one logged-in member of one tenant, as the load sees it.
type user struct {
	tenant  *tenant
	id      int64
	email   string
	role    string
	ip      string // X-Forwarded-For: each simulated user has its own address
	cookie  string // palisade_session=…
	manager bool
}

type tenant struct {
	id    int64
	slug  string
	host  string
	users []*user
	clean []int64 // files known to be Clean, for downloads

	mu      sync.Mutex
	invites []int64 // invitations this run created and has not revoked
}

const password = "mix bench password 123"

// client is the harness's HTTP side: web (pages and /api proxy), the API
// (sign-up only, as the marketing site would call it) and S3.
type client struct {
	http    *http.Client
	web     string
	api     string
	domain  string // tenant hosts are <slug>.<domain>
	appKey  string
	rtURL   string
	nextInv func() int
}

type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("status %d: %.200s", e.status, e.body) }

// do sends one request as u (nil: anonymous) and decodes a JSON answer
// into out when out is not nil. Statuses other than want are errors.
func (c *client) do(ctx context.Context, u *user, method, target string, body any, want int, out any) (int, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		js, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, err
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json, text/html")
	if u != nil {
		req.Host = u.tenant.host
		req.Header.Set("X-Forwarded-For", u.ip)
		if u.cookie != "" {
			req.Header.Set("Cookie", u.cookie)
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return res.StatusCode, &apiError{res.StatusCode, string(b)}
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return res.StatusCode, fmt.Errorf("decode %s %s: %w", method, target, err)
		}
		return res.StatusCode, nil
	}
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// seed creates nTenants organisations through POST /api/signup, invites
// members-1 people into each (one admin, the rest members) through web's
// /api proxy, accepts each invitation with the token from the mail
// outbox, logs every user in through web's login form, and uploads one
// file per tenant that the worker scans clean (for downloads).
func seed(ctx context.Context, c *client, dsn, runID string, nTenants, members int) ([]*tenant, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tenants := make([]*tenant, nTenants)
	errs := make(chan error, nTenants)
	sem := make(chan struct{}, 4) // sign-up and accept hash passwords: a few at a time
	var wg sync.WaitGroup
	for i := range nTenants {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			t, err := seedTenant(ctx, c, db, runID, i, members)
			if err != nil {
				errs <- fmt.Errorf("tenant %d: %w", i, err)
				return
			}
			tenants[i] = t
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return tenants, nil
}

var tokenRe = regexp.MustCompile(`/invitations/([A-Za-z0-9_-]{20,})`)

func seedTenant(ctx context.Context, c *client, db *sql.DB, runID string, i, members int) (*tenant, error) {
	slug := fmt.Sprintf("mix%s-%02d", runID, i)
	t := &tenant{slug: slug, host: slug + "." + c.domain}
	owner := &user{tenant: t, email: "owner@" + slug + ".test", role: "owner", manager: true, ip: fmt.Sprintf("10.1.%d.1", i)}
	var su struct {
		Tenant struct{ ID int64 } `json:"tenant"`
		User   struct{ ID int64 } `json:"user"`
	}
	if _, err := c.do(ctx, nil, "POST", c.api+"/api/signup", map[string]string{
		"organisation_name": fmt.Sprintf("Mix %s %02d", runID, i), "slug": slug, "name": "Owner " + slug,
		"email": owner.email, "password": password,
	}, 201, &su); err != nil {
		return nil, fmt.Errorf("signup: %w", err)
	}
	t.id, owner.id = su.Tenant.ID, su.User.ID
	t.users = append(t.users, owner)
	if err := login(ctx, c, owner); err != nil {
		return nil, fmt.Errorf("owner login: %w", err)
	}
	for m := 1; m < members; m++ {
		role := "member"
		if m == 1 {
			role = "admin"
		}
		u := &user{tenant: t, email: fmt.Sprintf("m%d@%s.test", m, slug), role: role, manager: role == "admin", ip: fmt.Sprintf("10.1.%d.%d", i, m+1)}
		if _, err := c.do(ctx, owner, "POST", c.web+"/api/invitations", map[string]string{"email": u.email, "role": role}, 201, nil); err != nil {
			return nil, fmt.Errorf("invite %s: %w", u.email, err)
		}
		var body string
		if err := db.QueryRowContext(ctx, `SELECT body FROM mail_outbox WHERE to_addr = ? ORDER BY id DESC LIMIT 1`, u.email).Scan(&body); err != nil {
			return nil, fmt.Errorf("invitation mail of %s: %w", u.email, err)
		}
		mt := tokenRe.FindStringSubmatch(body)
		if mt == nil {
			return nil, fmt.Errorf("no invitation link in the mail to %s", u.email)
		}
		var me struct {
			User struct{ ID int64 } `json:"user"`
		}
		if _, err := c.do(ctx, &user{tenant: t, ip: u.ip}, "POST", c.web+"/api/invitations/accept",
			map[string]string{"token": mt[1], "name": "Member " + u.email, "password": password}, 200, &me); err != nil {
			return nil, fmt.Errorf("accept %s: %w", u.email, err)
		}
		u.id = me.User.ID
		if err := login(ctx, c, u); err != nil {
			return nil, fmt.Errorf("login %s: %w", u.email, err)
		}
		t.users = append(t.users, u)
	}
	// One clean file per tenant for the download operation.
	id, err := uploadFile(ctx, c, owner, nil)
	if err != nil {
		return nil, fmt.Errorf("seed file: %w", err)
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		var f struct {
			File struct{ Status string } `json:"file"`
		}
		if _, err := c.do(ctx, owner, "GET", fmt.Sprintf("%s/api/files/%d", c.web, id), nil, 200, &f); err != nil {
			return nil, err
		}
		if f.File.Status == "clean" {
			break
		}
		if f.File.Status != "pending" || time.Now().After(deadline) {
			return nil, fmt.Errorf("seed file %d is %q (is the worker running with clamd?)", id, f.File.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.clean = append(t.clean, id)
	return t, nil
}

// login posts web's login form, as a browser would, and keeps the session
// cookie.
func login(ctx context.Context, c *client, u *user) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", c.web+"/login", strings.NewReader(url.Values{"email": {u.email}, "password": {password}}.Encode()))
	req.Host = u.tenant.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", u.ip)
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, res.Body)
	for _, ck := range res.Cookies() {
		if ck.Name == "palisade_session" && ck.Value != "" {
			u.cookie = "palisade_session=" + ck.Value
			return nil
		}
	}
	return fmt.Errorf("login answered %d without a session cookie", res.StatusCode)
}
