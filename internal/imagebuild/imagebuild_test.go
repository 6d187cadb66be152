package imagebuild_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"io"
	"io/fs"
	"log"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/palisade-hq/palisade/internal/imagebuild"
	"github.com/palisade-hq/palisade/internal/testenv"
)

const (
	testVersion = "v9.9.9-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
)

var testCreated = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var zoneinfo = sync.OnceValue(func() string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		panic("go env GOROOT: " + err.Error())
	}
	return filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip")
})

func caBundle(t *testing.T) string {
	t.Helper()
	p := "/etc/ssl/certs/ca-certificates.crt"
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the image needs the host's CA bundle (Debian package ca-certificates): %v", err)
	}
	return p
}

var (
	buildOnce sync.Once
	binaries  map[string]string
	buildErr  error
)

// releaseBinaries builds cmd/palisade for both architectures once, the way
// `make images` does, with the test's version stamped in.
func releaseBinaries(t *testing.T) map[string]string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "palisade-image-bins-")
		if err != nil {
			buildErr = err
			return
		}
		binaries = map[string]string{}
		pkg := "github.com/palisade-hq/palisade/internal/buildinfo"
		ldflags := "-s -w -X " + pkg + ".Version=" + testVersion + " -X " + pkg + ".Commit=" + testCommit +
			" -X " + pkg + ".Date=" + testCreated.Format(time.RFC3339)
		for _, arch := range []string{"arm64", "amd64"} {
			out := filepath.Join(dir, arch, "palisade")
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, "./cmd/palisade")
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = &buildError{arch: arch, out: string(b), err: err}
				return
			}
			binaries[arch] = out
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binaries
}

type buildError struct {
	arch, out string
	err       error
}

func (e *buildError) Error() string {
	return "go build " + e.arch + ": " + e.err.Error() + "\n" + e.out
}

func spec(t *testing.T, bins map[string]string, commit string) imagebuild.Spec {
	return imagebuild.Spec{
		Binaries: bins, Version: testVersion, Commit: commit, Created: testCreated,
		CACerts: caBundle(t), ZoneInfo: zoneinfo(), Source: "https://github.com/palisade-hq/palisade",
	}
}

// TestReleaseImage builds the real image, writes and re-reads the OCI
// layout, unpacks the arm64 image and runs it under qemu.
func TestReleaseImage(t *testing.T) {
	qemu := os.Getenv("PALISADE_TEST_QEMU_AARCH64")
	// On an arm64 host (CodeBuild's ARM image) the arm64 binary runs as is.
	if qemu == "" && runtime.GOARCH != "arm64" {
		if p, err := exec.LookPath("qemu-aarch64-static"); err == nil {
			qemu = p
		} else {
			testenv.Missing(t, "qemu-aarch64-static (Debian qemu-user-static)", "PALISADE_TEST_QEMU_AARCH64")
		}
	}
	bins := releaseBinaries(t)
	idx, err := imagebuild.Build(spec(t, bins, testCommit))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := imagebuild.WriteLayout(dir, idx); err != nil {
		t.Fatal(err)
	}
	idx, err = imagebuild.ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}

	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.MediaType != types.OCIImageIndex {
		t.Errorf("index media type %s, want %s", im.MediaType, types.OCIImageIndex)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Fatalf("index platforms %v, want linux/amd64 and linux/arm64", platforms)
	}

	for _, arch := range []string{"arm64", "amd64"} {
		t.Run(arch, func(t *testing.T) {
			img, err := imagebuild.Platform(idx, arch)
			if err != nil {
				t.Fatal(err)
			}
			cf := checkConfig(t, img, arch)
			root := t.TempDir()
			if err := imagebuild.Unpack(img, root); err != nil {
				t.Fatal(err)
			}
			checkFilesystem(t, root, arch)
			bin := resolve(t, root, cf)

			var cmd *exec.Cmd
			switch {
			case arch == runtime.GOARCH:
				cmd = exec.Command(bin, cf.Config.Cmd[1:]...)
			case arch == "arm64":
				// -L: the image's root, as the kernel would see it.
				cmd = exec.Command(qemu, append([]string{"-L", root, bin}, cf.Config.Cmd[1:]...)...)
			default:
				// An amd64 image on an arm64 host: run it under qemu-x86_64
				// (also in qemu-user-static); without it this is a missing
				// service, a failure in CI.
				x86, err := exec.LookPath("qemu-x86_64-static")
				if err != nil {
					testenv.Missing(t, "qemu-x86_64-static to run a "+arch+" binary on "+runtime.GOARCH, "PATH")
				}
				cmd = exec.Command(x86, append([]string{"-L", root, bin}, cf.Config.Cmd[1:]...)...)
			}
			cmd.Env = cf.Config.Env
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
			}
			want := "palisade " + testVersion + " (commit " + testCommit + ", built " + testCreated.Format(time.RFC3339) + ")"
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("%s image runs %q, want %q", arch, got, want)
			}
		})
	}
}

func checkConfig(t *testing.T, img v1.Image, arch string) *v1.ConfigFile {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON {
		t.Errorf("manifest %s / config %s, want OCI media types", m.MediaType, m.Config.MediaType)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != arch {
		t.Errorf("config says %s/%s, want linux/%s", cf.OS, cf.Architecture, arch)
	}
	user, _, _ := strings.Cut(cf.Config.User, ":")
	if user == "" || user == "0" || user == "root" {
		t.Errorf("image user %q runs as root", cf.Config.User)
	}
	// The ECS task definitions pass command ["palisade", "<role>"]: with an
	// entrypoint, that command would become its arguments.
	if len(cf.Config.Entrypoint) != 0 {
		t.Errorf("entrypoint %v: ECS's command would be appended to it", cf.Config.Entrypoint)
	}
	if !slices.Equal(cf.Config.Cmd, []string{"palisade", "version"}) {
		t.Errorf("cmd %v, want [palisade version]", cf.Config.Cmd)
	}
	for k, want := range map[string]string{
		imagebuild.LabelVersion:  testVersion,
		imagebuild.LabelRevision: testCommit,
		imagebuild.LabelCreated:  testCreated.Format(time.RFC3339),
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if !cf.Created.Time.Equal(testCreated) {
		t.Errorf("created %v, want the commit time %v", cf.Created.Time, testCreated)
	}
	return cf
}

func checkFilesystem(t *testing.T, root, arch string) {
	t.Helper()
	// No shell or any other program: the binary is the only executable.
	var execs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode()&0o111 != 0 {
			rel, _ := filepath.Rel(root, p)
			execs = append(execs, "/"+rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(execs, []string{imagebuild.BinaryPath}) {
		t.Errorf("executables in the image: %v, want only %s", execs, imagebuild.BinaryPath)
	}
	for _, sh := range []string{"bin/sh", "bin/bash", "usr/bin/sh", "bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(root, sh)); err == nil {
			t.Errorf("image has a shell at /%s", sh)
		}
	}

	f, err := elf.Open(filepath.Join(root, imagebuild.BinaryPath))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantMachine := map[string]elf.Machine{"arm64": elf.EM_AARCH64, "amd64": elf.EM_X86_64}[arch]
	if f.Machine != wantMachine {
		t.Errorf("binary is %v, want %v", f.Machine, wantMachine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary is dynamically linked: scratch has no loader")
		}
	}

	passwd, err := os.ReadFile(filepath.Join(root, "etc/passwd"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^nonroot:x:65532:65532:`).Match(passwd) {
		t.Errorf("/etc/passwd does not name user 65532:\n%s", passwd)
	}

	pem, err := os.ReadFile(filepath.Join(root, imagebuild.CACertsPath))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) || len(bytes.Split(pem, []byte("BEGIN CERTIFICATE"))) < 50 {
		t.Error("CA bundle in the image holds too few certificates")
	}

	tz, err := os.ReadFile(filepath.Join(root, imagebuild.ZoneInfoDir, "Europe", "London"))
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocationFromTZData("Europe/London", tz)
	if err != nil {
		t.Fatal(err)
	}
	if _, off := time.Date(2026, 7, 1, 12, 0, 0, 0, loc).Zone(); off != 3600 {
		t.Errorf("Europe/London in July has offset %d, want 3600", off)
	}

	st, err := os.Stat(filepath.Join(root, "tmp"))
	if err != nil || st.Mode()&fs.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Errorf("/tmp: %v %v, want a sticky, world-writable directory", st.Mode(), err)
	}
}

// resolve finds the image's command the way the runtime does: through the
// image's PATH.
func resolve(t *testing.T, root string, cf *v1.ConfigFile) string {
	t.Helper()
	var path string
	for _, e := range cf.Config.Env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(root, dir, cf.Config.Cmd[0])
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("%q is not on the image's PATH %q", cf.Config.Cmd[0], path)
	return ""
}

// TestECSCommandRunsTheImage ties the image to the task definitions: ECS
// overrides CMD with ["palisade", role], which only works without an
// entrypoint and with palisade on PATH (both checked above).
func TestECSCommandRunsTheImage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "infra", "modules", "ecs", "main.tf"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`command\s*=\s*\["palisade",\s*s\.role\]`).Match(b) {
		t.Error(`infra/modules/ecs no longer runs command ["palisade", role]; update the image's PATH/entrypoint to match`)
	}
}

func TestReproducible(t *testing.T) {
	bins := fakeBinaries(t)
	a, err := imagebuild.Build(spec(t, bins, testCommit))
	if err != nil {
		t.Fatal(err)
	}
	b, err := imagebuild.Build(spec(t, bins, testCommit))
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds of the same input differ: %s and %s", da, db)
	}
	c, err := imagebuild.Build(spec(t, bins, strings.Repeat("f", 40)))
	if err != nil {
		t.Fatal(err)
	}
	if dc, _ := c.Digest(); dc == da {
		t.Error("a different commit gave the same digest")
	}
}

func TestBuildRejectsBadSpecs(t *testing.T) {
	bins := fakeBinaries(t)
	for name, mutate := range map[string]func(*imagebuild.Spec){
		"no binaries":  func(s *imagebuild.Spec) { s.Binaries = nil },
		"unknown arch": func(s *imagebuild.Spec) { s.Binaries = map[string]string{"riscv64": bins["arm64"]} },
		"missing file": func(s *imagebuild.Spec) { s.Binaries = map[string]string{"arm64": "/nonexistent"} },
		"no version":   func(s *imagebuild.Spec) { s.Version = "" },
		"no commit":    func(s *imagebuild.Spec) { s.Commit = "" },
		"no time":      func(s *imagebuild.Spec) { s.Created = time.Time{} },
		"not PEM":      func(s *imagebuild.Spec) { s.CACerts = zoneinfo() },
	} {
		t.Run(name, func(t *testing.T) {
			s := spec(t, bins, testCommit)
			mutate(&s)
			if _, err := imagebuild.Build(s); err == nil {
				t.Error("built anyway")
			}
		})
	}
}

// fakeBinaries stands in for the real ones where only the packaging is
// under test.
func fakeBinaries(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{}
	for _, arch := range []string{"arm64", "amd64"} {
		p := filepath.Join(dir, arch)
		if err := os.WriteFile(p, []byte("binary for "+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		out[arch] = p
	}
	return out
}

// TestPush pushes to a real OCI registry (go-containerregistry's, on
// loopback) and checks the immutable-tag rule.
func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	repo := u.Host + "/palisade-staging/palisade"
	ctx := context.Background()

	idx, err := imagebuild.Build(spec(t, fakeBinaries(t), testCommit))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := idx.Digest()

	res, err := imagebuild.Push(ctx, idx, repo, "v1.2.3", authn.Anonymous, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused || res.Digest != want.String() {
		t.Errorf("first push: %+v, want a fresh push of %s", res, want)
	}

	ref, _ := name.NewTag(repo+":v1.2.3", name.Insecure)
	got, err := remote.Index(ref)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Errorf("registry holds %s, pushed %s", d, want)
	}
	arm, err := imagebuild.Platform(got, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if cf, _ := arm.ConfigFile(); cf.Architecture != "arm64" {
		t.Errorf("pulled arm64 image says %s", cf.Architecture)
	}

	// The second pipeline of the same release finds the tag taken by the
	// same commit and goes on.
	res, err = imagebuild.Push(ctx, idx, repo, "v1.2.3", authn.Anonymous, name.Insecure)
	if err != nil || !res.Reused {
		t.Errorf("second push of the same commit: %+v, %v; want reused", res, err)
	}

	other, err := imagebuild.Build(spec(t, fakeBinaries(t), strings.Repeat("e", 40)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = imagebuild.Push(ctx, other, repo, "v1.2.3", authn.Anonymous, name.Insecure)
	if err == nil || !strings.Contains(err.Error(), "immutable") {
		t.Errorf("a different commit under a taken tag: %v, want a refusal", err)
	}
	if d, _ := func() (v1.Hash, error) { i, _ := remote.Index(ref); return i.Digest() }(); d != want {
		t.Errorf("the tag moved to %s", d)
	}
}

func TestImageDefinitions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "imagedefinitions.json")
	repo := "123456789012.dkr.ecr.eu-west-2.amazonaws.com/palisade-production/palisade"
	if err := imagebuild.WriteImageDefinitions(p, repo, "v1.2.3", []string{"api", "worker", "scheduler", "realtime"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var defs []imagebuild.ImageDefinition
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) != 4 || defs[0].Name != "api" || defs[3].ImageURI != repo+":v1.2.3" {
		t.Errorf("imagedefinitions.json = %s", b)
	}
	if err := imagebuild.WriteImageDefinitions(p, repo, "v1.2.3", nil); err == nil {
		t.Error("wrote an empty imagedefinitions.json")
	}
}
