package hq_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/app"
	"github.com/palisade-hq/palisade/internal/auth"
	"github.com/palisade-hq/palisade/internal/core"
	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestHQTenantPageFilesAndAudit walks the tenant page as a browser without
// JavaScript would: no file list without a grant; requesting one shows the
// files (name, type, size, scan status, upload time) with Download only on
// the Clean one; "End now" closes the list again. The audit list keeps its
// filters in the form and in the Older/Newer links, and a bad filter is
// answered 422 with the API's words and the form as typed.
func TestHQTenantPageFilesAndAudit(t *testing.T) {
	s := testenv.NewStack(t, "sqlite", nil)
	ctx := context.Background()
	admin := func(p string) string { return s.URL("admin.localhost", p) }
	hash, err := auth.Hasher{P: auth.FastParams}.Hash("owner passphrase 1")
	if err != nil {
		t.Fatal(err)
	}
	tn, owner, err := s.Store.SignUp(ctx, "acme", "Acme Ltd", store.NewUser{Email: "ada@acme.test", Name: "Ada Owner", PasswordHash: hash}, core.AuditEvent{Action: "tenant.signup"})
	if err != nil {
		t.Fatal(err)
	}
	ts := s.Store.Tenant(tn.ID)
	for _, f := range []struct{ name, ct, status string }{
		{"contract.pdf", "application/pdf", store.FileClean},
		{"notes.txt", "text/plain", store.FilePending},
		{"eicar.txt", "text/plain", store.FileInfected},
	} {
		rec, err := ts.CreateFile(ctx, store.File{UploaderID: owner.ID, Name: f.name, ContentType: f.ct, Size: 3 << 20, Bucket: "b"},
			func(id int64) string { return fmt.Sprintf("k/%d", id) }, core.AuditEvent{Action: "file.upload_url_issued", ActorType: "user", ActorID: &owner.ID})
		if err != nil {
			t.Fatal(err)
		}
		if f.status != store.FilePending {
			if _, _, err := ts.RecordScan(ctx, rec.ID, "v1", f.status, "", core.AuditEvent{Action: "file.scanned"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 55 {
		if err := s.Store.Audit(ctx, core.AuditEvent{TenantID: &tn.ID, ActorType: "user", ActorID: &owner.ID, Action: "member.updated", Detail: fmt.Sprintf("seed %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.CreateOperator(ctx, s.Store, auth.Hasher{P: auth.FastParams}, "ops@palisade.test", "Otto Ops", "operator passphrase 1"); err != nil {
		t.Fatal(err)
	}
	ops := s.Client()
	wantStatus(t, do(t, ops, "POST", admin("/login"), url.Values{"email": {"ops@palisade.test"}, "password": {"operator passphrase 1"}}), http.StatusSeeOther, "login")
	s.EnrolOperator(t, ops)
	page := fmt.Sprintf("/tenants/%d", tn.ID)

	p := body(t, do(t, ops, "GET", admin(page), nil))
	if strings.Contains(p, `id="hq-files"`) || strings.Contains(p, "contract.pdf") {
		t.Fatalf("files listed without a grant:\n%s", p)
	}
	res := do(t, ops, "POST", admin(page+"/break-glass"), url.Values{"reason": {"ticket 4711: contract will not open"}, "minutes": {"30"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("request access: %d", res.StatusCode)
	}
	p = body(t, do(t, ops, "GET", admin(page), nil))
	rows := regexp.MustCompile(`(?s)<tr data-file-id="(\d+)">(.*?)</tr>`).FindAllStringSubmatch(p, -1)
	if len(rows) != 3 {
		t.Fatalf("%d file rows under the grant:\n%s", len(rows), p)
	}
	for _, r := range rows {
		cells := html.UnescapeString(r[2])
		switch {
		case strings.Contains(cells, "contract.pdf"):
			if !strings.Contains(cells, ">PDF<") || !strings.Contains(cells, "3.1 MB") || !strings.Contains(cells, "Clean") || !strings.Contains(cells, fmt.Sprintf(`href="%s/files/%s/download"`, page, r[1])) || !strings.Contains(cells, "UTC") {
				t.Errorf("clean file row: %s", cells)
			}
		case strings.Contains(cells, "notes.txt"):
			if !strings.Contains(cells, "text file") || !strings.Contains(cells, "Pending scan") || strings.Contains(cells, "href=") || !strings.Contains(cells, "not yet") {
				t.Errorf("pending file row: %s", cells)
			}
		case strings.Contains(cells, "eicar.txt"):
			if !strings.Contains(cells, "malware") || strings.Contains(cells, "href=") {
				t.Errorf("infected file row: %s", cells)
			}
		}
	}
	// The grants table names the operator, never an id (issue 18).
	if !strings.Contains(p, `<td data-label="Operator">Otto Ops</td>`) {
		t.Errorf("the grants table does not name the operator:\n%s", p)
	}
	grant := regexp.MustCompile(`action="` + page + `/break-glass/(\d+)/revoke"`).FindStringSubmatch(p)
	if grant == nil {
		t.Fatalf("no End now for the active grant:\n%s", p)
	}
	res = do(t, ops, "POST", admin(page+"/break-glass/"+grant[1]+"/revoke"), url.Values{})
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(res.Header.Get("Location"), "break_glass_revoked") {
		t.Fatalf("end now: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	p = body(t, do(t, ops, "GET", admin(res.Header.Get("Location")), nil))
	if strings.Contains(p, `id="hq-files"`) || strings.Contains(p, "contract.pdf") || strings.Contains(p, "/revoke") {
		t.Fatalf("files still listed after the grant ended:\n%s", p)
	}
	// The download route refuses too, with the API's words.
	dl := wantStatus(t, do(t, ops, "GET", admin(page+"/files/"+rows[0][1]+"/download"), nil), http.StatusForbidden, "download after revoke")
	if !strings.Contains(dl, "break-glass") {
		t.Fatalf("download refusal page:\n%s", dl)
	}

	// Audit: 50 a page, Older keeps the filter, Newer comes back.
	q := "?actor_type=user&action=member.updated"
	p = body(t, do(t, ops, "GET", admin(page+q), nil))
	if n := strings.Count(p, "<tr data-event-id="); n != 50 {
		t.Fatalf("%d audit rows on the first filtered page", n)
	}
	if !strings.Contains(p, `value="member.updated"`) || !strings.Contains(p, `<option value="user" selected>`) {
		t.Fatalf("filters not kept in the form:\n%s", p)
	}
	older := regexp.MustCompile(`href="([^"]+)" id="audit-older"`).FindStringSubmatch(p)
	if older == nil || strings.Contains(p, `id="audit-newer"`) {
		t.Fatalf("first page links:\n%s", p)
	}
	link := html.UnescapeString(older[1])
	if !strings.Contains(link, "actor_type=user") || !strings.Contains(link, "action=member.updated") || !strings.Contains(link, "before=") {
		t.Fatalf("Older link drops the filters: %s", link)
	}
	p = body(t, do(t, ops, "GET", admin(link), nil))
	if n := strings.Count(p, "<tr data-event-id="); n != 5 { // 55 seeded, minus 50
		t.Fatalf("%d audit rows on the older page", n)
	}
	newer := regexp.MustCompile(`href="([^"]+)" id="audit-newer"`).FindStringSubmatch(p)
	if newer == nil || strings.Contains(p, `id="audit-older"`) || !strings.Contains(html.UnescapeString(newer[1]), "actor_type=user") {
		t.Fatalf("older page links:\n%s", p)
	}
	p = wantStatus(t, do(t, ops, "GET", admin(page+"?outcome=maybe&action=hq.break_glass"), nil), http.StatusUnprocessableEntity, "bad filter")
	// The refusal sits at its field, as a sentence, with the filters kept.
	if !strings.Contains(p, "must be one of success, failure, denied.") || !strings.Contains(p, `value="hq.break_glass"`) ||
		!regexp.MustCompile(`id="audit-outcome" name="outcome" aria-invalid="true"( autofocus)? aria-describedby="audit-outcome-error"`).MatchString(p) {
		t.Fatalf("bad filter page:\n%s", p)
	}
	p = body(t, do(t, ops, "GET", admin(page+"?action=hq.break_glass"), nil))
	if n := strings.Count(p, "<tr data-event-id="); n != 2 || !strings.Contains(p, "hq.break_glass.opened") || !strings.Contains(p, "hq.break_glass.revoked") || !strings.Contains(p, "Otto Ops") {
		t.Fatalf("break-glass events by prefix (%d rows):\n%s", n, p)
	}
}
