package rdsca_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"testing"
	"time"

	"github.com/palisade-hq/palisade/internal/store/rdsca"
)

func TestBundleIsTheRecordedOne(t *testing.T) {
	sum := sha256.Sum256(rdsca.PEM)
	if got := hex.EncodeToString(sum[:]); got != "fefac91d6800404461cece76724bc0a2383f4f556a1c9beb0813fac6f2e1e49f" {
		t.Fatalf("global-bundle.pem SHA-256 %s differs from the one README.md records", got)
	}
}

// The regions Palisade deploys to must have a current root in the bundle.
func TestBundleHasCurrentRootsForTheDeployRegions(t *testing.T) {
	if _, err := rdsca.Pool(); err != nil {
		t.Fatal(err)
	}
	subjects := map[string]time.Time{}
	rest := rdsca.PEM
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsCA {
			t.Errorf("%s is not a CA", c.Subject.CommonName)
		}
		subjects[c.Subject.CommonName] = c.NotAfter
	}
	if len(subjects) != 115 {
		t.Errorf("%d certificates, want the 115 of the global bundle", len(subjects))
	}
	for _, cn := range []string{"Amazon RDS eu-west-2 Root CA RSA2048 G1", "Amazon RDS eu-west-2 Root CA RSA4096 G1", "Amazon RDS eu-west-2 Root CA ECC384 G1", "Amazon RDS us-east-1 Root CA RSA2048 G1"} {
		if exp, ok := subjects[cn]; !ok || exp.Before(time.Date(2060, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: present %v, expires %s", cn, ok, exp)
		}
	}
}

func TestPoolFromPEMRefusesNonPEM(t *testing.T) {
	if _, err := rdsca.PoolFromPEM([]byte("not a certificate")); err == nil {
		t.Error("accepted a bundle without a certificate")
	}
}
