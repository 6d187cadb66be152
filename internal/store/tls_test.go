package store_test

import (
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/store"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// TestRDSTLSVerifiesTheServer connects with tls=rds (the DSN Terraform
// writes) to a MariaDB that only accepts TLS, with a certificate for
// "localhost" from a test CA standing in for the RDS root: the connection
// succeeds only when the CA is trusted and the name matches.
func TestRDSTLSVerifiesTheServer(t *testing.T) {
	ca := testenv.NewCA(t, "test-rds-root")
	_, dsn, _ := testenv.PrivateMariaDBTLS(t, ca)
	other := testenv.NewCA(t, "unknown-root")

	st, err := store.OpenWith(ctx, "mysql", dsn("localhost", store.RDSTLS), store.Options{TLSCAFile: ca.CertFile})
	if err != nil {
		t.Fatalf("tls=rds with the server's CA: %v", err)
	}
	var cipher string
	if err := st.DB().QueryRowContext(ctx, "SELECT variable_value FROM information_schema.session_status WHERE variable_name = 'Ssl_cipher'").Scan(&cipher); err != nil || cipher == "" {
		t.Errorf("the session is not encrypted: cipher %q, %v", cipher, err)
	}
	st.Close()

	refused := func(what, dsn string, opt store.Options, want string) {
		t.Helper()
		st, err := store.OpenWith(ctx, "mysql", dsn, opt)
		if err == nil {
			st.Close()
			t.Errorf("%s: connected, want a refusal", what)
			return
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error mentioning %q", what, err, want)
		}
	}
	// A certificate from a CA the client was not given.
	refused("tls=rds trusting another CA", dsn("localhost", store.RDSTLS), store.Options{TLSCAFile: other.CertFile}, "certificate signed by unknown authority")
	// The built-in RDS bundle does not hold the test CA.
	refused("tls=rds with the built-in RDS bundle", dsn("localhost", store.RDSTLS), store.Options{}, "certificate signed by unknown authority")
	// The right CA but another name: the host is verified too.
	refused("tls=rds to a name the certificate lacks", dsn("127.0.0.1", store.RDSTLS), store.Options{TLSCAFile: ca.CertFile}, "127.0.0.1")
	// The system roots (tls=true) do not hold it either.
	refused("tls=true", dsn("localhost", "true"), store.Options{}, "certificate signed by unknown authority")
	// A CA file is only accepted with tls=rds, never silently ignored.
	refused("a CA file without tls=rds", dsn("localhost", "true"), store.Options{TLSCAFile: ca.CertFile}, "tls=rds")
	if _, err := store.OpenWith(ctx, "mysql", dsn("localhost", store.RDSTLS), store.Options{TLSCAFile: "/nonexistent/ca.pem"}); err == nil {
		t.Error("a missing CA file must be an error")
	}
}
