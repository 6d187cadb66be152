package infra_test

// COST.md lines for issue 16 items 2, 3 and 7 (CloudTrail data events,
// GuardDuty, Config, Security Hub, Inspector, AWS Backup), computed from
// the production defaults and the "audit" object of the price file.

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

type auditPrices struct {
	Audit struct {
		DataEvents100k  float64            `json:"cloudtrail_data_events_per_100k"`
		GDMgmtMillion   float64            `json:"guardduty_mgmt_events_per_million"`
		GDFlowGB        float64            `json:"guardduty_flow_dns_gb"`
		GDS3Million     float64            `json:"guardduty_s3_events_per_million"`
		ConfigItem      float64            `json:"config_item"`
		ConfigEval      float64            `json:"config_rule_evaluation"`
		HubCheck        float64            `json:"securityhub_check"`
		InspectorScan   float64            `json:"inspector_ecr_initial_scan"`
		InspectorRescan float64            `json:"inspector_ecr_rescan"`
		BackupGB        float64            `json:"backup_rds_gb_month"`
		TransferGB      float64            `json:"cross_region_transfer_gb"`
		Assume          map[string]float64 `json:"assumptions"`
	} `json:"audit"`
	LogsIngest float64 `json:"cloudwatch_logs_ingest_gb"`
	S3GB       float64 `json:"s3_standard_gb_month"`
	KMSKey     float64 `json:"kms_key_month"`
}

func auditCost(t *testing.T, in *tfeval.Instance) []costLine {
	t.Helper()
	raw, err := os.ReadFile("cost/prices-eu-west-2.json")
	if err != nil {
		t.Fatal(err)
	}
	var p auditPrices
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	q, a := p.Audit, p.Audit.Assume
	for _, k := range []string{"tenant_s3_data_events", "trail_log_ingest_gb", "audit_s3_stored_gb", "guardduty_mgmt_events", "guardduty_flow_dns_gb",
		"guardduty_s3_events", "config_items", "config_rule_evaluations", "securityhub_checks", "images_pushed", "image_rescans", "backup_size_factor", "backup_copy_gb"} {
		if _, ok := a[k]; !ok {
			t.Fatalf("price file: audit.assumptions.%s missing", k)
		}
	}
	var out []costLine
	add := func(item, quantity, unit string, monthly float64) {
		out = append(out, costLine{notInSpec, item, quantity, unit, monthly})
	}
	au := child(t, in, "audit")
	n := func(m *tfeval.Instance, addr string) float64 { return float64(len(instances(t, m, addr))) }

	// CloudTrail: the first copy of management events is free; the tenant
	// buckets' data events are billed per event.
	if n(au, "aws_cloudtrail.this") > 0 {
		add(fmt.Sprintf("CloudTrail S3 data events of the tenant buckets (assumed %.0f events)", a["tenant_s3_data_events"]),
			fmt.Sprintf("%.0f events", a["tenant_s3_data_events"]), usd(q.DataEvents100k)+" /100k events", a["tenant_s3_data_events"]/1e5*q.DataEvents100k)
	}
	if n(au, "aws_cloudwatch_log_group.trail") > 0 {
		add("CloudTrail to CloudWatch Logs, ingestion (assumed)", fmt.Sprintf("%g GB", a["trail_log_ingest_gb"]), usd(p.LogsIngest)+" /GB", a["trail_log_ingest_gb"]*p.LogsIngest)
	}
	add(fmt.Sprintf("trail, Config and access-log buckets (%g), S3 Standard before Glacier (assumed)", n(au, "aws_s3_bucket.this")),
		fmt.Sprintf("%g GB-month", a["audit_s3_stored_gb"]), usd(p.S3GB)+" /GB-month", a["audit_s3_stored_gb"]*p.S3GB)

	if n(au, "aws_guardduty_detector.this") > 0 {
		gd := a["guardduty_mgmt_events"]/1e6*q.GDMgmtMillion + a["guardduty_flow_dns_gb"]*q.GDFlowGB
		add(fmt.Sprintf("GuardDuty: %.0f CloudTrail management events, %g GB flow and DNS logs (assumed)", a["guardduty_mgmt_events"], a["guardduty_flow_dns_gb"]),
			fmt.Sprintf("%g M events + %g GB", a["guardduty_mgmt_events"]/1e6, a["guardduty_flow_dns_gb"]), usd(q.GDMgmtMillion)+" /M events, "+usd(q.GDFlowGB)+" /GB", gd)
		if n(au, "aws_guardduty_detector_feature.s3") > 0 {
			add(fmt.Sprintf("GuardDuty S3 protection: %.0f S3 data events (assumed)", a["guardduty_s3_events"]),
				fmt.Sprintf("%g M events", a["guardduty_s3_events"]/1e6), usd(q.GDS3Million)+" /M events", a["guardduty_s3_events"]/1e6*q.GDS3Million)
		}
	}
	if n(au, "aws_config_configuration_recorder.this") > 0 {
		rules := n(au, "aws_config_config_rule.this")
		add(fmt.Sprintf("AWS Config: %g configuration items, %g evaluations of %g rules (assumed)", a["config_items"], a["config_rule_evaluations"], rules),
			fmt.Sprintf("%g items + %g evaluations", a["config_items"], a["config_rule_evaluations"]), usd(q.ConfigItem)+" /item, "+usd(q.ConfigEval)+" /evaluation",
			a["config_items"]*q.ConfigItem+a["config_rule_evaluations"]*q.ConfigEval)
	}
	if n(au, "aws_securityhub_account.this") > 0 {
		add(fmt.Sprintf("Security Hub: %g standards, %g security checks (assumed)", n(au, "aws_securityhub_standards_subscription.this"), a["securityhub_checks"]),
			fmt.Sprintf("%g checks", a["securityhub_checks"]), usd(q.HubCheck)+" /check", a["securityhub_checks"]*q.HubCheck)
	}
	if n(au, "aws_inspector2_enabler.ecr") > 0 {
		add(fmt.Sprintf("Inspector ECR enhanced scanning: %g images pushed, %g continuous rescans (assumed)", a["images_pushed"], a["image_rescans"]),
			fmt.Sprintf("%g scans + %g rescans", a["images_pushed"], a["image_rescans"]), usd(q.InspectorScan)+" /image, "+usd(q.InspectorRescan)+" /rescan",
			a["images_pushed"]*q.InspectorScan+a["image_rescans"]*q.InspectorRescan)
	}

	// AWS Backup: the RDS recovery points in both regions (incremental
	// snapshots; assumed backup_size_factor × the allocated storage) and
	// the daily cross-region copy transfer.
	bk := child(t, in, "backup")
	if n(bk, "aws_backup_plan.this") > 0 {
		gb := num(t, attr(t, one(t, child(t, in, "data"), "aws_db_instance.this"), "allocated_storage")) * a["backup_size_factor"]
		add(fmt.Sprintf("AWS Backup: RDS recovery points, home and copy region (%g × allocated storage each, assumed)", a["backup_size_factor"]),
			fmt.Sprintf("%g GB-month", 2*gb), usd(q.BackupGB)+" /GB-month", 2*gb*q.BackupGB)
		add("AWS Backup: cross-region copy transfer (assumed)", fmt.Sprintf("%g GB", a["backup_copy_gb"]), usd(q.TransferGB)+" /GB", a["backup_copy_gb"]*q.TransferGB)
	}
	keys := n(au, "aws_kms_key.audit") + n(bk, "aws_kms_key.backup") + n(child(t, in, "backup_copy"), "aws_kms_key.backup")
	add(fmt.Sprintf("KMS keys: audit and the two backup vaults (%g)", keys), fmt.Sprintf("%g keys", keys), usd(p.KMSKey)+" /key-month", keys*p.KMSKey)
	return out
}
