package deploytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// dbSecretOf is the Secrets Manager secret (db, db-api, ...) a container's
// PALISADE_DB_DSN comes from: an ECS secret (valueFrom) or, for a Lambda,
// an aws-sm:// reference in its environment. ok is false without a DSN.
func dbSecretOf(t *testing.T, m *model, name string, c container) (secret string, ok bool) {
	t.Helper()
	if ref, found := c.secrets["PALISADE_DB_DSN"]; found {
		sec, key, known := valueFrom(ref, m)
		if !known || key != "dsn" {
			t.Errorf("%s: PALISADE_DB_DSN = %q is not the dsn key of a Terraform secret", name, ref)
			return "", false
		}
		return sec, true
	}
	if v, found := c.env["PALISADE_DB_DSN"]; found {
		for _, s := range secretNames {
			// aws-sm://<secret id, here its ARN>#dsn
			if v == "aws-sm://"+secretARNOf(m.prefix+"/"+s)+"#dsn" {
				return s, true
			}
		}
		t.Errorf("%s: PALISADE_DB_DSN = %q is not an aws-sm:// reference to the dsn of a Terraform secret", name, v)
	}
	return "", false
}

// TestEachRoleHasItsOwnDatabaseUser: every ECS service and Lambda with a
// database reads its own role user's DSN (db-<role>), never the master's;
// the migrate task alone reads the master DSN and every role user's
// (PALISADE_DB_USER_<ROLE>); and each execution role may GetSecretValue
// exactly its own secrets (IAM evaluator): api's cannot read worker's or
// the master's.
func TestEachRoleHasItsOwnDatabaseUser(t *testing.T) {
	m := loadModel(t)
	own := map[string]string{} // container -> its database secret
	for name, c := range m.containers {
		if sec, ok := dbSecretOf(t, m, name, c); ok {
			own[name] = sec
		}
	}
	for name, c := range m.lambdas {
		if sec, ok := dbSecretOf(t, m, "lambda-"+name, c); ok {
			own["lambda-"+name] = sec
		}
	}
	want := map[string]string{"migrate": "db", "api": "db-api", "worker": "db-worker", "hq": "db-hq", "lambda-scan": "db-scanner"}
	for name, sec := range own {
		if want[name] != sec {
			t.Errorf("%s connects with secret %s, want %q (the master DSN is migrate's alone; a role without a database user gets none)", name, sec, want[name])
		}
	}
	for name := range want {
		if _, ok := own[name]; !ok {
			t.Errorf("%s has no PALISADE_DB_DSN", name)
		}
	}
	mig := m.containers["migrate"]
	for _, r := range []string{"api", "worker", "hq", "scanner"} {
		v := "PALISADE_DB_USER_" + strings.ToUpper(r)
		sec, key, ok := valueFrom(mig.secrets[v], m)
		if !ok || sec != "db-"+r || key != "dsn" {
			t.Errorf("migrate: %s = %q, want the dsn of secret db-%s", v, mig.secrets[v], r)
		}
		for name, c := range m.containers {
			if _, leaked := c.secrets[v]; leaked && name != "migrate" {
				t.Errorf("%s gets %s: only migrate manages the role users", name, v)
			}
		}
	}

	// IAM: the execution roles (ECS injects the secrets) and the scan
	// Lambda's role (it resolves its aws-sm:// reference itself).
	roles := map[string]*role{}
	for svc, r := range m.execRoles {
		roles[svc] = r
	}
	for fn, r := range m.lambdaRoles {
		roles["lambda-"+fn] = r
	}
	if roles["migrate"] == nil {
		t.Fatal("no execution role for migrate")
	}
	for name, rl := range roles {
		for _, sec := range secretNames {
			if !strings.HasPrefix(sec, "db") {
				continue
			}
			d, err := m.decide(rl, call{Action: "secretsmanager:GetSecretValue", Resource: secretARNOf(m.prefix + "/" + sec)})
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			allowed := name == "migrate" || own[name] == sec
			if d.Allowed != allowed {
				t.Errorf("%s (%s) GetSecretValue on %s: %s, want allowed=%v", name, rl.arn, sec, d, allowed)
			}
		}
	}
}

// checkRoleUsers runs after the seam test's migrate: each role user exists
// and logs in with its secret's DSN, cannot change the schema (no DDL),
// and cannot rewrite the audit trail.
func checkRoleUsers(t *testing.T, s *stack, m *model, secrets map[string]map[string]string) {
	t.Helper()
	for _, r := range []string{"api", "worker", "hq", "scanner"} {
		dsn := secrets["db-"+r]["dsn"]
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			t.Errorf("db-%s: dsn does not parse: %v", r, err)
			continue
		}
		if cfg.User != s.dbUser+"_"+r {
			t.Errorf("db-%s: user %q, want %s_%s", r, cfg.User, s.dbUser, r)
		}
		// The DSN names tls=rds, registered by the app; here the test CA
		// plays the RDS CA.
		cfg.TLSConfig = registerTestRDSTLS(t, s)
		cfg.Addr = s.dbAddr
		db, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := db.PingContext(ctx); err != nil {
			t.Errorf("%s_%s cannot log in after migrate: %v", s.dbUser, r, err)
		} else {
			if _, err := db.ExecContext(ctx, "CREATE TABLE role_user_probe (id INT)"); err == nil {
				t.Errorf("%s_%s may CREATE TABLE: only migrate has DDL", s.dbUser, r)
			}
			if _, err := db.ExecContext(ctx, "DELETE FROM audit_events"); err == nil {
				t.Errorf("%s_%s may DELETE FROM audit_events: the trail is append-only", s.dbUser, r)
			}
		}
		cancel()
		db.Close()
	}
}

// registerTestRDSTLS registers a go-sql-driver TLS configuration that
// trusts the test CA playing the RDS CA, and returns its name.
func registerTestRDSTLS(t *testing.T, s *stack) string {
	t.Helper()
	pem, err := os.ReadFile(s.rdsCA.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("test RDS CA: no certificate")
	}
	name := "deploytest-rds"
	if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}); err != nil {
		t.Fatal(err)
	}
	return name
}

// redisUsers creates, on the stack's Redis, each role's user as
// module.data creates it in ElastiCache: the name and password of the
// role's secret, the access string of aws_elasticache_user.role. Roles
// then boot with their own PALISADE_REDIS_URL, so a command or key their
// start-up or readiness needs and the access string lacks fails the boot.
func redisUsers(t *testing.T, s *stack, m *model, secrets map[string]map[string]string) {
	t.Helper()
	data, err := m.child("data")
	if err != nil {
		t.Fatal(err)
	}
	users, err := instancesOf(data, "aws_elasticache_user.role")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) == 0 {
		t.Fatal("module.data has no aws_elasticache_user.role")
	}
	admin := redis.NewClient(&redis.Options{Addr: s.redisAddr, Password: s.redisToken, TLSConfig: &tls.Config{RootCAs: s.amazonCA.pool, MinVersion: tls.VersionTLS12}})
	defer admin.Close()
	ctx := context.Background()
	for _, u := range users {
		role := u.KeyString()
		sec, ok := secrets["redis-"+role]
		if !ok {
			t.Errorf("Redis user %s has no secret redis-%s", role, role)
			continue
		}
		name, err := u.Body.Attr("user_name")
		if err != nil || !name.IsKnown() || name.AsString() != sec["username"] {
			t.Errorf("Redis user %s: user_name %v, the secret says %q", role, name, sec["username"])
			continue
		}
		acc, err := u.Body.Attr("access_string")
		if err != nil || !acc.IsKnown() {
			t.Errorf("Redis user %s: access_string unknown: %v", role, err)
			continue
		}
		args := []any{"ACL", "SETUSER", sec["username"], "reset", ">" + sec["password"]}
		for _, f := range strings.Fields(acc.AsString()) {
			args = append(args, f)
		}
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("ACL SETUSER %s: %v", sec["username"], err)
		}
	}
}
