package infra_test

// The seam between the alarms and what emits their metrics: every
// CloudWatch alarm (and every dashboard graph) in envs/{staging,production}
// names a metric that AWS documents for its namespace, or one the app's
// EMF emitter actually writes, with dimensions that name resources this
// configuration creates. An alarm on a metric nobody emits never fires.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
	"github.com/palisade-hq/palisade/internal/app"
	pconfig "github.com/palisade-hq/palisade/internal/config"
	"github.com/palisade-hq/palisade/internal/obs"
	"github.com/palisade-hq/palisade/internal/obs/emf"
	"github.com/palisade-hq/palisade/internal/testenv"
)

// awsMetrics are the metric names and dimension keys AWS documents per
// namespace (only those this configuration may use; add a name with its
// page when an alarm needs one):
//
//   - AWS/ApplicationELB: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
//   - AWS/ECS: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html
//   - ECS/ContainerInsights: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html
//   - AWS/RDS: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html
//   - AWS/ElastiCache: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.HostLevel.html
//     and https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html
//   - AWS/Lambda: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
//   - AWS/SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html
//   - AWS/CertificateManager: https://docs.aws.amazon.com/acm/latest/userguide/cloudwatch-metrics.html
var awsMetrics = map[string]struct {
	metrics, dimensions []string
}{
	"AWS/ApplicationELB": {
		metrics: []string{"RequestCount", "HTTPCode_Target_2XX_Count", "HTTPCode_Target_3XX_Count", "HTTPCode_Target_4XX_Count", "HTTPCode_Target_5XX_Count",
			"HTTPCode_ELB_4XX_Count", "HTTPCode_ELB_5XX_Count", "TargetResponseTime", "HealthyHostCount", "UnHealthyHostCount", "ActiveConnectionCount",
			"NewConnectionCount", "RejectedConnectionCount", "TargetConnectionErrorCount", "ProcessedBytes", "ConsumedLCUs", "RequestCountPerTarget",
			"ClientTLSNegotiationErrorCount", "TargetTLSNegotiationErrorCount"},
		dimensions: []string{"LoadBalancer", "TargetGroup", "AvailabilityZone"},
	},
	"AWS/ECS": {
		metrics:    []string{"CPUUtilization", "MemoryUtilization", "CPUReservation", "MemoryReservation", "GPUReservation"},
		dimensions: []string{"ClusterName", "ServiceName"},
	},
	"ECS/ContainerInsights": {
		metrics: []string{"RunningTaskCount", "DesiredTaskCount", "PendingTaskCount", "TaskCount", "ServiceCount", "DeploymentCount", "TaskSetCount",
			"CpuUtilized", "CpuReserved", "MemoryUtilized", "MemoryReserved", "NetworkRxBytes", "NetworkTxBytes", "StorageReadBytes", "StorageWriteBytes",
			"EphemeralStorageReserved", "EphemeralStorageUtilized"},
		dimensions: []string{"ClusterName", "ServiceName", "TaskDefinitionFamily"},
	},
	"AWS/RDS": {
		metrics: []string{"CPUUtilization", "FreeStorageSpace", "DatabaseConnections", "ReplicaLag", "FreeableMemory", "ReadIOPS", "WriteIOPS",
			"ReadLatency", "WriteLatency", "DiskQueueDepth", "SwapUsage", "BinLogDiskUsage", "NetworkReceiveThroughput", "NetworkTransmitThroughput",
			"BurstBalance", "CPUCreditBalance"},
		dimensions: []string{"DBInstanceIdentifier", "DatabaseClass", "EngineName"},
	},
	"AWS/ElastiCache": {
		metrics: []string{"CPUUtilization", "EngineCPUUtilization", "DatabaseMemoryUsagePercentage", "Evictions", "CurrConnections", "NewConnections",
			"FreeableMemory", "SwapUsage", "NetworkBytesIn", "NetworkBytesOut", "ReplicationLag", "CacheHits", "CacheMisses", "BytesUsedForCache", "CurrItems"},
		dimensions: []string{"CacheClusterId", "CacheNodeId"},
	},
	"AWS/Lambda": {
		metrics: []string{"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions", "DeadLetterErrors", "DestinationDeliveryFailures",
			"AsyncEventAge", "AsyncEventsReceived", "AsyncEventsDropped", "IteratorAge", "UnreservedConcurrentExecutions"},
		dimensions: []string{"FunctionName", "Resource", "ExecutedVersion"},
	},
	"AWS/SQS": {
		metrics: []string{"ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessagesNotVisible",
			"ApproximateNumberOfMessagesVisible", "NumberOfEmptyReceives", "NumberOfMessagesDeleted", "NumberOfMessagesReceived",
			"NumberOfMessagesSent", "SentMessageSize"},
		dimensions: []string{"QueueName"},
	},
	"AWS/CertificateManager": {
		metrics:    []string{"DaysToExpiry"},
		dimensions: []string{"CertificateArn"},
	},
}

const (
	standInAccount = "123456789012"
	standInRegion  = "eu-west-2"
)

// alarmComputed gives the resources an alarm dimension names the values
// an apply would compute from their arguments (as the AWS provider
// documents them), with fixed stand-ins for AWS's random parts, so the
// dimensions can be followed to the resources that create them.
var alarmComputed = map[string]func(tfeval.Block) (map[string]cty.Value, error){
	"aws_lb": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		suffix := derivedStr(name, func(n string) string { return "app/" + n + "/50dc6c495c0c9188" })
		arn := derivedStr(suffix, func(s string) string {
			return "arn:aws:elasticloadbalancing:" + standInRegion + ":" + standInAccount + ":loadbalancer/" + s
		})
		return map[string]cty.Value{"name": name, "arn": arn, "id": arn, "arn_suffix": suffix, "dns_name": cty.DynamicVal, "zone_id": cty.DynamicVal}, err
	},
	"aws_lb_target_group": func(b tfeval.Block) (map[string]cty.Value, error) {
		// name_prefix plus AWS's unique suffix.
		prefix, err := b.Attr("name_prefix")
		suffix := derivedStr(prefix, func(p string) string { return "targetgroup/" + p + "20240101/73e2d6bc24d8a067" })
		arn := derivedStr(suffix, func(s string) string {
			return "arn:aws:elasticloadbalancing:" + standInRegion + ":" + standInAccount + ":" + s
		})
		return map[string]cty.Value{"arn": arn, "id": arn, "arn_suffix": suffix, "name": cty.DynamicVal}, err
	},
	"aws_db_instance": func(b tfeval.Block) (map[string]cty.Value, error) {
		id, err := b.Attr("identifier")
		return map[string]cty.Value{"identifier": id, "id": cty.DynamicVal, "arn": derivedStr(id, func(s string) string {
			return "arn:aws:rds:" + standInRegion + ":" + standInAccount + ":db:" + s
		}), "address": cty.DynamicVal, "port": cty.DynamicVal, "endpoint": cty.DynamicVal, "master_user_secret": cty.DynamicVal}, err
	},
	"aws_elasticache_replication_group": func(b tfeval.Block) (map[string]cty.Value, error) {
		id, err := b.Attr("replication_group_id")
		return map[string]cty.Value{"replication_group_id": id, "id": id, "arn": cty.DynamicVal, "port": cty.DynamicVal,
			"primary_endpoint_address": cty.DynamicVal, "member_clusters": cty.DynamicVal}, err
	},
	"aws_sqs_queue": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		return map[string]cty.Value{"name": name, "id": derivedStr(name, func(n string) string {
			return "https://sqs." + standInRegion + ".amazonaws.com/" + standInAccount + "/" + n
		}), "url": cty.DynamicVal, "arn": derivedStr(name, func(n string) string { return "arn:aws:sqs:" + standInRegion + ":" + standInAccount + ":" + n })}, err
	},
	"aws_ecs_cluster": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		arn := derivedStr(name, func(n string) string { return "arn:aws:ecs:" + standInRegion + ":" + standInAccount + ":cluster/" + n })
		return map[string]cty.Value{"name": name, "arn": arn, "id": arn}, err
	},
	"aws_ecs_service": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		return map[string]cty.Value{"name": name, "id": cty.DynamicVal, "arn": cty.DynamicVal}, err
	},
	"aws_lambda_function": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("function_name")
		return map[string]cty.Value{"function_name": name, "arn": derivedStr(name, func(n string) string {
			return "arn:aws:lambda:" + standInRegion + ":" + standInAccount + ":function:" + n
		}), "invoke_arn": cty.DynamicVal, "qualified_arn": cty.DynamicVal}, err
	},
	"aws_acm_certificate": func(b tfeval.Block) (map[string]cty.Value, error) {
		d, err := b.Attr("domain_name")
		return map[string]cty.Value{"arn": derivedStr(d, func(s string) string {
			return "arn:aws:acm:" + standInRegion + ":" + standInAccount + ":certificate/" + s
		}), "id": cty.DynamicVal, "domain_validation_options": cty.DynamicVal}, err
	},
	"aws_acm_certificate_validation": func(b tfeval.Block) (map[string]cty.Value, error) {
		arn, err := b.Attr("certificate_arn")
		return map[string]cty.Value{"certificate_arn": arn, "id": cty.DynamicVal}, err
	},
	"aws_cloudwatch_metric_alarm": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("alarm_name")
		return map[string]cty.Value{"alarm_name": name, "id": name, "arn": derivedStr(name, func(n string) string {
			return "arn:aws:cloudwatch:" + standInRegion + ":" + standInAccount + ":alarm:" + n
		})}, err
	},
}

func derivedStr(v cty.Value, f func(string) string) cty.Value {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return cty.DynamicVal
	}
	return cty.StringVal(f(v.AsString()))
}

// metricRef is one metric an alarm or a dashboard graph reads.
type metricRef struct {
	where, namespace, name string
	dims                   map[string]string
}

func (r metricRef) String() string {
	return fmt.Sprintf("%s: %s/%s %v", r.where, r.namespace, r.name, r.dims)
}

// world is what exists: the values each AWS dimension may take (from the
// resources), the app's roles with their PALISADE_ENV, and the metric
// names each role's emitter writes.
type world struct {
	dims    map[string]map[string]bool
	roleEnv map[string]string
	emitted map[string]map[string]bool // role -> EMF metric names
	// lenient accepts any metric of emf.Catalog (dashboards): a counter
	// is written from its first event on, so an idle registry lacks it.
	// Alarms are held to what the role's emitter wrote.
	lenient bool
}

func catalogued(name string) bool {
	for _, m := range emf.Catalog {
		if m.Name == name {
			return true
		}
	}
	return false
}

// check returns why ref names a metric nobody emits, or nil.
func (w world) check(ref metricRef) error {
	if ref.namespace == emf.Namespace {
		role, env := ref.dims["Service"], ref.dims["Environment"]
		if len(ref.dims) != 2 || role == "" || env == "" {
			return fmt.Errorf("%s: the app writes its metrics with exactly the dimensions Service and Environment", ref)
		}
		want, ok := w.roleEnv[role]
		if !ok {
			return fmt.Errorf("%s: no task runs the role %q", ref, role)
		}
		if env != want {
			return fmt.Errorf("%s: the %s tasks run with PALISADE_ENV=%s, not %s", ref, role, want, env)
		}
		if w.lenient && catalogued(ref.name) {
			return nil
		}
		names, ok := w.emitted[role]
		if !ok {
			return fmt.Errorf("%s: this test does not know what the %s role emits", ref, role)
		}
		if !names[ref.name] {
			return fmt.Errorf("%s: the %s role's emitter does not write %s (it writes %v)", ref, role, ref.name, sortedSet(names))
		}
		return nil
	}
	ns, ok := awsMetrics[ref.namespace]
	if !ok {
		return fmt.Errorf("%s: unknown namespace", ref)
	}
	if !contains(ns.metrics, ref.name) {
		return fmt.Errorf("%s: AWS documents no metric %s in %s", ref, ref.name, ref.namespace)
	}
	if len(ref.dims) == 0 {
		return fmt.Errorf("%s: no dimensions (the alarm would watch the whole account's aggregate, if AWS publishes one)", ref)
	}
	for k, v := range ref.dims {
		if !contains(ns.dimensions, k) {
			return fmt.Errorf("%s: %s is not a dimension of %s", ref, k, ref.namespace)
		}
		if !w.dims[k][v] {
			return fmt.Errorf("%s: %s=%q names nothing this configuration creates (known: %v)", ref, k, v, sortedSet(w.dims[k]))
		}
	}
	return nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func knownStr(v cty.Value) (string, bool) {
	if !v.IsWhollyKnown() || v.IsNull() || v.Type() != cty.String {
		return "", false
	}
	return v.AsString(), true
}

// alarmRefs reads every aws_cloudwatch_metric_alarm of every module: its
// own metric, or the metrics of its metric_query blocks.
func alarmRefs(t *testing.T, root *tfeval.Instance) (refs []metricRef, alarms int) {
	t.Helper()
	walk(t, root, func(m *tfeval.Instance) {
		for _, r := range m.Module.OfType("aws_cloudwatch_metric_alarm") {
			list, err := m.Instances(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, ri := range list {
				alarms++
				where := m.Path + " " + r.Addr() + "[" + ri.KeyString() + "]"
				if ri.Body.Has("metric_name") {
					refs = append(refs, readRef(t, where, ri.Body, "metric_name"))
				}
				for _, q := range blocks(t, ri.Body, "metric_query") {
					for _, mb := range blocks(t, q, "metric") {
						refs = append(refs, readRef(t, where+" "+str(attr(t, q, "id")), mb, "metric_name"))
					}
				}
			}
		}
	})
	return refs, alarms
}

func str(v cty.Value) string {
	s, ok := knownStr(v)
	if !ok {
		return "<unknown>"
	}
	return s
}

func readRef(t *testing.T, where string, b tfeval.Block, nameAttr string) metricRef {
	t.Helper()
	ref := metricRef{where: where, namespace: str(attr(t, b, "namespace")), name: str(attr(t, b, nameAttr)), dims: map[string]string{}}
	d := attr(t, b, "dimensions")
	if !d.IsNull() {
		if !d.IsWhollyKnown() {
			t.Errorf("%s: dimensions not known: %#v", where, d)
			return ref
		}
		for it := d.ElementIterator(); it.Next(); {
			k, v := it.Element()
			ref.dims[k.AsString()] = str(v)
		}
	}
	return ref
}

// dashboardRefs reads the metrics of every dashboard's graphs: arrays of
// [namespace, name, dimension, value, ..., {options}].
func dashboardRefs(t *testing.T, root *tfeval.Instance) (refs []metricRef, dashboards int) {
	t.Helper()
	walk(t, root, func(m *tfeval.Instance) {
		for _, r := range m.Module.OfType("aws_cloudwatch_dashboard") {
			list, err := m.Instances(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, ri := range list {
				dashboards++
				where := m.Path + " " + r.Addr()
				body, ok := knownStr(attr(t, ri.Body, "dashboard_body"))
				if !ok {
					t.Fatalf("%s: dashboard_body not known", where)
				}
				var d struct {
					Widgets []struct {
						Type       string `json:"type"`
						Properties struct {
							Title   string  `json:"title"`
							Alarms  []any   `json:"alarms"`
							Metrics [][]any `json:"metrics"`
						} `json:"properties"`
					} `json:"widgets"`
				}
				if err := json.Unmarshal([]byte(body), &d); err != nil {
					t.Fatalf("%s: %v", where, err)
				}
				for _, wg := range d.Widgets {
					if wg.Type == "metric" && len(wg.Properties.Metrics) == 0 {
						t.Errorf("%s %q: a graph without metrics", where, wg.Properties.Title)
					}
					for _, mt := range wg.Properties.Metrics {
						ref := metricRef{where: where + " " + wg.Properties.Title, dims: map[string]string{}}
						var parts []string
						for _, p := range mt {
							if s, ok := p.(string); ok {
								parts = append(parts, s)
							}
						}
						if len(parts) < 2 || len(parts)%2 != 0 {
							t.Errorf("%s: metric %v is not [namespace, name, key, value, ...]", ref.where, mt)
							continue
						}
						ref.namespace, ref.name = parts[0], parts[1]
						for i := 2; i < len(parts); i += 2 {
							ref.dims[parts[i]] = parts[i+1]
						}
						refs = append(refs, ref)
					}
				}
			}
		}
	})
	return refs, dashboards
}

// existing reads the dimension values the configuration's resources give
// their metrics, and the role and PALISADE_ENV of every task.
func existing(t *testing.T, root *tfeval.Instance) world {
	t.Helper()
	w := world{dims: map[string]map[string]bool{}, roleEnv: map[string]string{}}
	add := func(k, v string) {
		if w.dims[k] == nil {
			w.dims[k] = map[string]bool{}
		}
		w.dims[k][v] = true
	}
	each := func(m *tfeval.Instance, typ string, f func(tfeval.Block)) {
		for _, r := range m.Module.OfType(typ) {
			list, err := m.Instances(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, ri := range list {
				f(ri.Body)
			}
		}
	}
	get := func(b tfeval.Block, a string) string {
		s, ok := knownStr(attr(t, b, a))
		if !ok {
			t.Fatalf("%s not known", a)
		}
		return s
	}
	walk(t, root, func(m *tfeval.Instance) {
		comp := func(typ, a string, b tfeval.Block) string {
			attrs, err := alarmComputed[typ](b)
			if err != nil {
				t.Fatal(err)
			}
			s, ok := knownStr(attrs[a])
			if !ok {
				t.Fatalf("%s %s.%s not known", m.Path, typ, a)
			}
			return s
		}
		each(m, "aws_lb", func(b tfeval.Block) { add("LoadBalancer", comp("aws_lb", "arn_suffix", b)) })
		each(m, "aws_lb_target_group", func(b tfeval.Block) { add("TargetGroup", comp("aws_lb_target_group", "arn_suffix", b)) })
		each(m, "aws_ecs_cluster", func(b tfeval.Block) { add("ClusterName", get(b, "name")) })
		each(m, "aws_ecs_service", func(b tfeval.Block) { add("ServiceName", get(b, "name")) })
		each(m, "aws_db_instance", func(b tfeval.Block) { add("DBInstanceIdentifier", get(b, "identifier")) })
		each(m, "aws_elasticache_replication_group", func(b tfeval.Block) {
			// Members of a cluster-mode-disabled group are <id>-001, -002, ...
			n, _ := attr(t, b, "num_cache_clusters").AsBigFloat().Int64()
			for i := int64(1); i <= n; i++ {
				add("CacheClusterId", fmt.Sprintf("%s-%03d", get(b, "replication_group_id"), i))
			}
		})
		each(m, "aws_lambda_function", func(b tfeval.Block) { add("FunctionName", get(b, "function_name")) })
		each(m, "aws_sqs_queue", func(b tfeval.Block) { add("QueueName", get(b, "name")) })
		each(m, "aws_acm_certificate", func(b tfeval.Block) { add("CertificateArn", comp("aws_acm_certificate", "arn", b)) })
		each(m, "aws_ecs_task_definition", func(b tfeval.Block) {
			defs, err := b.AttrDecoded("container_definitions")
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range goValue(defs).([]any) {
				c := c.(map[string]any)
				cmd := c["command"].([]any)
				for _, e := range c["environment"].([]any) {
					if e := e.(map[string]any); e["name"] == "PALISADE_ENV" {
						w.roleEnv[cmd[len(cmd)-1].(string)] = fmt.Sprint(e["value"])
					}
				}
			}
		})
	})
	return w
}

// emittedByRoles runs the roles' EMF emitters on their real registries
// and returns the metric names each writes. The worker's registry is the
// one RunWorker builds (app.WorkerMetrics) over a real database and Redis;
// api, web and hq share obs.NewMetrics and write their HTTP metrics once a
// request was served.
func emittedByRoles(t *testing.T) map[string]map[string]bool {
	t.Helper()
	cfg := pconfig.Config{Env: "production", FilesRescanAfter: 10 * time.Minute, MetricsEMFInterval: time.Minute}
	st := testenv.Store(t, "sqlite")
	rdb, _, _ := testenv.Redis(t)
	out := map[string]map[string]bool{}
	run := func(role string, m *obs.Metrics) {
		e := app.NewEMF(cfg, role, m.Registry)
		var buf bytes.Buffer
		e.Out = &buf
		if err := e.Emit(); err != nil {
			t.Fatal(err)
		}
		out[role] = map[string]bool{}
		sc := bufio.NewScanner(&buf)
		for sc.Scan() {
			ds, err := emf.Parse(sc.Bytes())
			if err != nil {
				t.Fatalf("%s: not EMF: %v", role, err)
			}
			for _, d := range ds {
				if d.Dimensions["Service"] != role || d.Dimensions["Environment"] != cfg.Env {
					t.Fatalf("%s wrote %s with dimensions %v", role, d.Name, d.Dimensions)
				}
				out[role][d.Name] = true
			}
		}
	}
	wm, _ := app.WorkerMetrics(cfg, st, rdb)
	run("worker", wm)
	for _, role := range []string{"api", "web", "hq"} {
		m := obs.NewMetrics()
		m.Observe(role, "GET /", 200, time.Millisecond)
		run(role, m)
	}
	return out
}

func monitoredRoot(t *testing.T, env string) *tfeval.Instance {
	t.Helper()
	l := tfeval.NewLoader()
	l.Computed = alarmComputed
	in, err := l.Instantiate(filepath.Join("envs", env), nil)
	if err != nil {
		t.Fatalf("evaluate envs/%s: %v", env, err)
	}
	return in
}

// TestAlarmsWatchEmittedMetrics is the seam check of the monitoring.
func TestAlarmsWatchEmittedMetrics(t *testing.T) {
	emitted := emittedByRoles(t)
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			root := monitoredRoot(t, env)
			w := existing(t, root)
			w.emitted = emitted
			refs, alarms := alarmRefs(t, root)
			if alarms < 30 {
				t.Errorf("%d alarms, want the full set of docs/operations.md (at least 30)", alarms)
			}
			for _, r := range refs {
				if err := w.check(r); err != nil {
					t.Error(err)
				}
			}
			// Every promised alarm exists, over every resource it covers.
			covered := map[string]map[string]bool{}
			for _, r := range refs {
				key := r.namespace + "/" + r.name
				if covered[key] == nil {
					covered[key] = map[string]bool{}
				}
				for _, d := range []string{"ServiceName", "TargetGroup", "CacheClusterId", "FunctionName"} {
					if v, ok := r.dims[d]; ok {
						covered[key][v] = true
					}
				}
				covered[key]["*"] = true
			}
			promised := map[string]string{
				"AWS/ApplicationELB/HTTPCode_Target_5XX_Count": "TargetGroup", "AWS/ApplicationELB/RequestCount": "TargetGroup",
				"AWS/ApplicationELB/TargetResponseTime":  "TargetGroup",
				"ECS/ContainerInsights/RunningTaskCount": "ServiceName", "ECS/ContainerInsights/DesiredTaskCount": "ServiceName",
				"AWS/ECS/CPUUtilization": "ServiceName", "AWS/ECS/MemoryUtilization": "ServiceName",
				"AWS/RDS/CPUUtilization": "", "AWS/RDS/FreeStorageSpace": "", "AWS/RDS/DatabaseConnections": "",
				"AWS/ElastiCache/DatabaseMemoryUsagePercentage": "CacheClusterId", "AWS/ElastiCache/Evictions": "CacheClusterId",
				"AWS/ElastiCache/EngineCPUUtilization": "CacheClusterId",
				"AWS/Lambda/Errors":                    "FunctionName", "AWS/Lambda/Throttles": "FunctionName",
				"AWS/SQS/ApproximateNumberOfMessagesVisible": "", "AWS/CertificateManager/DaysToExpiry": "",
				"Palisade/JobsPending": "", "Palisade/JobsDead": "", "Palisade/FilesPendingOverdue": "", "Palisade/FileScanErrors": "",
				"Palisade/AuditVerifyFailed": "",
			}
			for key, per := range promised {
				if !covered[key]["*"] {
					t.Errorf("no alarm on %s", key)
					continue
				}
				if per == "" {
					continue
				}
				for v := range w.dims[per] {
					if !covered[key][v] {
						t.Errorf("no alarm on %s for %s=%s", key, per, v)
					}
				}
			}
			// Every alarm notifies the alert topic.
			mon := child(t, root, "monitoring")
			for _, r := range mon.Module.OfType("aws_cloudwatch_metric_alarm") {
				for _, ri := range instances(t, mon, r.Addr()) {
					if !refersTo(ri.Body, "alarm_actions", "local.actions") {
						t.Errorf("%s[%s] does not notify the alert topic", r.Addr(), ri.KeyString())
					}
				}
			}
			topic := one(t, mon, "aws_sns_topic.alerts")
			if !refersTo(topic, "kms_master_key_id", "aws_kms_key.alerts") {
				t.Error("the alert topic is not encrypted with its own key")
			}

			drefs, dashboards := dashboardRefs(t, root)
			if dashboards != 1 {
				t.Errorf("%d dashboards, want one per environment", dashboards)
			}
			w.lenient = true
			for _, r := range drefs {
				if err := w.check(r); err != nil {
					t.Error("dashboard: ", err)
				}
			}
			shown := map[string]bool{}
			for _, r := range drefs {
				shown[r.namespace+"/"+r.name] = true
			}
			for key := range promised {
				if !shown[key] && !strings.HasPrefix(key, "AWS/CertificateManager") && !strings.HasPrefix(key, "ECS/ContainerInsights/Desired") {
					t.Errorf("the dashboard does not show %s", key)
				}
			}
		})
	}
}

// TestAlarmCheckerRefusesWhatNobodyEmits is the checker's own test: a
// wrong name, namespace, dimension or role is refused, the right ones
// pass.
func TestAlarmCheckerRefusesWhatNobodyEmits(t *testing.T) {
	w := world{
		dims:    map[string]map[string]bool{"ClusterName": {"c": true}, "ServiceName": {"s": true}},
		roleEnv: map[string]string{"worker": "production"},
		emitted: map[string]map[string]bool{"worker": {"JobsPending": true}},
	}
	ok := []metricRef{
		{namespace: "AWS/ECS", name: "CPUUtilization", dims: map[string]string{"ClusterName": "c", "ServiceName": "s"}},
		{namespace: "Palisade", name: "JobsPending", dims: map[string]string{"Service": "worker", "Environment": "production"}},
	}
	for _, r := range ok {
		if err := w.check(r); err != nil {
			t.Errorf("refused a right one: %v", err)
		}
	}
	bad := map[string]metricRef{
		"misspelt AWS metric":     {namespace: "AWS/ECS", name: "CPUUtilisation", dims: map[string]string{"ClusterName": "c", "ServiceName": "s"}},
		"metric of another ns":    {namespace: "AWS/ECS", name: "RunningTaskCount", dims: map[string]string{"ClusterName": "c", "ServiceName": "s"}},
		"unknown namespace":       {namespace: "AWS/ECSS", name: "CPUUtilization", dims: map[string]string{"ClusterName": "c"}},
		"dimension not of ns":     {namespace: "AWS/ECS", name: "CPUUtilization", dims: map[string]string{"ClusterName": "c", "Service": "s"}},
		"service that not exists": {namespace: "AWS/ECS", name: "CPUUtilization", dims: map[string]string{"ClusterName": "c", "ServiceName": "gone"}},
		"no dimensions":           {namespace: "AWS/ECS", name: "CPUUtilization", dims: map[string]string{}},
		"app metric not written":  {namespace: "Palisade", name: "JobsPendingg", dims: map[string]string{"Service": "worker", "Environment": "production"}},
		"role without tasks":      {namespace: "Palisade", name: "JobsPending", dims: map[string]string{"Service": "queue", "Environment": "production"}},
		"wrong environment":       {namespace: "Palisade", name: "JobsPending", dims: map[string]string{"Service": "worker", "Environment": "staging"}},
		"app without Environment": {namespace: "Palisade", name: "JobsPending", dims: map[string]string{"Service": "worker"}},
	}
	for name, r := range bad {
		if err := w.check(r); err == nil {
			t.Errorf("%s: accepted %v", name, r)
		}
	}
}
