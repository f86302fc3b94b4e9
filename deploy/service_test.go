package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	aas "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	aastypes "github.com/aws/aws-sdk-go-v2/service/applicationautoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// svcEnv is an endpoint with an opsctl Fargate spot cluster "prod", an ECR
// repository "api" holding api:v1 and api:v2, an SSM parameter and a secret.
type svcEnv struct {
	srv       *localaws.Server
	clk       *clock.Fake
	deps      deploy.Deps
	ecs       *ecs.Client
	aas       *aas.Client
	iam       *iam.Client
	secretArn string
	registry  string
}

func svcSetup(t *testing.T, fargate bool) svcEnv {
	t.Helper()
	return svcSetupWith(t, localaws.Options{}, fargate)
}

func svcSetupWith(t *testing.T, opts localaws.Options, fargateOpt ...bool) svcEnv {
	t.Helper()
	fargate := len(fargateOpt) == 0 || fargateOpt[0]
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	opts.Clock = clk
	srv := localawstest.Start(t, opts)
	cfg := localawstest.Config(srv, 1)
	e := svcEnv{srv: srv, clk: clk, ecs: ecs.NewFromConfig(cfg), aas: aas.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg),
		registry: srv.Account + ".dkr.ecr." + srv.Region + ".amazonaws.com"}
	e.deps = deploy.Deps{ECS: e.ecs, EC2: ec2.NewFromConfig(cfg), AutoScaling: autoscaling.NewFromConfig(cfg), IAM: e.iam, SSM: ssm.NewFromConfig(cfg), AppScaling: e.aas,
		Secrets: secretsmanager.NewFromConfig(cfg), ECR: ecr.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg),
		Region: srv.Region, Account: srv.Account, Partition: "aws", Clock: clk}
	ctx := context.Background()
	co := deploy.ClusterOptions{Name: "prod", Fargate: fargate, Spot: true, OnDemandBase: 1}
	if !fargate {
		co.Max = deploy.DefaultMax
	}
	if _, err := deploy.CreateCluster(ctx, e.deps, co.WithDefaults()); err != nil {
		t.Fatalf("cluster: %v", err)
	}
	ecrc := ecr.NewFromConfig(cfg)
	if _, err := ecrc.CreateRepository(ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("api")}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"v1", "v2"} {
		m := `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:` + tag + `"}}`
		if _, err := ecrc.PutImage(ctx, &ecr.PutImageInput{RepositoryName: aws.String("api"), ImageManifest: aws.String(m), ImageTag: aws.String(tag)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/prod/api/db_url"), Value: aws.String("postgres://db"), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
		t.Fatal(err)
	}
	sec, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/api/token"), SecretString: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	e.secretArn = aws.ToString(sec.ARN)
	srv.ResetCalls()
	return e
}

func (e svcEnv) image(tag string) string { return e.registry + "/api:" + tag }

func (e svcEnv) opts(tag string) deploy.ServiceOptions {
	return deploy.ServiceOptions{Cluster: "prod", Name: "api", Image: e.image(tag), Port: 8080, Desired: 2,
		Env:     map[string]string{"MODE": "prod"},
		Secrets: []deploy.SecretRef{{Name: "DB_URL", Kind: "ssm", Ref: "/prod/api/db_url"}, {Name: "TOKEN", Kind: "secretsmanager", Ref: e.secretArn}},
		Min:     1, Max: 6, CPUTarget: 60}
}

func (e svcEnv) writeOps() []string {
	var out []string
	for _, c := range e.srv.WriteCalls() {
		out = append(out, c.Service+":"+c.Operation)
	}
	return out
}

func changeStatus(cs []plan.Change) map[string]string {
	m := map[string]string{}
	for _, c := range cs {
		m[c.Resource] = c.Status
	}
	return m
}

func describeAPI(t *testing.T, e svcEnv) ecstypes.Service {
	t.Helper()
	out, err := e.ecs.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"api"}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe: %v %+v", err, out)
	}
	return out.Services[0]
}

func TestServiceCreateBuildsEverythingOnceAndReRunWritesNothing(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	res, err := deploy.CreateService(ctx, e.deps, e.opts("v1"))
	if err != nil {
		t.Fatal(err)
	}
	st := changeStatus(res.Changes)
	for _, r := range []string{"log-group", "iam-role", "iam-role-policy", "task-definition", "ecs-service", "scalable-target", "scaling-policy"} {
		if st[r] != plan.StatusApplied {
			t.Fatalf("%s: %s (changes %+v)", r, st[r], res.Changes)
		}
	}
	svc := describeAPI(t, e)
	// Rolling updates 100/200 with the circuit breaker and rollback (botocore
	// ecs DeploymentConfiguration, DeploymentCircuitBreaker).
	dc := svc.DeploymentConfiguration
	if aws.ToInt32(dc.MinimumHealthyPercent) != 100 || aws.ToInt32(dc.MaximumPercent) != 200 || !dc.DeploymentCircuitBreaker.Enable || !dc.DeploymentCircuitBreaker.Rollback {
		t.Fatalf("deployment configuration %+v", dc)
	}
	// The cluster's strategy: FARGATE base 1, the rest on FARGATE_SPOT.
	if len(svc.CapacityProviderStrategy) != 2 || aws.ToString(svc.CapacityProviderStrategy[1].CapacityProvider) != "FARGATE_SPOT" || svc.CapacityProviderStrategy[0].Base != 1 {
		t.Fatalf("strategy %+v", svc.CapacityProviderStrategy)
	}
	if svc.NetworkConfiguration == nil || len(svc.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups) != 1 || svc.NetworkConfiguration.AwsvpcConfiguration.AssignPublicIp != ecstypes.AssignPublicIpEnabled {
		t.Fatalf("network %+v", svc.NetworkConfiguration)
	}
	td, err := e.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition})
	if err != nil {
		t.Fatal(err)
	}
	c := td.TaskDefinition.ContainerDefinitions[0]
	if td.TaskDefinition.NetworkMode != ecstypes.NetworkModeAwsvpc || aws.ToInt32(c.StopTimeout) > 120 ||
		c.LogConfiguration.LogDriver != ecstypes.LogDriverAwslogs || c.LogConfiguration.Options["awslogs-group"] != "/ecs/prod/api" ||
		len(c.Secrets) != 2 || aws.ToString(c.Image) != e.image("v1") || aws.ToString(td.TaskDefinition.Cpu) != "256" {
		t.Fatalf("task definition %+v / %+v", td.TaskDefinition, c)
	}
	// The execution role: confused-deputy conditions in the trust policy,
	// and only this service's secrets in its permissions.
	role, err := e.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-prod-api-exec")})
	if err != nil {
		t.Fatal(err)
	}
	trust := decodeURL(aws.ToString(role.Role.AssumeRolePolicyDocument))
	if !strings.Contains(trust, `"aws:SourceAccount"`) || !strings.Contains(trust, `"aws:SourceArn"`) || !strings.Contains(trust, "ecs-tasks.amazonaws.com") {
		t.Fatalf("trust %s", trust)
	}
	pol, err := e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("opsctl-prod-api-exec"), PolicyName: aws.String("opsctl-execution")})
	if err != nil {
		t.Fatal(err)
	}
	perm := decodeURL(aws.ToString(pol.PolicyDocument))
	for _, want := range []string{"repository/api", "log-group:/ecs/prod/api:*", "parameter/prod/api/db_url", e.secretArn} {
		if !strings.Contains(perm, want) {
			t.Fatalf("permissions lack %s: %s", want, perm)
		}
	}
	if strings.Contains(perm, `"Resource": "*"`) && strings.Count(perm, `"*"`) > 1 {
		t.Fatalf("wildcard resources beyond GetAuthorizationToken: %s", perm)
	}
	// Auto scaling: the target and CPU target tracking.
	tg, _ := e.aas.DescribeScalableTargets(ctx, &aas.DescribeScalableTargetsInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceIds: []string{"service/prod/api"}})
	if len(tg.ScalableTargets) != 1 || aws.ToInt32(tg.ScalableTargets[0].MinCapacity) != 1 || aws.ToInt32(tg.ScalableTargets[0].MaxCapacity) != 6 {
		t.Fatalf("targets %+v", tg.ScalableTargets)
	}
	pols, _ := e.aas.DescribeScalingPolicies(ctx, &aas.DescribeScalingPoliciesInput{ServiceNamespace: aastypes.ServiceNamespaceEcs, ResourceId: aws.String("service/prod/api")})
	if len(pols.ScalingPolicies) != 1 || pols.ScalingPolicies[0].TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType != aastypes.MetricTypeECSServiceAverageCPUUtilization {
		t.Fatalf("policies %+v", pols.ScalingPolicies)
	}

	// A re-run, also after the deployment progressed, writes nothing.
	e.clk.Advance(5 * time.Minute)
	e.srv.ResetCalls()
	res2, err := deploy.CreateService(ctx, e.deps, e.opts("v1"))
	if err != nil {
		t.Fatal(err)
	}
	if w := e.writeOps(); len(w) != 0 || res2.Counts.Applied != 0 {
		t.Fatalf("re-run wrote %v (%+v)", w, res2.Counts)
	}
}

func decodeURL(s string) string {
	if strings.HasPrefix(s, "%7B") {
		r := strings.NewReplacer("%7B", "{", "%7D", "}", "%22", `"`, "%3A", ":", "%2C", ",", "%20", " ", "%0A", "\n", "%5B", "[", "%5D", "]", "%2F", "/", "%2A", "*")
		return r.Replace(s)
	}
	return s
}

func TestServiceUpdateChangesOnlyWhatDiffers(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	if _, err := deploy.CreateService(ctx, e.deps, e.opts("v1")); err != nil {
		t.Fatal(err)
	}
	before := aws.ToString(describeAPI(t, e).TaskDefinition)
	o := e.opts("v2")
	o.Max, o.CPUTarget, o.MemoryTarget = 8, 50, 70
	e.srv.ResetCalls()
	diff, err := deploy.DiffService(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.writeOps()) != 0 {
		t.Fatalf("diff wrote %v", e.writeOps())
	}
	var fields []string
	for _, c := range diff.Changes {
		for _, d := range c.Diff {
			fields = append(fields, c.Resource+"."+d.Field)
		}
	}
	got := strings.Join(fields, " ")
	for _, want := range []string{"task-definition.image", "ecs-service.task definition", "scalable-target.max", "scaling-policy.target"} {
		if !strings.Contains(got, want) {
			t.Fatalf("diff lacks %s: %s", want, got)
		}
	}
	e.srv.ResetCalls()
	res, err := deploy.UpdateService(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(e.writeOps(), " ")
	for _, want := range []string{"ecs:RegisterTaskDefinition", "ecs:UpdateService", "application-autoscaling:RegisterScalableTarget", "application-autoscaling:PutScalingPolicy"} {
		if !strings.Contains(w, want) {
			t.Fatalf("writes %s lack %s", w, want)
		}
	}
	for _, not := range []string{"CreateRole", "PutRolePolicy", "CreateLogGroup", "CreateService"} {
		if strings.Contains(w, not) {
			t.Fatalf("update rewrote %s: %s", not, w)
		}
	}
	after := aws.ToString(describeAPI(t, e).TaskDefinition)
	if after == before || res.TaskDefinition != after {
		t.Fatalf("task definition %s → %s (result %s)", before, after, res.TaskDefinition)
	}
	// Update of a missing service is an error, not a create.
	o.Name = "web"
	if _, err := deploy.UpdateService(ctx, e.deps, o); err == nil || !strings.Contains(err.Error(), "service create") {
		t.Fatalf("update of missing service: %v", err)
	}
}

func TestServiceChecksBeforeAnyWrite(t *testing.T) {
	e := svcSetup(t, true)
	ctx := context.Background()
	cases := map[string]struct {
		mod  func(o *deploy.ServiceOptions)
		want string
	}{
		// ecremu: botocore ecr DescribeImages errors ImageNotFoundException / RepositoryNotFoundException.
		"image tag missing":  {func(o *deploy.ServiceOptions) { o.Image = e.image("v9") }, "does not exist"},
		"repository missing": {func(o *deploy.ServiceOptions) { o.Image = e.registry + "/web:v1" }, "repository web does not exist"},
		"ssm parameter missing": {func(o *deploy.ServiceOptions) {
			o.Secrets = []deploy.SecretRef{{Name: "X", Kind: "ssm", Ref: "/prod/none"}}
		}, "SSM parameter /prod/none does not exist"},
		"secret missing": {func(o *deploy.ServiceOptions) {
			o.Secrets = []deploy.SecretRef{{Name: "X", Kind: "secretsmanager", Ref: "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf"}}
		}, "does not exist"},
		"cluster missing": {func(o *deploy.ServiceOptions) { o.Cluster = "staging" }, "cluster staging not found"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e.srv.ResetCalls()
			o := e.opts("v1")
			tc.mod(&o)
			_, err := deploy.CreateService(ctx, e.deps, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if w := e.writeOps(); len(w) != 0 {
				t.Fatalf("wrote %v before failing", w)
			}
		})
	}
	// On update, the container must be in the running task definition.
	if _, err := deploy.CreateService(ctx, e.deps, e.opts("v1")); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	o := e.opts("v2")
	o.Container = "worker"
	_, err := deploy.UpdateService(ctx, e.deps, o)
	if err == nil || !strings.Contains(err.Error(), "container worker is not in task definition") {
		t.Fatalf("err = %v", err)
	}
	if w := e.writeOps(); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestServiceBadInputIsAUsageErrorWithNoCalls(t *testing.T) {
	e := svcSetup(t, true)
	cases := map[string]func(o *deploy.ServiceOptions){
		"no tag":     func(o *deploy.ServiceOptions) { o.Image = e.registry + "/api" },
		"bad repo":   func(o *deploy.ServiceOptions) { o.Image = "API:v1" },
		"bad digest": func(o *deploy.ServiceOptions) { o.Image = "api@sha256:xyz" },
		"bad tag":    func(o *deploy.ServiceOptions) { o.Image = "api:.v1" },
		// botocore ecs RegisterTaskDefinitionRequest.memory: cpu 256 takes 512, 1024 or 2048.
		"fargate combo": func(o *deploy.ServiceOptions) { o.CPU, o.Memory = 256, 4096 },
		"fargate cpu":   func(o *deploy.ServiceOptions) { o.CPU, o.Memory = 300, 1024 },
		"min over max":  func(o *deploy.ServiceOptions) { o.Min, o.Max = 5, 2 },
		"desired out":   func(o *deploy.ServiceOptions) { o.Desired = 9 },
		"port":          func(o *deploy.ServiceOptions) { o.Port = 70000 },
		"service name":  func(o *deploy.ServiceOptions) { o.Name = "bad name" },
		"container":     func(o *deploy.ServiceOptions) { o.Container = "a/b" },
		"env twice":     func(o *deploy.ServiceOptions) { o.Env = map[string]string{"TOKEN": "x"} },
		"cpu target":    func(o *deploy.ServiceOptions) { o.CPUTarget = 150 },
		"email":         func(o *deploy.ServiceOptions) { o.AlarmEmail = "not-an-email" },
		// botocore logs PutRetentionPolicyRequest.retentionInDays enum.
		"retention": func(o *deploy.ServiceOptions) { o.LogRetention = 31 },
		"threshold": func(o *deploy.ServiceOptions) { o.FailureThreshold = 500 },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			e.srv.ResetCalls()
			o := e.opts("v1")
			mod(&o)
			_, err := deploy.CreateService(context.Background(), e.deps, o)
			var u *opserr.UsageError
			if !errors.As(err, &u) {
				t.Fatalf("err = %v (%T), want a usage error", err, err)
			}
			if n := len(e.srv.Calls()); n != 0 {
				t.Fatalf("%d calls before the usage error", n)
			}
		})
	}
}

func TestServiceFaultOnEachWriteIsRepairedByReRun(t *testing.T) {
	writes := []struct{ service, op string }{
		{"logs", "CreateLogGroup"}, {"logs", "PutRetentionPolicy"}, {"iam", "CreateRole"}, {"iam", "PutRolePolicy"},
		{"ecs", "RegisterTaskDefinition"}, {"ecs", "CreateService"},
		{"application-autoscaling", "RegisterScalableTarget"}, {"application-autoscaling", "PutScalingPolicy"},
	}
	for _, w := range writes {
		t.Run(w.op, func(t *testing.T) {
			e := svcSetup(t, true)
			ctx := context.Background()
			e.srv.InjectFault(localaws.Fault{Service: w.service, Operation: w.op, Kind: localaws.FaultError, Code: "AccessDeniedException", Message: "injected", Status: 400})
			res, err := deploy.CreateService(ctx, e.deps, e.opts("v1"))
			if err == nil {
				t.Fatal("the fault did not surface")
			}
			failed := false
			for _, c := range res.Changes {
				failed = failed || c.Status == plan.StatusFailed
			}
			if !failed {
				t.Fatalf("no failed change in %+v", res.Changes)
			}
			if _, err := deploy.CreateService(ctx, e.deps, e.opts("v1")); err != nil {
				t.Fatalf("repairing re-run: %v", err)
			}
			e.srv.ResetCalls()
			if _, err := deploy.CreateService(ctx, e.deps, e.opts("v1")); err != nil || len(e.writeOps()) != 0 {
				t.Fatalf("third run: %v, writes %v", err, e.writeOps())
			}
			// Exactly one revision: the repair reused what was there.
			out, _ := e.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("prod-api")})
			if len(out.TaskDefinitionArns) != 1 {
				t.Fatalf("revisions %v", out.TaskDefinitionArns)
			}
		})
	}
}

func TestServiceDryRunShowsPlanAndPoliciesAndWritesNothing(t *testing.T) {
	e := svcSetup(t, true)
	o := e.opts("v1")
	o.DryRun = true
	res, err := deploy.CreateService(context.Background(), e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.writeOps()) != 0 || res.Counts.Planned == 0 {
		t.Fatalf("writes %v counts %+v", e.writeOps(), res.Counts)
	}
	var trust map[string]any
	if err := json.Unmarshal([]byte(res.Policies.ExecutionTrust), &trust); err != nil || !strings.Contains(res.Policies.ExecutionPermissions, "secretsmanager:GetSecretValue") ||
		!strings.Contains(res.Policies.TaskDefinition, `"stopTimeout": 110`) {
		t.Fatalf("policies %+v (%v)", res.Policies, err)
	}
}

func TestServiceAlarmEmailAddsTheLogAlarmAndAttachesItToDeployments(t *testing.T) {
	e := svcSetupWith(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	ctx := context.Background()
	cfg := localawstest.Config(e.srv, 1)
	e.deps.Alarms = alarms.Deps{CloudWatch: cloudwatch.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg),
		IAM: iam.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg), Region: e.srv.Region}
	o := e.opts("v1")
	o.AlarmEmail = "ops@example.com"
	res, err := deploy.CreateService(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Alarm != "opsctl-prod-api-errors" {
		t.Fatalf("alarm %q", res.Alarm)
	}
	// botocore ecs DeploymentAlarms{alarmNames, enable, rollback}.
	dc := describeAPI(t, e).DeploymentConfiguration
	if dc.Alarms == nil || !dc.Alarms.Enable || !dc.Alarms.Rollback || len(dc.Alarms.AlarmNames) != 1 || dc.Alarms.AlarmNames[0] != res.Alarm {
		t.Fatalf("deployment alarms %+v", dc.Alarms)
	}
	al, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{res.Alarm}})
	if err != nil || len(al.MetricAlarms)+len(al.CompositeAlarms) == 0 {
		t.Fatalf("alarm not created: %v %+v", err, al)
	}
	mf, err := cloudwatchlogs.NewFromConfig(cfg).DescribeMetricFilters(ctx, &cloudwatchlogs.DescribeMetricFiltersInput{LogGroupName: aws.String("/ecs/prod/api")})
	if err != nil || len(mf.MetricFilters) == 0 {
		t.Fatalf("no metric filter on the service's log group: %v", err)
	}
	e.srv.ResetCalls()
	if _, err := deploy.CreateService(ctx, e.deps, o); err != nil || len(e.writeOps()) != 0 {
		t.Fatalf("re-run: %v writes %v", err, e.writeOps())
	}
}
