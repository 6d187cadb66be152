package main

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/palisade-hq/palisade/internal/jobs/jobstest"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// BenchmarkUploadToClean is the latency a member sees: from the upload's
// completion (the page has PUT the bytes to S3 and the API accepted
// "complete") to the page showing "Clean", delivered over realtime. Times
// are taken in the page (performance.now), for a 1 MiB file.
//
//	go test ./bench/files -run '^$' -bench UploadToClean -benchtime 10x
func BenchmarkUploadToClean(b *testing.B) {
	_, redisURL := jobstest.Redis(b)
	env := testenv.FilesEnv(b, testenv.Clamd(b))
	env["PALISADE_REDIS_URL"] = redisURL
	s := testenv.NewStack(b, "sqlite", env)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(testenv.Chromium(b)), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.UserDataDir(b.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel2 := chromedp.NewContext(actx)
	defer cancel2()
	// The first Run starts the browser and ties it to its context, so it
	// must be the long-lived one.
	if _, err := chromedp.Run(ctx, chromedp.Navigate("about:blank")); err != nil {
		b.Fatalf("start chromium: %v", err)
	}
	run := func(what string, a chromedp.Action[chromedp.Void]) {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := chromedp.Run(c, a); err != nil {
			b.Fatalf("%s: %v", what, err)
		}
	}
	run("sign-up page", chromedp.Navigate(s.URL("localhost", "/signup")))
	for sel, v := range map[string]string{"#organisation_name": "Acme Ltd", "#slug": "acme", "#name": "Ada Owner", "#email": "ada@acme.test", "#password": "correct horse battery"} {
		run("fill", chromedp.SendKeys(sel, v))
	}
	run("sign up", chromedp.Click("#signup-submit"))
	run("dashboard", chromedp.WaitVisible("#whoami"))
	run("files page", chromedp.Navigate(s.URL("acme.localhost", "/files")))
	run("subscribed", chromedp.WaitVisible(`#live-status[data-subscribed="true"]`))
	// Record when "Uploaded …" appears (complete returned, row added) and
	// when the newest row's badge turns Clean.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(function(){
		window.__marks = [];
		new MutationObserver(function(){
			var t = document.getElementById('upload-text').textContent;
			var row = document.querySelector('#files tbody tr:first-child');
			var m = window.__cur;
			if (!m) { return; }
			if (!m.done && t.indexOf('Uploaded ' + m.name) === 0 && row && row.querySelector('.name').textContent === m.name) { m.done = performance.now(); }
			if (m.done && !m.clean && row && row.querySelector('.name').textContent === m.name && row.querySelector('.badge').textContent === 'Clean') { m.clean = performance.now(); window.__marks.push(m.clean - m.done); }
		}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
		return true; })()`)); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	body := make([]byte, 1<<20)
	rand.Read(body)
	for i := 0; i < b.N; i++ {
		name := "f" + strconv.Itoa(i) + ".bin"
		path := filepath.Join(dir, name)
		body[0] = byte(i)
		if err := os.WriteFile(path, body, 0o600); err != nil {
			b.Fatal(err)
		}
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__cur = {name: '`+name+`'}; true`)); err != nil {
			b.Fatal(err)
		}
		run("choose", chromedp.SetUploadFiles("#file-input", []string{path}))
		run("upload", chromedp.Click("#upload-submit"))
		deadline := time.Now().Add(60 * time.Second)
		for {
			n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__marks.length`))
			if err == nil && n == i+1 {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("upload %d never showed Clean", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	marks, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`window.__marks`))
	if err != nil {
		b.Fatal(err)
	}
	sort.Float64s(marks)
	b.ReportMetric(marks[len(marks)/2], "ms-median-to-clean")
	b.ReportMetric(marks[len(marks)-1], "ms-max-to-clean")
	b.ReportMetric(0, "ns/op")
}
