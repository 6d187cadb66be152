package deploytest

// Local stand-ins for the AWS data services, as close to what the task
// definitions expect as loopback allows: a MariaDB that refuses plain
// connections and whose certificate chains to a test CA playing the RDS CA
// (which is not in the system roots, as the RDS CA is not in the image's
// bundle), and a Redis with AUTH and TLS whose certificate chains to a test
// CA playing the Amazon root that ElastiCache's certificates chain to
// (which is in the system roots, so the test adds it to SSL_CERT_FILE).

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/palisade-hq/palisade/internal/testenv"
)

// testCA is a CA with one server certificate for 127.0.0.1 and localhost.
type testCA struct {
	CAFile, CertFile, KeyFile string
	pool                      *x509.CertPool
}

func newTestCA(t *testing.T, dir, name string) testCA {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	c := testCA{CAFile: filepath.Join(dir, name+"-ca.pem"), CertFile: filepath.Join(dir, name+"-cert.pem"), KeyFile: filepath.Join(dir, name+"-key.pem")}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(c.CAFile, "CERTIFICATE", caDER)
	write(c.CertFile, "CERTIFICATE", der)
	write(c.KeyFile, "PRIVATE KEY", keyDER)
	c.pool = x509.NewCertPool()
	c.pool.AddCert(ca)
	return c
}

func lookServer(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testenv.Missing(t, name, "PATH")
	return ""
}

func freePort(t *testing.T) string {
	t.Helper()
	_, port, _ := net.SplitHostPort(testenv.FreeAddr(t))
	return port
}

// startProcess runs a server until the test ends, waiting (bounded) for ready.
func startProcess(t *testing.T, name string, argv []string, logFile string, ready func() error) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		out.Close()
	})
	deadline := time.Now().Add(90 * time.Second) // a hang bound on a loaded machine
	for {
		select {
		case <-done:
			b, _ := os.ReadFile(logFile)
			t.Fatalf("%s exited at start:\n%s", name, b)
		default:
		}
		err := ready()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logFile)
			t.Fatalf("%s not ready: %v\n%s", name, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// tlsMariaDB starts a private mariadbd that requires TLS, with a user of
// the application's (password, REQUIRE SSL) and an empty database.
// It returns host:port.
func tlsMariaDB(t *testing.T, ca testCA, user, password, dbName string) string {
	t.Helper()
	install := lookServer(t, "mariadb-install-db")
	bin := lookServer(t, "mariadbd")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if out, err := exec.Command(install, "--no-defaults", "--auth-root-authentication-method=normal", "--user=root",
		"--datadir="+data, "--skip-test-db").CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := freePort(t)
	addr := "127.0.0.1:" + port
	// root over the socket only: TCP clients must use TLS.
	sock := filepath.Join(dir, "m.sock")
	admin := mysql.NewConfig()
	admin.User, admin.Net, admin.Addr, admin.Timeout = "root", "unix", sock, time.Second
	ping := func() error {
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err != nil {
			return err
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return db.PingContext(ctx)
	}
	startProcess(t, "mariadbd", []string{bin, "--no-defaults", "--user=root", "--datadir=" + data,
		"--bind-address=127.0.0.1", "--port=" + port, "--socket=" + sock, "--pid-file=" + filepath.Join(dir, "m.pid"),
		"--log-error=" + filepath.Join(dir, "mariadbd.err"), "--skip-name-resolve", "--skip-log-bin",
		"--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M", "--max-connections=200",
		"--ssl-ca=" + ca.CAFile, "--ssl-cert=" + ca.CertFile, "--ssl-key=" + ca.KeyFile, "--require-secure-transport=ON"},
		filepath.Join(dir, "stdout.log"), ping)
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE DATABASE `" + dbName + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s' REQUIRE SSL", user, password),
		// What RDS grants its master user: no SUPER, but CREATE USER and
		// GRANT OPTION, which palisade migrate needs for the role users.
		fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, "+
			"CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION SLAVE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, "+
			"ALTER ROUTINE, CREATE USER, EVENT, TRIGGER ON *.* TO '%s'@'%%' WITH GRANT OPTION", user),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// The server must refuse a client that does not use TLS, or the test
	// would prove nothing about the application's TLS settings.
	plain := mysql.NewConfig()
	plain.User, plain.Passwd, plain.Net, plain.Addr, plain.DBName, plain.Timeout = user, password, "tcp", addr, dbName, 2*time.Second
	if pdb, err := sql.Open("mysql", plain.FormatDSN()); err == nil {
		if pdb.Ping() == nil {
			t.Fatal("the test MariaDB accepts a plain connection")
		}
		pdb.Close()
	}
	return addr
}

// tlsRedis starts a private redis-server with AUTH on a TLS-only port.
func tlsRedis(t *testing.T, ca testCA, password string) string {
	t.Helper()
	bin := lookServer(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	addr := "127.0.0.1:" + port
	ping := func() error {
		c := redis.NewClient(&redis.Options{Addr: addr, Password: password, TLSConfig: &tls.Config{RootCAs: ca.pool, MinVersion: tls.VersionTLS12}})
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	}
	startProcess(t, "redis-server", []string{bin, "--bind", "127.0.0.1", "--port", "0", "--tls-port", port,
		"--tls-cert-file", ca.CertFile, "--tls-key-file", ca.KeyFile, "--tls-ca-cert-file", ca.CAFile, "--tls-auth-clients", "no",
		"--requirepass", password, "--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"},
		filepath.Join(dir, "redis.log"), ping)
	return addr
}

// systemRootsPlus writes a bundle of the system's roots plus extra, for
// SSL_CERT_FILE.
func systemRootsPlus(t *testing.T, dir string, extra ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"} {
		if raw, err := os.ReadFile(p); err == nil {
			b.Write(raw)
			break
		}
	}
	for _, p := range extra {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("\n")
		b.Write(raw)
	}
	out := filepath.Join(dir, "system-roots-plus.pem")
	if err := os.WriteFile(out, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}
