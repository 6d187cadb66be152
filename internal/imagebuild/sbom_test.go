package imagebuild_test

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/imagebuild"
)

var (
	probeOnce sync.Once
	probeBins map[string]string
	probeErr  error
)

// probeBinaries builds testdata/sbomprobe (a small program linking
// aws-sdk-go-v2) for both image architectures, as `make images` builds
// cmd/palisade: static, -trimpath.
func probeBinaries(t *testing.T) map[string]string {
	t.Helper()
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "palisade-sbom-probe-")
		if err != nil {
			probeErr = err
			return
		}
		probeBins = map[string]string{}
		for _, arch := range []string{"arm64", "amd64"} {
			out := filepath.Join(dir, arch)
			cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./testdata/sbomprobe")
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if b, err := cmd.CombinedOutput(); err != nil {
				probeErr = &buildError{arch: arch, out: string(b), err: err}
				return
			}
			probeBins[arch] = out
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return probeBins
}

// requiredVersion reads a module's version from the repository's go.mod.
func requiredVersion(t *testing.T, mod string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(mod) + ` (v\S+)`).FindStringSubmatch(string(src))
	if m == nil {
		t.Fatalf("go.mod does not require %s", mod)
	}
	return m[1]
}

// TestSBOM checks the SBOM is valid SPDX 2.3 JSON (the document fields and
// package fields the specification makes mandatory, unique SPDX ids, purl
// references) and lists the main module and aws-sdk-go-v2 at the versions
// that were built.
func TestSBOM(t *testing.T) {
	bins := probeBinaries(t)
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	spec := imagebuild.SBOMSpec{
		Binaries: bins, Name: "palisade", Version: "v1.2.3", Commit: strings.Repeat("a", 40),
		Created: created, Source: "https://github.com/palisade-hq/palisade",
	}
	raw, err := imagebuild.SBOM(spec)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("SBOM is not JSON: %v", err)
	}
	for k, want := range map[string]string{"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT"} {
		if doc[k] != want {
			t.Errorf("%s = %v, want %s", k, doc[k], want)
		}
	}
	if n, _ := doc["name"].(string); n == "" {
		t.Error("document has no name")
	}
	if u, err := url.Parse(doc["documentNamespace"].(string)); err != nil || !u.IsAbs() || strings.Contains(u.String(), "#") {
		t.Errorf("documentNamespace %v is not an absolute URI without fragment", doc["documentNamespace"])
	}
	ci, _ := doc["creationInfo"].(map[string]any)
	if ci["created"] != "2026-11-01T12:00:00Z" {
		t.Errorf("created = %v, want the commit time", ci["created"])
	}
	if cr, _ := ci["creators"].([]any); len(cr) == 0 || !regexp.MustCompile(`^(Tool|Organization|Person): .+`).MatchString(cr[0].(string)) {
		t.Errorf("creators %v", ci["creators"])
	}

	idRe := regexp.MustCompile(`^SPDXRef-[A-Za-z0-9.-]+$`)
	purlRe := regexp.MustCompile(`^pkg:golang/[^@]+@[^@]+$`)
	ids := map[string]bool{}
	versions := map[string]string{}
	purls := map[string]string{}
	pkgs, _ := doc["packages"].([]any)
	for _, p := range pkgs {
		m := p.(map[string]any)
		name, _ := m["name"].(string)
		id, _ := m["SPDXID"].(string)
		if !idRe.MatchString(id) || ids[id] {
			t.Errorf("package %s: SPDXID %q invalid or repeated", name, id)
		}
		ids[id] = true
		for _, f := range []string{"name", "downloadLocation", "versionInfo"} {
			if s, _ := m[f].(string); s == "" {
				t.Errorf("package %s lacks %s", name, f)
			}
		}
		if fa, ok := m["filesAnalyzed"].(bool); !ok || fa {
			t.Errorf("package %s: filesAnalyzed must be false (no files are listed)", name)
		}
		refs, _ := m["externalRefs"].([]any)
		for _, r := range refs {
			rm := r.(map[string]any)
			if rm["referenceCategory"] == "PACKAGE-MANAGER" && rm["referenceType"] == "purl" {
				purls[name] = rm["referenceLocator"].(string)
			}
		}
		if !purlRe.MatchString(purls[name]) {
			t.Errorf("package %s: purl %q", name, purls[name])
		}
		versions[name] = m["versionInfo"].(string)
	}
	mainMod := "github.com/palisade-hq/palisade"
	sdk := "github.com/aws/aws-sdk-go-v2"
	if versions[mainMod] != "v1.2.3" || purls[mainMod] != "pkg:golang/"+mainMod+"@v1.2.3" {
		t.Errorf("main module %s at %q (%s), want v1.2.3", mainMod, versions[mainMod], purls[mainMod])
	}
	if want := requiredVersion(t, sdk); versions[sdk] != want || purls[sdk] != "pkg:golang/"+sdk+"@"+want {
		t.Errorf("%s at %q (%s), want %s as go.mod requires", sdk, versions[sdk], purls[sdk], want)
	}
	if !strings.HasPrefix(versions["stdlib"], "go1.") {
		t.Errorf("stdlib version %q", versions["stdlib"])
	}

	// Every relationship joins known elements; the document describes
	// the main module, which depends on each other package.
	rels, _ := doc["relationships"].([]any)
	describes, depends := 0, 0
	for _, r := range rels {
		m := r.(map[string]any)
		a, b := m["spdxElementId"].(string), m["relatedSpdxElement"].(string)
		if (a != "SPDXRef-DOCUMENT" && !ids[a]) || !ids[b] {
			t.Errorf("relationship %v names an unknown element", m)
		}
		switch m["relationshipType"] {
		case "DESCRIBES":
			describes++
		case "DEPENDS_ON":
			depends++
		}
	}
	if describes != 1 || depends != len(pkgs)-1 {
		t.Errorf("%d DESCRIBES and %d DEPENDS_ON for %d packages", describes, depends, len(pkgs))
	}

	// The same inputs give the same bytes (reproducible, like the image).
	again, err := imagebuild.SBOM(spec)
	if err != nil || string(again) != string(raw) {
		t.Error("SBOM is not reproducible")
	}
}

func TestSBOMRefusesWhatItCannotDescribe(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake")
	if err := os.WriteFile(fake, []byte("not a Go binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if _, err := imagebuild.SBOM(imagebuild.SBOMSpec{Binaries: map[string]string{"arm64": fake}, Version: "v1.2.3", Created: created}); err == nil {
		t.Error("an SBOM of a file without Go build information")
	}
	if _, err := imagebuild.SBOM(imagebuild.SBOMSpec{Version: "v1.2.3", Created: created}); err == nil {
		t.Error("an SBOM without binaries")
	}
	// Binaries of different module graphs cannot share one SBOM.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bins := probeBinaries(t)
	if _, err := imagebuild.SBOM(imagebuild.SBOMSpec{Binaries: map[string]string{"arm64": bins["arm64"], "amd64": self}, Version: "v1.2.3", Created: created}); err == nil {
		t.Error("one SBOM for two different programs")
	}
}

func TestProxyEscape(t *testing.T) {
	if got := imagebuild.ProxyEscape("github.com/BurntSushi/toml"); got != "github.com/!burnt!sushi/toml" {
		t.Errorf("ProxyEscape = %q", got)
	}
}
