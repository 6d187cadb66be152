package testenv

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
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// CA is a certificate authority of the test's own, standing in for the
// Amazon RDS or ElastiCache roots: servers get certificates from it, and
// clients are told to trust CertFile (or Pool).
type CA struct {
	// CertFile is the CA certificate, PEM.
	CertFile string
	Pool     *x509.CertPool
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	dir      string
}

// NewCA makes a CA valid for the test's duration (and a day either side).
func NewCA(tb testing.TB, name string) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(tb),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"Palisade tests"}},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	dir := tb.TempDir()
	ca := &CA{CertFile: filepath.Join(dir, "ca.pem"), Pool: x509.NewCertPool(), cert: cert, key: key, dir: dir}
	ca.Pool.AddCert(cert)
	writePEM(tb, ca.CertFile, "CERTIFICATE", der)
	return ca
}

// ServerCert issues a server certificate for the given DNS names (and no
// IP address, so a client that dials 127.0.0.1 sees a name mismatch) and
// returns the PEM files of the certificate and its key.
func (ca *CA) ServerCert(tb testing.TB, dnsNames ...string) (certFile, keyFile string) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		tb.Fatal(err)
	}
	dir, err := os.MkdirTemp(ca.dir, "server")
	if err != nil {
		tb.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(tb, certFile, "CERTIFICATE", der)
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	writePEM(tb, keyFile, "PRIVATE KEY", pkcs8)
	return certFile, keyFile
}

func serial(tb testing.TB) *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func writePEM(tb testing.TB, path, typ string, der []byte) {
	tb.Helper()
	// Readable by the server processes, which may drop to another user.
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// PrivateMariaDBTLS starts a mariadbd of the test's own that accepts only
// TLS connections (require_secure_transport), with a certificate from ca
// for the name "localhost", as RDS with rds.force_ssl does. It returns the
// server's port and a DSN (root, database "palisade", with the tls= parameter given)
// whose host the caller chooses: "localhost" matches the certificate,
// "127.0.0.1" does not.
func PrivateMariaDBTLS(tb testing.TB, ca *CA) (port string, dsn func(host, tlsParam string) string, srv *Private) {
	tb.Helper()
	install := lookBinary(tb, "mariadb-install-db")
	bin := lookBinary(tb, "mariadbd")
	certFile, keyFile := ca.ServerCert(tb, "localhost")
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	cmd := exec.Command(install, "--no-defaults", "--auth-root-authentication-method=normal",
		"--user=root", "--datadir="+data, "--skip-test-db")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port = freeLoopbackPort(tb)
	// The helper's own connection trusts the CA by name registration.
	tlsName := "testenv-" + RandomName()
	if err := mysql.RegisterTLSConfig(tlsName, &tls.Config{RootCAs: ca.Pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { mysql.DeregisterTLSConfig(tlsName) })
	admin := mysql.NewConfig()
	admin.User, admin.Net, admin.Addr, admin.TLSConfig = "root", "tcp", "127.0.0.1:"+port, tlsName
	admin.Timeout = time.Second
	ping := func() bool {
		db, err := sql.Open("mysql", admin.FormatDSN())
		if err != nil {
			return false
		}
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return db.PingContext(ctx) == nil
	}
	p := &process{tb: tb, name: "mariadbd-tls", dir: dir, ready: ping, argv: []string{bin,
		"--no-defaults", "--user=root", "--datadir=" + data,
		"--bind-address=127.0.0.1", "--port=" + port,
		"--socket=" + filepath.Join(dir, "mariadb.sock"), "--pid-file=" + filepath.Join(dir, "mariadb.pid"),
		"--log-error=" + filepath.Join(dir, "mariadbd.err"),
		"--skip-name-resolve", "--skip-log-bin",
		"--ssl-ca=" + ca.CertFile, "--ssl-cert=" + certFile, "--ssl-key=" + keyFile,
		"--require-secure-transport=ON", "--tls-version=TLSv1.2,TLSv1.3",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M", "--max-connections=100"}}
	srv = &Private{Addr: "127.0.0.1:" + port, Start: p.start,
		Stop: func() { p.signal(syscall.SIGTERM) },
		Kill: func() { p.signal(syscall.SIGKILL) }}
	tb.Cleanup(srv.Kill)
	p.start()
	if !ping() {
		tb.FailNow()
	}
	db, err := sql.Open("mysql", admin.FormatDSN())
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE DATABASE palisade CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		tb.Fatalf("create database on private MariaDB: %v", err)
	}
	dsn = func(host, tlsParam string) string {
		c := mysql.NewConfig()
		c.User, c.Net, c.Addr, c.DBName = "root", "tcp", net.JoinHostPort(host, port), "palisade"
		c.Timeout = 5 * time.Second
		c.TLSConfig = tlsParam // written as tls=<name>; the name need not be registered to format
		return c.FormatDSN()
	}
	return port, dsn, srv
}

// PrivateRedisTLS starts a redis-server of the test's own that speaks only
// TLS (no plain port) with a certificate from ca for "localhost" and
// requires password, as ElastiCache with in-transit encryption and an AUTH
// token does. The URL is rediss://:password@localhost:port/0.
func PrivateRedisTLS(tb testing.TB, ca *CA, password string) (url string, srv *Private) {
	tb.Helper()
	bin := lookBinary(tb, "redis-server")
	certFile, keyFile := ca.ServerCert(tb, "localhost")
	port := freeLoopbackPort(tb)
	dir := tb.TempDir()
	url = "rediss://:" + password + "@localhost:" + port + "/0"
	ping := func() bool {
		opt, err := redis.ParseURL(url)
		if err != nil {
			return false
		}
		opt.TLSConfig.RootCAs = ca.Pool
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}
	p := &process{tb: tb, name: "redis-tls", dir: dir, ready: ping, argv: []string{bin,
		"--bind", "127.0.0.1", "--port", "0", "--tls-port", port,
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", ca.CertFile,
		"--tls-auth-clients", "no", "--requirepass", password,
		"--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis-server.log")}}
	srv = &Private{Addr: "localhost:" + port, Start: p.start,
		Stop: func() { p.signal(syscall.SIGTERM) },
		Kill: func() { p.signal(syscall.SIGKILL) }}
	tb.Cleanup(srv.Kill)
	p.start()
	if !ping() {
		tb.FailNow()
	}
	return url, srv
}
