// Package rdsca carries the Amazon RDS certificate authorities (the
// "global bundle" AWS publishes for every region), so that a connection to
// RDS verifies the server's certificate and name. The system roots do not
// hold them: RDS certificates chain to Amazon RDS's own roots, not to
// Amazon Root CA 1-4. README.md beside this file says where the bundle
// comes from and how to refresh it.
package rdsca

import (
	"crypto/x509"
	_ "embed"
	"errors"
)

// PEM is the bundle, as shipped in global-bundle.pem.
//
//go:embed global-bundle.pem
var PEM []byte

// Pool returns a fresh pool of the bundle's certificates.
func Pool() (*x509.CertPool, error) {
	return PoolFromPEM(PEM)
}

// PoolFromPEM parses a PEM bundle, refusing one without a certificate.
func PoolFromPEM(pem []byte) (*x509.CertPool, error) {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, errors.New("no PEM certificate in the CA bundle")
	}
	return p, nil
}
