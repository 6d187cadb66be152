package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// TestBuildAndPush drives the command as the buildspec does, against a
// real OCI registry on loopback.
func TestBuildAndPush(t *testing.T) {
	dir := t.TempDir()
	var bins []string
	for _, arch := range []string{"arm64", "amd64"} {
		p := filepath.Join(dir, arch)
		if err := os.WriteFile(p, []byte("binary "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, "-bin", arch+"="+p)
	}
	layout := filepath.Join(dir, "layout")
	var out bytes.Buffer
	args := append([]string{"imagebuild", "build", "-out", layout, "-version", "v1.2.3",
		"-commit", strings.Repeat("a", 40), "-created", "2026-11-01T12:00:00Z"}, bins...)
	if err := run(context.Background(), args, nil, &out, io.Discard); err != nil {
		t.Fatalf("build: %v", err)
	}
	if !strings.Contains(out.String(), "wrote "+layout) {
		t.Errorf("build said %q", out.String())
	}

	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	repo := u.Host + "/palisade-staging/palisade"
	defs := filepath.Join(dir, "imagedefinitions.json")
	push := func(tag string, extra ...string) (string, error) {
		var o bytes.Buffer
		a := append([]string{"imagebuild", "push", "-layout", layout, "-repo", repo, "-tag", tag, "-insecure"}, extra...)
		err := run(context.Background(), a, strings.NewReader("secret\n"), &o, io.Discard)
		return o.String(), err
	}

	got, err := push("v1.2.3", "-username", "AWS", "-password-stdin", "-imagedefinitions", defs, "-containers", "api,worker")
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if !strings.Contains(got, "pushed "+repo+":v1.2.3") {
		t.Errorf("push said %q", got)
	}
	var d []map[string]string
	b, _ := os.ReadFile(defs)
	if err := json.Unmarshal(b, &d); err != nil || len(d) != 2 || d[1]["name"] != "worker" || d[1]["imageUri"] != repo+":v1.2.3" {
		t.Errorf("imagedefinitions.json = %s (%v)", b, err)
	}
	if got, err := push("v1.2.3"); err != nil || !strings.Contains(got, "already holds this commit") {
		t.Errorf("second push: %q, %v", got, err)
	}

	for name, extra := range map[string][]string{
		"latest":                     {"-tag", "latest"},
		"branch name":                {"-tag", "main"},
		"password on the command":    {"-username", "AWS"},
		"definitions, no containers": {"-imagedefinitions", defs},
	} {
		t.Run(name, func(t *testing.T) {
			tag := "v1.2.4"
			var rest []string
			for i := 0; i < len(extra); i++ {
				if extra[i] == "-tag" {
					tag = extra[i+1]
					i++
					continue
				}
				rest = append(rest, extra[i])
			}
			if _, err := push(tag, rest...); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"imagebuild"}, {"imagebuild", "frob"}} {
		if err := run(context.Background(), args, nil, io.Discard, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
