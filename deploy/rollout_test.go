package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/wait"
)

// rolloutFixture is an endpoint on a fake clock shared with Deps, so a
// follow's sleeps move ECS's time: a 20-minute rollout runs in milliseconds.
type rolloutFixture struct {
	t    testing.TB
	srv  *localaws.Server
	clk  clock.Advancer
	deps Deps
	ecs  *ecs.Client
	ctx  context.Context
}

const testImageRepo = "000000000000.dkr.ecr.us-east-1.amazonaws.com/web"

func newRolloutFixture(t testing.TB) *rolloutFixture {
	t.Helper()
	clk := clock.NewFake(time.Time{})
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	cfg := localawstest.Config(srv, 0)
	f := &rolloutFixture{t: t, srv: srv, clk: clk, ecs: ecs.NewFromConfig(cfg), ctx: context.Background()}
	f.deps = Deps{ECS: f.ecs, ECR: ecr.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg),
		SSM: ssm.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg), Clock: clk, Region: srv.Region, Account: srv.Account}
	return f
}

// setup creates a Fargate cluster, a revision 1 with image web:v1 and a
// service of desired tasks with the circuit breaker (rollback on), and lets
// the first deployment complete.
func (f *rolloutFixture) setup(desired int32, breaker bool) {
	f.t.Helper()
	must := func(_ any, err error) {
		f.t.Helper()
		if err != nil {
			f.t.Fatal(err)
		}
	}
	if f.deps.IAM != nil {
		must(f.deps.IAM.(*iam.Client).CreateRole(f.ctx, &iam.CreateRoleInput{RoleName: aws.String("web-exec"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)}))
	}
	must(f.ecs.CreateCluster(f.ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod"), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Base: 1, Weight: 1}, {CapacityProvider: aws.String("FARGATE_SPOT"), Weight: 2}}}))
	must(f.ecs.RegisterTaskDefinition(f.ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: types.NetworkModeAwsvpc, RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		Cpu: aws.String("256"), Memory: aws.String("512"), ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/web-exec"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("example/web:v1"), Essential: aws.Bool(true),
				Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("prod")}},
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}},
				LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
					"awslogs-group": "/ecs/prod/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}},
			{Name: aws.String("sidecar"), Image: aws.String("example/proxy:1"), Essential: aws.Bool(false)},
		},
	}))
	must(f.ecs.CreateService(f.ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("prod"), ServiceName: aws.String("web"), TaskDefinition: aws.String("web:1"), DesiredCount: aws.Int32(desired),
		NetworkConfiguration:    &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: breaker}},
	}))
	f.clk.Advance(5 * time.Minute)
	f.srv.ResetCalls()
}

func (f *rolloutFixture) service() types.Service {
	f.t.Helper()
	out, err := f.ecs.DescribeServices(f.ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})
	if err != nil || len(out.Services) != 1 {
		f.t.Fatalf("DescribeServices: %v", err)
	}
	return out.Services[0]
}

func (f *rolloutFixture) writes() []string {
	var ops []string
	for _, c := range f.srv.WriteCalls() {
		ops = append(ops, c.Operation)
	}
	return ops
}

func TestRolloutCompletesAndReportsThisDeployment(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(3, true)
	var ticks []wait.Tick
	f.deps.OnTick = func(tk wait.Tick) { ticks = append(ticks, tk) }

	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"})
	if err != nil {
		t.Fatalf("Rollout: %v", err)
	}
	if res.State != StateCompleted || res.Revision != 2 || res.PreviousRevision != 1 {
		t.Errorf("result = %s revision %d (from %d), want completed 2 (from 1)", res.State, res.Revision, res.PreviousRevision)
	}
	if !strings.HasPrefix(res.DeploymentID, "ecs-svc/") || res.ServiceDeploymentArn == "" {
		t.Errorf("deployment id %q / service deployment %q", res.DeploymentID, res.ServiceDeploymentArn)
	}
	svc := f.service()
	if p := svc.Deployments[0]; aws.ToString(p.Id) != res.DeploymentID || p.RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("service's PRIMARY = %s %s, want this deployment COMPLETED", aws.ToString(p.Id), p.RolloutState)
	}
	joined := strings.Join(res.Events, "\n")
	// AWS's event "(service S) (deployment ecs-svc/N) deployment completed." (same
	// shape as "deployment failed: alarm detected." in aws/copilot-cli
	// internal/pkg/stream/ecs_test.go).
	if !strings.Contains(joined, "(deployment "+res.DeploymentID+") deployment completed.") {
		t.Errorf("events seen while following lack the completion:\n%s", joined)
	}
	if len(ticks) < 2 || ticks[len(ticks)-1].Fraction != 1 {
		t.Errorf("progress ticks = %+v, want several ending at fraction 1", ticks)
	}

	// The new revision differs from revision 1 only in the app image.
	r1, _ := f.ecs.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	r2, _ := f.ecs.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:2")})
	a, b := registerInput(r1.TaskDefinition, nil), registerInput(r2.TaskDefinition, nil)
	if aws.ToString(b.ContainerDefinitions[0].Image) != "example/web:v2" || aws.ToString(b.ContainerDefinitions[1].Image) != "example/proxy:1" {
		t.Fatalf("revision 2 images: %s, %s", aws.ToString(b.ContainerDefinitions[0].Image), aws.ToString(b.ContainerDefinitions[1].Image))
	}
	b.ContainerDefinitions[0].Image = a.ContainerDefinitions[0].Image
	if got, want := wireString(b), wireString(a); got != want {
		t.Errorf("revision 2 differs from 1 beyond the image:\n%s\n%s", got, want)
	}

	// A re-run with the same image writes nothing.
	f.srv.ResetCalls()
	again, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"})
	if err != nil || again.State != StateUnchanged {
		t.Errorf("re-run = %s, %v; want unchanged", again.State, err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("re-run made write calls %v", w)
	}
}

func wireString(in *ecs.RegisterTaskDefinitionInput) string {
	b, err := json.Marshal(in)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestRolloutFailureRolledBackExitsOneWithTheReason(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(2, true)
	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:fail-pull", Container: "app"})
	if err == nil {
		t.Fatalf("Rollout of an image that cannot be pulled succeeded: %+v", res)
	}
	t.Logf("rollout error: %v", err)
	if code := opserr.ExitCode(err); code != 1 {
		t.Errorf("exit code = %d, want 1", code)
	}
	if res.State != StateRolledBack || res.RolledBackTo != 1 {
		t.Errorf("state = %s rolled back to %d, want rolled_back to 1", res.State, res.RolledBackTo)
	}
	// The wording: "rolled back to revision 41: tasks failed to start: CannotPullContainerError …".
	// "tasks failed to start" comes from ECS's rolloutStateReason "ECS deployment circuit
	// breaker: tasks failed to start." (see TestCircuitBreakerWordingIsAWSs);
	// CannotPullContainerError is AWS's stopped reason
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/stopped-task-error-codes.html).
	for _, want := range []string{"rolled back to revision 1: tasks failed to start: CannotPullContainerError"} {
		if !strings.Contains(err.Error(), want) || !strings.Contains(res.Reason, want) {
			t.Errorf("error %q / reason %q lack %q", err, res.Reason, want)
		}
	}
	if len(res.StoppedTasks) == 0 {
		t.Errorf("no stopped-task reasons reported")
	}
	// Never success because the rolled-back service is stable again.
	f.clk.Advance(10 * time.Minute)
	waited, err := Wait(f.ctx, f.deps, WaitOptions{Cluster: "prod", Service: "web", Deployment: res.DeploymentID})
	if err == nil || waited.State == StateCompleted {
		t.Errorf("wait on the failed deployment = %s, %v; want a failure", waited.State, err)
	}
	if err != nil && !strings.Contains(err.Error(), "rolled back") {
		t.Errorf("wait's error %q does not say it was rolled back", err)
	}
}

func TestRolloutTimeout(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(2, false) // no circuit breaker: unhealthy tasks are replaced forever
	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:unhealthy", Container: "app", Timeout: 12 * time.Minute})
	if !errors.Is(err, wait.ErrTimeout) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if res.State != StateTimedOut || !strings.Contains(err.Error(), "opsctl deploy wait --cluster prod --service web --deployment "+res.DeploymentID) {
		t.Errorf("state %s, err %q: want timed_out and how to follow it", res.State, err)
	}
	if res.ElapsedSeconds < 12*60 {
		t.Errorf("elapsed %ds, want the full 12 minutes", res.ElapsedSeconds)
	}
	if !strings.Contains(strings.Join(res.StoppedTasks, "\n"), "Task failed container health checks") {
		t.Errorf("stopped reasons = %v, want the health check failures", res.StoppedTasks)
	}
}

// A rollout that needs more than the ServicesStable waiter's 10 minutes:
// 40 tasks replaced 4 at a time (maximumPercent 110).
func TestRolloutLongerThanTenMinutes(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(40, true)
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"),
		DeploymentConfiguration: &types.DeploymentConfiguration{MaximumPercent: aws.Int32(110), MinimumHealthyPercent: aws.Int32(100)}}); err != nil {
		t.Fatal(err)
	}
	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"})
	if err != nil {
		t.Fatalf("Rollout: %v", err)
	}
	if res.State != StateCompleted || res.ElapsedSeconds <= 10*60 {
		t.Errorf("state %s after %ds, want completed after more than 10 minutes", res.State, res.ElapsedSeconds)
	}
	if svc := f.service(); svc.RunningCount != 40 {
		t.Errorf("running = %d, want 40", svc.RunningCount)
	}
}

func TestRollbackStopsTheDeploymentInProgress(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(2, false)
	started, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app", NoWait: true})
	if err != nil || started.State != StateInProgress || started.DeploymentID == "" {
		t.Fatalf("--no-wait rollout = %+v, %v", started, err)
	}
	res, err := Rollback(f.ctx, f.deps, RollbackOptions{Cluster: "prod", Service: "web"})
	if err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	if res.State != StateCompleted || res.Revision != 1 {
		t.Errorf("rollback = %s revision %d, want completed 1", res.State, res.Revision)
	}
	called := strings.Join(f.writes(), ",")
	if !strings.Contains(called, "StopServiceDeployment") {
		t.Errorf("writes %s, want StopServiceDeployment", called)
	}
	if svc := f.service(); revisionOf(aws.ToString(svc.TaskDefinition)) != 1 {
		t.Errorf("service runs %s, want revision 1", aws.ToString(svc.TaskDefinition))
	}
	// Nothing in progress now: a plain rollback says so and writes nothing.
	f.srv.ResetCalls()
	if _, err := Rollback(f.ctx, f.deps, RollbackOptions{Cluster: "prod", Service: "web"}); !errors.Is(err, ErrNothingToRollBack) {
		t.Errorf("rollback with nothing in progress: %v", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes %v", w)
	}
}

func TestRollbackToRevision(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(2, true)
	if _, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"}); err != nil {
		t.Fatal(err)
	}
	res, err := Rollback(f.ctx, f.deps, RollbackOptions{Cluster: "prod", Service: "web", ToRevision: 1})
	if err != nil || res.State != StateCompleted || res.Revision != 1 || res.PreviousRevision != 2 {
		t.Fatalf("rollback --to-revision 1 = %+v, %v", res, err)
	}
	f.srv.ResetCalls()
	again, err := Rollback(f.ctx, f.deps, RollbackOptions{Cluster: "prod", Service: "web", ToRevision: 1})
	if err != nil || again.State != StateUnchanged || len(f.writes()) != 0 {
		t.Errorf("repeat = %s %v, writes %v; want unchanged and no writes", again.State, err, f.writes())
	}
	if _, err := Rollback(f.ctx, f.deps, RollbackOptions{Cluster: "prod", Service: "web", ToRevision: 9}); err == nil {
		t.Errorf("rollback to a revision that does not exist succeeded")
	}
}

func TestRolloutChecksBeforeAnyWrite(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(1, true)
	er := ecr.NewFromConfig(localawstest.Config(f.srv, 0))
	if _, err := er.CreateRepository(f.ctx, &ecr.CreateRepositoryInput{RepositoryName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	f.srv.ResetCalls()
	tests := map[string]struct {
		opts     RolloutOptions
		wantCode int
		wantMsg  string
	}{
		"image missing in ECR":      {RolloutOptions{Cluster: "prod", Service: "web", Container: "app", Image: testImageRepo + ":v9"}, 1, "does not exist in ECR repository web"},
		"ECR repository missing":    {RolloutOptions{Cluster: "prod", Service: "web", Container: "app", Image: "000000000000.dkr.ecr.us-east-1.amazonaws.com/nope:v1"}, 1, "ECR repository nope does not exist"},
		"container not in the task": {RolloutOptions{Cluster: "prod", Service: "web", Container: "api", Image: "example/web:v2"}, 2, `container "api" is not in task definition web:1 (its containers: app, sidecar)`},
		"several containers":        {RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2"}, 2, "has 2 containers"},
		"unknown service":           {RolloutOptions{Cluster: "prod", Service: "nope", Image: "example/web:v2"}, 1, "service nope not found in cluster prod"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			f.srv.ResetCalls()
			_, err := Rollout(f.ctx, f.deps, tc.opts)
			if err == nil || opserr.ExitCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, opserr.ExitCode(err), tc.wantCode, tc.wantMsg)
			}
			if w := f.writes(); len(w) != 0 {
				t.Errorf("writes before the check failed: %v", w)
			}
		})
	}
}

func TestRolloutBadInputMakesNoCall(t *testing.T) {
	f := newRolloutFixture(t)
	tests := map[string]RolloutOptions{
		"no cluster":           {Service: "web", Image: "a/b:c"},
		"bad cluster":          {Cluster: "pr od", Service: "web", Image: "a/b:c"},
		"no image":             {Cluster: "prod", Service: "web"},
		"uppercase repository": {Cluster: "prod", Service: "web", Image: "Example/Web:v1"},
		"bad tag":              {Cluster: "prod", Service: "web", Image: "example/web:-v1"},
		"bad digest":           {Cluster: "prod", Service: "web", Image: "example/web@sha256:abc"},
		"negative timeout":     {Cluster: "prod", Service: "web", Image: "a/b:c", Timeout: -time.Second},
	}
	for name, o := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := Rollout(f.ctx, f.deps, o)
			if opserr.ExitCode(err) != 2 {
				t.Errorf("err = %v, want a usage error", err)
			}
		})
	}
	if _, err := Wait(f.ctx, f.deps, WaitOptions{Cluster: "prod", Service: "web", Deployment: "deploy-1"}); opserr.ExitCode(err) != 2 {
		t.Errorf("wait --deployment deploy-1: %v, want a usage error", err)
	}
	if _, err := Rollback(f.ctx, f.deps, RollbackOptions{Cluster: "prod", Service: "web", ToRevision: -1}); opserr.ExitCode(err) != 2 {
		t.Errorf("rollback --to-revision -1: %v, want a usage error", err)
	}
	if calls := f.srv.Calls(); len(calls) != 0 {
		t.Errorf("bad input made calls: %+v", calls)
	}
}

func TestParseRolloutImage(t *testing.T) {
	tests := map[string]struct {
		ref                       string
		repo, tag, digest, ecrAcc string
	}{
		"docker hub":      {"nginx", "nginx", "", "", ""},
		"tagged":          {"example/web:v1.2", "example/web", "v1.2", "", ""},
		"registry port":   {"localhost:5000/web:v1", "web", "v1", "", ""},
		"ecr tag":         {"123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1", "team/web", "v1", "", "123456789012"},
		"ecr digest only": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:" + strings.Repeat("a", 64), "web", "", "sha256:" + strings.Repeat("a", 64), "123456789012"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			img, err := parseRolloutImage(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			if img.repository != tc.repo || img.tag != tc.tag || img.digest != tc.digest || img.ecrAccount != tc.ecrAcc {
				t.Errorf("parsed %+v", img)
			}
		})
	}
}

func TestRolloutRepairsAfterAFault(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(1, true)
	f.srv.InjectFault(localaws.Fault{Service: "ecs", Operation: "UpdateService", Kind: localaws.FaultError, Code: "AccessDeniedException", Message: "not allowed", Status: 400})
	_, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v, want the AccessDenied of UpdateService", err)
	}
	// The re-run reuses the identical revision registered before the fault.
	f.srv.ResetCalls()
	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:v2", Container: "app"})
	if err != nil || res.State != StateCompleted || res.Revision != 2 {
		t.Fatalf("re-run = %s revision %d, %v; want completed 2", res.State, res.Revision, err)
	}
	for _, w := range f.writes() {
		if w == "RegisterTaskDefinition" {
			t.Errorf("re-run registered another revision")
		}
	}
	// A transient throttle is retried by the SDK.
	f.srv.InjectFault(localaws.Fault{Service: "ecs", Operation: "DescribeServices", Kind: localaws.FaultThrottle, Times: 2})
	if _, err := Wait(f.ctx, f.deps, WaitOptions{Cluster: "prod", Service: "web"}); err != nil {
		t.Errorf("wait through throttling: %v", err)
	}
}

func TestRolloutChecksRolesAndSecrets(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(1, true)
	sm := f.deps.Secrets.(*secretsmanager.Client)
	sec, err := sm.CreateSecret(f.ctx, &secretsmanager.CreateSecretInput{Name: aws.String("prod/db"), SecretString: aws.String("pw")})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := f.ecs.DescribeTaskDefinition(f.ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web:1")})
	in := registerInput(cur.TaskDefinition, nil)
	in.ContainerDefinitions[0].Secrets = []types.Secret{
		{Name: aws.String("DB_PASSWORD"), ValueFrom: sec.ARN},
		{Name: aws.String("API_KEY"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/gone-AbCdEf")},
		{Name: aws.String("FLAG"), ValueFrom: aws.String("/prod/flag")},
	}
	in.TaskRoleArn = aws.String("arn:aws:iam::000000000000:role/web-task")
	if _, err := f.ecs.RegisterTaskDefinition(f.ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ecs.UpdateService(f.ctx, &ecs.UpdateServiceInput{Cluster: aws.String("prod"), Service: aws.String("web"), TaskDefinition: aws.String("web:2")}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(5 * time.Minute)
	f.srv.ResetCalls()
	_, err = Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Container: "app", Image: "example/web:v3"})
	if err == nil {
		t.Fatal("rollout with a missing role, secret and parameter succeeded")
	}
	for _, want := range []string{"role arn:aws:iam::000000000000:role/web-task does not exist", "secret arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/gone-AbCdEf", "SSM parameter /prod/flag does not exist", "nothing was changed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "prod/db") {
		t.Errorf("the existing secret was reported missing: %v", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Errorf("writes before the check failed: %v", w)
	}
}

// The texts a follow reports are AWS's, as the ECS emulation words them:
//   - rolloutStateReason of the failed deployment: "ECS deployment circuit
//     breaker: tasks failed to start." and of the rollback deployment: "ECS
//     deployment circuit breaker: rolling back to deploymentId ecs-svc/N."
//     (real DescribeServices output; fabfuel/ecs-deploy tests/test_ecs.py
//     fixtures carry the second);
//   - events "(service S) rolling back to deployment ecs-svc/N." (aws/copilot-cli
//     internal/pkg/stream/ecs_test.go) and "(service S) has reached a steady
//     state." (aws/aws-cli awscli/examples/ecs/describe-services.rst;
//     https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-event-messages-list.html).
func TestCircuitBreakerWordingIsAWSs(t *testing.T) {
	f := newRolloutFixture(t)
	f.setup(2, true)
	before := f.service().Deployments[0]
	res, err := Rollout(f.ctx, f.deps, RolloutOptions{Cluster: "prod", Service: "web", Image: "example/web:fail-pull", Container: "app"})
	if err == nil || res.State != StateRolledBack {
		t.Fatalf("rollout = %s, %v", res.State, err)
	}
	svc := f.service()
	var failed, rollback *types.Deployment
	for i := range svc.Deployments {
		switch d := &svc.Deployments[i]; aws.ToString(d.Id) {
		case res.DeploymentID:
			failed = d
		default:
			if aws.ToString(d.Status) == "PRIMARY" {
				rollback = d
			}
		}
	}
	if failed != nil && aws.ToString(failed.RolloutStateReason) != "ECS deployment circuit breaker: tasks failed to start." {
		t.Errorf("failed deployment's reason %q", aws.ToString(failed.RolloutStateReason))
	}
	if rollback == nil || !strings.HasPrefix(aws.ToString(rollback.RolloutStateReason), "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/") ||
		!strings.HasSuffix(aws.ToString(rollback.RolloutStateReason), ".") {
		t.Errorf("rollback deployment %+v", rollback)
	}
	joined := strings.Join(res.Events, "\n")
	if want := "(service web) rolling back to deployment " + aws.ToString(before.Id) + "."; !strings.Contains(joined, want) {
		t.Errorf("events lack %q:\n%s", want, joined)
	}
	f.clk.Advance(5 * time.Minute)
	if evs := f.service().Events; len(evs) == 0 || aws.ToString(evs[0].Message) != "(service web) has reached a steady state." {
		t.Errorf("newest event after the rollback = %v", evs)
	}
}
