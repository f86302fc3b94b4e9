package pipelines_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/pipelines"
)

type env struct {
	srv  *localaws.Server
	clk  *clock.Fake
	deps pipelines.Deps
	ecs  *ecs.Client
}

func start(t *testing.T, emulators ...string) *env {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	opts := localaws.Options{Clock: clk, Emulators: emulators}
	if len(emulators) > 1 {
		opts.SQSBackend = "fauxqs"
	}
	srv := localawstest.Start(t, opts)
	cfg := localawstest.Config(srv, 1)
	e := &env{srv: srv, clk: clk, ecs: ecs.NewFromConfig(cfg)}
	e.deps = pipelines.Deps{
		S3: s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }), ECR: ecr.NewFromConfig(cfg), Connections: codeconnections.NewFromConfig(cfg),
		CodeBuild: codebuild.NewFromConfig(cfg), Pipeline: codepipeline.NewFromConfig(cfg), IAM: iam.NewFromConfig(cfg),
		Events: eventbridge.NewFromConfig(cfg), ECS: e.ecs, Logs: cloudwatchlogs.NewFromConfig(cfg),
		Region: srv.Region, Account: srv.Account, Clock: clk, Log: slog.New(slog.DiscardHandler),
	}
	if len(emulators) > 0 {
		e.deps.STS = sts.NewFromConfig(cfg)
		e.deps.Alarms = alarms.Deps{CloudWatch: cloudwatch.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg), Region: srv.Region}
	}
	return e
}

// service registers a task definition with the containers and runs a service on it.
func (e *env) service(t *testing.T, cluster, service string, containers ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	var defs []ecstypes.ContainerDefinition
	for _, c := range containers {
		defs = append(defs, ecstypes.ContainerDefinition{Name: aws.String(c), Image: aws.String("public.ecr.aws/nginx/nginx:1"), Essential: aws.Bool(true)})
	}
	td, err := e.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(cluster + "-" + service), ContainerDefinitions: defs,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String("arn:aws:iam::" + e.srv.Account + ":role/" + service + "-exec")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn,
		DesiredCount: aws.Int32(1), LaunchType: ecstypes.LaunchTypeFargate,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}})
	if err != nil {
		t.Fatal(err)
	}
}

func repo(t *testing.T, s string) pipelines.Repo {
	r, err := pipelines.ParseRepo(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestCreateForEachSourceKindThenRepeatWithoutWrites(t *testing.T) {
	for _, src := range []string{"github:acme/shop", "gitlab:acme/web/shop", "bitbucket:acme/shop", "codecommit:shop", "s3://acme-src/shop/source.zip"} {
		t.Run(strings.SplitN(src, ":", 2)[0], func(t *testing.T) {
			ctx := context.Background()
			e := start(t)
			e.service(t, "prod", "api", "web")
			o := pipelines.CreateOptions{Name: "shop", Repo: repo(t, src), Cluster: "prod", Service: "api"}
			if o.Repo.Branched() {
				o.Branch = "main"
			}
			if o.Repo.Kind != pipelines.SourceS3 {
				o.TestBranches, o.TestCommand = []string{"main", "release/*"}, "make integration"
			}
			res, err := pipelines.Create(ctx, e.deps, o)
			if err != nil {
				t.Fatalf("create: %v\n%+v", err, res.Changes)
			}
			if res.Container != "web" || res.Counts.Failed != 0 || res.Counts.Applied < 10 {
				t.Fatalf("create result: container %q counts %+v", res.Container, res.Counts)
			}
			p, err := e.deps.Pipeline.(*codepipeline.Client).GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("shop")})
			if err != nil {
				t.Fatal(err)
			}
			if p.Pipeline.PipelineType != cptypes.PipelineTypeV2 || p.Pipeline.ExecutionMode != cptypes.ExecutionModeQueued {
				t.Fatalf("pipeline type %s mode %s", p.Pipeline.PipelineType, p.Pipeline.ExecutionMode)
			}
			if o.Repo.Connection() {
				if res.ConnectionStatus != "PENDING" || !strings.Contains(strings.Join(res.Todo, "\n"), "Update pending connection") || len(p.Pipeline.Triggers) != 1 {
					t.Fatalf("connection %s todo %q triggers %+v", res.ConnectionStatus, res.Todo, p.Pipeline.Triggers)
				}
			}
			// A re-run reads and writes nothing.
			e.srv.ResetCalls()
			again, err := pipelines.Create(ctx, e.deps, o)
			if err != nil {
				t.Fatal(err)
			}
			if w := e.srv.WriteCalls(); len(w) != 0 || plan.Writes(again.Changes) != 0 {
				t.Fatalf("re-run wrote %v; changes %+v", w, again.Changes)
			}
		})
	}
}

func TestChangedBranchesUpdateOnlyThePipeline(t *testing.T) {
	ctx := context.Background()
	e := start(t)
	e.service(t, "prod", "api", "web")
	o := pipelines.CreateOptions{Name: "shop", Repo: repo(t, "github:acme/shop"), Cluster: "prod", Service: "api", TestBranches: []string{"main"}, TestCommand: "make it"}
	if _, err := pipelines.Create(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	o.TestBranches = []string{"main", "release/*"}
	e.srv.ResetCalls()
	res, err := pipelines.Create(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, c := range res.Changes {
		if c.Changed() {
			changed = append(changed, c.Resource+" "+c.Name+": "+c.Summary())
		}
	}
	if len(changed) != 1 || !strings.Contains(changed[0], "push triggers: main → main, release/*") {
		t.Fatalf("changed: %q", changed)
	}
	p, _ := e.deps.Pipeline.(*codepipeline.Client).GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String("shop")})
	if aws.ToInt32(p.Pipeline.Version) != 2 {
		t.Fatalf("version %d", aws.ToInt32(p.Pipeline.Version))
	}
}

func TestWrongContainerFailsBeforeAnyWrite(t *testing.T) {
	ctx := context.Background()
	e := start(t)
	e.service(t, "prod", "api", "web", "sidecar")
	e.srv.ResetCalls()
	o := pipelines.CreateOptions{Name: "shop", Repo: repo(t, "github:acme/shop"), Cluster: "prod", Service: "api", Container: "app"}
	_, err := pipelines.Create(ctx, e.deps, o)
	if err == nil || !strings.Contains(err.Error(), `container "app" is not in the live task definition`) || !strings.Contains(err.Error(), "web, sidecar") {
		t.Fatalf("err = %v", err)
	}
	o.Container = ""
	_, err = pipelines.Create(ctx, e.deps, o)
	if err == nil || !strings.Contains(err.Error(), "name the one the pipeline builds with --container") {
		t.Fatalf("err = %v", err)
	}
	if w := e.srv.WriteCalls(); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
	var u *opserr.UsageError
	if errors.As(err, &u) {
		t.Fatal("a live-state failure is not a usage error")
	}
	_ = json.Valid
}

// finish polls the pipeline (advancing the endpoint clock) until every
// execution has ended, and returns the status.
func (e *env) finish(t *testing.T) pipelines.StatusResult {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < 400; i++ {
		st, err := pipelines.Status(ctx, e.deps, pipelines.StatusOptions{Name: "shop", Executions: 10, Tail: 20})
		if err != nil {
			t.Fatal(err)
		}
		busy := false
		for _, x := range st.Executions {
			busy = busy || x.Status == "InProgress" || x.Status == "Stopping"
		}
		if !busy && len(st.Executions) > 0 {
			return st
		}
		e.clk.Advance(5 * time.Second)
	}
	t.Fatal("the pipeline never finished")
	return pipelines.StatusResult{}
}

func stageStatus(st pipelines.StatusResult, stage string) string {
	for _, s := range st.Stages {
		if s.Stage == stage {
			return s.Status
		}
	}
	return ""
}

func (e *env) push(t *testing.T, branch, commit string) {
	t.Helper()
	e.pushMessage(t, branch, commit, "change on "+branch)
}

func (e *env) pushMessage(t *testing.T, branch, commit, message string) {
	t.Helper()
	type pusher interface {
		Push(repository, branch, commit, message string, files map[string]string) []string
	}
	if ids := e.srv.Service("codepipeline").(pusher).Push("acme/shop", branch, commit, message, nil); len(ids) != 1 {
		t.Fatalf("push to %s started %d executions", branch, len(ids))
	}
}

// A push to main runs the Test stage; a push to feature/x deploys and skips
// it (stage-conditions.html: an entry condition with result SKIP); a failed
// test rolls the stage back (stage-rollback.html); status shows the failing
// action with its build log tail; the failure reaches the SNS topic.
func TestPushesRunOrSkipTestsAndFailuresAreReported(t *testing.T) {
	ctx := context.Background()
	e := start(t, localaws.EmulatorSNS, localaws.EmulatorSQS)
	e.service(t, "prod", "api", "web")
	o := pipelines.CreateOptions{Name: "shop", Repo: repo(t, "github:acme/shop"), Cluster: "prod", Service: "api",
		TriggerBranches: []string{"main", "feature/*"}, TestBranches: []string{"main"}, TestCommand: "make integration", Notify: "ops@example.com"}
	res, err := pipelines.Create(ctx, e.deps, o)
	if err != nil {
		t.Fatal(err)
	}
	// Subscribe a queue to the failure topic to read what the email would say.
	cfg := localawstest.Config(e.srv, 1)
	sqsc := sqs.NewFromConfig(cfg)
	q := must(sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")}))
	qa := must(sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}}))
	must(sns.NewFromConfig(cfg).Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(res.TopicARN), Protocol: aws.String("sqs"),
		Endpoint: aws.String(qa.Attributes["QueueArn"]), Attributes: map[string]string{"RawMessageDelivery": "true"}}))

	e.push(t, "main", strings.Repeat("a", 40))
	st := e.finish(t)
	if st.Executions[0].Status != "Succeeded" || stageStatus(st, "Test") != "Succeeded" {
		t.Fatalf("push to main: %+v", st)
	}
	e.push(t, "feature/x", strings.Repeat("b", 40))
	st = e.finish(t)
	if st.Executions[0].Status != "Succeeded" || stageStatus(st, "Test") != "Skipped" || stageStatus(st, "Deploy") != "Succeeded" {
		t.Fatalf("push to feature/x: %+v", st)
	}

	// A commit that breaks the tests (the endpoint's build interpreter fails
	// a command containing OPSCTL_FAIL after expansion; the test build gets
	// the commit message as SOURCE_MESSAGE).
	o.TestCommand = `make integration COMMIT="$SOURCE_MESSAGE"`
	if _, err := pipelines.Create(ctx, e.deps, o); err != nil {
		t.Fatal(err)
	}
	e.pushMessage(t, "main", strings.Repeat("c", 40), "break the tests OPSCTL_FAIL")
	st = e.finish(t)
	var failed, rollback *pipelines.Execution
	for i, x := range st.Executions {
		if x.Status == "Failed" && failed == nil {
			failed = &st.Executions[i]
		}
		if x.Type == "ROLLBACK" && rollback == nil {
			rollback = &st.Executions[i]
		}
	}
	if failed == nil || rollback == nil || rollback.Status != "Succeeded" {
		t.Fatalf("a failed test should fail the execution and roll the Test stage back: %+v", st.Executions)
	}
	stf, err := pipelines.Status(ctx, e.deps, pipelines.StatusOptions{Name: "shop", Executions: 10, Tail: 20})
	if err != nil {
		t.Fatal(err)
	}
	f := stf.Failure
	if f == nil || f.Stage != "Test" || f.Action != "IntegrationTest" || f.BuildID == "" || !strings.Contains(strings.Join(f.LogTail, "\n"), "COMMAND_EXECUTION_ERROR") {
		t.Fatalf("failure: %+v", f)
	}
	logs, err := pipelines.Logs(ctx, e.deps, pipelines.LogsOptions{Name: "shop", Execution: failed.ID, Tail: 50})
	if err != nil || len(logs.Builds) != 2 || logs.Builds[1].Action != "IntegrationTest" {
		t.Fatalf("logs: %v %+v", err, logs)
	}
	// The email: pipeline, stage, action, execution and a console link.
	msgs := must(sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1}))
	if len(msgs.Messages) == 0 {
		t.Fatal("no failure notification reached the topic")
	}
	body := aws.ToString(msgs.Messages[0].Body)
	for _, want := range []string{"Pipeline shop failed", "Stage: Test", "Action: IntegrationTest", "Execution: " + failed.ID, "console.aws.amazon.com/codesuite/codepipeline/pipelines/shop/executions/" + failed.ID} {
		if !strings.Contains(body, want) {
			t.Fatalf("notification lacks %q:\n%s", want, body)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
