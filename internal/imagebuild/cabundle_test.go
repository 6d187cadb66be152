package imagebuild_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/imagebuild"
)

// An Amazon Linux 2023 host (CodeBuild's image) has its bundle at the
// Fedora path and nothing at Debian's: the search must find it there.
func TestFindCABundleOnAmazonLinux(t *testing.T) {
	root := t.TempDir()
	under := func(p string) string { return filepath.Join(root, p) }
	al2023 := under("/etc/pki/tls/certs/ca-bundle.crt")
	if err := os.MkdirAll(filepath.Dir(al2023), 0o755); err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(caBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(al2023, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range imagebuild.KnownCABundles {
		paths = append(paths, under(p))
	}
	got, err := imagebuild.FindCABundle(paths)
	if err != nil || got != al2023 {
		t.Fatalf("FindCABundle = %q, %v; want %q", got, err, al2023)
	}
	if !slices.Contains(imagebuild.KnownCABundles, "/etc/pki/tls/certs/ca-bundle.crt") ||
		imagebuild.KnownCABundles[0] != imagebuild.CACertsPath {
		t.Errorf("KnownCABundles = %v: want Debian's path first and Amazon Linux 2023's among them", imagebuild.KnownCABundles)
	}

	// An explicit choice wins over the known paths.
	mine := under("mine.pem")
	if err := os.WriteFile(mine, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := imagebuild.FindCABundle(append([]string{mine}, paths...)); err != nil || got != mine {
		t.Errorf("explicit bundle: %q, %v", got, err)
	}
}

func TestFindCABundleNone(t *testing.T) {
	root := t.TempDir()
	empty := filepath.Join(root, "empty.crt")
	if err := os.WriteFile(empty, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(root, "etc/pki/tls/certs/ca-bundle.crt")
	_, err := imagebuild.FindCABundle([]string{"", empty, missing})
	if err == nil {
		t.Fatal("found a bundle where there is none")
	}
	for _, want := range []string{"-ca-certs", empty + " (holds no PEM certificate)", missing + " (no such file or directory)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
