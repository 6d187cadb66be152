package deploytest

// The deployment model: what envs/production would create, read through
// tfeval with stand-ins for the values only an apply knows (ARNs of keys,
// secrets, policies and security groups), so they can be followed from the
// resource that creates them to the policy or rule that names them.

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/iameval"
	"github.com/palisade-hq/palisade/infra/tfeval"
)

const (
	account = "123456789012"
	region  = "eu-west-2"
	envDir  = "../envs/production"
	// internalALB stands in for the internal ALB's DNS name.
	internalALB = "internal-palisade-production-internal-1234567890.eu-west-2.elb.amazonaws.com"
)

// container is one ECS container definition (or the Lambda's equivalent).
type container struct {
	service  string            // ECS service key (tenant, api, ...) or "lambda-scan"
	command  []string          // e.g. ["palisade", "api"]
	env      map[string]string // environment; values unknown at plan are "<unknown>"
	secrets  map[string]string // variable -> valueFrom (Secrets Manager ARN:key::)
	port     int64             // container port behind a load balancer, 0 if none
	logGroup string            // awslogs-group
}

// secretNames are the Secrets Manager secrets Terraform creates under
// "<prefix>/": the master DSN (db, migrate's alone), each role user's
// (db-<role>), redis and app.
var secretNames = []string{"db", "db-api", "db-worker", "db-hq", "db-scanner", "redis-api", "redis-worker", "redis-scheduler", "redis-realtime", "app"}

func (c container) role() string { return c.command[len(c.command)-1] }

// role is an IAM role with the policies attached to it.
type role struct {
	addr     string // module path + resource address + key
	arn      string
	policies []iameval.Policy
}

type model struct {
	root       *tfeval.Instance
	prefix     string // module.naming.prefix
	containers map[string]container
	lambdas    map[string]container
	// taskRoles, execRoles by service key; lambdaRoles by function key.
	taskRoles, execRoles, lambdaRoles map[string]*role
	// managed policies by ARN.
	managed map[string]iameval.Policy
	// keyPolicies by (stand-in) KMS key ARN.
	keyPolicies map[string]iameval.Policy
}

var (
	modelOnce sync.Once
	theModel  *model
	modelErr  error
)

func symbolic(kind, name string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", kind, region, account, name)
}

// secretARNOf is a Secrets Manager secret's ARN: its name and the six
// random characters AWS appends (fixed here).
func secretARNOf(name string) string {
	return symbolic("secretsmanager", "secret:"+name+"-AbCdEf")
}

// computedAttributes are the attributes an apply computes that follow
// from the resource's own arguments, as the AWS provider documents them;
// every other attribute the modules read stays unknown.
var computedAttributes = map[string]func(tfeval.Block) (map[string]cty.Value, error){
	"aws_iam_role": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		if err != nil {
			return nil, err
		}
		// A role's id is its name; its ARN has the default path "/".
		return map[string]cty.Value{"name": name, "id": name, "arn": derived(name, func(n string) string { return "arn:aws:iam::" + account + ":role/" + n }), "unique_id": cty.DynamicVal}, nil
	},
	"aws_iam_policy": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		if err != nil {
			return nil, err
		}
		arn := derived(name, func(n string) string { return "arn:aws:iam::" + account + ":policy/" + n })
		return map[string]cty.Value{"name": name, "id": arn, "arn": arn, "policy_id": cty.DynamicVal}, nil
	},
	"aws_s3_bucket": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("bucket")
		if err != nil {
			return nil, err
		}
		return map[string]cty.Value{"bucket": name, "id": name, "arn": derived(name, func(n string) string { return "arn:aws:s3:::" + n }),
			"bucket_regional_domain_name": cty.DynamicVal, "bucket_domain_name": cty.DynamicVal}, nil
	},
	"aws_secretsmanager_secret": func(b tfeval.Block) (map[string]cty.Value, error) {
		name, err := b.Attr("name")
		if err != nil {
			return nil, err
		}
		// A secret's id is its ARN.
		arn := derived(name, secretARNOf)
		return map[string]cty.Value{"name": name, "id": arn, "arn": arn}, nil
	},
}

// derived applies f to a known string, and stays unknown otherwise.
func derived(v cty.Value, f func(string) string) cty.Value {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return cty.DynamicVal
	}
	return cty.StringVal(f(v.AsString()))
}

func strMap(m map[string]string) cty.Value {
	out := map[string]cty.Value{}
	for k, v := range m {
		out[k] = cty.StringVal(v)
	}
	return cty.MapVal(out)
}

// loadModel evaluates envs/production once per test binary.
func loadModel(t *testing.T) *model {
	t.Helper()
	modelOnce.Do(func() { theModel, modelErr = buildModel() })
	if modelErr != nil {
		t.Fatalf("evaluate %s: %v", envDir, modelErr)
	}
	return theModel
}

func buildModel() (*model, error) {
	// First pass: the names the modules build from variables alone.
	plain, err := tfeval.NewLoader().Instantiate(envDir, nil)
	if err != nil {
		return nil, err
	}
	naming, err := plain.Child("naming")
	if err != nil {
		return nil, err
	}
	pv, err := naming.Output("prefix")
	if err != nil || !pv.IsKnown() {
		return nil, fmt.Errorf("module.naming.prefix: %v", err)
	}
	prefix := pv.AsString()
	mail, err := plain.Child("mail")
	if err != nil {
		return nil, err
	}
	domain := str(mail.Var("domain"))
	mailSet, err := mail.Output("configuration_set_name")
	if err != nil {
		return nil, err
	}
	// Stand-ins for what only an apply knows, in AWS's ARN shapes.
	keys := map[string]string{}
	for _, k := range []string{"storage", "data", "logs"} {
		keys[k] = symbolic("kms", "key/"+k)
	}
	secrets := map[string]string{}
	roleSecrets, redisSecrets := map[string]string{}, map[string]string{}
	for _, s := range secretNames {
		secrets[s] = secretARNOf(prefix + "/" + s)
		if r, ok := strings.CutPrefix(s, "db-"); ok {
			roleSecrets[r] = secrets[s]
		}
		if r, ok := strings.CutPrefix(s, "redis-"); ok {
			redisSecrets[r] = secrets[s]
		}
	}
	logGroups := map[string]string{}
	for _, s := range []string{"tenant", "hq", "api", "worker", "scheduler", "realtime"} {
		logGroups[s] = "/ecs/" + prefix + "/" + s
	}
	ecrArns, ecrURLs := map[string]string{}, map[string]string{}
	for _, r := range []string{"palisade", "scanner"} {
		ecrArns[r] = "arn:aws:ecr:" + region + ":" + account + ":repository/" + prefix + "/" + r
		ecrURLs[r] = account + ".dkr.ecr." + region + ".amazonaws.com/" + prefix + "/" + r
	}
	sgs := map[string]string{}
	for _, s := range []string{"tenant", "hq", "api", "worker", "scheduler", "realtime"} {
		sgs[s] = "sg-" + s
	}
	network, err := plain.Child("network")
	if err != nil {
		return nil, err
	}
	vpcs, err := instancesOf(network, "aws_vpc.this")
	if err != nil || len(vpcs) != 1 {
		return nil, fmt.Errorf("module.network: want one aws_vpc.this: %v", err)
	}
	vpcCIDR, err := vpcs[0].Body.Attr("cidr_block")
	if err != nil {
		return nil, err
	}
	// Outputs whose value AWS picks at apply (random key and group ids,
	// a secret version's ARN); a mock of an output that does not exist is
	// an error (tfeval), so a renamed output cannot silently go unmocked.
	mocks := map[string]map[string]cty.Value{
		"module.network": {"vpc_cidr": vpcCIDR},
		"module.security": {
			"kms_key_arns":            strMap(keys),
			"app_secret_arn":          cty.StringVal(secrets["app"]),
			"service_log_group_names": strMap(logGroups),
			"exec_log_group_name":     cty.StringVal("/ecs/" + prefix + "/exec"),
			"ecr_repository_arns":     strMap(ecrArns),
			"ecr_repository_urls":     strMap(ecrURLs),
		},
		"module.data": {
			"db_secret_arn": cty.StringVal(secrets["db"]),
			// RDS creates the master's secret (manage_master_user_password).
			"db_master_secret_arn": cty.StringVal(secretARNOf(rdsMasterSecret)),
			// Each role's database user (security: db_roles) and Redis
			// user (redis_roles).
			"db_role_secret_arns":    strMap(roleSecrets),
			"redis_role_secret_arns": strMap(redisSecrets),
		},
		"module.alb": {
			"service_security_group_ids": strMap(sgs),
			"internal_alb_dns_name":      cty.StringVal(internalALB),
		},
		"module.mail": {
			// arn:aws:ses:<region>:<account>:identity/<domain> and
			// configuration-set/<name>, as SES names them.
			"identity_arn":          cty.StringVal(symbolic("ses", "identity/"+domain)),
			"configuration_set_arn": cty.StringVal(symbolic("ses", "configuration-set/"+str(mailSet))),
		},
		"module.scanner": {"security_group_id": cty.StringVal("sg-scanner")},
	}
	l := tfeval.NewLoader()
	l.OutputMocks = mocks
	l.Computed = computedAttributes
	root, err := l.Instantiate(envDir, nil)
	if err != nil {
		return nil, err
	}
	m := &model{root: root, prefix: prefix, containers: map[string]container{}, lambdas: map[string]container{},
		taskRoles: map[string]*role{}, execRoles: map[string]*role{}, lambdaRoles: map[string]*role{}, managed: map[string]iameval.Policy{}, keyPolicies: map[string]iameval.Policy{}}
	if err := m.readManagedPolicies(); err != nil {
		return nil, err
	}
	if err := m.readKeyPolicies(); err != nil {
		return nil, err
	}
	if err := m.readECS(); err != nil {
		return nil, err
	}
	if err := m.readScanner(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *model) child(path ...string) (*tfeval.Instance, error) {
	in := m.root
	for _, p := range path {
		c, err := in.Child(p)
		if err != nil {
			return nil, err
		}
		in = c
	}
	return in, nil
}

func instancesOf(in *tfeval.Instance, addr string) ([]*tfeval.ResourceInstance, error) {
	r := in.Module.Find(addr)
	if r == nil {
		return nil, nil
	}
	return in.Instances(r)
}

// str is a known string, or "<unknown>".
func str(v cty.Value) string {
	if !v.IsKnown() || v.IsNull() || v.Type() != cty.String {
		return "<unknown>"
	}
	return v.AsString()
}

func strs(v cty.Value) []string {
	if !v.IsKnown() {
		return []string{"<unknown>"}
	}
	if v.IsNull() {
		return nil
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, str(e))
	}
	return out
}

// policyDocument converts one aws_iam_policy_document instance.
func policyDocument(name string, b tfeval.Block) (iameval.Policy, error) {
	p := iameval.Policy{Name: name}
	stmts, err := b.Blocks("statement")
	if err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	for _, sb := range stmts {
		var s iameval.Statement
		get := func(attr string) cty.Value {
			v, e := sb.Attr(attr)
			if e != nil && err == nil {
				err = fmt.Errorf("%s: %s: %w", name, attr, e)
			}
			return v
		}
		s.Sid = str(get("sid"))
		if s.Sid == "<unknown>" {
			s.Sid = ""
		}
		s.Effect = iameval.Allow
		if e := get("effect"); !e.IsNull() {
			s.Effect = str(e)
		}
		s.Actions, s.NotActions = strs(get("actions")), strs(get("not_actions"))
		s.Resources, s.NotResources = strs(get("resources")), strs(get("not_resources"))
		pbs, e := sb.Blocks("principals")
		if e != nil {
			return p, e
		}
		for _, pb := range pbs {
			v, _ := pb.Attr("identifiers")
			s.Principals = append(s.Principals, strs(v)...)
		}
		cbs, e := sb.Blocks("condition")
		if e != nil {
			return p, e
		}
		for _, cb := range cbs {
			test, _ := cb.Attr("test")
			variable, _ := cb.Attr("variable")
			values, _ := cb.Attr("values")
			s.Conditions = append(s.Conditions, iameval.Condition{Operator: str(test), Key: str(variable), Values: strs(values)})
		}
		if err != nil {
			return p, err
		}
		p.Statements = append(p.Statements, s)
	}
	return p, nil
}

// documentFor follows `policy = data.aws_iam_policy_document.X[.json]`
// (with the same instance key as the referring resource when X has one).
func documentFor(in *tfeval.Instance, ri *tfeval.ResourceInstance, attr string) (iameval.Policy, error) {
	var docName string
	for _, ref := range ri.Body.References(attr) {
		if rest, ok := strings.CutPrefix(ref, "data.aws_iam_policy_document."); ok {
			docName = strings.TrimSuffix(rest, ".json")
		}
	}
	if docName == "" {
		return iameval.Policy{}, fmt.Errorf("%s %s: %s is not a data.aws_iam_policy_document", in.Path, ri.Resource.Addr(), attr)
	}
	docs, err := instancesOf(in, "data.aws_iam_policy_document."+docName)
	if err != nil {
		return iameval.Policy{}, err
	}
	for _, d := range docs {
		// A document with one instance (no count, or count = 1 and
		// referred to as X[0]) serves every instance of the resource.
		if d.KeyString() == "" || d.KeyString() == ri.KeyString() || len(docs) == 1 {
			label := fmt.Sprintf("%s/%s", strings.TrimPrefix(in.Path, envDir+"/"), docName)
			if d.KeyString() != "" {
				label += "[" + d.KeyString() + "]"
			}
			return policyDocument(label, d.Body)
		}
	}
	return iameval.Policy{}, fmt.Errorf("%s: no instance of data.aws_iam_policy_document.%s for key %q", in.Path, docName, ri.KeyString())
}

// readManagedPolicies reads the storage module's per-flow tenant-bucket
// policies (aws_iam_policy.tenant[flow]), by the ARN the ecs module
// attaches them with.
func (m *model) readManagedPolicies() error {
	storage, err := m.child("storage")
	if err != nil {
		return err
	}
	for _, r := range storage.Module.OfType("aws_iam_policy") {
		list, err := storage.Instances(r)
		if err != nil {
			return err
		}
		for _, ri := range list {
			name, err := ri.Body.Attr("name")
			if err != nil {
				return err
			}
			doc, err := documentFor(storage, ri, "policy")
			if err != nil {
				return err
			}
			m.managed["arn:aws:iam::"+account+":policy/"+str(name)] = doc
		}
	}
	if len(m.managed) == 0 {
		return fmt.Errorf("module.storage has no aws_iam_policy")
	}
	return nil
}

// readKeyPolicies reads the key policy of each KMS key of module.security
// by the stand-in ARN of its purpose (kms_key_arns).
func (m *model) readKeyPolicies() error {
	sec, err := m.child("security")
	if err != nil {
		return err
	}
	keys, err := instancesOf(sec, "aws_kms_key.this")
	if err != nil {
		return err
	}
	for _, k := range keys {
		doc, err := documentFor(sec, k, "policy")
		if err != nil {
			return err
		}
		m.keyPolicies[symbolic("kms", "key/"+k.KeyString())] = doc
	}
	if len(m.keyPolicies) == 0 {
		return fmt.Errorf("module.security has no aws_kms_key.this")
	}
	return nil
}

// rolesOf reads the aws_iam_role instances of a module with their inline
// policies and managed-policy attachments.
func (m *model) rolesOf(in *tfeval.Instance) (map[string]*role, error) {
	roles := map[string]*role{} // "aws_iam_role.task[api]"
	for _, r := range in.Module.OfType("aws_iam_role") {
		list, err := in.Instances(r)
		if err != nil {
			return nil, err
		}
		for _, ri := range list {
			name, err := ri.Body.Attr("name")
			if err != nil {
				return nil, err
			}
			id := r.Addr() + "[" + ri.KeyString() + "]"
			roles[id] = &role{addr: in.Path + "/" + id, arn: "arn:aws:iam::" + account + ":role/" + str(name)}
		}
	}
	attach := func(ri *tfeval.ResourceInstance, p iameval.Policy) error {
		addr, key, _, ok := ri.Body.ResourceRef("role")
		if !ok {
			return fmt.Errorf("%s %s: role is not a reference to an aws_iam_role", in.Path, ri.Resource.Addr())
		}
		k := ""
		if key != cty.NilVal {
			k = key.AsString()
		}
		r, ok := roles[addr+"["+k+"]"]
		if !ok {
			return fmt.Errorf("%s %s: no role %s[%s]", in.Path, ri.Resource.Addr(), addr, k)
		}
		r.policies = append(r.policies, p)
		return nil
	}
	for _, r := range in.Module.OfType("aws_iam_role_policy") {
		list, err := in.Instances(r)
		if err != nil {
			return nil, err
		}
		for _, ri := range list {
			doc, err := documentFor(in, ri, "policy")
			if err != nil {
				return nil, err
			}
			if err := attach(ri, doc); err != nil {
				return nil, err
			}
		}
	}
	for _, r := range in.Module.OfType("aws_iam_role_policy_attachment") {
		list, err := in.Instances(r)
		if err != nil {
			return nil, err
		}
		for _, ri := range list {
			arn, err := ri.Body.Attr("policy_arn")
			if err != nil {
				return nil, err
			}
			p, ok := m.managed[str(arn)]
			if !ok {
				// An AWS managed policy, or one this model does not know:
				// granting nothing here makes a needed action fail loudly.
				p = iameval.Policy{Name: "unresolved managed policy " + str(arn)}
			}
			if err := attach(ri, p); err != nil {
				return nil, err
			}
		}
	}
	return roles, nil
}

func (m *model) readECS() error {
	ecs, err := m.child("ecs")
	if err != nil {
		return err
	}
	defs, err := instancesOf(ecs, "aws_ecs_task_definition.this")
	if err != nil {
		return err
	}
	if len(defs) == 0 {
		return fmt.Errorf("module.ecs has no aws_ecs_task_definition.this")
	}
	// The pipeline's one-off migrate task, keyed "migrate".
	mig, err := instancesOf(ecs, "aws_ecs_task_definition.migrate")
	if err != nil {
		return err
	}
	if len(mig) != 1 {
		return fmt.Errorf("module.ecs: want one aws_ecs_task_definition.migrate, got %d", len(mig))
	}
	migrate := mig[0]
	defs = append(defs, migrate)
	for _, d := range defs {
		v, err := d.Body.AttrDecoded("container_definitions")
		if err != nil {
			return err
		}
		if !v.IsKnown() || v.LengthInt() != 1 {
			return fmt.Errorf("task definition %s: want one known container definition", d.KeyString())
		}
		c, err := containerFrom(d.KeyString(), v.Index(cty.NumberIntVal(0)))
		if err != nil {
			return fmt.Errorf("task definition %s: %w", d.KeyString(), err)
		}
		key := d.KeyString()
		if d == migrate {
			key = "migrate"
		}
		m.containers[key] = c
	}
	roles, err := m.rolesOf(ecs)
	if err != nil {
		return err
	}
	for key, r := range roles {
		switch {
		case strings.HasPrefix(key, "aws_iam_role.task["):
			m.taskRoles[strings.TrimSuffix(strings.TrimPrefix(key, "aws_iam_role.task["), "]")] = r
		case strings.HasPrefix(key, "aws_iam_role.execution["):
			m.execRoles[strings.TrimSuffix(strings.TrimPrefix(key, "aws_iam_role.execution["), "]")] = r
		}
	}
	return nil
}

func containerFrom(service string, v cty.Value) (container, error) {
	c := container{service: service, env: map[string]string{}, secrets: map[string]string{}}
	get := func(name string) cty.Value {
		if !v.Type().IsObjectType() || !v.Type().HasAttribute(name) {
			return cty.NullVal(cty.DynamicPseudoType)
		}
		return v.GetAttr(name)
	}
	c.command = strs(get("command"))
	if len(c.command) == 0 {
		return c, fmt.Errorf("no command")
	}
	pairs := func(name, valueKey string, into map[string]string) {
		list := get(name)
		if list.IsNull() || !list.IsKnown() {
			return
		}
		for it := list.ElementIterator(); it.Next(); {
			_, e := it.Element()
			into[str(e.GetAttr("name"))] = str(e.GetAttr(valueKey))
		}
	}
	pairs("environment", "value", c.env)
	pairs("secrets", "valueFrom", c.secrets)
	if lc := get("logConfiguration"); !lc.IsNull() && lc.IsKnown() && lc.Type().IsObjectType() && lc.Type().HasAttribute("options") {
		if o := lc.GetAttr("options"); o.Type().IsObjectType() && o.Type().HasAttribute("awslogs-group") {
			c.logGroup = str(o.GetAttr("awslogs-group"))
		}
	}
	if pm := get("portMappings"); !pm.IsNull() && pm.IsKnown() {
		for it := pm.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if str(e.GetAttr("name")) == "http" {
				n, _ := e.GetAttr("containerPort").AsBigFloat().Int64()
				c.port = n
			}
		}
	}
	return c, nil
}

func (m *model) readScanner() error {
	sc, err := m.child("scanner")
	if err != nil {
		return err
	}
	fns, err := instancesOf(sc, "aws_lambda_function.this")
	if err != nil {
		return err
	}
	for _, f := range fns {
		c := container{service: "lambda-" + f.KeyString(), env: map[string]string{}, secrets: map[string]string{}}
		ics, err := f.Body.Blocks("image_config")
		if err != nil {
			return err
		}
		for _, ic := range ics {
			v, err := ic.Attr("command")
			if err != nil {
				return err
			}
			c.command = strs(v)
		}
		envs, err := f.Body.Blocks("environment")
		if err != nil {
			return err
		}
		for _, e := range envs {
			v, err := e.Attr("variables")
			if err != nil {
				return err
			}
			if v.IsKnown() && !v.IsNull() {
				for it := v.ElementIterator(); it.Next(); {
					k, x := it.Element()
					c.env[k.AsString()] = str(x)
				}
			}
		}
		m.lambdas[f.KeyString()] = c
	}
	roles, err := m.rolesOf(sc)
	if err != nil {
		return err
	}
	for key, r := range roles {
		if k, ok := strings.CutPrefix(key, "aws_iam_role.this["); ok {
			m.lambdaRoles[strings.TrimSuffix(k, "]")] = r
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var _ = filepath.Join

func TestModelReadsProduction(t *testing.T) {
	m := loadModel(t)
	for _, svc := range []string{"tenant", "hq", "api", "worker", "scheduler", "realtime"} {
		c, ok := m.containers[svc]
		if !ok {
			t.Errorf("no task definition for %s", svc)
			continue
		}
		if c.env["PALISADE_ENV"] != "production" {
			t.Errorf("%s: PALISADE_ENV = %q", svc, c.env["PALISADE_ENV"])
		}
		if m.taskRoles[svc] == nil || len(m.taskRoles[svc].policies) == 0 {
			t.Errorf("%s: task role without policies", svc)
		}
		if m.execRoles[svc] == nil || len(m.execRoles[svc].policies) == 0 {
			t.Errorf("%s: execution role without policies", svc)
		}
		t.Logf("%s: %v env=%d secrets=%v", svc, c.command, len(c.env), sortedKeys(c.secrets))
	}
	if _, ok := m.lambdas["scan"]; !ok {
		t.Error("no scan Lambda function")
	}
	if m.lambdaRoles["scan"] == nil {
		t.Error("no scan Lambda role")
	}
}
