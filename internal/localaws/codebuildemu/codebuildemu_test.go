package codebuildemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cb "github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/codebuildemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

type env struct {
	srv  *localaws.Server
	clk  *clock.Fake
	c    *cb.Client
	logs *cwl.Client
}

func start(t *testing.T) env {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	if _, ok := srv.Service("codebuild").(*codebuildemu.Server); !ok {
		t.Fatalf("endpoint serves %T for codebuild", srv.Service("codebuild"))
	}
	cfg := localawstest.Config(srv, 1)
	return env{srv: srv, clk: clk, c: cb.NewFromConfig(cfg), logs: cwl.NewFromConfig(cfg)}
}

const buildspec = `version: 0.2
env:
  variables:
    CONTAINER: web
phases:
  pre_build:
    commands:
      - echo Logging in to Amazon ECR...
      - aws ecr get-login-password | docker login --username AWS --password-stdin $REPO
  build:
    commands:
      - docker build -t $REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION .
  post_build:
    commands:
      - docker push $REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION
      - printf '[{"name":"%s","imageUri":"%s"}]' "$CONTAINER" "$REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION" > imagedefinitions.json
artifacts:
  files:
    - imagedefinitions.json
`

func projectInput(name, spec string) *cb.CreateProjectInput {
	return &cb.CreateProjectInput{
		Name:        aws.String(name),
		Source:      &types.ProjectSource{Type: types.SourceTypeNoSource, Buildspec: aws.String(spec)},
		Artifacts:   &types.ProjectArtifacts{Type: types.ArtifactsTypeNoArtifacts},
		ServiceRole: aws.String("arn:aws:iam::000000000000:role/build"),
		Environment: &types.ProjectEnvironment{Type: types.EnvironmentTypeLinuxContainer, Image: aws.String("aws/codebuild/standard:7.0"),
			ComputeType: types.ComputeTypeBuildGeneral1Small, PrivilegedMode: aws.Bool(true),
			EnvironmentVariables: []types.EnvironmentVariable{{Name: aws.String("REPO"), Value: aws.String("000000000000.dkr.ecr.us-east-1.amazonaws.com/web")}}},
		Cache: &types.ProjectCache{Type: types.CacheTypeLocal, Modes: []types.CacheMode{types.CacheModeLocalDockerLayerCache}},
	}
}

func TestProjectCRUD(t *testing.T) {
	e := start(t)
	out := emutest.Must(e.c.CreateProject(ctx, projectInput("web-build", buildspec)))
	// Project defaults (botocore codebuild Project docs): timeoutInMinutes
	// 60, queuedTimeoutInMinutes 480, CloudWatch logs enabled.
	p := out.Project
	if aws.ToString(p.Arn) != "arn:aws:codebuild:us-east-1:000000000000:project/web-build" || aws.ToInt32(p.TimeoutInMinutes) != 60 ||
		aws.ToInt32(p.QueuedTimeoutInMinutes) != 480 || p.LogsConfig.CloudWatchLogs.Status != types.LogsConfigStatusTypeEnabled {
		t.Fatalf("created %+v", p)
	}
	_, err := e.c.CreateProject(ctx, projectInput("web-build", buildspec))
	// botocore codebuild CreateProject errors: ResourceAlreadyExistsException.
	var exists *types.ResourceAlreadyExistsException
	if !errors.As(err, &exists) || !strings.Contains(err.Error(), "project/web-build") {
		t.Fatalf("second create: %v", err)
	}
	emutest.Must(e.c.UpdateProject(ctx, &cb.UpdateProjectInput{Name: aws.String("web-build"), TimeoutInMinutes: aws.Int32(30)}))
	got := emutest.Must(e.c.BatchGetProjects(ctx, &cb.BatchGetProjectsInput{Names: []string{"web-build", "absent"}}))
	if len(got.Projects) != 1 || aws.ToInt32(got.Projects[0].TimeoutInMinutes) != 30 || aws.ToString(got.Projects[0].Environment.Image) != "aws/codebuild/standard:7.0" ||
		len(got.ProjectsNotFound) != 1 || got.ProjectsNotFound[0] != "absent" {
		t.Fatalf("BatchGetProjects %+v", got)
	}
	for _, n := range []string{"p1", "p2", "p3", "p4", "p5"} {
		emutest.Must(e.c.CreateProject(ctx, projectInput(n, buildspec)))
	}
	var names []string
	for pg := cb.NewListProjectsPaginator(e.c, &cb.ListProjectsInput{SortBy: types.ProjectSortByTypeName}); pg.HasMorePages(); {
		names = append(names, emutest.Must(pg.NextPage(ctx)).Projects...)
	}
	if strings.Join(names, ",") != "p1,p2,p3,p4,p5,web-build" {
		t.Fatalf("listed %v", names)
	}
	emutest.Must(e.c.DeleteProject(ctx, &cb.DeleteProjectInput{Name: aws.String("web-build")}))
	_, err = e.c.UpdateProject(ctx, &cb.UpdateProjectInput{Name: aws.String("web-build"), TimeoutInMinutes: aws.Int32(30)})
	// botocore codebuild UpdateProject errors: ResourceNotFoundException.
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("update after delete: %v", err)
	}
}

func TestCreateProjectRejectsWhatAWSRejects(t *testing.T) {
	cases := []struct {
		name string
		edit func(in *cb.CreateProjectInput)
		want string
	}{
		// botocore codebuild ProjectName: 2-150, [A-Za-z0-9][A-Za-z0-9\-_]{1,149}.
		{"name pattern", func(in *cb.CreateProjectInput) { in.Name = aws.String("-web") }, "at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9][A-Za-z0-9\\-_]{1,149}"},
		{"name too short", func(in *cb.CreateProjectInput) { in.Name = aws.String("w") }, "Member must have length greater than or equal to 2"},
		// botocore codebuild BuildTimeOut: 5-2160.
		{"timeout", func(in *cb.CreateProjectInput) { in.TimeoutInMinutes = aws.Int32(2161) }, "at 'timeoutInMinutes' failed to satisfy constraint: Member must have value less than or equal to 2160"},
		// botocore codebuild TimeOut (queued): 5-480.
		{"queued timeout", func(in *cb.CreateProjectInput) { in.QueuedTimeoutInMinutes = aws.Int32(4) }, "Member must have value greater than or equal to 5"},
		// botocore codebuild ComputeType enum.
		{"compute type", func(in *cb.CreateProjectInput) { in.Environment.ComputeType = "BUILD_GENERAL1_HUGE" }, "at 'environment.computeType' failed to satisfy constraint: Member must satisfy enum value set"},
		// botocore codebuild SourceType enum.
		{"source type", func(in *cb.CreateProjectInput) { in.Source.Type = "SVN" }, "at 'source.type'"},
		// botocore codebuild EnvironmentType enum.
		{"environment type", func(in *cb.CreateProjectInput) { in.Environment.Type = "LINUX" }, "at 'environment.type'"},
		// ProjectCache.modes: the Docker layer cache needs privileged mode.
		{"layer cache unprivileged", func(in *cb.CreateProjectInput) { in.Environment.PrivilegedMode = aws.Bool(false) }, "privileged mode"},
		// ProjectSource CODEPIPELINE goes with ProjectArtifacts CODEPIPELINE.
		{"codepipeline source, S3 artifacts", func(in *cb.CreateProjectInput) { in.Source.Type = types.SourceTypeCodepipeline }, "CodePipeline"},
		// NO_SOURCE needs an inline buildspec.
		{"no source, no buildspec", func(in *cb.CreateProjectInput) { in.Source.Buildspec = nil }, "buildspec"},
		// botocore codebuild LogsConfigStatusType enum.
		{"logs status", func(in *cb.CreateProjectInput) {
			in.LogsConfig = &types.LogsConfig{CloudWatchLogs: &types.CloudWatchLogsConfig{Status: "ON"}}
		}, "at 'logsConfig.cloudWatchLogs.status'"},
	}
	e := start(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := projectInput("web-build", buildspec)
			tc.edit(in)
			_, err := e.c.CreateProject(ctx, in)
			// botocore codebuild CreateProject errors: InvalidInputException.
			emutest.WantCode(t, err, "InvalidInputException", tc.want)
		})
	}
}

// runBuild advances the clock in 5 s steps until the build completes.
func runBuild(t *testing.T, e env, id string) types.Build {
	t.Helper()
	for i := 0; i < 200; i++ {
		out := emutest.Must(e.c.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: []string{id}}))
		if len(out.Builds) != 1 {
			t.Fatalf("BatchGetBuilds %s: %+v", id, out)
		}
		if out.Builds[0].BuildComplete {
			return out.Builds[0]
		}
		e.clk.Advance(5 * time.Second)
	}
	t.Fatalf("build %s never completed", id)
	return types.Build{}
}

func logText(t *testing.T, e env, b types.Build) string {
	t.Helper()
	var lines []string
	in := &cwl.GetLogEventsInput{LogGroupName: b.Logs.GroupName, LogStreamName: b.Logs.StreamName, StartFromHead: aws.Bool(true)}
	for {
		out := emutest.Must(e.logs.GetLogEvents(ctx, in))
		for _, ev := range out.Events {
			lines = append(lines, aws.ToString(ev.Message))
		}
		if len(out.Events) == 0 || aws.ToString(out.NextForwardToken) == aws.ToString(in.NextToken) {
			return strings.Join(lines, "\n")
		}
		in.NextToken = out.NextForwardToken
	}
}

func phaseTypes(b types.Build) []string {
	var out []string
	for _, p := range b.Phases {
		out = append(out, string(p.PhaseType)+"="+string(p.PhaseStatus))
	}
	return out
}

func TestBuildRunsThePhasesInOrderAndLogsEachCommand(t *testing.T) {
	e := start(t)
	emutest.Must(e.c.CreateProject(ctx, projectInput("web-build", buildspec)))
	st := emutest.Must(e.c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("web-build"), SourceVersion: aws.String("abc123")}))
	if st.Build.BuildStatus != types.StatusTypeInProgress || st.Build.BuildComplete || !strings.HasPrefix(aws.ToString(st.Build.Id), "web-build:") {
		t.Fatalf("started %+v", st.Build)
	}
	e.clk.Advance(8 * time.Second)
	mid := emutest.Must(e.c.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: []string{*st.Build.Id}})).Builds[0]
	// BuildPhaseType order: SUBMITTED, QUEUED, PROVISIONING, ...
	if mid.CurrentPhase == nil || *mid.CurrentPhase != "PROVISIONING" || mid.BuildStatus != types.StatusTypeInProgress {
		t.Fatalf("after 12s: phase %v status %s", aws.ToString(mid.CurrentPhase), mid.BuildStatus)
	}
	b := runBuild(t, e, *st.Build.Id)
	// Every phase is listed, a buildspec phase without commands too.
	want := "SUBMITTED=SUCCEEDED QUEUED=SUCCEEDED PROVISIONING=SUCCEEDED DOWNLOAD_SOURCE=SUCCEEDED INSTALL=SUCCEEDED PRE_BUILD=SUCCEEDED BUILD=SUCCEEDED POST_BUILD=SUCCEEDED UPLOAD_ARTIFACTS=SUCCEEDED FINALIZING=SUCCEEDED COMPLETED="
	if got := strings.Join(phaseTypes(b), " "); got != want {
		t.Fatalf("phases\n got %s\nwant %s", got, want)
	}
	if b.BuildStatus != types.StatusTypeSucceeded || aws.ToString(b.Logs.GroupName) != "/aws/codebuild/web-build" {
		t.Fatalf("build %s logs %+v", b.BuildStatus, b.Logs)
	}
	log := logText(t, e, b)
	for _, w := range []string{"Running command echo Logging in to Amazon ECR...", "\nLogging in to Amazon ECR...",
		"Running command docker build -t $REPO:$CODEBUILD_RESOLVED_SOURCE_VERSION .", "Phase complete: BUILD State: SUCCEEDED", "Entering phase POST_BUILD"} {
		if !strings.Contains(log, w) {
			t.Fatalf("log lacks %q:\n%s", w, log)
		}
	}
}

func TestFailingCommandFailsItsPhaseWithTheLog(t *testing.T) {
	cases := []struct {
		name, spec, phases, ctxMsg string
	}{
		// A failed BUILD still runs POST_BUILD and UPLOAD_ARTIFACTS (CodeBuild
		// "build phase transitions").
		{"build fails", "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n      - exit 2\n  post_build:\n    commands:\n      - echo done\n",
			"BUILD=FAILED POST_BUILD=SUCCEEDED UPLOAD_ARTIFACTS=SUCCEEDED FINALIZING=SUCCEEDED COMPLETED=", "Error while executing command: exit 2. Reason: exit status 2"},
		// A failed PRE_BUILD goes to FINALIZING.
		{"pre_build fails", "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - ./check-container OPSCTL_FAIL\n  build:\n    commands:\n      - echo never\n",
			"PRE_BUILD=FAILED FINALIZING=SUCCEEDED COMPLETED=", "Error while executing command: ./check-container OPSCTL_FAIL. Reason: exit status 1"},
		{"bad buildspec version", "version: 0.3\nphases:\n  build:\n    commands:\n      - echo hi\n",
			"DOWNLOAD_SOURCE=FAILED FINALIZING=SUCCEEDED COMPLETED=", "invalid buildspec version"},
	}
	e := start(t)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "p" + string(rune('a'+i)) + "x"
			emutest.Must(e.c.CreateProject(ctx, projectInput(name, tc.spec)))
			id := *emutest.Must(e.c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String(name)})).Build.Id
			b := runBuild(t, e, id)
			got := strings.Join(phaseTypes(b), " ")
			if b.BuildStatus != types.StatusTypeFailed || !strings.HasSuffix(got, tc.phases) {
				t.Fatalf("status %s phases %s, want ...%s", b.BuildStatus, got, tc.phases)
			}
			var failed types.BuildPhase
			for _, p := range b.Phases {
				if p.PhaseStatus == types.StatusTypeFailed {
					failed = p
				}
			}
			if len(failed.Contexts) != 1 || !strings.Contains(aws.ToString(failed.Contexts[0].Message), tc.ctxMsg) {
				t.Fatalf("failed phase contexts %+v", failed.Contexts)
			}
			if tc.name == "build fails" {
				log := logText(t, e, b)
				if !strings.Contains(log, "Command did not exit successfully exit 2 exit status 2") || !strings.Contains(log, "Phase complete: BUILD State: FAILED") {
					t.Fatalf("log:\n%s", log)
				}
			}
		})
	}
}

func TestStopTimeoutAndArtifacts(t *testing.T) {
	e := start(t)
	slow := "version: 0.2\nphases:\n  build:\n    commands:\n      - sleep 600\n"
	emutest.Must(e.c.CreateProject(ctx, projectInput("slow", slow)))
	id := *emutest.Must(e.c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("slow")})).Build.Id
	e.clk.Advance(60 * time.Second)
	stopped := emutest.Must(e.c.StopBuild(ctx, &cb.StopBuildInput{Id: aws.String(id)})).Build
	if stopped.BuildStatus != types.StatusTypeStopped || !stopped.BuildComplete {
		t.Fatalf("stopped: %s complete %v", stopped.BuildStatus, stopped.BuildComplete)
	}
	_, err := e.c.StopBuild(ctx, &cb.StopBuildInput{Id: aws.String("slow:00000000-0000-4000-8000-000000000000")})
	// botocore codebuild StopBuild errors: ResourceNotFoundException.
	emutest.WantCode(t, err, "ResourceNotFoundException", "does not exist")

	// timeoutInMinutesOverride 5 on a 10-minute command: TIMED_OUT.
	id = *emutest.Must(e.c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("slow"), TimeoutInMinutesOverride: aws.Int32(5)})).Build.Id
	e.clk.Advance(6 * time.Minute)
	b := runBuild(t, e, id)
	if b.BuildStatus != types.StatusTypeTimedOut {
		t.Fatalf("status %s, want TIMED_OUT; phases %v", b.BuildStatus, phaseTypes(b))
	}

	// S3 artifacts: the file the buildspec's printf wrote.
	s3c := localawstest.S3(e.srv)
	emutest.Must(s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("artifacts")}))
	in := projectInput("web-build", buildspec)
	in.Artifacts = &types.ProjectArtifacts{Type: types.ArtifactsTypeS3, Location: aws.String("artifacts"), Name: aws.String("out"), Path: aws.String("web")}
	emutest.Must(e.c.CreateProject(ctx, in))
	id = *emutest.Must(e.c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("web-build"), SourceVersion: aws.String("abc123")})).Build.Id
	b = runBuild(t, e, id)
	if b.BuildStatus != types.StatusTypeSucceeded || aws.ToString(b.Artifacts.Location) != "arn:aws:s3:::artifacts/web/out" {
		t.Fatalf("build %s artifacts %+v phases %v %s", b.BuildStatus, b.Artifacts, phaseTypes(b), aws.ToString(b.Phases[8].Contexts[0].Message))
	}
	obj := emutest.Must(s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("artifacts"), Key: aws.String("web/out/imagedefinitions.json")}))
	data, _ := io.ReadAll(obj.Body)
	if string(data) != `[{"name":"web","imageUri":"000000000000.dkr.ecr.us-east-1.amazonaws.com/web:abc123"}]` {
		t.Fatalf("imagedefinitions.json = %s (build %s)", data, b.BuildStatus)
	}
	ids := emutest.Must(e.c.ListBuildsForProject(ctx, &cb.ListBuildsForProjectInput{ProjectName: aws.String("slow")})).Ids
	if len(ids) != 2 || ids[0] != id && !strings.HasPrefix(ids[0], "slow:") {
		t.Fatalf("ListBuildsForProject %v", ids)
	}
	_, err = e.c.ListBuildsForProject(ctx, &cb.ListBuildsForProjectInput{ProjectName: aws.String("absent")})
	// botocore codebuild ListBuildsForProject errors: ResourceNotFoundException.
	emutest.WantCode(t, err, "ResourceNotFoundException", "project/absent")
	nf := emutest.Must(e.c.BatchGetBuilds(ctx, &cb.BatchGetBuildsInput{Ids: []string{"slow:nope"}}))
	if len(nf.BuildsNotFound) != 1 || len(nf.Builds) != 0 {
		t.Fatalf("BatchGetBuilds unknown: %+v", nf)
	}
}

func TestFaults(t *testing.T) {
	e := start(t)
	emutest.Must(e.c.CreateProject(ctx, projectInput("web-build", buildspec)))
	emutest.ServerError(e.srv, "codebuild", "StartBuild", 1)
	c := cb.NewFromConfig(localawstest.Config(e.srv, 3))
	emutest.Must(c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("web-build")}))
	emutest.WantCalls(t, e.srv, "codebuild", "StartBuild", emutest.Calls{Faulted: 1, OK: 1})
	emutest.Fail(e.srv, "codebuild", "CreateProject", emutest.Always, "AccessDeniedException", 400, "not authorized to perform codebuild:CreateProject")
	_, err := c.CreateProject(ctx, projectInput("other", buildspec))
	emutest.WantCode(t, err, "AccessDeniedException", "codebuild:CreateProject")
	_, err = c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("absent")})
	// botocore codebuild StartBuild errors: ResourceNotFoundException.
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("StartBuild absent: %v", err)
	}
}

func TestBuildStateChangeEvents(t *testing.T) {
	e := start(t)
	emu := e.srv.Service("codebuild").(*codebuildemu.Server)
	var got []map[string]any
	emu.Events = func(source, detailType string, resources []string, detail []byte, at time.Time) {
		var m map[string]any
		json.Unmarshal(detail, &m)
		// sample-build-notifications-ref: source aws.codebuild, detail-type
		// "CodeBuild Build State Change", the build ARN as the resource.
		if source != "aws.codebuild" || detailType != "CodeBuild Build State Change" || len(resources) != 1 || resources[0] != m["build-id"] {
			t.Errorf("event %s %s %v %v", source, detailType, resources, m)
		}
		got = append(got, m)
	}
	emutest.Must(e.c.CreateProject(ctx, projectInput("web-build", "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 1\n")))
	id := *emutest.Must(e.c.StartBuild(ctx, &cb.StartBuildInput{ProjectName: aws.String("web-build")})).Build.Id
	runBuild(t, e, id)
	var states []string
	for _, m := range got {
		states = append(states, m["build-status"].(string))
		if m["project-name"] != "web-build" {
			t.Errorf("project-name %v", m["project-name"])
		}
	}
	if strings.Join(states, ",") != "IN_PROGRESS,FAILED" {
		t.Fatalf("build states %v", states)
	}
}
