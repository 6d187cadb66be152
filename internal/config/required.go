package config

import (
	"errors"
	"slices"
)

// Roles that Required knows. "scan" and "update-definitions" are the two
// scanner Lambda functions; the rest are ECS services or one-off tasks.
var Roles = []string{"api", "web", "hq", "realtime", "worker", "scheduler", "migrate", "scan", "update-definitions"}

// Required names the variables (with the PALISADE_ prefix) that role cannot
// run without in staging and production, given the choices c already made
// (MAIL_DRIVER decides whether SMTP_URL is needed). These are variables
// without a default, or whose default is only right for dev: a wrong
// guess there fails silently (events never published, buckets that the
// scanner's rule never matches), so the role refuses to start instead.
// Deployment tests compare this list with what the Terraform sets.
func Required(role string, c Config) []string {
	var vars []string
	add := func(names ...string) {
		for _, n := range names {
			if !slices.Contains(vars, Prefix+n) {
				vars = append(vars, Prefix+n)
			}
		}
	}
	realtime := []string{"REALTIME_APP_ID", "REALTIME_APP_KEY", "REALTIME_APP_SECRET"}
	mail := func() {
		add("MAIL_DRIVER", "MAIL_FROM")
		if c.MailDriver == "smtp" {
			add("SMTP_URL")
		}
	}
	switch role {
	case "api":
		add("BASE_URL", "DB_DSN", "REDIS_URL")
		add(realtime...)
		add("REALTIME_API_URL")
		mail()
		add("S3_BUCKET_PREFIX", "S3_EXEMPT_ROLE_ARNS", "S3_TAGGER_ROLE_ARNS", "S3_EXPECTED_BUCKET_OWNER")
		// The CDN's client-IP header is believed from the CDN's edges only:
		// without their ranges it would never be.
		if c.ClientIPHeader != "" {
			add("CDN_PROXIES")
		}
	case "worker":
		add("BASE_URL", "DB_DSN", "REDIS_URL")
		add(realtime...)
		add("REALTIME_API_URL")
		mail()
		add("S3_BUCKET_PREFIX", "S3_EXEMPT_ROLE_ARNS", "S3_TAGGER_ROLE_ARNS", "S3_EXPECTED_BUCKET_OWNER")
	case "web", "hq":
		add("BASE_URL", "API_URL")
	case "realtime":
		add("REDIS_URL")
		add(realtime...)
	case "scheduler":
		add("REDIS_URL")
	case "migrate":
		add("DB_DSN")
	case "scan":
		// CLAMD_ADDR and CLAMD_BINARY come from the scanner image's own
		// environment (deploy/docker/scanner.Dockerfile), not Terraform.
		add("CLAMAV_DEFINITIONS_BUCKET", "CLAMD_ADDR", "CLAMD_BINARY")
	case "update-definitions":
		add("CLAMAV_DEFINITIONS_BUCKET", "CLAMD_BINARY")
	case "files":
		add("DB_DSN", "S3_BUCKET_PREFIX", "S3_EXPECTED_BUCKET_OWNER")
	}
	return vars
}

// CheckRequired reports every variable of Required(role, c) that the
// environment leaves empty, each as a FieldError naming it. It applies in
// staging and production only: dev and test have working defaults.
func CheckRequired(role string, c Config, getenv Getenv) error {
	if c.Env != EnvStaging && c.Env != EnvProduction {
		return nil
	}
	var errs []error
	for _, v := range Required(role, c) {
		if getenv(v) == "" {
			errs = append(errs, &FieldError{Var: v[len(Prefix):], Msg: "is required by the " + role + " role in " + c.Env + " (see docs/configuration.md, \"Required per role\")"})
		}
	}
	return errors.Join(errs...)
}
