package imagebuild

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KnownCABundles are where Linux distributions keep the system's PEM CA
// bundle, in the order FindCABundle tries them. The release pipeline runs
// on CodeBuild's Amazon Linux 2023 image, which has the Fedora layout and
// no Debian path; developers and CI build on Debian.
var KnownCABundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",                // Debian, Ubuntu, Alpine
	"/etc/pki/tls/certs/ca-bundle.crt",                  // Amazon Linux 2023, Fedora, RHEL
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL, Amazon Linux (the file the above links to)
	"/etc/ssl/ca-bundle.pem",                            // openSUSE
	"/etc/ssl/cert.pem",                                 // Alpine, macOS
}

// FindCABundle returns the first of paths that is a readable file holding
// at least one PEM certificate. An explicit choice (the -ca-certs flag, or
// SSL_CERT_FILE) goes first in paths; an empty entry is skipped. The error
// names every path tried, so a builder on another distribution knows which
// flag to give.
func FindCABundle(paths []string) (string, error) {
	var tried []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p) // #nosec G304 -- build-time tool reading the CA bundle paths its operator lists
		switch {
		case err != nil:
			tried = append(tried, fmt.Sprintf("%s (%v)", p, unwrapPathError(err)))
		case !bytes.Contains(b, []byte("-----BEGIN CERTIFICATE-----")):
			tried = append(tried, p+" (holds no PEM certificate)")
		default:
			return p, nil
		}
	}
	if len(tried) == 0 {
		return "", errors.New("no CA bundle path to try")
	}
	return "", fmt.Errorf("no CA bundle found; give one with -ca-certs (tried %s)", strings.Join(tried, ", "))
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
