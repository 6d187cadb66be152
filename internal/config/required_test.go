package config_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/palisade-hq/palisade/internal/config"
)

// Every variable a role requires, left empty in production, is refused
// with an error naming it and the role; set, it is accepted.
func TestCheckRequiredNamesEachMissingVariable(t *testing.T) {
	for _, role := range config.Roles {
		c := config.Config{Env: config.EnvProduction, MailDriver: "ses"}
		vars := config.Required(role, c)
		if len(vars) == 0 {
			t.Errorf("%s: requires nothing", role)
			continue
		}
		all := map[string]string{}
		for _, v := range vars {
			if !strings.HasPrefix(v, config.Prefix) {
				t.Errorf("%s: %q lacks the %s prefix", role, v, config.Prefix)
			}
			all[v] = "set"
		}
		if err := config.CheckRequired(role, c, func(k string) string { return all[k] }); err != nil {
			t.Errorf("%s with every required variable set: %v", role, err)
		}
		for _, missing := range vars {
			env := func(k string) string {
				if k == missing {
					return ""
				}
				return all[k]
			}
			err := config.CheckRequired(role, c, env)
			var fe *config.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("%s without %s: %v, want a FieldError", role, missing, err)
				continue
			}
			if config.Prefix+fe.Var != missing || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "the "+role+" role") {
				t.Errorf("%s without %s: %q does not name the variable and the role", role, missing, err)
			}
		}
	}
}

// All missing variables are reported at once, not one per restart.
func TestCheckRequiredReportsAllAtOnce(t *testing.T) {
	c := config.Config{Env: config.EnvStaging, MailDriver: "ses"}
	err := config.CheckRequired("api", c, func(string) string { return "" })
	if err == nil {
		t.Fatal("an empty environment passed for the api")
	}
	for _, v := range config.Required("api", c) {
		if !strings.Contains(err.Error(), v+":") {
			t.Errorf("%s missing from %q", v, err)
		}
	}
}

// dev and test have working defaults: nothing is required there.
func TestCheckRequiredOnlyInStagingAndProduction(t *testing.T) {
	for _, env := range []string{config.EnvDev, config.EnvTest} {
		if err := config.CheckRequired("api", config.Config{Env: env}, func(string) string { return "" }); err != nil {
			t.Errorf("%s: %v", env, err)
		}
	}
}

// SMTP_URL is required with the smtp driver only (ses needs no password).
func TestRequiredFollowsTheMailDriver(t *testing.T) {
	for _, role := range []string{"api", "worker"} {
		smtp := config.Required(role, config.Config{Env: config.EnvProduction, MailDriver: "smtp"})
		ses := config.Required(role, config.Config{Env: config.EnvProduction, MailDriver: "ses"})
		if !slices.Contains(smtp, "PALISADE_SMTP_URL") || slices.Contains(ses, "PALISADE_SMTP_URL") {
			t.Errorf("%s: smtp requires %v, ses requires %v", role, smtp, ses)
		}
	}
	// The scanner image must start its own clamd: both functions need it.
	for _, role := range []string{"scan", "update-definitions"} {
		if !slices.Contains(config.Required(role, config.Config{Env: config.EnvProduction}), "PALISADE_CLAMD_BINARY") {
			t.Errorf("%s does not require PALISADE_CLAMD_BINARY", role)
		}
	}
}

// The API believes PALISADE_CLIENT_IP_HEADER from the CDN's edges only, so
// naming the header without PALISADE_CDN_PROXIES would never take effect.
func TestRequiredFollowsTheClientIPHeader(t *testing.T) {
	with := config.Required("api", config.Config{Env: config.EnvProduction, ClientIPHeader: "CF-Connecting-IP"})
	without := config.Required("api", config.Config{Env: config.EnvProduction})
	if !slices.Contains(with, "PALISADE_CDN_PROXIES") || slices.Contains(without, "PALISADE_CDN_PROXIES") {
		t.Errorf("api: with the header requires %v, without %v", with, without)
	}
	for _, role := range []string{"web", "hq"} {
		if slices.Contains(config.Required(role, config.Config{Env: config.EnvProduction, ClientIPHeader: "CF-Connecting-IP"}), "PALISADE_CDN_PROXIES") {
			t.Errorf("%s only passes the header on, but requires PALISADE_CDN_PROXIES", role)
		}
	}
}
