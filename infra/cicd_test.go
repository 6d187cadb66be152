package infra_test

// Spec 4 (CI/CD): three independent pipelines, each Source (GitHub
// release) → Build (image → ECR) → Approval (production) → [Migrate] →
// Deploy (ECS rolling), with KMS-encrypted artifacts. Checked against what
// infra/envs/{staging,production} would create.

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/palisade-hq/palisade/infra/tfeval"
)

// Spec 4.1, with our service names: the API pipeline deploys api, worker,
// scheduler and Reverb (realtime); Tenant and HQ deploy their front end.
var specPipelines = map[string][]string{
	"api":    {"api", "worker", "scheduler", "realtime"},
	"tenant": {"tenant"},
	"hq":     {"hq"},
}

func stageNames(t *testing.T, pipeline tfeval.Block) []string {
	t.Helper()
	var out []string
	for _, s := range blocks(t, pipeline, "stage") {
		out = append(out, attr(t, s, "name").AsString())
	}
	return out
}

func stage(t *testing.T, pipeline tfeval.Block, name string) tfeval.Block {
	t.Helper()
	for _, s := range blocks(t, pipeline, "stage") {
		if attr(t, s, "name").AsString() == name {
			return s
		}
	}
	t.Fatalf("no stage %s", name)
	return tfeval.Block{}
}

func config(t *testing.T, action tfeval.Block) map[string]any {
	t.Helper()
	m, _ := goValue(attr(t, action, "configuration")).(map[string]any)
	return m
}

func TestPipelines(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			cicd := child(t, in, "cicd")
			ecs := child(t, in, "ecs")

			pipelines := instances(t, cicd, "aws_codepipeline.this")
			wantSet(t, "pipelines", keys(pipelines), "api", "hq", "tenant")

			for name, services := range specPipelines {
				p := pipelines[name].Body
				what := env + "/" + name
				wantString(t, what+" type", attr(t, p, "pipeline_type"), "V2")

				// Spec 5.2: CI/CD artifacts under KMS.
				store := oneBlock(t, p, "artifact_store")
				key := oneBlock(t, store, "encryption_key")
				wantString(t, what+" artifact key type", attr(t, key, "type"), "KMS")
				setNonNull(t, what+" artifact key", key, "id")

				// Spec 4.2: a GitHub release starts it, not a branch push.
				trig := oneBlock(t, p, "trigger")
				wantString(t, what+" trigger", attr(t, trig, "provider_type"), "CodeStarSourceConnection")
				push := oneBlock(t, oneBlock(t, trig, "git_configuration"), "push")
				if len(blocks(t, push, "branches")) != 0 {
					t.Errorf("%s: triggered by branch pushes", what)
				}
				wantSet(t, what+" release tags", strings_(attr(t, oneBlock(t, push, "tags"), "includes")), "v*")

				want := []string{"Source", "Build"}
				if env == "production" {
					want = append(want, "Approval")
				}
				if name == "api" {
					want = append(want, "Migrate")
				}
				want = append(want, "Deploy")
				if got := stageNames(t, p); !slices.Equal(got, want) {
					t.Errorf("%s stages %v, want %v", what, got, want)
				}

				src := oneBlock(t, stage(t, p, "Source"), "action")
				wantString(t, what+" source", attr(t, src, "provider"), "CodeStarSourceConnection")
				if c := config(t, src); c["FullRepositoryId"] != "palisade-hq/palisade" || c["OutputArtifactFormat"] != "CODEBUILD_CLONE_REF" {
					t.Errorf("%s source configuration %v", what, c)
				}

				if env == "production" {
					appr := oneBlock(t, stage(t, p, "Approval"), "action")
					wantString(t, what+" approval", attr(t, appr, "provider"), "Manual")
					wantString(t, what+" approval category", attr(t, appr, "category"), "Approval")
				}

				// Spec 4.3: ECS rolling deploys of exactly the pipeline's
				// services. Service and cluster names come from the ecs
				// module's resources, which are unknown until apply, so the
				// wiring is checked below (TestPipelineWiring).
				// The stage's other actions (CodeBuild: schema gate, scanner,
				// record) are checked in TestDeployStageOrder.
				var deployed []string
				for _, a := range blocks(t, stage(t, p, "Deploy"), "action") {
					if attr(t, a, "provider").AsString() != "ECS" {
						wantString(t, what+" other deploy-stage action", attr(t, a, "provider"), "CodeBuild")
						continue
					}
					if c := config(t, a); c["FileName"] != "imagedefinitions.json" {
						t.Errorf("%s deploy configuration %v", what, c)
					}
					deployed = append(deployed, strings.TrimPrefix(attr(t, a, "name").AsString(), "Deploy-"))
				}
				wantSet(t, what+" deployed services", deployed, services...)
			}

			// The build writes imagedefinitions.json for the containers the
			// deploy stage updates; container names are the ECS keys.
			projects := instances(t, cicd, "aws_codebuild_project.this")
			wantSet(t, "CodeBuild projects", keys(projects), "build-api", "build-hq", "build-tenant", "build-scanner", "migrate",
				"release-api", "release-hq", "release-tenant")
			for k, pr := range projects {
				envb := oneBlock(t, pr.Body, "environment")
				// Only the scanner image needs a Docker daemon.
				wantBool(t, k+" privileged", attr(t, envb, "privileged_mode"), k == "build-scanner")
				wantString(t, k+" arch", attr(t, envb, "type"), "ARM_CONTAINER")
				setNonNull(t, k+" encryption key", pr.Body, "encryption_key")
				bs := attr(t, oneBlock(t, pr.Body, "source"), "buildspec").AsString()
				if _, err := os.Stat(filepath.Join("..", bs)); err != nil {
					t.Errorf("%s buildspec %s: %v", k, bs, err)
				}
				vars := map[string]string{}
				for _, ev := range blocks(t, envb, "environment_variable") {
					if v := attr(t, ev, "value"); v.IsKnown() {
						vars[attr(t, ev, "name").AsString()] = v.AsString()
					} else {
						vars[attr(t, ev, "name").AsString()] = "<unknown>"
					}
				}
				if k == "migrate" {
					// The migration runs as its own task definition family,
					// the only one with the master DSN (no service's).
					mig := instances(t, ecs, "aws_ecs_task_definition.migrate")
					if len(mig) != 1 {
						t.Fatalf("module.ecs: want one aws_ecs_task_definition.migrate, got %d", len(mig))
					}
					for _, md := range mig {
						wantString(t, "migrate family", cty.StringVal(vars["TASK_FAMILY"]), attr(t, md.Body, "family").AsString())
					}
					wantString(t, "migrate container", cty.StringVal(vars["CONTAINER"]), "migrate")
					wantString(t, "migrate schema parameter", cty.StringVal(vars["SCHEMA_PARAMETER"]), "/palisade-"+env+"/release/schema-version")
					continue
				}
				if k == "build-scanner" {
					wantString(t, "scanner repository", cty.StringVal(vars["SCANNER_REPO"]), "<unknown>")
					continue
				}
				p := strings.TrimPrefix(strings.TrimPrefix(k, "build-"), "release-")
				wantString(t, k+" containers", cty.StringVal(vars["CONTAINERS"]), joinComma(specPipelines[p]))
			}

			// CodeBuild logs: 90 days under KMS (spec 5.3).
			for k, lg := range instances(t, cicd, "aws_cloudwatch_log_group.codebuild") {
				wantNumber(t, k+" log retention", attr(t, lg.Body, "retention_in_days"), 90)
				setNonNull(t, k+" log key", lg.Body, "kms_key_id")
			}

			topics := instances(t, cicd, "aws_sns_topic.approvals")
			if env == "production" {
				if len(topics) != 1 {
					t.Fatalf("production has %d approval topics", len(topics))
				}
				for _, tp := range topics {
					setNonNull(t, "approval topic key", tp.Body, "kms_master_key_id")
				}
			} else if len(topics) != 0 {
				t.Errorf("staging has an approval topic")
			}
		})
	}
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// TestPipelineTagPatternsValidated: an unknown pipeline name or an empty
// pattern list is refused at plan time.
func TestPipelineTagPatternsValidated(t *testing.T) {
	m, err := tfeval.NewLoader().Load(filepath.Join("modules", "cicd"))
	if err != nil {
		t.Fatal(err)
	}
	v := m.Variables["release_tag_patterns"]
	for name, val := range map[string]cty.Value{
		"unknown pipeline": cty.MapVal(map[string]cty.Value{"web": cty.ListVal([]cty.Value{cty.StringVal("v*")})}),
		"empty patterns": cty.MapVal(map[string]cty.Value{
			"api": cty.ListValEmpty(cty.String), "tenant": cty.ListVal([]cty.Value{cty.StringVal("v*")}), "hq": cty.ListVal([]cty.Value{cty.StringVal("v*")}),
		}),
		"missing pipeline": cty.MapVal(map[string]cty.Value{"api": cty.ListVal([]cty.Value{cty.StringVal("v*")})}),
	} {
		msgs, err := v.Validate(val)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(msgs) == 0 {
			t.Errorf("%s accepted", name)
		}
	}
	ok := cty.MapVal(map[string]cty.Value{
		"api": cty.ListVal([]cty.Value{cty.StringVal("v*")}), "tenant": cty.ListVal([]cty.Value{cty.StringVal("v*")}), "hq": cty.ListVal([]cty.Value{cty.StringVal("v*")}),
	})
	if msgs, err := v.Validate(ok); err != nil || len(msgs) != 0 {
		t.Errorf("a valid value refused: %v %v", msgs, err)
	}
}

// TestPipelineWiring: each env hands the cicd module the ecs module's own
// cluster, services and roles, and the deploy actions address services by
// the container name that imagedefinitions.json uses.
func TestPipelineWiring(t *testing.T) {
	for _, env := range envs {
		b, err := os.ReadFile(filepath.Join("envs", env, "main.tf"))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{
			`cluster_name\s*=\s*module\.ecs\.cluster_name`,
			`service_names\s*=\s*module\.ecs\.service_names`,
			`task_role_arns\s*=\s*module\.ecs\.task_role_arns`,
			`execution_role_arns\s*=\s*module\.ecs\.execution_role_arns`,
			`image_repository_url\s*=\s*module\.security\.ecr_repository_urls\["palisade"\]`,
			`artifacts_bucket_name\s*=\s*module\.storage\.artifacts_bucket_name`,
			`migrate_security_group_ids\s*=\s*\[module\.alb\.service_security_group_ids\["api"\]\]`,
			`migrate_subnet_ids\s*=\s*module\.network\.private_subnet_ids`,
		} {
			if !regexp.MustCompile(want).Match(b) {
				t.Errorf("envs/%s: module cicd lacks %s", env, want)
			}
		}
	}
	m, err := tfeval.NewLoader().Load(filepath.Join("modules", "cicd"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(sourceOf(m.Find("aws_codepipeline.this")))
	for _, want := range []string{
		`ClusterName\s*=\s*var\.cluster_name`,
		`ServiceName\s*=\s*var\.service_names\[action\.value\]`,
	} {
		if !regexp.MustCompile(want).MatchString(src) {
			t.Errorf("aws_codepipeline.this lacks %s", want)
		}
	}
}

// deployStage returns the Deploy stage's actions by name with their run
// order.
func deployStage(t *testing.T, p tfeval.Block) map[string]tfeval.Block {
	t.Helper()
	out := map[string]tfeval.Block{}
	for _, a := range blocks(t, stage(t, p, "Deploy"), "action") {
		out[attr(t, a, "name").AsString()] = a
	}
	return out
}

func runOrder(t *testing.T, a tfeval.Block) int64 {
	t.Helper()
	v := attr(t, a, "run_order")
	if v.IsNull() {
		return 1
	}
	n, _ := v.AsBigFloat().Int64()
	return n
}

func stepOf(t *testing.T, a tfeval.Block) string {
	t.Helper()
	c := config(t, a)
	ev, _ := c["EnvironmentVariables"].(string)
	switch {
	case strings.Contains(ev, `"value":"gate"`):
		return "gate"
	case strings.Contains(ev, `"value":"scanner"`):
		return "scanner"
	case strings.Contains(ev, `"value":"record"`):
		return "record"
	}
	return ""
}

// TestDeployStageOrder: issue 15 items 5, 8 and 9. Tenant and hq deploy
// only after a gate on the schema version the API's Migrate stage writes;
// the API pipeline deploys the scanner image beside its services; every
// pipeline records the tags it deployed last, in the parameters the task
// definitions read.
func TestDeployStageOrder(t *testing.T) {
	for _, env := range envs {
		t.Run(env, func(t *testing.T) {
			in := root(t, env, nil)
			cicd := child(t, in, "cicd")
			pipelines := instances(t, cicd, "aws_codepipeline.this")
			for name, services := range specPipelines {
				actions := deployStage(t, pipelines[name].Body)
				deployOrder := int64(-1)
				for _, s := range services {
					a, ok := actions["Deploy-"+s]
					if !ok {
						t.Fatalf("%s: no Deploy-%s", name, s)
					}
					deployOrder = runOrder(t, a)
				}
				steps := map[string]int64{}
				for n, a := range actions {
					if st := stepOf(t, a); st != "" {
						steps[st] = runOrder(t, a)
						if c := config(t, a); c["PrimarySource"] != "source" {
							t.Errorf("%s %s: primary source %v", name, n, c["PrimarySource"])
						}
					}
				}
				if n := strings.Count(string(sourceOf(cicd.Module.Find("aws_codepipeline.this"))), `aws_codebuild_project.this["release-${each.key}"]`); n != 3 {
					t.Errorf("%d deploy-stage steps run the pipeline's own release project, want 3", n)
				}
				if r, ok := steps["record"]; !ok || r <= deployOrder {
					t.Errorf("%s: the record step (%v) must follow the ECS deploys (%d)", name, steps, deployOrder)
				}
				if name == "api" {
					if _, ok := steps["gate"]; ok {
						t.Error("api pipeline must not wait on itself")
					}
					if r, ok := steps["scanner"]; !ok || r != deployOrder {
						t.Errorf("api: the scanner deploy (%v) must run with the service deploys (%d)", steps, deployOrder)
					}
					continue
				}
				if g, ok := steps["gate"]; !ok || g >= deployOrder {
					t.Errorf("%s: the schema gate (%v) must run before Deploy-%s (%d)", name, steps, services[0], deployOrder)
				}
			}

			// The Migrate stage writes the parameter the gates read, and
			// each release project may touch its own parameters only.
			docs := instances(t, cicd, "data.aws_iam_policy_document.codebuild")
			actionsOf := func(project string) map[string]bool {
				out := map[string]bool{}
				for _, st := range blocks(t, docs[project].Body, "statement") {
					for _, a := range strings_(attr(t, st, "actions")) {
						out[a] = true
					}
				}
				return out
			}
			if !actionsOf("migrate")["ssm:PutParameter"] {
				t.Error("migrate cannot record the schema version")
			}
			for _, p := range []string{"release-tenant", "release-hq"} {
				a := actionsOf(p)
				if !a["ssm:GetParameter"] || !a["ssm:PutParameter"] || a["lambda:UpdateFunctionCode"] {
					t.Errorf("%s actions %v: want the schema read and the tag write only", p, keys(a))
				}
			}
			if a := actionsOf("release-api"); a["ssm:GetParameter"] || !a["lambda:UpdateFunctionCode"] {
				t.Errorf("release-api actions %v: want the tag write and the scanner deploy", keys(a))
			}
			tagParams, err := cicd.Local("image_tag_parameter_arns")
			if err != nil {
				t.Fatal(err)
			}
			ecs := child(t, in, "ecs")
			for _, name := range keys(specPipelines) {
				for i, s := range specPipelines[name] {
					arn := tagParams.GetAttr(name).Index(cty.NumberIntVal(int64(i)))
					param := attr(t, instances(t, ecs, "aws_ssm_parameter.image_tag")[s].Body, "name").AsString()
					if arn.IsKnown() && !strings.HasSuffix(arn.AsString(), ":parameter"+param) {
						t.Errorf("%s may write %s, but %s reads %s", name, arn.AsString(), s, param)
					}
				}
			}

			// The API pipeline builds the scanner image in its Build stage.
			build := stage(t, pipelines["api"].Body, "Build")
			found := false
			for _, a := range blocks(t, build, "action") {
				found = found || attr(t, a, "name").AsString() == "Build-scanner"
			}
			if !found {
				t.Error("the API pipeline does not build the scanner image")
			}
		})
	}
}
