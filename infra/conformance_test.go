package infra_test

// Spec conformance: every number and rule of the product spec's sections 3
// to 5 and 8 (shared/seed, "Technical Requirements Specification"), checked
// against what infra/envs/{staging,production} would ask AWS for. The
// expected values below are copied from the spec, not from the modules, so
// a change in either shows up here.

import (
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

// Spec 3.2, with the roles of our single binary (shared/product.md).
type specService struct {
	role        string
	cpu, memory int64
	min, max    int64
	port        int64 // 0: not behind a load balancer
	spot        bool
}

var specServices = map[string]specService{
	"tenant":    {role: "web", cpu: 512, memory: 1024, min: 2, max: 10, port: 3000},
	"hq":        {role: "hq", cpu: 512, memory: 1024, min: 1, max: 1, port: 3000},
	"api":       {role: "api", cpu: 512, memory: 1024, min: 2, max: 10, port: 8000},
	"worker":    {role: "worker", cpu: 256, memory: 512, min: 1, max: 5, spot: true},
	"scheduler": {role: "scheduler", cpu: 256, memory: 512, min: 1, max: 1},
	"realtime":  {role: "realtime", cpu: 256, memory: 512, min: 1, max: 1, port: 8080},
}

const metricsPort = 9090

func TestReferencesResolve(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			walk(t, in, func(*tfeval.Instance) {})
			seen := map[string]bool{}
			for _, p := range *in.Problems {
				if !seen[p] {
					seen[p] = true
					t.Error(p)
				}
			}
		})
	}
}

// Terraform needs count and for_each known at plan time; a value that is
// only known after apply (an ARN, an ID) there is a plan error.
func TestCountAndForEachKnownAtPlan(t *testing.T) {
	for _, env := range envs {
		for _, hatch := range []string{"FARGATE", "EC2"} {
			t.Run(env+"/"+hatch, func(t *testing.T) {
				in := root(t, env, map[string]cty.Value{"frontend_compute": cty.StringVal(hatch)})
				walk(t, in, func(m *tfeval.Instance) {
					for _, r := range m.Module.Resources {
						if _, err := m.Instances(r); err != nil {
							t.Error(err)
						}
					}
				})
			})
		}
	}
}

func TestNetwork(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			net := child(t, root(t, env, nil), "network")

			wantString(t, "VPC CIDR", attr(t, one(t, net, "aws_vpc.this"), "cidr_block"), "10.0.0.0/16")

			tiers := map[string][]string{
				"public":  {"10.0.1.0/24", "10.0.2.0/24"},
				"private": {"10.0.11.0/24", "10.0.12.0/24"},
				"data":    {"10.0.21.0/24", "10.0.22.0/24"},
			}
			for tier, want := range tiers {
				subnets := instances(t, net, "aws_subnet."+tier)
				var cidrs, azs []string
				for _, k := range keys(subnets) {
					b := subnets[k].Body
					cidrs = append(cidrs, attr(t, b, "cidr_block").AsString())
					azs = append(azs, attr(t, b, "availability_zone").AsString())
					if tier == "public" {
						wantBool(t, "public subnet map_public_ip_on_launch", attr(t, b, "map_public_ip_on_launch"), false)
					}
				}
				wantSet(t, tier+" subnets", cidrs, want...)
				if len(azs) != 2 || azs[0] == azs[1] {
					t.Errorf("%s subnets must sit in two different AZs, got %q", tier, azs)
				}
			}

			if n := len(instances(t, net, "aws_internet_gateway.this")); n != 1 {
				t.Errorf("internet gateways = %d, want 1", n)
			}
			nats := instances(t, net, "aws_nat_gateway.this")
			if len(nats) != 2 {
				t.Errorf("NAT gateways = %d, want 2 (one per AZ)", len(nats))
			}
			for k, nat := range nats {
				if !refersTo(nat.Body, "subnet_id", "aws_subnet.public") {
					t.Errorf("NAT gateway %s is not in a public subnet", k)
				}
			}
			routes := instances(t, net, "aws_route.private_nat")
			if len(routes) != 2 {
				t.Errorf("private default routes = %d, want one per AZ", len(routes))
			}
			wantBool(t, "single_nat_gateway", net.Var("single_nat_gateway"), false)

			s3 := one(t, net, "aws_vpc_endpoint.s3")
			wantString(t, "S3 endpoint type", attr(t, s3, "vpc_endpoint_type"), "Gateway")
			wantString(t, "S3 endpoint service", attr(t, s3, "service_name"), "com.amazonaws.eu-west-2.s3")

			eps := instances(t, net, "aws_vpc_endpoint.interface")
			wantSet(t, "interface endpoints", keys(eps), "ecr.api", "ecr.dkr", "logs", "ssm", "secretsmanager")
			for k, ep := range eps {
				wantString(t, k+" endpoint type", attr(t, ep.Body, "vpc_endpoint_type"), "Interface")
				wantBool(t, k+" private DNS", attr(t, ep.Body, "private_dns_enabled"), true)
			}

			flow := one(t, net, "aws_flow_log.this")
			wantString(t, "flow log traffic", attr(t, flow, "traffic_type"), "ALL")
		})
	}
}

func TestECSServices(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			ecs := child(t, root(t, env, nil), "ecs")

			cluster := one(t, ecs, "aws_ecs_cluster.this")
			insights := oneBlock(t, cluster, "setting")
			wantString(t, "container insights", attr(t, insights, "value"), "enabled")
			execCfg := oneBlock(t, oneBlock(t, cluster, "configuration"), "execute_command_configuration")
			wantString(t, "ECS Exec logging", attr(t, execCfg, "logging"), "OVERRIDE")
			setNonNull(t, "ECS Exec", execCfg, "kms_key_id")

			cps := one(t, ecs, "aws_ecs_cluster_capacity_providers.this")
			wantSet(t, "capacity providers", strings_(attr(t, cps, "capacity_providers")), "FARGATE", "FARGATE_SPOT")

			tds := instances(t, ecs, "aws_ecs_task_definition.this")
			svcs := instances(t, ecs, "aws_ecs_service.this")
			targets := instances(t, ecs, "aws_appautoscaling_target.this")
			policies := instances(t, ecs, "aws_appautoscaling_policy.cpu")
			wantSet(t, "task definitions", keys(tds), keys(specServices)...)
			wantSet(t, "services", keys(svcs), keys(specServices)...)

			for name, spec := range specServices {
				td, svc, tgt := tds[name], svcs[name], targets[name]
				if td == nil || svc == nil || tgt == nil {
					t.Errorf("%s: missing task definition, service or scalable target", name)
					continue
				}
				wantNumber(t, name+" cpu", attr(t, td.Body, "cpu"), spec.cpu)
				wantNumber(t, name+" memory", attr(t, td.Body, "memory"), spec.memory)
				wantString(t, name+" network mode", attr(t, td.Body, "network_mode"), "awsvpc")
				if !contains(strings_(attr(t, td.Body, "requires_compatibilities")), "FARGATE") {
					t.Errorf("%s must be Fargate-compatible", name)
				}
				rp := oneBlock(t, td.Body, "runtime_platform")
				wantString(t, name+" architecture", attr(t, rp, "cpu_architecture"), "ARM64")
				wantString(t, name+" OS", attr(t, rp, "operating_system_family"), "LINUX")
				setNonNull(t, name+" task definition", td.Body, "task_role_arn")
				setNonNull(t, name+" task definition", td.Body, "execution_role_arn")

				checkContainer(t, name, spec, td.Body)

				// Always on (spec 1) and sized as spec 3.2.
				wantNumber(t, name+" desired count", attr(t, svc.Body, "desired_count"), spec.min)
				wantNumber(t, name+" min", attr(t, tgt.Body, "min_capacity"), spec.min)
				wantNumber(t, name+" max", attr(t, tgt.Body, "max_capacity"), spec.max)
				_, scaled := policies[name]
				if spec.min < spec.max && !scaled {
					t.Errorf("%s scales %d-%d but has no scaling policy", name, spec.min, spec.max)
				}
				if spec.min == spec.max && scaled {
					t.Errorf("%s is fixed at %d but has a scaling policy", name, spec.min)
				}
				if (name == "tenant" || name == "api") && scaled {
					p := policies[name].Body
					wantString(t, name+" policy type", attr(t, p, "policy_type"), "TargetTrackingScaling")
					metric := oneBlock(t, oneBlock(t, p, "target_tracking_scaling_policy_configuration"), "predefined_metric_specification")
					wantString(t, name+" scaling metric", attr(t, metric, "predefined_metric_type"), "ECSServiceAverageCPUUtilization")
				}

				// Spec 4.3: start before stop, circuit breaker with rollback.
				wantNumber(t, name+" minimum healthy percent", attr(t, svc.Body, "deployment_minimum_healthy_percent"), 100)
				wantNumber(t, name+" maximum percent", attr(t, svc.Body, "deployment_maximum_percent"), 200)
				cb := oneBlock(t, svc.Body, "deployment_circuit_breaker")
				wantBool(t, name+" circuit breaker", attr(t, cb, "enable"), true)
				wantBool(t, name+" rollback", attr(t, cb, "rollback"), true)
				// Spec 5.1: ECS Exec instead of SSH.
				wantBool(t, name+" ECS Exec", attr(t, svc.Body, "enable_execute_command"), true)

				cp := oneBlock(t, svc.Body, "capacity_provider_strategy")
				wantCP := "FARGATE"
				if spec.spot {
					wantCP = "FARGATE_SPOT"
				}
				wantString(t, name+" capacity provider", attr(t, cp, "capacity_provider"), wantCP)

				nc := oneBlock(t, svc.Body, "network_configuration")
				wantBool(t, name+" public IP", attr(t, nc, "assign_public_ip"), false)
				if !refersTo(nc, "subnets", "var.private_subnet_ids") {
					t.Errorf("%s tasks must run in the private subnets", name)
				}

				lbs := blocks(t, svc.Body, "load_balancer")
				if spec.port == 0 {
					if len(lbs) != 0 {
						t.Errorf("%s must not be behind a load balancer", name)
					}
				} else if len(lbs) != 1 {
					t.Errorf("%s: want one load balancer, got %d", name, len(lbs))
				} else {
					wantNumber(t, name+" target port", attr(t, lbs[0], "container_port"), spec.port)
				}
			}
		})
	}
}

func checkContainer(t *testing.T, name string, spec specService, td tfeval.Block) {
	t.Helper()
	defs, err := td.AttrDecoded("container_definitions")
	if err != nil {
		t.Fatalf("%s container definitions: %v", name, err)
	}
	list, ok := goValue(defs).([]any)
	if !ok || len(list) != 1 {
		t.Fatalf("%s: want one container, got %v", name, goValue(defs))
	}
	c := list[0].(map[string]any)
	if got := c["command"]; !equalAny(got, []any{"palisade", spec.role}) {
		t.Errorf("%s command = %v, want [palisade %s]", name, got, spec.role)
	}
	var ports []int64
	for _, pm := range c["portMappings"].([]any) {
		ports = append(ports, pm.(map[string]any)["containerPort"].(int64))
	}
	want := []int64{metricsPort}
	if spec.port != 0 {
		want = []int64{spec.port, metricsPort}
	}
	if !equalAny(ports, want) {
		t.Errorf("%s ports = %v, want %v", name, ports, want)
	}

	env := map[string]any{}
	for _, e := range c["environment"].([]any) {
		m := e.(map[string]any)
		env[m["name"].(string)] = m["value"]
	}
	for _, k := range []string{"PALISADE_ENV", "PALISADE_BASE_URL", "PALISADE_API_URL", "PALISADE_DB_DRIVER",
		"PALISADE_TRUSTED_PROXIES", "PALISADE_S3_BUCKET_PREFIX", "PALISADE_KMS_KEY_ID", "PALISADE_METRICS_ADDR"} {
		if _, ok := env[k]; !ok {
			t.Errorf("%s: environment lacks %s", name, k)
		}
	}
	if env["PALISADE_DB_DRIVER"] != "mysql" {
		t.Errorf("%s: PALISADE_DB_DRIVER = %v, want mysql", name, env["PALISADE_DB_DRIVER"])
	}
	if env["PALISADE_METRICS_ADDR"] != ":9090" {
		t.Errorf("%s: PALISADE_METRICS_ADDR = %v, want :9090", name, env["PALISADE_METRICS_ADDR"])
	}
	if u, _ := env["PALISADE_BASE_URL"].(string); !strings.HasPrefix(u, "https://") {
		t.Errorf("%s: PALISADE_BASE_URL = %v, want https://<domain>", name, env["PALISADE_BASE_URL"])
	}
	for k := range env {
		for _, bad := range []string{"DSN", "PASSWORD", "SECRET", "TOKEN", "REDIS_URL"} {
			if strings.Contains(k, bad) {
				t.Errorf("%s: %s must come from Secrets Manager, not plain environment", name, k)
			}
		}
	}

	secrets := map[string]bool{}
	for _, s := range c["secrets"].([]any) {
		secrets[s.(map[string]any)["name"].(string)] = true
	}
	// tenant and hq call the API and never Redis: no Redis user.
	usesRedis := name != "tenant" && name != "hq"
	if usesRedis && !secrets["PALISADE_REDIS_URL"] {
		t.Errorf("%s: PALISADE_REDIS_URL must be a secret", name)
	}
	if !usesRedis && secrets["PALISADE_REDIS_URL"] {
		t.Errorf("%s does not use Redis and must not get a Redis URL", name)
	}
	needsDB := name == "api" || name == "worker"
	if needsDB && !secrets["PALISADE_DB_DSN"] {
		t.Errorf("%s: PALISADE_DB_DSN must be a secret", name)
	}
	// The scheduler only enqueues into Redis; tenant is a BFF; realtime
	// fans out. None of them gets a database user (store.RoleUserRoles).
	if (name == "tenant" || name == "scheduler" || name == "realtime") && secrets["PALISADE_DB_DSN"] {
		t.Errorf("%s must not get a database DSN", name)
	}
	if name == "realtime" || name == "api" {
		for _, k := range []string{"PALISADE_REALTIME_APP_ID", "PALISADE_REALTIME_APP_KEY", "PALISADE_REALTIME_APP_SECRET"} {
			if !secrets[k] {
				t.Errorf("%s: %s must be a secret", name, k)
			}
		}
	}

	lc := c["logConfiguration"].(map[string]any)
	if lc["logDriver"] != "awslogs" {
		t.Errorf("%s logs go to %v, want awslogs (CloudWatch)", name, lc["logDriver"])
	}
}

// The S3 calls each role's flows make (internal/files: Provision, Audit,
// DeleteTenantData, the upload, download and delete of a file;
// internal/scan: Scan), as the IAM actions AWS authorises them with. The
// task roles get exactly these on the tenant buckets: a call missing here
// fails in AWS (issue 15, item 4), an extra grant is privilege no flow uses.
var tenantS3Actions = map[string][]string{
	"api": {
		// Provision (CreateBucket with ObjectOwnership needs PutBucketOwnershipControls too).
		"s3:CreateBucket", "s3:PutBucketOwnershipControls", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
		"s3:PutBucketPublicAccessBlock", "s3:PutLifecycleConfiguration", "s3:PutBucketCORS", "s3:PutBucketPolicy",
		"s3:PutBucketNotification",
		// The tenant tag on a bucket it creates, read back before adopting an
		// existing bucket of the account (BucketAlreadyOwnedByYou).
		"s3:PutBucketTagging", "s3:GetBucketTagging",
		// Audit (HeadBucket is s3:ListBucket).
		"s3:ListBucket", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
		"s3:GetBucketOwnershipControls", "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy", "s3:GetBucketNotification",
		// Files: presigned PUT and GET, GetObjectAttributes (upload complete:
		// HeadObject is s3:GetObject, denied on untagged uploads), tag
		// reads, delete of one version.
		"s3:PutObject", "s3:GetObjectAttributes", "s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging",
		"s3:DeleteObject", "s3:DeleteObjectVersion",
	},
	"worker": {
		"s3:CreateBucket", "s3:PutBucketOwnershipControls", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration",
		"s3:PutBucketPublicAccessBlock", "s3:PutLifecycleConfiguration", "s3:PutBucketCORS", "s3:PutBucketPolicy",
		"s3:PutBucketNotification", "s3:PutBucketTagging", "s3:GetBucketTagging",
		"s3:ListBucket", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
		"s3:GetBucketOwnershipControls", "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy", "s3:GetBucketNotification",
		// Scan: HeadObject, GetObject of a version, read and write its tags.
		"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging",
		"s3:PutObjectTagging", "s3:PutObjectVersionTagging",
		// Offboarding (ISO 8.10): ListObjectVersions, DeleteObjects of every version, DeleteBucket.
		"s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket",
	},
}

// roleS3Actions collects the S3 actions on tenant-bucket ARNs of every
// storage policy attached to each ECS task role.
func roleS3Actions(t *testing.T, in *tfeval.Instance) map[string][]string {
	t.Helper()
	storage := child(t, in, "storage")
	ecs := child(t, in, "ecs")
	docs := instances(t, storage, "data.aws_iam_policy_document.tenant")
	prefix := "arn:aws:s3:::" + mustLocal(t, child(t, in, "naming"), "tenant_bucket_prefix").AsString()
	out := map[string][]string{}
	for key := range instances(t, ecs, "aws_iam_role_policy_attachment.tenant") {
		svc, flow, _ := strings.Cut(key, "/")
		doc := docs[flow]
		if doc == nil {
			t.Errorf("attachment %s: no storage policy for flow %q", key, flow)
			continue
		}
		for _, st := range blocks(t, doc.Body, "statement") {
			onTenant := false
			for _, r := range strings_(attr(t, st, "resources")) {
				if strings.HasPrefix(r, prefix) {
					onTenant = true
				}
			}
			if !onTenant {
				continue
			}
			for _, a := range strings_(attr(t, st, "actions")) {
				if !contains(out[svc], a) {
					out[svc] = append(out[svc], a)
				}
			}
		}
	}
	return out
}

func TestTaskRolesLeastPrivilege(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			got := roleS3Actions(t, in)
			wantSet(t, "roles with tenant bucket access", keys(got), keys(tenantS3Actions)...)
			for role, want := range tenantS3Actions {
				wantSet(t, role+" tenant bucket actions", got[role], want...)
			}

			// The tenant bucket ARN pattern appears only in the storage
			// policies (attached above) and the scanner's own role.
			storage := child(t, in, "storage")
			wantString(t, "tenant bucket scope", mustLocal(t, storage, "tenant_buckets"), "arn:aws:s3:::palisade-"+env+"-tenant-*")
			walk(t, in, func(m *tfeval.Instance) {
				for _, r := range m.Module.Resources {
					if r.Type != "aws_iam_policy_document" || !strings.Contains(string(sourceOf(r)), "tenant_buckets") {
						continue
					}
					where := m.Path + " " + r.Addr()
					if !strings.HasSuffix(m.Path, "module.storage") && !strings.HasSuffix(m.Path, "module.scanner") {
						t.Errorf("%s grants tenant bucket access outside storage/scanner", where)
					}
				}
			})
		})
	}
}

func mustLocal(t *testing.T, in *tfeval.Instance, name string) cty.Value {
	t.Helper()
	v, err := in.Local(name)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestLoadBalancers(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			domain := in.Var("domain").AsString()
			alb := child(t, in, "alb")

			pub := one(t, alb, "aws_lb.public")
			wantBool(t, "public ALB internal", attr(t, pub, "internal"), false)
			wantString(t, "public ALB type", attr(t, pub, "load_balancer_type"), "application")
			wantBool(t, "drop invalid headers", attr(t, pub, "drop_invalid_header_fields"), true)
			if !refersTo(pub, "subnets", "var.public_subnet_ids") {
				t.Error("public ALB must sit in the public subnets")
			}
			intl := one(t, alb, "aws_lb.internal")
			wantBool(t, "internal ALB internal", attr(t, intl, "internal"), true)
			if !refersTo(intl, "subnets", "var.private_subnet_ids") {
				t.Error("internal ALB must sit in the private subnets")
			}

			// Public: HTTPS 443 with TLS 1.2+, HTTP only redirects.
			https := one(t, alb, "aws_lb_listener.https")
			wantNumber(t, "HTTPS port", attr(t, https, "port"), 443)
			wantString(t, "HTTPS protocol", attr(t, https, "protocol"), "HTTPS")
			policy := attr(t, https, "ssl_policy").AsString()
			if !strings.Contains(policy, "TLS13-1-2") && !strings.Contains(policy, "TLS13-1-3") && !strings.Contains(policy, "TLS-1-2") && !strings.Contains(policy, "FS-1-2") {
				t.Errorf("ssl_policy %s does not enforce TLS 1.2+", policy)
			}
			redirect := one(t, alb, "aws_lb_listener.http_redirect")
			wantNumber(t, "redirect port", attr(t, redirect, "port"), 80)
			da := oneBlock(t, redirect, "default_action")
			wantString(t, "HTTP default action", attr(t, da, "type"), "redirect")
			rd := oneBlock(t, da, "redirect")
			wantString(t, "redirect protocol", attr(t, rd, "protocol"), "HTTPS")
			wantString(t, "redirect port", attr(t, rd, "port"), "443")
			listeners := alb.Module.OfType("aws_lb_listener")
			if len(listeners) != 3 {
				t.Errorf("listeners = %d, want 3 (public 443, public 80 redirect, internal 80)", len(listeners))
			}

			// Host rules (spec 3.3), specific hosts before the wildcard.
			rules := instances(t, alb, "aws_lb_listener_rule.host")
			// The sign-up site on the apex and www is the web role's, so it
			// goes to the tenant target group; "*.domain" does not match the
			// apex itself (issue 15, item 3).
			wantHosts := map[string][]string{"tenant": {"*." + domain}, "hq": {"admin." + domain}, "realtime": {"wss." + domain},
				"apex": {domain, "www." + domain}}
			wantTarget := map[string]string{"tenant": "tenant", "hq": "hq", "realtime": "realtime", "apex": "tenant"}
			wantSet(t, "host rules", keys(rules), keys(wantHosts)...)
			hostsVal, err := alb.Local("hosts")
			if err != nil {
				t.Fatal(err)
			}
			prio := map[string]int64{}
			for k, r := range rules {
				hh := oneBlock(t, oneBlock(t, r.Body, "condition"), "host_header")
				wantSet(t, k+" host", strings_(attr(t, hh, "values")), wantHosts[k]...)
				act := oneBlock(t, r.Body, "action")
				wantString(t, k+" action", attr(t, act, "type"), "forward")
				if !refersTo(act, "target_group_arn", "aws_lb_target_group.public") {
					t.Errorf("%s rule must forward to a public target group", k)
				}
				if h := hostsVal.GetAttr(k); h.Type().IsObjectType() && h.Type().HasAttribute("target") {
					wantString(t, k+" rule target", h.GetAttr("target"), wantTarget[k])
				} else {
					t.Errorf("local.hosts.%s has no target group", k)
				}
				p, _ := attr(t, r.Body, "priority").AsBigFloat().Int64()
				prio[k] = p
				if !refersTo(r.Body, "listener_arn", "aws_lb_listener.https") {
					t.Errorf("%s rule must sit on the HTTPS listener", k)
				}
			}
			if !(prio["hq"] < prio["tenant"] && prio["realtime"] < prio["tenant"] && prio["apex"] < prio["tenant"]) {
				t.Errorf("admin, wss and apex rules must come before the *.domain rule: %v", prio)
			}

			tgs := instances(t, alb, "aws_lb_target_group.public")
			wantSet(t, "public target groups", keys(tgs), "tenant", "hq", "realtime")
			for k, tg := range tgs {
				wantNumber(t, k+" target port", attr(t, tg.Body, "port"), specServices[k].port)
				wantString(t, k+" target type", attr(t, tg.Body, "target_type"), "ip")
				checkHealth(t, k, tg.Body)
				st := oneBlock(t, tg.Body, "stickiness")
				wantBool(t, k+" stickiness", attr(t, st, "enabled"), k == "realtime")
			}

			// Internal: HTTP 80, path rules to the API.
			il := one(t, alb, "aws_lb_listener.internal_http")
			wantNumber(t, "internal port", attr(t, il, "port"), 80)
			wantString(t, "internal protocol", attr(t, il, "protocol"), "HTTP")
			api := one(t, alb, "aws_lb_target_group.api")
			wantNumber(t, "api target port", attr(t, api, "port"), 8000)
			checkHealth(t, "api", api)
			var paths []string
			for _, r := range instances(t, alb, "aws_lb_listener_rule.api_path") {
				pp := oneBlock(t, oneBlock(t, r.Body, "condition"), "path_pattern")
				paths = append(paths, strings_(attr(t, pp, "values"))...)
				if !refersTo(oneBlock(t, r.Body, "action"), "target_group_arn", "aws_lb_target_group.api") {
					t.Error("path rules must forward to the api target group")
				}
				if !refersTo(r.Body, "listener_arn", "aws_lb_listener.internal_http") {
					t.Error("path rules must sit on the internal listener")
				}
			}
			wantSet(t, "internal path rules", paths, "/api/*", "/broadcasting/*")

			// WAF with AWS managed rule groups and a rate rule, on the public ALB.
			acl := one(t, alb, "aws_wafv2_web_acl.public")
			wantString(t, "WAF scope", attr(t, acl, "scope"), "REGIONAL")
			var managed []string
			rate := false
			for _, r := range blocks(t, acl, "rule") {
				st := oneBlock(t, r, "statement")
				for _, mg := range blocks(t, st, "managed_rule_group_statement") {
					wantString(t, "managed rule vendor", attr(t, mg, "vendor_name"), "AWS")
					managed = append(managed, attr(t, mg, "name").AsString())
				}
				if len(blocks(t, st, "rate_based_statement")) == 1 {
					rate = true
				}
			}
			for _, g := range []string{"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesSQLiRuleSet"} {
				if !contains(managed, g) {
					t.Errorf("WAF lacks %s", g)
				}
			}
			if !rate {
				t.Error("WAF lacks a rate-based rule")
			}
			assoc := one(t, alb, "aws_wafv2_web_acl_association.public")
			if !refersTo(assoc, "resource_arn", "aws_lb.public") {
				t.Error("WAF must be attached to the public ALB")
			}

			checkServiceIngress(t, alb)
		})
	}
}

func checkHealth(t *testing.T, name string, tg tfeval.Block) {
	t.Helper()
	hc := oneBlock(t, tg, "health_check")
	p := attr(t, hc, "path").AsString()
	if p != "/healthz" && p != "/readyz" {
		t.Errorf("%s health check path %s, want /healthz or /readyz", name, p)
	}
}

// Only the public ALB reaches tenant, hq and realtime; only the internal ALB
// reaches the API; realtime's HTTP API is also reached by the api and worker
// tasks, which publish events there (issue 15, item 6); nothing reaches
// worker and scheduler.
func checkServiceIngress(t *testing.T, alb *tfeval.Instance) {
	t.Helper()
	allowed := map[string][]string{}
	for _, r := range alb.Module.OfType("aws_vpc_security_group_ingress_rule") {
		list, err := alb.Instances(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, ri := range list {
			target := strings.Join(ri.Body.References("security_group_id"), ",")
			if !strings.HasPrefix(target, "aws_security_group.service") {
				continue
			}
			svc := ri.KeyString()
			src := strings.Join(ri.Body.References("referenced_security_group_id"), ",")
			if r.Name == "realtime_from_publishers" {
				svc, src = "realtime", "aws_security_group.service["+ri.KeyString()+"]"
			}
			if ri.Body.Has("cidr_ipv4") || ri.Body.Has("cidr_ipv6") || ri.Body.Has("prefix_list_id") {
				t.Errorf("%s: ingress to service %s from an address range", r.Addr(), svc)
			}
			allowed[svc] = append(allowed[svc], src)
		}
	}
	want := map[string][]string{
		"tenant": {"aws_security_group.public_alb.id"}, "hq": {"aws_security_group.public_alb.id"},
		"realtime": {"aws_security_group.public_alb.id", "aws_security_group.service[api]", "aws_security_group.service[worker]"},
		"api":      {"aws_security_group.internal_alb.id"},
	}
	wantSet(t, "services with ingress", keys(allowed), keys(want)...)
	for svc, srcs := range allowed {
		wantSet(t, svc+" ingress sources", srcs, want[svc]...)
	}
}

func TestNoSSH(t *testing.T) {
	for _, env := range envs {
		for _, hatch := range []string{"FARGATE", "EC2"} {
			t.Run(env+"/"+hatch, func(t *testing.T) {
				in := root(t, env, map[string]cty.Value{"frontend_compute": cty.StringVal(hatch)})
				walk(t, in, func(m *tfeval.Instance) {
					for _, r := range m.Module.Resources {
						if strings.Contains(string(sourceOf(r)), "key_name") {
							t.Errorf("%s %s sets a key pair", m.Path, r.Addr())
						}
						if r.Type != "aws_vpc_security_group_ingress_rule" && r.Type != "aws_security_group_rule" && r.Type != "aws_security_group" {
							continue
						}
						list, err := m.Instances(r)
						if err != nil {
							t.Fatal(err)
						}
						for _, ri := range list {
							for _, b := range append([]tfeval.Block{ri.Body}, blocksOrNil(ri.Body, "ingress")...) {
								from, to := attr(t, b, "from_port"), attr(t, b, "to_port")
								if from.IsNull() || !from.IsKnown() {
									continue
								}
								f, _ := from.AsBigFloat().Int64()
								tt, _ := to.AsBigFloat().Int64()
								if f <= 22 && 22 <= tt {
									t.Errorf("%s %s opens port 22", m.Path, r.Addr())
								}
							}
						}
					}
				})
			})
		}
	}
}

func blocksOrNil(b tfeval.Block, typ string) []tfeval.Block {
	bs, _ := b.Blocks(typ)
	return bs
}

func TestDataLayer(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			data := child(t, in, "data")

			db := one(t, data, "aws_db_instance.this")
			wantString(t, "RDS engine", attr(t, db, "engine"), "mariadb")
			wantString(t, "RDS version", attr(t, db, "engine_version"), "10.11")
			wantString(t, "RDS class", attr(t, db, "instance_class"), "db.t3.medium")
			wantBool(t, "RDS Multi-AZ", attr(t, db, "multi_az"), true)
			wantBool(t, "RDS encrypted", attr(t, db, "storage_encrypted"), true)
			setNonNull(t, "RDS", db, "kms_key_id")
			wantNumber(t, "RDS backup days", attr(t, db, "backup_retention_period"), 7)
			wantBool(t, "RDS deletion protection", attr(t, db, "deletion_protection"), true)
			wantBool(t, "RDS public", attr(t, db, "publicly_accessible"), false)

			sng := one(t, data, "aws_db_subnet_group.this")
			if !refersTo(sng, "subnet_ids", "var.data_subnet_ids") {
				t.Error("RDS subnet group must use the data subnets")
			}
			call := in.Module.Calls["data"]
			if got := tfeval.TraversalStrings(call.Body.Attributes["data_subnet_ids"].Expr); len(got) != 1 || got[0] != "module.network.data_subnet_ids" {
				t.Errorf("data module gets subnets %v, want module.network.data_subnet_ids", got)
			}

			tls := false
			for _, p := range blocks(t, one(t, data, "aws_db_parameter_group.this"), "parameter") {
				if attr(t, p, "name").AsString() == "require_secure_transport" && strings.EqualFold(attr(t, p, "value").AsString(), "ON") {
					tls = true
				}
			}
			if !tls {
				t.Error("RDS parameter group must set require_secure_transport = ON")
			}

			rg := one(t, data, "aws_elasticache_replication_group.this")
			wantString(t, "Redis engine", attr(t, rg, "engine"), "redis")
			if v := attr(t, rg, "engine_version").AsString(); !strings.HasPrefix(v, "7.") && v != "7" {
				t.Errorf("Redis version %s, want 7.x", v)
			}
			wantString(t, "Redis node type", attr(t, rg, "node_type"), "cache.t3.micro")
			wantBool(t, "Redis Multi-AZ", attr(t, rg, "multi_az_enabled"), true)
			wantBool(t, "Redis failover", attr(t, rg, "automatic_failover_enabled"), true)
			if n, _ := attr(t, rg, "num_cache_clusters").AsBigFloat().Int64(); n < 2 {
				t.Errorf("Redis nodes = %d, want at least 2 for Multi-AZ", n)
			}
			wantBool(t, "Redis at-rest encryption", attr(t, rg, "at_rest_encryption_enabled"), true)
			wantBool(t, "Redis in-transit encryption", attr(t, rg, "transit_encryption_enabled"), true)
			setNonNull(t, "Redis", rg, "kms_key_id")
			// RBAC, not one shared AUTH token: a user per role in a user
			// group whose "default" user is off.
			if rg.Has("auth_token") {
				t.Error("Redis: a shared auth_token; want RBAC users (user_group_ids)")
			}
			if !refersTo(rg, "user_group_ids", "aws_elasticache_user_group.this") {
				t.Error("Redis: user_group_ids does not name aws_elasticache_user_group.this")
			}
			users := instances(t, data, "aws_elasticache_user.role")
			wantSet(t, "Redis users", keys(users), "api", "worker", "scheduler", "realtime")
			def := one(t, data, "aws_elasticache_user.default")
			wantString(t, "Redis default user", attr(t, def, "user_name"), "default")
			if a := attr(t, def, "access_string").AsString(); !strings.HasPrefix(a, "off ") {
				t.Errorf("Redis default user access %q, want it off", a)
			}
			for r, u := range users {
				if a := attr(t, u.Body, "access_string").AsString(); strings.Contains(a, "~*") || strings.Contains(a, "allkeys") || strings.Contains(a, "+@all") {
					t.Errorf("Redis user %s: access %q reaches every key or command", r, a)
				}
			}
		})
	}
}

func TestEncryptionLoggingAndRegistries(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			counts := map[string]int{}
			walk(t, in, func(m *tfeval.Instance) {
				each := func(typ string, f func(where string, b tfeval.Block)) {
					for _, r := range m.Module.OfType(typ) {
						list, err := m.Instances(r)
						if err != nil {
							t.Fatal(err)
						}
						for _, ri := range list {
							counts[typ]++
							f(m.Path+" "+r.Addr()+"["+ri.KeyString()+"]", ri.Body)
						}
					}
				}
				each("aws_cloudwatch_log_group", func(w string, b tfeval.Block) {
					wantNumber(t, w+" retention", attr(t, b, "retention_in_days"), 90)
					setNonNull(t, w, b, "kms_key_id")
				})
				each("aws_kms_key", func(w string, b tfeval.Block) {
					wantBool(t, w+" rotation", attr(t, b, "enable_key_rotation"), true)
				})
				each("aws_ecr_repository", func(w string, b tfeval.Block) {
					wantString(t, w+" tags", attr(t, b, "image_tag_mutability"), "IMMUTABLE")
					wantBool(t, w+" scan on push", attr(t, oneBlock(t, b, "image_scanning_configuration"), "scan_on_push"), true)
				})
				each("aws_secretsmanager_secret", func(w string, b tfeval.Block) {
					setNonNull(t, w, b, "kms_key_id")
				})
				each("aws_s3_bucket_server_side_encryption_configuration", func(w string, b tfeval.Block) {
					d := oneBlock(t, oneBlock(t, b, "rule"), "apply_server_side_encryption_by_default")
					if sseS3Only(m, w) { // log delivery that AWS offers only to SSE-S3 buckets (audit_test.go)
						wantString(t, w+" algorithm", attr(t, d, "sse_algorithm"), "AES256")
						return
					}
					wantString(t, w+" algorithm", attr(t, d, "sse_algorithm"), "aws:kms")
					setNonNull(t, w, d, "kms_master_key_id")
				})
				each("aws_s3_bucket_public_access_block", func(w string, b tfeval.Block) {
					for _, a := range []string{"block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"} {
						wantBool(t, w+" "+a, attr(t, b, a), true)
					}
				})
				each("aws_s3_bucket", func(string, tfeval.Block) {})
				each("aws_s3_bucket_versioning", func(w string, b tfeval.Block) {
					wantString(t, w+" status", attr(t, oneBlock(t, b, "versioning_configuration"), "status"), "Enabled")
				})
				each("aws_sqs_queue", func(w string, b tfeval.Block) {
					setNonNull(t, w, b, "kms_master_key_id")
				})
			})
			// Every bucket Terraform owns is KMS-encrypted and private.
			for _, typ := range []string{"aws_s3_bucket_server_side_encryption_configuration", "aws_s3_bucket_public_access_block", "aws_s3_bucket_versioning"} {
				if counts[typ] != counts["aws_s3_bucket"] {
					t.Errorf("%d buckets but %d %s", counts["aws_s3_bucket"], counts[typ], typ)
				}
			}
			if counts["aws_kms_key"] == 0 || counts["aws_cloudwatch_log_group"] == 0 || counts["aws_ecr_repository"] < 2 {
				t.Errorf("expected KMS keys, log groups and two ECR repositories, got %v", counts)
			}

			sec := child(t, in, "security")
			wantSet(t, "secrets", keys(instances(t, sec, "aws_secretsmanager_secret.this")), "app", "db", "db-api", "db-worker", "db-hq", "db-scanner", "redis-api", "redis-worker", "redis-scheduler", "redis-realtime")
			wantSet(t, "ECR repositories", keys(instances(t, sec, "aws_ecr_repository.this")), "palisade", "scanner")

			st := child(t, in, "storage")
			wantString(t, "artifacts bucket", attr(t, one(t, st, "aws_s3_bucket.artifacts"), "bucket"), "palisade-"+env+"-pipeline-artifacts")
		})
	}
}

func TestScanner(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			sc := child(t, root(t, env, nil), "scanner")

			rule := one(t, sc, "aws_cloudwatch_event_rule.object_created")
			pat, err := rule.AttrDecoded("event_pattern")
			if err != nil {
				t.Fatal(err)
			}
			p := goValue(pat).(map[string]any)
			if !equalAny(p["source"], []any{"aws.s3"}) || !equalAny(p["detail-type"], []any{"Object Created"}) {
				t.Errorf("event pattern %v, want S3 Object Created", p)
			}
			prefix := p["detail"].(map[string]any)["bucket"].(map[string]any)["name"].([]any)[0].(map[string]any)["prefix"]
			if prefix != "palisade-"+env+"-tenant-" {
				t.Errorf("event pattern bucket prefix %v, want palisade-%s-tenant-", prefix, env)
			}

			fns := instances(t, sc, "aws_lambda_function.this")
			wantSet(t, "functions", keys(fns), "scan", "update")
			for k, f := range fns {
				wantString(t, k+" package", attr(t, f.Body, "package_type"), "Image")
				wantSet(t, k+" architectures", strings_(attr(t, f.Body, "architectures")), "arm64")
				if len(blocks(t, f.Body, "dead_letter_config")) != 1 {
					t.Errorf("%s has no dead-letter queue", k)
				}
			}
			targets := instances(t, sc, "aws_cloudwatch_event_target.this")
			for k, tg := range targets {
				if !refersTo(tg.Body, "arn", "aws_lambda_function.this") {
					t.Errorf("%s target is not the Lambda", k)
				}
				if len(blocks(t, tg.Body, "dead_letter_config")) != 1 {
					t.Errorf("%s target has no dead-letter queue", k)
				}
			}
			upd := one(t, sc, "aws_cloudwatch_event_rule.update")
			if v := attr(t, upd, "schedule_expression"); v.IsNull() || !strings.HasPrefix(v.AsString(), "rate(") && !strings.HasPrefix(v.AsString(), "cron(") {
				t.Errorf("signature update needs a schedule, got %v", goValue(v))
			}
			for k, perm := range instances(t, sc, "aws_lambda_permission.events") {
				setNonNull(t, "lambda permission "+k, perm.Body, "source_arn")
			}
		})
	}
}

// Spec 8: one variable moves tenant and hq onto EC2 Graviton capacity.
func TestEscapeHatch(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			def := child(t, root(t, env, nil), "ecs")
			if n := len(instances(t, def, "aws_autoscaling_group.ec2")); n != 0 {
				t.Errorf("default must stay on Fargate, found %d Auto Scaling Groups", n)
			}

			in := root(t, env, map[string]cty.Value{"frontend_compute": cty.StringVal("EC2")})
			ecs := child(t, in, "ecs")
			if n := len(instances(t, ecs, "aws_autoscaling_group.ec2")); n != 1 {
				t.Fatalf("EC2 mode: %d Auto Scaling Groups, want 1", n)
			}
			cp := one(t, ecs, "aws_ecs_capacity_provider.frontend")
			cpName := attr(t, cp, "name").AsString()
			lt := one(t, ecs, "aws_launch_template.ec2")
			itype := attr(t, lt, "instance_type").AsString()
			if fam := strings.SplitN(itype, ".", 2)[0]; !strings.HasSuffix(strings.TrimRight(fam, "dnez"), "g") {
				t.Errorf("instance type %s is not Graviton", itype)
			}
			wantString(t, "IMDSv2", attr(t, oneBlock(t, lt, "metadata_options"), "http_tokens"), "required")
			ebs := oneBlock(t, oneBlock(t, lt, "block_device_mappings"), "ebs")
			wantBool(t, "root volume encrypted", attr(t, ebs, "encrypted"), true)

			cps := strings_(attr(t, one(t, ecs, "aws_ecs_cluster_capacity_providers.this"), "capacity_providers"))
			if !contains(cps, cpName) {
				t.Errorf("cluster capacity providers %v lack %s", cps, cpName)
			}
			svcs := instances(t, ecs, "aws_ecs_service.this")
			tds := instances(t, ecs, "aws_ecs_task_definition.this")
			for name, spec := range specServices {
				got := attr(t, oneBlock(t, svcs[name].Body, "capacity_provider_strategy"), "capacity_provider").AsString()
				want := "FARGATE"
				switch {
				case name == "tenant" || name == "hq":
					want = cpName
				case spec.spot:
					want = "FARGATE_SPOT"
				}
				if got != want {
					t.Errorf("EC2 mode: %s runs on %s, want %s", name, got, want)
				}
				// Same size, same ARM64 image, same target group.
				wantNumber(t, name+" cpu", attr(t, tds[name].Body, "cpu"), spec.cpu)
				wantString(t, name+" arch", attr(t, oneBlock(t, tds[name].Body, "runtime_platform"), "cpu_architecture"), "ARM64")
				if spec.port != 0 && len(blocks(t, svcs[name].Body, "load_balancer")) != 1 {
					t.Errorf("EC2 mode: %s lost its load balancer", name)
				}
			}
		})
	}
}

func TestModuleLayout(t *testing.T) {
	dirs, err := moduleDirs()
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) < 8 {
		t.Fatalf("found %d modules, want at least 8", len(dirs))
	}
	loader := tfeval.NewLoader()
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			for _, f := range []string{"main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"} {
				if !fileExists(dir + "/" + f) {
					t.Errorf("missing %s", f)
				}
			}
			m, err := loader.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range sortedVars(m) {
				if !v.HasType || v.Description == "" || v.Default == nil {
					t.Errorf("variable %s: typed=%v described=%v defaulted=%v", v.Name, v.HasType, v.Description != "", v.Default != nil)
				}
			}
			for name, o := range m.Outputs {
				if _, ok := o.Body.Attributes["description"]; !ok {
					t.Errorf("output %s has no description", name)
				}
			}
			checkVersions(t, m)
		})
	}
}

const awsProviderConstraint = "~> 5.80"

func sortedVars(m *tfeval.Module) []*tfeval.Variable {
	var out []*tfeval.Variable
	for _, v := range m.Variables {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func checkVersions(t *testing.T, m *tfeval.Module) {
	t.Helper()
	if len(m.Terraform) != 1 {
		t.Fatalf("want one terraform block, got %d", len(m.Terraform))
	}
	tb := m.Terraform[0]
	rv, _ := tb.Body.Attributes["required_version"].Expr.Value(nil)
	if rv.AsString() != ">= 1.6" {
		t.Errorf("required_version = %q, want \">= 1.6\"", rv.AsString())
	}
	for _, b := range tb.Body.Blocks {
		if b.Type != "required_providers" {
			continue
		}
		if a, ok := b.Body.Attributes["aws"]; ok {
			v, _ := a.Expr.Value(nil)
			if got := v.GetAttr("version").AsString(); got != "~> 5.80" {
				t.Errorf("aws provider %q, want \"~> 5.0\"", got)
			}
		}
	}
}

// Variable validations that keep the spec's rules from being configured
// away (Terraform rejects these before planning).
func TestVariableValidations(t *testing.T) {
	loader := tfeval.NewLoader()
	ecs, err := loader.Load("modules/ecs")
	if err != nil {
		t.Fatal(err)
	}
	alb, err := loader.Load("modules/alb")
	if err != nil {
		t.Fatal(err)
	}
	services := func(mut func(map[string]cty.Value)) cty.Value {
		m := map[string]cty.Value{
			"role": cty.StringVal("api"), "cpu": cty.NumberIntVal(512), "memory": cty.NumberIntVal(1024),
			"min_count": cty.NumberIntVal(2), "max_count": cty.NumberIntVal(10), "cpu_scaling": cty.True,
			"port": cty.NumberIntVal(8000), "capacity": cty.StringVal("FARGATE"),
			"secrets":   cty.ListVal([]cty.Value{cty.StringVal("db")}),
			"tenant_s3": cty.ListVal([]cty.Value{cty.StringVal("files"), cty.StringVal("buckets")}),
		}
		mut(m)
		return cty.MapVal(map[string]cty.Value{"api": cty.ObjectVal(m)})
	}
	cases := []struct {
		mod   *tfeval.Module
		name  string
		value cty.Value
		ok    bool
	}{
		{ecs, "image_tag", cty.StringVal("v1.2.3"), true},
		{ecs, "image_tag", cty.StringVal("latest"), false},
		{ecs, "image_tag", cty.StringVal("main"), false},
		{ecs, "frontend_compute", cty.StringVal("EC2"), true},
		{ecs, "frontend_compute", cty.StringVal("LAMBDA"), false},
		{ecs, "ec2_instance_type", cty.StringVal("m7g.large"), true},
		{ecs, "ec2_instance_type", cty.StringVal("m7i.large"), false},
		{ecs, "services", services(func(map[string]cty.Value) {}), true},
		{ecs, "services", services(func(m map[string]cty.Value) { m["min_count"] = cty.NumberIntVal(0) }), false},
		{ecs, "services", services(func(m map[string]cty.Value) { m["role"] = cty.StringVal("shell") }), false},
		{ecs, "services", services(func(m map[string]cty.Value) { m["capacity"] = cty.StringVal("EC2") }), false},
		{ecs, "services", services(func(m map[string]cty.Value) {
			m["tenant_s3"] = cty.ListVal([]cty.Value{cty.StringVal("files"), cty.StringVal("all")})
		}), false},
		{alb, "ssl_policy", cty.StringVal("ELBSecurityPolicy-2016-08"), false},
		{alb, "ssl_policy", cty.StringVal("ELBSecurityPolicy-TLS13-1-2-2021-06"), true},
		{alb, "health_check_path", cty.StringVal("/"), false},
		{alb, "waf_rate_limit", cty.NumberIntVal(10), false},
	}
	for _, c := range cases {
		v := c.mod.Variables[c.name]
		failed, err := v.Validate(c.value)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ok := len(failed) == 0; ok != c.ok {
			t.Errorf("%s var.%s = %v: accepted %v, want %v (%v)", c.mod.Dir, c.name, goValue(c.value), ok, c.ok, failed)
		}
	}
}
