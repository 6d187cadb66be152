package deps

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pendingAnswer is download-url's exact refusal of a file awaiting its scan.
const pendingAnswer = `{"error":{"code":"conflict","kind":"conflict","reason":"file_scan_pending","message":"this file is waiting for its malware scan; try again when it shows as Clean"},"status":"pending"}`

// TestClamdOutage stops clamd for 60s while uploads go on. Uploads keep
// succeeding (the scan is a job), every file uploaded meanwhile stays
// pending and no route hands it out, and when clamd is back every file is
// scanned and downloadable without anyone acting: the scan job's retries
// and the rescan sweep bring them all in.
func TestClamdOutage(t *testing.T) {
	e := newEnv(t)
	// A gentler pool than the other scenarios: every file uploaded here
	// must be scanned afterwards by one clamd with two threads.
	l := startLoad(t, e.s, e.owner, "acme", 4, 250*time.Millisecond, true)
	warm := time.Now()
	time.Sleep(4 * time.Second)
	if base := l.window(warm, time.Now()); base.ok == 0 || base.ok != base.total {
		requireClean(t, "before the clamd outage", base)
		t.Fatalf("the load was not healthy before the fault: %d of %d requests succeeded", base.ok, base.total)
	}
	downAt := time.Now()
	e.clamdDown()
	// Throughout the outage, every file uploaded since it began is
	// pending, and both the API and the tenant site refuse to hand it out.
	checked := map[int64]bool{}
	for time.Since(downAt) < 60*time.Second {
		time.Sleep(3 * time.Second)
		for _, f := range e.filesSince(l, downAt) {
			e.requirePending(t, f.id)
			checked[f.id] = true
		}
	}
	upAt := time.Now()
	// The last files of the outage, checked once more just before clamd returns.
	for _, f := range e.filesSince(l, downAt) {
		e.requirePending(t, f.id)
		checked[f.id] = true
	}
	e.clamdUp()
	back := time.Now()
	if len(checked) == 0 {
		t.Fatal("no upload completed during the clamd outage")
	}
	during := l.window(downAt, upAt)
	// clamd is not on any request's path: the outage costs no request.
	if during.ok != during.total {
		requireClean(t, "during the clamd outage", during)
		t.Errorf("%d of %d requests failed while clamd was down; none should", during.total-during.ok, during.total)
	}
	time.Sleep(2 * time.Second)
	l.stop()
	e.checkWrites(t, l)
	allClean := e.waitAllClean(t, l)
	// Every file, the outage's included, now downloads with its own bytes.
	l.mu.Lock()
	files := append([]*uploadRec(nil), l.files...)
	l.mu.Unlock()
	downloaded := 0
	for _, f := range files {
		if !f.put {
			continue
		}
		code, body, got := e.download(t, f.id)
		if code != http.StatusOK {
			t.Errorf("file %d after clamd's return: download-url %d %s", f.id, code, body)
			continue
		}
		if !bytes.Equal(got, f.body) {
			t.Errorf("file %d downloads %d bytes that differ from the %d uploaded", f.id, len(got), len(f.body))
		}
		downloaded++
	}
	all := l.window(time.Time{}, time.Now().Add(time.Hour))
	requireClean(t, "clamd outage", all)
	t.Logf("FIGURE clamd_outage down_ms=%d all_clean_ms=%d pending_during=%d requests_during=%d failed_during=%d uploads=%d downloaded=%d",
		ms(upAt.Sub(downAt)), ms(allClean.Sub(back)), len(checked), during.total, during.total-during.ok, len(files), downloaded)
}

// filesSince are the uploads the API confirmed complete that began after t.
func (e *env) filesSince(l *load, t time.Time) []uploadRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []uploadRec
	for _, f := range l.files {
		if f.done && f.created.After(t) {
			out = append(out, *f)
		}
	}
	return out
}

// requirePending: the file is pending in the database, download-url
// answers exactly the pending refusal, and the tenant site's download
// route shows "Not available yet" instead of redirecting to the object.
func (e *env) requirePending(t *testing.T, id int64) {
	t.Helper()
	var status string
	if err := e.s.st.DB().QueryRow(`SELECT status FROM files WHERE tenant_id = ? AND id = ?`, e.tenantID, id).Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "pending" {
		t.Errorf("file %d uploaded while clamd was down is %q", id, status)
	}
	code, body, _ := e.download(t, id)
	if code != http.StatusConflict || strings.TrimSpace(body) != pendingAnswer {
		t.Errorf("download-url of pending file %d: %d %s, want 409 %s", id, code, body, pendingAnswer)
	}
	res, err := e.owner.Get(e.s.url("acme.localhost", "/files/"+strconv.FormatInt(id, 10)+"/download"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusConflict || res.Header.Get("Location") != "" || !strings.Contains(string(page), "Not available yet") ||
		!strings.Contains(string(page), "waiting for its malware scan") {
		t.Errorf("tenant site's download of pending file %d: %d Location=%q\n%.500s", id, res.StatusCode, res.Header.Get("Location"), page)
	}
}
