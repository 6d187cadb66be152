package infra_test

// Issue 16, items 2, 3 and 7: audit logging (CloudTrail, ALB access logs,
// WAF logs), threat detection and configuration compliance (GuardDuty,
// AWS Config, Security Hub, Inspector) and backups (AWS Backup with a
// cross-region copy), checked on what infra/envs/{staging,production} would
// ask AWS for. Retention figures come from the spec: CloudWatch Logs 90 days
// (§5.3, A.12.4) and 7 days of database backups at least (§3.4).

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

const (
	specLogRetentionDays    = 90 // spec 5.3: CloudWatch Logs, 90-day retention
	specBackupRetentionDays = 7  // spec 3.4: 7-day backups
	testAccount             = "123456789012"
)

// sseS3Only reports the one bucket encryption that is SSE-S3 by necessity:
// the audit module's access-logs bucket, because ELB access logs and S3
// server access logs are delivered only to SSE-S3 buckets.
// TestEncryptionLoggingAndRegistries uses it; every other bucket is SSE-KMS.
func sseS3Only(m *tfeval.Instance, where string) bool {
	return strings.HasSuffix(m.Path, "module.audit") &&
		strings.Contains(where, " aws_s3_bucket_server_side_encryption_configuration.access_logs[")
}

// statements returns the statement blocks of a policy document instance
// keyed by sid.
func statements(t *testing.T, in *tfeval.Instance, addr, key string) map[string]tfeval.Block {
	t.Helper()
	doc := instances(t, in, addr)[key]
	if doc == nil {
		t.Fatalf("%s: no %s[%q]", in.Path, addr, key)
	}
	out := map[string]tfeval.Block{}
	for _, st := range blocks(t, doc.Body, "statement") {
		out[attr(t, st, "sid").AsString()] = st
	}
	return out
}

func principalsOf(t *testing.T, st tfeval.Block) []string {
	t.Helper()
	var out []string
	for _, p := range blocks(t, st, "principals") {
		out = append(out, strings_(attr(t, p, "identifiers"))...)
	}
	return out
}

// conditionValues returns the values of a statement's condition on variable.
func conditionValues(t *testing.T, st tfeval.Block, variable string) []string {
	t.Helper()
	for _, c := range blocks(t, st, "condition") {
		if attr(t, c, "variable").AsString() == variable {
			return strings_(attr(t, c, "values"))
		}
	}
	return nil
}

func TestCloudTrail(t *testing.T) {
	want := map[string]struct {
		mode           string
		lockDays, keep int64
	}{
		"production": {"COMPLIANCE", 365, 2555},
		"staging":    {"GOVERNANCE", 30, 365},
	}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			au := child(t, in, "audit")
			tenantPrefix, err := child(t, in, "naming").Output("tenant_bucket_prefix")
			if err != nil {
				t.Fatal(err)
			}

			trail := one(t, au, "aws_cloudtrail.this")
			wantBool(t, "log-file validation", attr(t, trail, "enable_log_file_validation"), true)
			wantBool(t, "multi-region", attr(t, trail, "is_multi_region_trail"), true)
			wantBool(t, "global service events", attr(t, trail, "include_global_service_events"), true)
			wantBool(t, "logging on", attr(t, trail, "enable_logging"), true)
			if !refersTo(trail, "kms_key_id", "aws_kms_key.audit") {
				t.Errorf("trail kms_key_id %v, want the audit key", trail.References("kms_key_id"))
			}
			if addr, key, _, ok := trail.ResourceRef("s3_bucket_name"); !ok || addr != "aws_s3_bucket.this" || key.AsString() != "trail" {
				t.Errorf("trail bucket is %s[%v], want aws_s3_bucket.this[\"trail\"]", addr, key)
			}

			// Management events read and write; data events of exactly
			// the tenant buckets (the prefix the app creates them with).
			var mgmt, data bool
			for _, sel := range blocks(t, trail, "advanced_event_selector") {
				fields := map[string]tfeval.Block{}
				for _, f := range blocks(t, sel, "field_selector") {
					fields[attr(t, f, "field").AsString()] = f
				}
				cat := strings_(attr(t, fields["eventCategory"], "equals"))
				switch {
				case equalAny(cat, []string{"Management"}):
					mgmt = true
					if _, ro := fields["readOnly"]; ro {
						t.Error("management selector filters readOnly: want read and write events")
					}
				case equalAny(cat, []string{"Data"}):
					data = true
					wantSet(t, "data event resource type", strings_(attr(t, fields["resources.type"], "equals")), "AWS::S3::Object")
					wantSet(t, "data event ARN prefix", strings_(attr(t, fields["resources.ARN"], "starts_with")),
						"arn:aws:s3:::"+tenantPrefix.AsString())
					if _, ro := fields["readOnly"]; ro {
						t.Error("data selector filters readOnly: downloads and uploads are both evidence")
					}
				}
			}
			if !mgmt || !data {
				t.Errorf("advanced event selectors: management %v, tenant data events %v; want both", mgmt, data)
			}
			if tenantPrefix.AsString() != "palisade-"+env+"-tenant-" {
				t.Errorf("tenant bucket prefix %q", tenantPrefix.AsString())
			}

			// 90 days hot in CloudWatch Logs, KMS-encrypted.
			lg := one(t, au, "aws_cloudwatch_log_group.trail")
			wantNumber(t, "trail log group retention", attr(t, lg, "retention_in_days"), specLogRetentionDays)
			setNonNull(t, "trail log group", lg, "kms_key_id")
			if !refersTo(trail, "cloud_watch_logs_group_arn", "aws_cloudwatch_log_group.trail") {
				t.Error("trail does not deliver to its log group")
			}

			// The Object Lock bucket.
			buckets := instances(t, au, "aws_s3_bucket.this")
			wantString(t, "trail bucket", attr(t, buckets["trail"].Body, "bucket"), "palisade-"+env+"-cloudtrail-"+testAccount)
			for k, b := range buckets {
				wantBool(t, k+" object lock", attr(t, b.Body, "object_lock_enabled"), k == "trail")
			}
			lock := one(t, au, "aws_s3_bucket_object_lock_configuration.trail")
			if addr, key, _, ok := lock.ResourceRef("bucket"); !ok || addr != "aws_s3_bucket.this" || key.AsString() != "trail" {
				t.Errorf("object lock configuration is on %s[%v]", addr, key)
			}
			ret := oneBlock(t, oneBlock(t, lock, "rule"), "default_retention")
			wantString(t, "object lock mode", attr(t, ret, "mode"), want[env].mode)
			wantNumber(t, "object lock days", attr(t, ret, "days"), want[env].lockDays)
			sse := instances(t, au, "aws_s3_bucket_server_side_encryption_configuration.kms")["trail"]
			if sse == nil {
				t.Fatal("trail bucket has no SSE-KMS configuration")
			}
			d := oneBlock(t, oneBlock(t, sse.Body, "rule"), "apply_server_side_encryption_by_default")
			if !refersTo(d, "kms_master_key_id", "aws_kms_key.audit") {
				t.Error("trail bucket is not encrypted with the audit key")
			}
			if l := instances(t, au, "aws_s3_bucket_logging.this")["trail"]; l == nil || !refersTo(l.Body, "target_bucket", "aws_s3_bucket.this") {
				t.Error("trail bucket has no server access logging")
			}

			// Lifecycle: Glacier after the hot period, kept past the lock.
			for k, lc := range instances(t, au, "aws_s3_bucket_lifecycle_configuration.this") {
				rule := oneBlock(t, lc.Body, "rule")
				tr := oneBlock(t, rule, "transition")
				wantString(t, k+" archive class", attr(t, tr, "storage_class"), "GLACIER")
				wantNumber(t, k+" archive after", attr(t, tr, "days"), specLogRetentionDays)
				if k != "access_logs" {
					wantNumber(t, k+" expiry", attr(t, oneBlock(t, rule, "expiration"), "days"), want[env].keep)
				}
			}
			if want[env].keep < want[env].lockDays {
				t.Fatal("expiry before the lock ends")
			}

			// Who may write and encrypt: this trail only.
			trailARN := "arn:aws:cloudtrail:eu-west-2:" + testAccount + ":trail/" + attr(t, trail, "name").AsString()
			bp := statements(t, au, "data.aws_iam_policy_document.bucket", "trail")
			for _, sid := range []string{"CloudTrailChecksAcl", "CloudTrailWritesLogFiles"} {
				st, ok := bp[sid]
				if !ok {
					t.Errorf("trail bucket policy lacks %s", sid)
					continue
				}
				wantSet(t, sid+" principal", principalsOf(t, st), "cloudtrail.amazonaws.com")
				wantSet(t, sid+" source", conditionValues(t, st, "aws:SourceArn"), trailARN)
			}
			if _, ok := bp["DenyInsecureTransport"]; !ok {
				t.Error("trail bucket policy does not deny plain HTTP")
			}
			kp := statements(t, au, "data.aws_iam_policy_document.kms", "")
			enc, ok := kp["CloudTrailEncryptsLogFiles"]
			if !ok {
				t.Fatal("audit key policy does not let CloudTrail encrypt")
			}
			wantSet(t, "key policy principal", principalsOf(t, enc), "cloudtrail.amazonaws.com")
			wantSet(t, "key policy actions", strings_(attr(t, enc, "actions")), "kms:GenerateDataKey*")
			wantSet(t, "key policy source", conditionValues(t, enc, "aws:SourceArn"), trailARN)
			wantSet(t, "key policy context", conditionValues(t, enc, "kms:EncryptionContext:aws:cloudtrail:arn"),
				"arn:aws:cloudtrail:*:"+testAccount+":trail/*")
		})
	}
}

func TestAccessLogsAndWAFLogging(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			au := child(t, in, "audit")
			alb := child(t, in, "alb")
			bucket := "palisade-" + env + "-access-logs-" + testAccount
			wantString(t, "access-logs bucket", attr(t, instances(t, au, "aws_s3_bucket.this")["access_logs"].Body, "bucket"), bucket)

			// Both ALBs log to it, under prefixes the bucket policy admits.
			bp := statements(t, au, "data.aws_iam_policy_document.bucket", "access_logs")
			for _, sid := range []string{"ElbAccountWritesAccessLogs", "ElbLogDeliveryWritesAccessLogs"} {
				if _, ok := bp[sid]; !ok {
					t.Errorf("access-logs bucket policy lacks %s", sid)
				}
			}
			allowed := strings_(attr(t, bp["ElbLogDeliveryWritesAccessLogs"], "resources"))
			for _, lb := range []string{"aws_lb.public", "aws_lb.internal"} {
				logs := blocks(t, one(t, alb, lb), "access_logs")
				if len(logs) != 1 {
					t.Errorf("%s: %d access_logs blocks, want 1", lb, len(logs))
					continue
				}
				wantString(t, lb+" access-log bucket", attr(t, logs[0], "bucket"), bucket)
				wantBool(t, lb+" access logs", attr(t, logs[0], "enabled"), true)
				key := "arn:aws:s3:::" + bucket + "/" + attr(t, logs[0], "prefix").AsString() + "/AWSLogs/" + testAccount + "/elasticloadbalancing/eu-west-2/x.log.gz"
				if !matchesAny(allowed, key) {
					t.Errorf("%s writes %s, which the bucket policy (%v) does not allow", lb, key, allowed)
				}
			}

			// WAF logs: the log group WAF requires (aws-waf-logs-*), KMS,
			// 90 days.
			wl := one(t, alb, "aws_wafv2_web_acl_logging_configuration.public")
			if !refersTo(wl, "log_destination_configs", "aws_cloudwatch_log_group.waf") {
				t.Fatalf("WAF logs go to %v, want the WAF log group", wl.References("log_destination_configs"))
			}
			if !refersTo(wl, "resource_arn", "aws_wafv2_web_acl.public") {
				t.Error("WAF logging is not on the public web ACL")
			}
			lg := one(t, alb, "aws_cloudwatch_log_group.waf")
			if n := attr(t, lg, "name").AsString(); !strings.HasPrefix(n, "aws-waf-logs-") {
				t.Errorf("WAF log group %q: WAF only logs to names starting aws-waf-logs-", n)
			}
			wantNumber(t, "WAF log retention", attr(t, lg, "retention_in_days"), specLogRetentionDays)
			setNonNull(t, "WAF log group", lg, "kms_key_id")

			// VPC flow logs (issue 15) stay.
			if len(instances(t, child(t, in, "network"), "aws_flow_log.this")) != 1 {
				t.Error("VPC flow log missing")
			}
		})
	}
}

// matchesAny matches an S3 object ARN against IAM resource patterns (* and ?).
func matchesAny(patterns []string, arn string) bool {
	for _, p := range patterns {
		re := "^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*"), `\?`, ".") + "$"
		if regexp.MustCompile(re).MatchString(arn) {
			return true
		}
	}
	return false
}

func TestMatchesAny(t *testing.T) {
	if !matchesAny([]string{"arn:aws:s3:::b/alb/*/AWSLogs/1/*"}, "arn:aws:s3:::b/alb/public/AWSLogs/1/x") {
		t.Error("wildcard did not match")
	}
	if matchesAny([]string{"arn:aws:s3:::b/alb/*/AWSLogs/1/*"}, "arn:aws:s3:::b/public/AWSLogs/1/x") {
		t.Error("matched a key outside the prefix")
	}
}

func TestGuardDuty(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			au := child(t, root(t, env, nil), "audit")
			det := one(t, au, "aws_guardduty_detector.this")
			wantBool(t, "GuardDuty", attr(t, det, "enable"), true)
			f := one(t, au, "aws_guardduty_detector_feature.s3")
			wantString(t, "S3 protection feature", attr(t, f, "name"), "S3_DATA_EVENTS")
			wantString(t, "S3 protection", attr(t, f, "status"), "ENABLED")
			if !refersTo(f, "detector_id", "aws_guardduty_detector.this") {
				t.Error("S3 protection is not on the detector")
			}
			// Malware Protection for S3: off by default.
			if n := len(instances(t, au, "aws_guardduty_malware_protection_plan.tenant")); n != 0 {
				t.Errorf("%d Malware Protection plans by default, want 0", n)
			}

			// On: a plan per listed tenant bucket, with its role, findings
			// only (ClamAV's ScanStatus stays the download gate).
			bucket := "palisade-" + env + "-tenant-acme"
			on := child(t, root(t, env, map[string]cty.Value{
				"malware_protection_bucket_names": cty.ListVal([]cty.Value{cty.StringVal(bucket)}),
			}), "audit")
			plans := instances(t, on, "aws_guardduty_malware_protection_plan.tenant")
			if len(plans) != 1 {
				t.Fatalf("%d Malware Protection plans, want 1", len(plans))
			}
			p := plans[bucket].Body
			wantString(t, "protected bucket", attr(t, oneBlock(t, oneBlock(t, p, "protected_resource"), "s3_bucket"), "bucket_name"), bucket)
			wantString(t, "tagging", attr(t, oneBlock(t, oneBlock(t, p, "actions"), "tagging"), "status"), "DISABLED")
			if !refersTo(p, "role", "aws_iam_role.malware") {
				t.Error("plan does not use the malware-protection role")
			}
			trust := instances(t, on, "data.aws_iam_policy_document.malware_assume")[""].Body
			wantSet(t, "malware role trust", principalsOf(t, oneBlock(t, trust, "statement")), "malware-protection-plan.guardduty.amazonaws.com")
			perms := statements(t, on, "data.aws_iam_policy_document.malware", "")
			for sid, st := range perms {
				for _, r := range strings_(attr(t, st, "resources")) {
					if r == "*" {
						t.Errorf("malware role statement %s on every resource", sid)
					}
				}
			}
			read := strings_(attr(t, perms["ReadTenantObjects"], "resources"))
			wantSet(t, "malware role reads", read, "arn:aws:s3:::palisade-"+env+"-tenant-*/*")
		})
	}
}

// The managed rules the issue names, with the source identifiers AWS
// gives them (AWS Config Developer Guide, "List of AWS Config Managed
// Rules"); most are the name upper-cased, the exceptions are why this
// table exists.
var wantConfigRules = map[string]string{
	"cloudtrail-enabled":                        "CLOUD_TRAIL_ENABLED",
	"multi-region-cloudtrail-enabled":           "MULTI_REGION_CLOUD_TRAIL_ENABLED",
	"cloud-trail-log-file-validation-enabled":   "CLOUD_TRAIL_LOG_FILE_VALIDATION_ENABLED",
	"cloud-trail-encryption-enabled":            "CLOUD_TRAIL_ENCRYPTION_ENABLED",
	"s3-bucket-public-read-prohibited":          "S3_BUCKET_PUBLIC_READ_PROHIBITED",
	"s3-bucket-ssl-requests-only":               "S3_BUCKET_SSL_REQUESTS_ONLY",
	"rds-storage-encrypted":                     "RDS_STORAGE_ENCRYPTED",
	"rds-instance-public-access-check":          "RDS_INSTANCE_PUBLIC_ACCESS_CHECK",
	"encrypted-volumes":                         "ENCRYPTED_VOLUMES",
	"iam-root-access-key-check":                 "IAM_ROOT_ACCESS_KEY_CHECK",
	"restricted-ssh":                            "INCOMING_SSH_DISABLED",
	"vpc-flow-logs-enabled":                     "VPC_FLOW_LOGS_ENABLED",
	"guardduty-enabled-centralized":             "GUARDDUTY_ENABLED_CENTRALIZED",
	"elasticache-repl-grp-encrypted-at-rest":    "ELASTICACHE_REPL_GRP_ENCRYPTED_AT_REST",
	"elasticache-repl-grp-encrypted-in-transit": "ELASTICACHE_REPL_GRP_ENCRYPTED_IN_TRANSIT",
	"cw-loggroup-retention-period-check":        "CW_LOGGROUP_RETENTION_PERIOD_CHECK",
	"rds-in-backup-plan":                        "RDS_IN_BACKUP_PLAN",
	"securityhub-enabled":                       "SECURITYHUB_ENABLED",
	"elb-logging-enabled":                       "ELB_LOGGING_ENABLED",
}

// isoConfigRules returns the Config rule names the ISO 27001 map lists in
// its "AWS Config rules" table (first column, in backticks).
func isoConfigRules(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("../docs/iso27001-controls.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "\n## AWS Config rules\n")
	if !ok {
		t.Fatal("docs/iso27001-controls.md has no \"## AWS Config rules\" section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|").FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	if len(out) < len(wantConfigRules) {
		t.Fatalf("the ISO map names %d Config rules, fewer than the %d the issue asks for", len(out), len(wantConfigRules))
	}
	return out
}

func TestConfigRules(t *testing.T) {
	named := isoConfigRules(t)
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			au := child(t, root(t, env, nil), "audit")
			rec := one(t, au, "aws_config_configuration_recorder.this")
			wantBool(t, "record all supported", attr(t, oneBlock(t, rec, "recording_group"), "all_supported"), true)
			wantBool(t, "recorder on", attr(t, one(t, au, "aws_config_configuration_recorder_status.this"), "is_enabled"), true)
			ch := one(t, au, "aws_config_delivery_channel.this")
			if addr, key, _, ok := ch.ResourceRef("s3_bucket_name"); !ok || addr != "aws_s3_bucket.this" || key.AsString() != "config" {
				t.Errorf("delivery channel bucket %s[%v]", addr, key)
			}
			if !refersTo(ch, "s3_kms_key_arn", "aws_kms_key.audit") {
				t.Error("Config deliveries are not KMS-encrypted")
			}

			rules := map[string]string{}
			prefix := "palisade-" + env + "-"
			for k, r := range instances(t, au, "aws_config_config_rule.this") {
				wantString(t, k+" name", attr(t, r.Body, "name"), prefix+k)
				src := oneBlock(t, r.Body, "source")
				wantString(t, k+" owner", attr(t, src, "owner"), "AWS")
				rules[k] = attr(t, src, "source_identifier").AsString()
			}
			for name, id := range wantConfigRules {
				if rules[name] != id {
					t.Errorf("Config rule %s: source %q, want %q", name, rules[name], id)
				}
			}
			for _, name := range named {
				if _, ok := rules[name]; !ok {
					t.Errorf("docs/iso27001-controls.md names Config rule %s, which Terraform does not create", name)
				}
			}
			for name := range rules {
				if !contains(named, name) {
					t.Errorf("Config rule %s is not in the ISO map's table", name)
				}
			}
			ret := instances(t, au, "aws_config_config_rule.this")["cw-loggroup-retention-period-check"].Body
			var params map[string]any
			if v := attr(t, ret, "input_parameters"); !v.IsKnown() || v.IsNull() || json.Unmarshal([]byte(v.AsString()), &params) != nil {
				t.Errorf("log retention rule parameters %v are not JSON", goValue(v))
			}
			if !equalAny(params, map[string]any{"MinRetentionTime": "90"}) {
				t.Errorf("log retention rule parameters %v, want MinRetentionTime 90 (spec 5.3)", params)
			}
		})
	}
}

func TestSecurityHubAndECRScanning(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			au := child(t, in, "audit")
			one(t, au, "aws_securityhub_account.this")
			var arns []string
			for _, s := range instances(t, au, "aws_securityhub_standards_subscription.this") {
				arns = append(arns, attr(t, s.Body, "standards_arn").AsString())
			}
			wantSet(t, "Security Hub standards", arns,
				"arn:aws:securityhub:eu-west-2::standards/aws-foundational-security-best-practices/v/1.0.0",
				"arn:aws:securityhub:eu-west-2::standards/cis-aws-foundations-benchmark/v/3.0.0")

			en := one(t, au, "aws_inspector2_enabler.ecr")
			wantSet(t, "Inspector resource types", strings_(attr(t, en, "resource_types")), "ECR")
			wantSet(t, "Inspector accounts", strings_(attr(t, en, "account_ids")), testAccount)
			sc := one(t, au, "aws_ecr_registry_scanning_configuration.this")
			wantString(t, "ECR scan type", attr(t, sc, "scan_type"), "ENHANCED")
			rule := oneBlock(t, sc, "rule")
			wantString(t, "scan frequency", attr(t, rule, "scan_frequency"), "CONTINUOUS_SCAN")
			f := oneBlock(t, rule, "repository_filter")
			wantString(t, "filter type", attr(t, f, "filter_type"), "WILDCARD")
			filter := attr(t, f, "filter").AsString()
			// Every repository the security module creates is covered.
			for _, r := range instances(t, child(t, in, "security"), "aws_ecr_repository.this") {
				name := attr(t, r.Body, "name").AsString()
				if !matchesAny([]string{filter}, name) {
					t.Errorf("ECR repository %s is outside the enhanced-scanning filter %q", name, filter)
				}
			}
		})
	}
}

// One environment per account and region owns the account-wide services;
// turning them off keeps the environment's own trail and buckets.
func TestAccountServicesSwitch(t *testing.T) {
	au := child(t, root(t, "staging", map[string]cty.Value{"account_services_enabled": cty.False}), "audit")
	for _, addr := range []string{"aws_guardduty_detector.this", "aws_config_configuration_recorder.this", "aws_config_config_rule.this",
		"aws_securityhub_account.this", "aws_securityhub_standards_subscription.this", "aws_inspector2_enabler.ecr",
		"aws_ecr_registry_scanning_configuration.this"} {
		if n := len(instances(t, au, addr)); n != 0 {
			t.Errorf("account_services_enabled = false still creates %d %s", n, addr)
		}
	}
	if n := len(instances(t, au, "aws_cloudtrail.this")); n != 1 {
		t.Errorf("the trail must stay, got %d", n)
	}
}

func TestBackupPlan(t *testing.T) {
	want := map[string]struct {
		days int64
		lock bool
	}{"production": {35, true}, "staging": {7, false}}
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			bk := child(t, in, "backup")
			cp := child(t, in, "backup_copy")

			plan := one(t, bk, "aws_backup_plan.this")
			rule := oneBlock(t, plan, "rule")
			sched := attr(t, rule, "schedule").AsString()
			if !regexp.MustCompile(`^cron\(\d+ \d+ \* \* \? \*\)$`).MatchString(sched) {
				t.Errorf("schedule %q is not daily", sched)
			}
			del := attr(t, oneBlock(t, rule, "lifecycle"), "delete_after")
			wantNumber(t, "backup retention", del, want[env].days)
			if num(t, del) < specBackupRetentionDays {
				t.Errorf("backup retention %v days, spec 3.4 keeps 7", goValue(del))
			}
			if !refersTo(rule, "target_vault_name", "aws_backup_vault.this") {
				t.Error("plan does not back up into its vault")
			}
			copies := blocks(t, rule, "copy_action")
			if len(copies) != 1 {
				t.Fatalf("%d copy actions, want 1 (cross-region)", len(copies))
			}
			wantNumber(t, "copy retention", attr(t, oneBlock(t, copies[0], "lifecycle"), "delete_after"), want[env].days)

			// The copy goes to the other module instance's vault, whose
			// provider is the backup-region alias.
			call := in.Module.Calls["backup"]
			if got := tfeval.TraversalStrings(call.Body.Attributes["copy_vault_arn"].Expr); !equalAny(got, []string{"module.backup_copy.vault_arn"}) {
				t.Errorf("copy_vault_arn from %v, want module.backup_copy.vault_arn", got)
			}
			cpCall := in.Module.Calls["backup_copy"]
			prov, ok := cpCall.Body.Attributes["providers"]
			if !ok {
				t.Fatal("backup_copy has no providers: it would land in the home region")
			}
			if got := tfeval.TraversalStrings(prov.Expr); !equalAny(got, []string{"aws.backup"}) {
				t.Errorf("backup_copy providers %v, want aws.backup", got)
			}
			var region string
			for _, p := range in.Module.Providers {
				if a, ok := p.Body.Attributes["alias"]; ok {
					if v, _ := a.Expr.Value(nil); v.AsString() == "backup" {
						v, err := in.Eval(p.Body.Attributes["region"].Expr, nil)
						if err != nil {
							t.Fatal(err)
						}
						region = v.AsString()
					}
				}
			}
			if region == "" || region == in.Var("region").AsString() {
				t.Errorf("backup region %q must be set and differ from %s", region, in.Var("region").AsString())
			}
			if n := len(instances(t, cp, "aws_backup_plan.this")); n != 0 {
				t.Errorf("the copy vault's module has %d plans, want 0", n)
			}

			// Both vaults KMS-encrypted with their own keys; lock per env.
			for _, m := range []*tfeval.Instance{bk, cp} {
				v := one(t, m, "aws_backup_vault.this")
				if !refersTo(v, "kms_key_arn", "aws_kms_key.backup") {
					t.Errorf("%s vault is not encrypted with its key", m.Path)
				}
				if n := len(instances(t, m, "aws_backup_vault_lock_configuration.this")); (n == 1) != want[env].lock {
					t.Errorf("%s: %d vault locks, want lock %v", m.Path, n, want[env].lock)
				}
			}

			// The RDS instance is selected; S3 only when asked.
			sel := one(t, bk, "aws_backup_selection.rds")
			if !refersTo(sel, "iam_role_arn", "aws_iam_role.backup") {
				t.Error("selection does not use the backup role")
			}
			if got := tfeval.TraversalStrings(call.Body.Attributes["rds_instance_arns"].Expr); !equalAny(got, []string{"module.data.db_instance_arn"}) {
				t.Errorf("rds_instance_arns from %v, want module.data.db_instance_arn", got)
			}
			if n := len(instances(t, bk, "aws_backup_selection.s3")); n != 0 {
				t.Errorf("S3 backup on by default (%d selections)", n)
			}
			s3 := child(t, root(t, env, map[string]cty.Value{"s3_backup_enabled": cty.True}), "backup")
			sel3 := one(t, s3, "aws_backup_selection.s3")
			wantSet(t, "S3 selection", strings_(attr(t, sel3, "resources")), "arn:aws:s3:::palisade-"+env+"-tenant-*")
			var attached []string
			for k := range instances(t, s3, "aws_iam_role_policy_attachment.backup") {
				attached = append(attached, k)
			}
			if !contains(attached, "AWSBackupServiceRolePolicyForS3Backup") {
				t.Errorf("S3 backup without the S3 backup policy: %v", attached)
			}
		})
	}
}

// The release build uploads the SBOM to the artifacts bucket: its CodeBuild
// projects must be told the bucket (build.yml reads ARTIFACTS_BUCKET).
func TestBuildProjectsKnowTheSBOMBucket(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			cicd := child(t, root(t, env, nil), "cicd")
			n := 0
			for k, p := range instances(t, cicd, "aws_codebuild_project.this") {
				// build-<pipeline> runs build.yml; build-scanner is Docker.
				if !strings.HasPrefix(k, "build-") || k == "build-scanner" {
					continue
				}
				n++
				vars := map[string]any{}
				for _, v := range blocks(t, oneBlock(t, p.Body, "environment"), "environment_variable") {
					vars[attr(t, v, "name").AsString()] = goValue(attr(t, v, "value"))
				}
				// The bucket's id is known after apply; the input is its name.
				if _, ok := vars["ARTIFACTS_BUCKET"]; !ok {
					t.Errorf("%s: no ARTIFACTS_BUCKET (has %v)", k, vars)
				}
			}
			if n == 0 {
				t.Fatal("no build projects found")
			}
			in := root(t, env, nil)
			if got := tfeval.TraversalStrings(in.Module.Calls["cicd"].Body.Attributes["artifacts_bucket_name"].Expr); !equalAny(got, []string{"module.storage.artifacts_bucket_name"}) {
				t.Errorf("cicd artifacts_bucket_name from %v", got)
			}
		})
	}
}
