package infra_test

// COST.md is computed from the defaults of infra/envs/production and the
// price list in infra/cost. The test fails when COST.md does not match, so
// a change of a default (a task size, a replica count, an instance class)
// changes the total visibly in the same commit. Regenerate with
//
//	go test ./infra -run TestCostEstimate -update

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

type prices struct {
	Region        string             `json:"region"`
	Note          string             `json:"note"`
	Hours         float64            `json:"hours_per_month"`
	FargateVCPU   float64            `json:"fargate_arm_vcpu_hour"`
	FargateGB     float64            `json:"fargate_arm_gb_hour"`
	SpotVCPU      float64            `json:"fargate_spot_arm_vcpu_hour"`
	SpotGB        float64            `json:"fargate_spot_arm_gb_hour"`
	ALBHour       float64            `json:"alb_hour"`
	ALBLCUHour    float64            `json:"alb_lcu_hour"`
	RDSHour       map[string]float64 `json:"rds_mariadb_single_az_hour"`
	RDSStorage    float64            `json:"rds_gp3_gb_month"`
	CacheHour     map[string]float64 `json:"elasticache_node_hour"`
	NATHour       float64            `json:"nat_gateway_hour"`
	NATGB         float64            `json:"nat_gateway_gb"`
	EndpointHour  float64            `json:"interface_endpoint_az_hour"`
	EndpointGB    float64            `json:"interface_endpoint_gb"`
	WAFACL        float64            `json:"waf_web_acl_month"`
	WAFRule       float64            `json:"waf_rule_month"`
	WAFMillion    float64            `json:"waf_million_requests"`
	LogsIngest    float64            `json:"cloudwatch_logs_ingest_gb"`
	LogsStore     float64            `json:"cloudwatch_logs_store_gb_month"`
	Metric        float64            `json:"cloudwatch_metric_month"`
	AlarmMetric   float64            `json:"cloudwatch_alarm_metric_month"`
	Dashboard     float64            `json:"cloudwatch_dashboard_month"`
	S3GB          float64            `json:"s3_standard_gb_month"`
	KMSKey        float64            `json:"kms_key_month"`
	Secret        float64            `json:"secret_month"`
	Pipeline      float64            `json:"codepipeline_v1_pipeline_month"`
	BuildMinute   float64            `json:"codebuild_arm_small_minute"`
	LambdaGBs     float64            `json:"lambda_arm_gb_second"`
	LambdaMillion float64            `json:"lambda_million_requests"`
	PublicIPv4    float64            `json:"public_ipv4_hour"`
	TransferOut   float64            `json:"data_transfer_out_gb"`
	VendedLogs    float64            `json:"vended_logs_ingest_gb"`
	HostedZone    float64            `json:"route53_hosted_zone_month"`
	SESThousand   float64            `json:"ses_per_thousand_messages"`
	Assume        map[string]float64 `json:"assumptions"`
}

type costLine struct {
	group    string // spec 7 line
	item     string
	quantity string
	unit     string
	monthly  float64
}

// Spec 7 (eu-west-2), low and high of each line.
var specCost = []struct {
	group     string
	low, high float64
}{
	{"Fargate Compute", 150, 200},
	{"Load Balancers", 45, 50},
	{"RDS MariaDB", 70, 90},
	{"ElastiCache Redis", 25, 35},
	{"NAT Gateways", 70, 100},
	{"S3 + CloudWatch", 20, 40},
	{"CI/CD", 10, 20},
}

const notInSpec = "Not in spec §7"

func TestCostEstimate(t *testing.T) {
	raw, err := os.ReadFile("cost/prices-eu-west-2.json")
	if err != nil {
		t.Fatal(err)
	}
	var p prices
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	lines := estimate(t, p)
	doc := renderCost(p, lines)
	current, _ := os.ReadFile("COST.md")
	if string(current) == doc {
		return
	}
	if !*update {
		t.Fatalf("COST.md does not match the module defaults and prices; run: go test ./infra -run TestCostEstimate -update")
	}
	if err := os.WriteFile("COST.md", []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
}

func num(t *testing.T, v cty.Value) float64 {
	t.Helper()
	if !v.IsKnown() || v.IsNull() {
		t.Fatalf("cost input is not known: %v", goValue(v))
	}
	if v.Type() == cty.String {
		var f float64
		fmt.Sscan(v.AsString(), &f)
		return f
	}
	f, _ := v.AsBigFloat().Float64()
	return f
}

func price(t *testing.T, table map[string]float64, key, what string) float64 {
	t.Helper()
	v, ok := table[key]
	if !ok {
		t.Fatalf("no %s price for %q in cost/prices-eu-west-2.json; add it", what, key)
	}
	return v
}

func estimate(t *testing.T, p prices) []costLine {
	in := root(t, "production", nil)
	h := p.Hours
	a := p.Assume
	var out []costLine
	add := func(group, item, quantity, unit string, monthly float64) {
		out = append(out, costLine{group, item, quantity, unit, monthly})
	}

	// Fargate: every service at its minimum (always-on) count.
	ecs := child(t, in, "ecs")
	services := ecs.Var("services")
	var names []string
	for it := services.ElementIterator(); it.Next(); {
		k, _ := it.Element()
		names = append(names, k.AsString())
	}
	sort.Strings(names)
	for _, name := range names {
		s := services.Index(cty.StringVal(name))
		count := num(t, s.GetAttr("min_count"))
		vcpu := num(t, s.GetAttr("cpu")) / 1024
		gb := num(t, s.GetAttr("memory")) / 1024
		vp, gp, kind := p.FargateVCPU, p.FargateGB, "Fargate ARM"
		if s.GetAttr("capacity").AsString() == "FARGATE_SPOT" {
			vp, gp, kind = p.SpotVCPU, p.SpotGB, "Fargate Spot ARM"
		}
		add("Fargate Compute", fmt.Sprintf("%s: %g × %g vCPU / %g GB (%s)", name, count, vcpu, gb, kind),
			fmt.Sprintf("%g vCPU-h + %g GB-h", count*vcpu*h, count*gb*h),
			usd(vp)+" /vCPU-h, "+usd(gp)+" /GB-h",
			count*h*(vcpu*vp+gb*gp))
	}

	alb := child(t, in, "alb")
	nLB := float64(len(alb.Module.OfType("aws_lb")))
	add("Load Balancers", fmt.Sprintf("%g ALBs (public, internal)", nLB), fmt.Sprintf("%g ALB-h", nLB*h), usd(p.ALBHour)+" /ALB-h", nLB*h*p.ALBHour)
	add("Load Balancers", fmt.Sprintf("LCUs, %g per ALB (assumed)", a["alb_lcus_per_alb"]), fmt.Sprintf("%g LCU-h", nLB*a["alb_lcus_per_alb"]*h), usd(p.ALBLCUHour)+" /LCU-h", nLB*a["alb_lcus_per_alb"]*h*p.ALBLCUHour)
	// Every public IPv4 address is billed since February 2024: the public
	// ALB holds one per public subnet (AZ), each NAT gateway its EIP.
	pubSubnets := float64(len(instances(t, child(t, in, "network"), "aws_subnet.public")))
	add("Load Balancers", fmt.Sprintf("public IPv4 addresses of the public ALB (%g AZs)", pubSubnets), fmt.Sprintf("%g IP-h", pubSubnets*h), usd(p.PublicIPv4)+" /IP-h", pubSubnets*h*p.PublicIPv4)

	data := child(t, in, "data")
	db := one(t, data, "aws_db_instance.this")
	class := attr(t, db, "instance_class").AsString()
	azFactor := 1.0
	if attr(t, db, "multi_az").True() {
		azFactor = 2
	}
	storage := num(t, attr(t, db, "allocated_storage"))
	add("RDS MariaDB", fmt.Sprintf("%s, %s", class, map[bool]string{true: "Multi-AZ (primary + standby)", false: "single-AZ"}[azFactor == 2]),
		fmt.Sprintf("%g instance-h", azFactor*h), fmt.Sprintf("$%g /h", price(t, p.RDSHour, class, "RDS")), azFactor*h*price(t, p.RDSHour, class, "RDS"))
	add("RDS MariaDB", fmt.Sprintf("gp3 storage %g GB", storage), fmt.Sprintf("%g GB-month", azFactor*storage), usd(p.RDSStorage)+" /GB-month", azFactor*storage*p.RDSStorage)

	rg := one(t, data, "aws_elasticache_replication_group.this")
	node := attr(t, rg, "node_type").AsString()
	nodes := num(t, attr(t, rg, "num_cache_clusters"))
	add("ElastiCache Redis", fmt.Sprintf("%g × %s (primary + replica)", nodes, node), fmt.Sprintf("%g node-h", nodes*h), fmt.Sprintf("$%g /h", price(t, p.CacheHour, node, "ElastiCache")), nodes*h*price(t, p.CacheHour, node, "ElastiCache"))

	net := child(t, in, "network")
	nat := float64(len(instances(t, net, "aws_nat_gateway.this")))
	add("NAT Gateways", fmt.Sprintf("%g NAT gateways", nat), fmt.Sprintf("%g h", nat*h), usd(p.NATHour)+" /h", nat*h*p.NATHour)
	add("NAT Gateways", "data processed (assumed)", fmt.Sprintf("%g GB", a["nat_processed_gb"]), usd(p.NATGB)+" /GB", a["nat_processed_gb"]*p.NATGB)
	eips := float64(len(instances(t, net, "aws_eip.nat")))
	add("NAT Gateways", fmt.Sprintf("public IPv4 addresses (%g Elastic IPs)", eips), fmt.Sprintf("%g IP-h", eips*h), usd(p.PublicIPv4)+" /IP-h", eips*h*p.PublicIPv4)
	add("NAT Gateways", "data transfer out to the internet (assumed; responses, mail, signatures)", fmt.Sprintf("%g GB", a["data_transfer_out_gb"]), usd(p.TransferOut)+" /GB", a["data_transfer_out_gb"]*p.TransferOut)

	logs := 0.0
	walk(t, in, func(m *tfeval.Instance) {
		for _, r := range m.Module.OfType("aws_cloudwatch_log_group") {
			list, err := m.Instances(r)
			if err != nil {
				t.Fatal(err)
			}
			logs += float64(len(list))
		}
	})
	add("S3 + CloudWatch", "log ingestion (assumed)", fmt.Sprintf("%g GB", a["log_ingest_gb"]), usd(p.LogsIngest)+" /GB", a["log_ingest_gb"]*p.LogsIngest)
	if len(instances(t, net, "aws_flow_log.this")) > 0 {
		add("S3 + CloudWatch", "VPC flow log ingestion, vended logs (assumed)", fmt.Sprintf("%g GB", a["flow_log_ingest_gb"]), usd(p.VendedLogs)+" /GB", a["flow_log_ingest_gb"]*p.VendedLogs)
	}
	add("S3 + CloudWatch", fmt.Sprintf("log storage, 90-day retention, %g log groups (assumed volume)", logs), fmt.Sprintf("%g GB-month", a["log_stored_gb"]), usd(p.LogsStore)+" /GB-month", a["log_stored_gb"]*p.LogsStore)
	if attr(t, oneBlock(t, one(t, ecs, "aws_ecs_cluster.this"), "setting"), "value").AsString() == "enabled" {
		add("S3 + CloudWatch", "Container Insights metrics (assumed count)", fmt.Sprintf("%g metrics", a["container_insights_metrics"]), usd(p.Metric)+" /metric-month", a["container_insights_metrics"]*p.Metric)
	}
	// Monitoring (modules/monitoring): an alarm is billed per metric it
	// reads (a metric-math alarm per metric of its query), a dashboard per
	// month, and the app's EMF metrics as custom metrics with the log
	// ingestion of their lines.
	mon := child(t, in, "monitoring")
	alarms, alarmMetrics := 0.0, 0.0
	for _, r := range mon.Module.OfType("aws_cloudwatch_metric_alarm") {
		for _, ri := range instances(t, mon, r.Addr()) {
			alarms++
			if ri.Body.Has("metric_name") {
				alarmMetrics++
			}
			for _, q := range blocks(t, ri.Body, "metric_query") {
				alarmMetrics += float64(len(blocks(t, q, "metric")))
			}
		}
	}
	add("S3 + CloudWatch", fmt.Sprintf("CloudWatch alarms (%g, standard resolution)", alarms), fmt.Sprintf("%g alarm metrics", alarmMetrics), usd(p.AlarmMetric)+" /alarm metric-month", alarmMetrics*p.AlarmMetric)
	dashboards := float64(len(instances(t, mon, "aws_cloudwatch_dashboard.this")))
	add("S3 + CloudWatch", fmt.Sprintf("CloudWatch dashboards (%g; the account's first 3 are free)", dashboards), fmt.Sprintf("%g dashboards", dashboards), usd(p.Dashboard)+" /dashboard-month", dashboards*p.Dashboard)
	add("S3 + CloudWatch", "app metrics as EMF custom metrics (assumed count)", fmt.Sprintf("%g metrics", a["emf_custom_metrics"]), usd(p.Metric)+" /metric-month", a["emf_custom_metrics"]*p.Metric)
	add("S3 + CloudWatch", "EMF log lines ingested (assumed)", fmt.Sprintf("%g GB", a["emf_log_ingest_gb"]), usd(p.LogsIngest)+" /GB", a["emf_log_ingest_gb"]*p.LogsIngest)
	monKeys := float64(len(instances(t, mon, "aws_kms_key.alerts")))
	add(notInSpec, fmt.Sprintf("KMS key of the alert topic (%g)", monKeys), fmt.Sprintf("%g keys", monKeys), usd(p.KMSKey)+" /key-month", monKeys*p.KMSKey)

	add("S3 + CloudWatch", "S3 Standard storage (assumed)", fmt.Sprintf("%g GB-month", a["s3_stored_gb"]), usd(p.S3GB)+" /GB-month", a["s3_stored_gb"]*p.S3GB)

	add("CI/CD", "CodePipeline (V1) pipelines: api, tenant, hq", fmt.Sprintf("%g pipelines", a["pipelines"]), usd(p.Pipeline)+" /pipeline-month", a["pipelines"]*p.Pipeline)
	add("CI/CD", "CodeBuild arm1.small (assumed minutes)", fmt.Sprintf("%g min", a["codebuild_minutes"]), usd(p.BuildMinute)+" /min", a["codebuild_minutes"]*p.BuildMinute)

	eps := float64(len(instances(t, net, "aws_vpc_endpoint.interface")))
	azs := num(t, net.Var("az_count"))
	add(notInSpec, fmt.Sprintf("%g interface VPC endpoints × %g AZs", eps, azs), fmt.Sprintf("%g endpoint-AZ-h", eps*azs*h), usd(p.EndpointHour)+" /h", eps*azs*h*p.EndpointHour)
	add(notInSpec, "interface endpoint data (assumed)", fmt.Sprintf("%g GB", a["endpoint_processed_gb"]), usd(p.EndpointGB)+" /GB", a["endpoint_processed_gb"]*p.EndpointGB)

	rules := float64(len(blocks(t, one(t, alb, "aws_wafv2_web_acl.public"), "rule")))
	add(notInSpec, fmt.Sprintf("AWS WAF: 1 web ACL, %g rules", rules), fmt.Sprintf("1 ACL + %g rules", rules), usd(p.WAFACL)+" /ACL, "+usd(p.WAFRule)+" /rule", p.WAFACL+rules*p.WAFRule)
	add(notInSpec, "AWS WAF requests (assumed)", fmt.Sprintf("%g M requests", a["waf_million_requests"]), usd(p.WAFMillion)+" /M", a["waf_million_requests"]*p.WAFMillion)

	zones := float64(len(instances(t, ecs, "aws_service_discovery_private_dns_namespace.this")))
	add(notInSpec, fmt.Sprintf("Cloud Map private DNS namespace (%g Route 53 hosted zone)", zones), fmt.Sprintf("%g zones", zones), usd(p.HostedZone)+" /zone-month", zones*p.HostedZone)
	if len(instances(t, child(t, in, "mail"), "aws_sesv2_email_identity.domain")) > 0 {
		add(notInSpec, "SES messages (assumed)", fmt.Sprintf("%g messages", a["mail_messages"]), usd(p.SESThousand)+" /1000", a["mail_messages"]/1000*p.SESThousand)
	}

	sec := child(t, in, "security")
	keys := float64(len(instances(t, sec, "aws_kms_key.this")))
	secrets := float64(len(instances(t, sec, "aws_secretsmanager_secret.this")))
	add(notInSpec, fmt.Sprintf("KMS keys (%g)", keys), fmt.Sprintf("%g keys", keys), usd(p.KMSKey)+" /key-month", keys*p.KMSKey)
	// Crypto-shredding: a key per tenant, created by the app (not Terraform).
	if v := child(t, in, "ecs").Var("tenant_kms_keys"); v.IsKnown() && v.True() {
		add(notInSpec, fmt.Sprintf("KMS keys, one per tenant (%g tenants assumed; created at run time)", a["tenants"]), fmt.Sprintf("%g keys", a["tenants"]), usd(p.KMSKey)+" /key-month", a["tenants"]*p.KMSKey)
	}
	add(notInSpec, fmt.Sprintf("Secrets Manager secrets (%g)", secrets), fmt.Sprintf("%g secrets", secrets), usd(p.Secret)+" /secret-month", secrets*p.Secret)

	sc := child(t, in, "scanner")
	fns := instances(t, sc, "aws_lambda_function.this")
	scanGB := num(t, attr(t, fns["scan"].Body, "memory_size")) / 1024
	updGB := num(t, attr(t, fns["update"].Body, "memory_size")) / 1024
	scanGBs := a["scans_per_month"] * a["scan_seconds"] * scanGB
	updGBs := a["updates_per_month"] * a["update_seconds"] * updGB
	add(notInSpec, fmt.Sprintf("scanner Lambda, ARM: %g scans × %g s × %.2f GB + %g updates × %g s × %.2f GB (assumed)", a["scans_per_month"], a["scan_seconds"], scanGB, a["updates_per_month"], a["update_seconds"], updGB),
		fmt.Sprintf("%.0f GB-s, %g requests", scanGBs+updGBs, a["scans_per_month"]+a["updates_per_month"]),
		usd(p.LambdaGBs)+" /GB-s, "+usd(p.LambdaMillion)+" /M requests",
		(scanGBs+updGBs)*p.LambdaGBs+(a["scans_per_month"]+a["updates_per_month"])/1e6*p.LambdaMillion)
	out = append(out, auditCost(t, in)...) // issue 16: audit, detection, backup (audit_cost_test.go)
	return out
}

// usd prints a unit price without exponent notation.
func usd(f float64) string { return "$" + strconv.FormatFloat(f, 'f', -1, 64) }

func money(f float64) string { return fmt.Sprintf("$%.2f", math.Round(f*100)/100) }

func renderCost(p prices, lines []costLine) string {
	var b strings.Builder
	b.WriteString("# Monthly cost estimate (" + p.Region + ")\n\n")
	b.WriteString("Generated by `go test ./infra -run TestCostEstimate -update` from the defaults of `infra/envs/production` " +
		"(evaluated offline from the HCL) and the price list `infra/cost/prices-eu-west-2.json`. Do not edit by hand: " +
		"the test fails when this file no longer matches the defaults or the prices, so a change of a default shows here.\n\n")
	b.WriteString(p.Note + "\n\n")
	b.WriteString("Quantities are a month of " + fmt.Sprint(p.Hours) + " hours at the always-on minimum (spec §1): every ECS service at its `min_count`.\n\n")
	b.WriteString("| Spec §7 line | Item | Quantity | Unit price | Monthly |\n|---|---|---|---|---:|\n")
	totals := map[string]float64{}
	total := 0.0
	for _, l := range lines {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", l.group, l.item, l.quantity, l.unit, money(l.monthly))
		totals[l.group] += l.monthly
		total += l.monthly
	}
	fmt.Fprintf(&b, "| **Total** | | | | **%s** |\n\n", money(total))

	b.WriteString("## Against the spec\n\n| Spec §7 line | Spec estimate | This configuration | |\n|---|---|---:|---|\n")
	specLow, specHigh, inSpec := 0.0, 0.0, 0.0
	for _, s := range specCost {
		got := totals[s.group]
		inSpec += got
		specLow += s.low
		specHigh += s.high
		fmt.Fprintf(&b, "| %s | $%g–%g | %s | %s |\n", s.group, s.low, s.high, money(got), verdict(got, s.low, s.high))
	}
	fmt.Fprintf(&b, "| Lines the spec lists | $%g–%g | %s | %s |\n", specLow, specHigh, money(inSpec), verdict(inSpec, specLow, specHigh))
	fmt.Fprintf(&b, "| %s (endpoints, WAF, KMS, secrets, scanner, Cloud Map, SES, audit, detection, backup) | – | %s | added by spec §3.1, §5 |\n", notInSpec, money(totals[notInSpec]))
	fmt.Fprintf(&b, "| **Total** | $%g–%g | **%s** | %s |\n\n", specLow, specHigh, money(total), verdict(total, specLow, specHigh))

	b.WriteString("## Reading the differences\n\n" +
		"- Fargate: the spec's $150–200 fits x86 Fargate or more replicas; the defaults run the spec's sizes on ARM64 (Graviton, about 20 % cheaper) at their minimum counts, and the worker on Fargate Spot. Autoscaling up to the maxima (tenant 10, api 10, worker 5) raises this line.\n" +
		"- RDS: a Multi-AZ db.t3.medium bills two instances; the spec's $70–90 matches a single instance. Reserved instances bring Multi-AZ near that range.\n" +
		"- The spec's table leaves out costs that its own §3.1 and §5 require: the five interface VPC endpoints in two AZs (the largest of them), AWS WAF, KMS keys, secrets and the scanner.\n" +
		"- Public IPv4 addresses (the public ALB's, one per AZ, and the NAT gateways' Elastic IPs) have been billed since February 2024; the spec's table predates that.\n" +
		"- Usage-based lines (NAT and endpoint data, data transfer out, log ingestion, metrics, S3, WAF requests, builds, scans, mail) rest on the assumptions in the price file; change them there.\n")
	return b.String()
}

func verdict(got, low, high float64) string {
	switch {
	case got < low:
		return "below the spec's range"
	case got > high:
		return "above the spec's range"
	}
	return "within the spec's range"
}
