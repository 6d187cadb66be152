package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// Issue 16 item 3: every palisade image has an SPDX SBOM, written by
// `make images` (cmd/imagebuild -sbom) and published by the release build.
func TestBuildPublishesTheSBOM(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(repo(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	const sbom = "dist/images/palisade.spdx.json"
	_, images, _ := strings.Cut(string(mk), "\nimages:\n")
	images, _, _ = strings.Cut(images, "\n\n")
	if !strings.Contains(images, "-sbom "+sbom) {
		t.Errorf("make images does not write %s", sbom)
	}
	raw, err := os.ReadFile(filepath.Join("buildspec", "build.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var bs buildspec
	if err := yaml.Unmarshal(raw, &bs); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(bs.Phases["build"].Commands, "\n")
	if !slices.Contains(bs.Artifacts.Files, "palisade.spdx.json") {
		t.Errorf("build.yml artifacts %v lack the SBOM", bs.Artifacts.Files)
	}
	images_ := strings.Index(all, "make images")
	cp := strings.Index(all, "cp "+sbom+" palisade.spdx.json")
	up := strings.Index(all, `s3://$ARTIFACTS_BUCKET/sbom/palisade/$RELEASE_TAG.spdx.json`)
	if images_ < 0 || cp < images_ || up < cp {
		t.Errorf("build.yml must copy the SBOM after make images and upload it to the artifacts bucket (make images %d, cp %d, upload %d)", images_, cp, up)
	}
}
