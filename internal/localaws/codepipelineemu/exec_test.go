package codepipelineemu_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// The repository's buildspec.yml (the build project reads it from the
// source artifact): the image tagged with the commit and imagedefinitions.json
// naming the service's container "web".
const goodBuildspec = `version: 0.2
phases:
  build:
    commands:
      - docker build -t $REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION .
      - docker push $REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION
      - printf '[{"name":"web","imageUri":"%s"}]' "$REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION" > imagedefinitions.json
artifacts:
  files:
    - imagedefinitions.json
`

// testBuildspec fails when the commit message carries OPSCTL_FAIL (the
// emulation's convention), through the action's EnvironmentVariables.
const testBuildspec = `version: 0.2
phases:
  build:
    commands:
      - ./integration-tests "$COMMIT_MSG"
`

type pipe struct {
	env
	cb     *cb.Client
	ecs    *ecs.Client
	logs   *cwl.Client
	mu     sync.Mutex
	events []event
}

type event struct {
	detailType string
	detail     map[string]any
}

const repo = "000000000000.dkr.ecr.us-east-1.amazonaws.com/web"

// setup builds what opsctl pipeline create builds: the artifact bucket, the
// build and test projects, the ECS service the Deploy action rolls out to.
func setup(t *testing.T, d *types.PipelineDeclaration) *pipe {
	t.Helper()
	e := start(t)
	cfg := localawstest.Config(e.srv, 1)
	f := &pipe{env: e, cb: cb.NewFromConfig(cfg), ecs: ecs.NewFromConfig(cfg), logs: cwl.NewFromConfig(cfg)}
	e.emu.Events = func(source, detailType string, resources []string, detail []byte, at time.Time) {
		var m map[string]any
		json.Unmarshal(detail, &m)
		f.mu.Lock()
		f.events = append(f.events, event{detailType, m})
		f.mu.Unlock()
	}
	emutest.Must(localawstest.S3(e.srv).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("artifacts-bucket")}))
	for _, p := range []struct{ name, spec string }{{"web-build", ""}, {"web-test", testBuildspec}} {
		src := &cbtypes.ProjectSource{Type: cbtypes.SourceTypeCodepipeline}
		if p.spec != "" {
			src.Buildspec = aws.String(p.spec)
		}
		emutest.Must(f.cb.CreateProject(ctx, &cb.CreateProjectInput{Name: aws.String(p.name), Source: src,
			Artifacts: &cbtypes.ProjectArtifacts{Type: cbtypes.ArtifactsTypeCodepipeline}, ServiceRole: aws.String("arn:aws:iam::000000000000:role/build"),
			Environment: &cbtypes.ProjectEnvironment{Type: cbtypes.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"),
				ComputeType: cbtypes.ComputeTypeBuildGeneral1Small, PrivilegedMode: aws.Bool(true),
				EnvironmentVariables: []cbtypes.EnvironmentVariable{{Name: aws.String("REPO"), Value: aws.String(repo)}}}}))
	}
	emutest.Must(f.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("prod"), CapacityProviders: []string{"FARGATE"},
		DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}}}))
	td := emutest.Must(f.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn:     aws.String("arn:aws:iam::000000000000:role/ecsTaskExecutionRole"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{Name: aws.String("web"), Image: aws.String(repo + ":initial"), Essential: aws.Bool(true)}}}))
	emutest.Must(f.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("prod"), ServiceName: aws.String("web"),
		TaskDefinition: td.TaskDefinition.TaskDefinitionArn, DesiredCount: aws.Int32(1),
		NetworkConfiguration:    &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true}}}))
	e.clk.Advance(2 * time.Minute) // the first deployment completes
	emutest.Must(e.c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: d}))
	return f
}

// withCommitMessage gives the Test action the source commit message.
func withCommitMessage(d *types.PipelineDeclaration) *types.PipelineDeclaration {
	for i := range d.Stages {
		for j := range d.Stages[i].Actions {
			if d.Stages[i].Actions[j].Configuration["ProjectName"] == "web-test" {
				d.Stages[i].Actions[j].Configuration["EnvironmentVariables"] = `[{"name":"COMMIT_MSG","value":"#{SourceVariables.CommitMessage}","type":"PLAINTEXT"}]`
			}
		}
	}
	return d
}

func pipelineDecl() *types.PipelineDeclaration {
	d := decl("web")
	d.Stages[1].Actions[0].Configuration["ProjectName"] = "web-build"
	d.Stages[3].Actions[0].Configuration["ProjectName"] = "web-test"
	return withCommitMessage(d)
}

func (f *pipe) push(branch, commit, message string, files map[string]string) []string {
	if files == nil {
		files = map[string]string{"buildspec.yml": goodBuildspec}
	}
	return f.emu.Push("acme/web", branch, commit, message, files)
}

// wait advances the clock in 5 s steps until the execution ends.
func (f *pipe) wait(t *testing.T, id string) types.PipelineExecution {
	t.Helper()
	for i := 0; i < 600; i++ {
		out := emutest.Must(f.c.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(id)}))
		if s := out.PipelineExecution.Status; s != types.PipelineExecutionStatusInProgress && s != types.PipelineExecutionStatusStopping {
			return *out.PipelineExecution
		}
		f.clk.Advance(5 * time.Second)
	}
	t.Fatalf("execution %s never ended", id)
	return types.PipelineExecution{}
}

func (f *pipe) state(t *testing.T) map[string]types.StageState {
	t.Helper()
	out := emutest.Must(f.c.GetPipelineState(ctx, &cp.GetPipelineStateInput{Name: aws.String("web")}))
	m := map[string]types.StageState{}
	for _, s := range out.StageStates {
		m[aws.ToString(s.StageName)] = s
	}
	return m
}

func (f *pipe) image(t *testing.T) string {
	t.Helper()
	svc := emutest.Must(f.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("prod"), Services: []string{"web"}})).Services[0]
	td := emutest.Must(f.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: svc.TaskDefinition}))
	return aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
}

func TestPushToMainRunsEveryStageAndDeploysTheImage(t *testing.T) {
	f := setup(t, pipelineDecl())
	ids := f.push("main", "c0ffee1", "add feature", nil)
	if len(ids) != 1 {
		t.Fatalf("push to main started %d executions, want 1", len(ids))
	}
	ex := f.wait(t, ids[0])
	// botocore codepipeline PipelineExecutionStatus, TriggerType enums.
	if ex.Status != types.PipelineExecutionStatusSucceeded || ex.Trigger.TriggerType != types.TriggerTypeWebhookV2 ||
		ex.ExecutionMode != types.ExecutionModeQueued || aws.ToString(ex.ArtifactRevisions[0].RevisionId) != "c0ffee1" {
		t.Fatalf("execution %s %s trigger %s summary %q", ex.Status, ex.ExecutionMode, ex.Trigger.TriggerType, aws.ToString(ex.StatusSummary))
	}
	st := f.state(t)
	for _, s := range []string{"Source", "Build", "Deploy", "Test"} {
		if got := st[s].LatestExecution.Status; got != types.StageExecutionStatusSucceeded {
			t.Errorf("stage %s: %s, want Succeeded", s, got)
		}
		if got := st[s].ActionStates[0].LatestExecution.Status; got != types.ActionExecutionStatusSucceeded {
			t.Errorf("stage %s action: %s", s, got)
		}
	}
	if got := f.image(t); got != repo+":c0ffee1" {
		t.Fatalf("service runs %s, want the pushed commit's image", got)
	}
	// The build ran from the pipeline, with the commit as its source version.
	acts := emutest.Must(f.c.ListActionExecutions(ctx, &cp.ListActionExecutionsInput{PipelineName: aws.String("web"),
		Filter: &types.ActionExecutionFilter{PipelineExecutionId: aws.String(ids[0])}, MaxResults: aws.Int32(100)}))
	var buildID string
	for _, a := range acts.ActionExecutionDetails {
		if aws.ToString(a.ActionName) == "Build" {
			buildID = aws.ToString(a.Output.ExecutionResult.ExternalExecutionId)
			if a.Output.OutputArtifacts[0].S3location == nil || aws.ToString(a.Output.OutputArtifacts[0].S3location.Bucket) != "artifacts-bucket" {
				t.Errorf("build output artifact %+v", a.Output.OutputArtifacts)
			}
		}
		if aws.ToString(a.ActionName) == "Test" && a.Input.ResolvedConfiguration["EnvironmentVariables"] != `[{"name":"COMMIT_MSG","value":"add feature","type":"PLAINTEXT"}]` {
			t.Errorf("Test resolved configuration %v", a.Input.ResolvedConfiguration)
		}
	}
	b := emutest.Must(f.cb.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: []string{buildID}})).Builds
	if len(b) != 1 || aws.ToString(b[0].SourceVersion) != "c0ffee1" || aws.ToString(b[0].Initiator) != "codepipeline/web" {
		t.Fatalf("build %s: %+v", buildID, b)
	}
	// Events as documented (detect-state-changes-cloudwatch-events.html).
	f.mu.Lock()
	defer f.mu.Unlock()
	var states []string
	for _, ev := range f.events {
		if ev.detailType == "CodePipeline Pipeline Execution State Change" {
			states = append(states, ev.detail["state"].(string))
			if ev.detail["pipeline"] != "web" || ev.detail["execution-id"] != ids[0] {
				t.Errorf("event detail %v", ev.detail)
			}
		}
	}
	if strings.Join(states, ",") != "STARTED,SUCCEEDED" {
		t.Errorf("pipeline states %v", states)
	}
}

func TestPushToFeatureBranchSkipsTheTestStage(t *testing.T) {
	f := setup(t, pipelineDecl())
	// The trigger excludes feature/wip*; develop matches no include.
	for _, b := range []string{"feature/wip-1", "develop"} {
		if ids := f.push(b, "aaa", "x", nil); len(ids) != 0 {
			t.Fatalf("push to %s started %v", b, ids)
		}
	}
	ids := f.push("feature/x", "bbb2222", "work", nil)
	if len(ids) != 1 {
		t.Fatalf("push to feature/x started %d executions", len(ids))
	}
	ex := f.wait(t, ids[0])
	st := f.state(t)
	// stage-conditions.html: an entry condition with result SKIP skips the
	// stage; the execution goes on.
	if ex.Status != types.PipelineExecutionStatusSucceeded || st["Test"].LatestExecution.Status != types.StageExecutionStatusSkipped ||
		st["Deploy"].LatestExecution.Status != types.StageExecutionStatusSucceeded {
		t.Fatalf("execution %s, Test %s, Deploy %s", ex.Status, st["Test"].LatestExecution.Status, st["Deploy"].LatestExecution.Status)
	}
	cond := st["Test"].BeforeEntryConditionState
	if cond == nil || cond.LatestExecution.Status != types.ConditionExecutionStatusFailed || st["Test"].ActionStates[0].LatestExecution != nil {
		t.Fatalf("Test condition %+v, action %+v", cond, st["Test"].ActionStates[0].LatestExecution)
	}
}

func TestFailingBuildFailsTheExecutionWithItsLog(t *testing.T) {
	f := setup(t, pipelineDecl())
	bad := strings.Replace(goodBuildspec, "docker push", "OPSCTL_FAIL docker push", 1)
	ids := f.push("main", "dead001", "broken push", map[string]string{"buildspec.yml": bad})
	ex := f.wait(t, ids[0])
	st := f.state(t)
	build := st["Build"].ActionStates[0].LatestExecution
	if ex.Status != types.PipelineExecutionStatusFailed || build.Status != types.ActionExecutionStatusFailed ||
		aws.ToString(build.ErrorDetails.Message) != "Build terminated with state: FAILED" || st["Deploy"].LatestExecution != nil {
		t.Fatalf("execution %s, build %+v, deploy %+v", ex.Status, build, st["Deploy"].LatestExecution)
	}
	b := emutest.Must(f.cb.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: []string{aws.ToString(build.ExternalExecutionId)}})).Builds[0]
	if aws.ToString(b.Logs.GroupName) != "/aws/codebuild/web-build" || b.BuildStatus != cbtypes.StatusTypeFailed {
		t.Fatalf("build %s logs %+v", b.BuildStatus, b.Logs)
	}
	// The log's tail names the failed command, as CodeBuild's does.
	var log strings.Builder
	in := &cwl.GetLogEventsInput{LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName, StartFromHead: aws.Bool(true)}
	for {
		out := emutest.Must(f.logs.GetLogEvents(ctx, in))
		for _, e := range out.Events {
			log.WriteString(aws.ToString(e.Message) + "\n")
		}
		if len(out.Events) == 0 {
			break
		}
		in.NextToken = out.NextForwardToken
	}
	for _, w := range []string{"Running command OPSCTL_FAIL docker push $REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION",
		"Command did not exit successfully OPSCTL_FAIL docker push", "Phase complete: BUILD State: FAILED"} {
		if !strings.Contains(log.String(), w) {
			t.Fatalf("build log lacks %q:\n%s", w, log.String())
		}
	}
	// The service still runs the old image.
	if got := f.image(t); got != repo+":initial" {
		t.Fatalf("service runs %s after a failed build", got)
	}
	// RetryStageExecution: the failed stage of the latest execution.
	emutest.Must(f.c.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(ids[0]),
		StageName: aws.String("Build"), RetryMode: types.StageRetryModeFailedActions}))
	_, err := f.c.RetryStageExecution(ctx, &cp.RetryStageExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(ids[0]),
		StageName: aws.String("Source"), RetryMode: types.StageRetryModeFailedActions})
	// botocore codepipeline RetryStageExecution errors: StageNotRetryableException.
	var nr *types.StageNotRetryableException
	if !errors.As(err, &nr) {
		t.Fatalf("retry of a succeeded stage: %v", err)
	}
}

func TestFailedStageRollsBackToThePreviousRevision(t *testing.T) {
	d := decl("web")
	d.Stages[1].Actions[0].Configuration["ProjectName"] = "web-build"
	// The post-deploy test runs in the Deploy stage (runOrder 2), so its
	// failure fails the stage and rolls the deployment back.
	smoke := d.Stages[3].Actions[0]
	smoke.Name, smoke.RunOrder = aws.String("Smoke"), aws.Int32(2)
	smoke.Configuration = map[string]string{"ProjectName": "web-test"}
	d.Stages[2].Actions = append(d.Stages[2].Actions, smoke)
	d.Stages = d.Stages[:3]
	f := setup(t, withCommitMessage(d))
	first := f.wait(t, f.push("main", "good001", "fine", nil)[0])
	if first.Status != types.PipelineExecutionStatusSucceeded || f.image(t) != repo+":good001" {
		t.Fatalf("first execution %s, image %s", first.Status, f.image(t))
	}
	ids := f.push("main", "bad0002", "breaks OPSCTL_FAIL", nil)
	second := f.wait(t, ids[0])
	if second.Status != types.PipelineExecutionStatusFailed {
		t.Fatalf("second execution %s", second.Status)
	}
	list := emutest.Must(f.c.ListPipelineExecutions(ctx, &cp.ListPipelineExecutionsInput{PipelineName: aws.String("web")})).PipelineExecutionSummaries
	rb := list[0]
	// botocore codepipeline ExecutionType ROLLBACK, TriggerType
	// AutomatedRollback, PipelineRollbackMetadata.
	if rb.ExecutionType != types.ExecutionTypeRollback || rb.Trigger.TriggerType != types.TriggerTypeAutomatedRollback ||
		aws.ToString(rb.RollbackMetadata.RollbackTargetPipelineExecutionId) != aws.ToString(first.PipelineExecutionId) {
		t.Fatalf("newest execution %+v", rb)
	}
	done := f.wait(t, aws.ToString(rb.PipelineExecutionId))
	if done.Status != types.PipelineExecutionStatusSucceeded || f.image(t) != repo+":good001" {
		t.Fatalf("rollback %s, image %s, want the previous revision's", done.Status, f.image(t))
	}
	// A manual rollback to an execution that never succeeded in the stage.
	_, err := f.c.RollbackStage(ctx, &cp.RollbackStageInput{PipelineName: aws.String("web"), StageName: aws.String("Deploy"), TargetPipelineExecutionId: aws.String(ids[0])})
	// botocore codepipeline RollbackStage errors: UnableToRollbackStageException.
	emutest.WantCode(t, err, "UnableToRollbackStageException", ids[0])
}

func TestQueuedExecutionsRunInOrder(t *testing.T) {
	f := setup(t, pipelineDecl())
	var ids []string
	for _, c := range []string{"q000001", "q000002", "q000003"} {
		ids = append(ids, f.push("main", c, c, nil)...)
	}
	// While the first builds, the second waits (QUEUED: one execution per
	// stage, in order).
	f.clk.Advance(10 * time.Second)
	st := f.state(t)
	if aws.ToString(st["Build"].LatestExecution.PipelineExecutionId) != ids[0] {
		t.Fatalf("Build runs %s, want the first execution", aws.ToString(st["Build"].LatestExecution.PipelineExecutionId))
	}
	for _, id := range ids {
		if ex := f.wait(t, id); ex.Status != types.PipelineExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s %s", id, ex.Status, aws.ToString(ex.StatusSummary))
		}
	}
	builds := emutest.Must(f.cb.ListBuildsForProject(ctx, &cb.ListBuildsForProjectInput{ProjectName: aws.String("web-build"), SortOrder: cbtypes.SortOrderTypeAscending})).Ids
	got := emutest.Must(f.cb.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: builds})).Builds
	var order []string
	for _, b := range got {
		order = append(order, aws.ToString(b.SourceVersion))
	}
	if strings.Join(order, ",") != "q000001,q000002,q000003" {
		t.Fatalf("builds ran in order %v", order)
	}
	if f.image(t) != repo+":q000003" {
		t.Fatalf("final image %s", f.image(t))
	}
}

func TestStopAndNotFound(t *testing.T) {
	f := setup(t, pipelineDecl())
	// Test control over HTTP, as a standalone endpoint offers it.
	resp, err := http.Post(f.srv.URL+"/_localaws/codepipeline/push", "application/json",
		strings.NewReader(`{"repository":"acme/web","branch":"main","commit":"s000001","message":"m","files":{"buildspec.yml":"version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 900\n"}}`))
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		IDs []string `json:"pipelineExecutionIds"`
	}
	json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if len(started.IDs) != 1 {
		t.Fatalf("control push started %v", started.IDs)
	}
	id := started.IDs[0]
	f.clk.Advance(30 * time.Second)
	emutest.Must(f.c.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(id), Reason: aws.String("no")}))
	_, err = f.c.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(id)})
	// botocore codepipeline StopPipelineExecution errors: DuplicatedStopRequestException.
	var dup *types.DuplicatedStopRequestException
	if !errors.As(err, &dup) {
		t.Fatalf("second stop: %v", err)
	}
	emutest.Must(f.c.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(id), Abandon: true}))
	ex := f.wait(t, id)
	if ex.Status != types.PipelineExecutionStatusStopped {
		t.Fatalf("status %s, want Stopped", ex.Status)
	}
	_, err = f.c.StopPipelineExecution(ctx, &cp.StopPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String(id)})
	// botocore codepipeline PipelineExecutionNotStoppableException.
	var ns *types.PipelineExecutionNotStoppableException
	if !errors.As(err, &ns) {
		t.Fatalf("stop of a stopped execution: %v", err)
	}
	_, err = f.c.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: aws.String("00000000-0000-4000-8000-000000000000")})
	// botocore codepipeline GetPipelineExecution errors: PipelineExecutionNotFoundException.
	var nf *types.PipelineExecutionNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("unknown execution: %v", err)
	}
	_, err = f.c.GetPipelineState(ctx, &cp.GetPipelineStateInput{Name: aws.String("absent")})
	var pnf *types.PipelineNotFoundException
	if !errors.As(err, &pnf) {
		t.Fatalf("unknown pipeline: %v", err)
	}
	// A manual start uses the source action's branch.
	mid := emutest.Must(f.c.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("web")}))
	got := emutest.Must(f.c.GetPipelineExecution(ctx, &cp.GetPipelineExecutionInput{PipelineName: aws.String("web"), PipelineExecutionId: mid.PipelineExecutionId}))
	if got.PipelineExecution.Trigger.TriggerType != types.TriggerTypeStartPipelineExecution {
		t.Fatalf("manual start trigger %s", got.PipelineExecution.Trigger.TriggerType)
	}
}

func TestECSDeployActionFailures(t *testing.T) {
	cases := []struct {
		name, printf, fileName, want string
	}{
		// The container name must be one of the service's task definition.
		{"unknown container", `printf '[{"name":"api","imageUri":"%s"}]' "$REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION" > imagedefinitions.json`, "",
			"The container api does not exist in the task definition."},
		// troubleshooting.html: the file is missing from the artifact.
		{"missing file", `printf '[{"name":"web","imageUri":"%s"}]' "$REPO:x" > imagedefinitions.json`, "images.json",
			"Exception while trying to read the task definition artifact file from: BuildOutput"},
		// The ECS emulation's "fail-pull" image: the circuit breaker fails
		// the deployment and rolls the service back.
		{"deployment fails", `printf '[{"name":"web","imageUri":"%s"}]' "$REPO:fail-pull" > imagedefinitions.json`, "",
			"ECS deployment circuit breaker"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := pipelineDecl()
			if tc.fileName != "" {
				d.Stages[2].Actions[0].Configuration["FileName"] = tc.fileName
			}
			f := setup(t, d)
			spec := strings.Replace(goodBuildspec, goodBuildspec[strings.Index(goodBuildspec, "      - printf"):strings.Index(goodBuildspec, "artifacts:")], "      - "+tc.printf+"\n", 1)
			ex := f.wait(t, f.push("main", "e000001", "x", map[string]string{"buildspec.yml": spec})[0])
			deploy := f.state(t)["Deploy"].ActionStates[0].LatestExecution
			if ex.Status != types.PipelineExecutionStatusFailed || deploy == nil || deploy.Status != types.ActionExecutionStatusFailed ||
				!strings.Contains(aws.ToString(deploy.ErrorDetails.Message), tc.want) {
				t.Fatalf("execution %s, deploy %+v, want an error containing %q", ex.Status, deploy, tc.want)
			}
			if got := f.image(t); got != repo+":initial" {
				t.Fatalf("service runs %s after a failed deploy", got)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			found := false
			for _, ev := range f.events {
				if ev.detailType == "CodePipeline Action Execution State Change" && ev.detail["state"] == "FAILED" {
					typ, _ := ev.detail["type"].(map[string]any)
					res, _ := ev.detail["execution-result"].(map[string]any)
					found = ev.detail["stage"] == "Deploy" && ev.detail["action"] == "Deploy" && typ["provider"] == "ECS" && typ["category"] == "Deploy" &&
						res["error-code"] == "JobFailed"
				}
			}
			if !found {
				t.Fatalf("no FAILED action event for Deploy: %+v", f.events)
			}
		})
	}
}

func TestSupersededModeReplacesAWaitingExecution(t *testing.T) {
	d := pipelineDecl()
	// execution-modes.html: SUPERSEDED, "a more recent execution can pass
	// and replace an older one" waiting to enter a stage.
	d.ExecutionMode = types.ExecutionModeSuperseded
	f := setup(t, d)
	first := f.push("main", "s000001", "one", nil)[0]
	f.clk.Advance(5 * time.Second)
	f.state(t) // Source done, Build started
	second := f.push("main", "s000002", "two", nil)[0]
	f.clk.Advance(5 * time.Second)
	f.state(t)
	third := f.push("main", "s000003", "three", nil)[0]
	f.clk.Advance(5 * time.Second)
	f.state(t)
	want := map[string]types.PipelineExecutionStatus{first: types.PipelineExecutionStatusSucceeded,
		second: types.PipelineExecutionStatusSuperseded, third: types.PipelineExecutionStatusSucceeded}
	for _, id := range []string{first, second, third} {
		if got := f.wait(t, id).Status; got != want[id] {
			t.Errorf("execution %s: %s, want %s", id, got, want[id])
		}
	}
	if f.image(t) != repo+":s000003" {
		t.Fatalf("final image %s", f.image(t))
	}
}
