package codepipelineemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cp "github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/codepipelineemu"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

type env struct {
	srv *localaws.Server
	clk *clock.Fake
	c   *cp.Client
	emu *codepipelineemu.Server
}

func start(t *testing.T) env {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	emu, ok := srv.Service("codepipeline").(*codepipelineemu.Server)
	if !ok {
		t.Fatalf("endpoint serves %T for codepipeline", srv.Service("codepipeline"))
	}
	return env{srv: srv, clk: clk, c: cp.NewFromConfig(localawstest.Config(srv, 1)), emu: emu}
}

const role = "arn:aws:iam::000000000000:role/pipeline"

func act(name, category, provider string, cfg map[string]string, in, out []string) types.ActionDeclaration {
	a := types.ActionDeclaration{Name: aws.String(name), Configuration: cfg,
		ActionTypeId: &types.ActionTypeId{Category: types.ActionCategory(category), Owner: types.ActionOwnerAws, Provider: aws.String(provider), Version: aws.String("1")}}
	for _, n := range in {
		a.InputArtifacts = append(a.InputArtifacts, types.InputArtifact{Name: aws.String(n)})
	}
	for _, n := range out {
		a.OutputArtifacts = append(a.OutputArtifacts, types.OutputArtifact{Name: aws.String(n)})
	}
	return a
}

// decl is the pipeline opsctl builds (issue 13): V2, QUEUED, Source → Build
// → Deploy → Test, a push trigger on main and release/*, the Test stage
// entered only for those branches and rolling Deploy back on failure.
func decl(name string) *types.PipelineDeclaration {
	return &types.PipelineDeclaration{
		Name: aws.String(name), RoleArn: aws.String(role),
		ArtifactStore: &types.ArtifactStore{Type: types.ArtifactStoreTypeS3, Location: aws.String("artifacts-bucket")},
		PipelineType:  types.PipelineTypeV2, ExecutionMode: types.ExecutionModeQueued,
		Stages: []types.StageDeclaration{
			{Name: aws.String("Source"), Actions: []types.ActionDeclaration{func() types.ActionDeclaration {
				a := act("Source", "Source", "CodeStarSourceConnection", map[string]string{
					"ConnectionArn": "arn:aws:codeconnections:us-east-1:000000000000:connection/abc", "FullRepositoryId": "acme/web", "BranchName": "main"}, nil, []string{"SourceOutput"})
				a.Namespace = aws.String("SourceVariables")
				return a
			}()}},
			{Name: aws.String("Build"), Actions: []types.ActionDeclaration{act("Build", "Build", "CodeBuild", map[string]string{"ProjectName": name + "-build"}, []string{"SourceOutput"}, []string{"BuildOutput"})}},
			{Name: aws.String("Deploy"), Actions: []types.ActionDeclaration{act("Deploy", "Deploy", "ECS", map[string]string{"ClusterName": "prod", "ServiceName": "web", "FileName": "imagedefinitions.json"}, []string{"BuildOutput"}, nil)},
				OnFailure: &types.FailureConditions{Result: types.ResultRollback}},
			{Name: aws.String("Test"), Actions: []types.ActionDeclaration{act("Test", "Test", "CodeBuild", map[string]string{"ProjectName": name + "-test"}, []string{"SourceOutput"}, nil)},
				BeforeEntry: &types.BeforeEntryConditions{Conditions: []types.Condition{{Result: types.ResultSkip, Rules: []types.RuleDeclaration{{
					Name:          aws.String("OnTestBranches"),
					RuleTypeId:    &types.RuleTypeId{Category: types.RuleCategoryRule, Owner: types.RuleOwnerAws, Provider: aws.String("VariableCheck"), Version: aws.String("1")},
					Configuration: map[string]string{"Variable": "#{SourceVariables.BranchName}", "Value": "^(main|release/.*)$", "Operator": "MATCHES"},
				}}}}},
				OnFailure: &types.FailureConditions{Result: types.ResultRollback}},
		},
		Triggers: []types.PipelineTriggerDeclaration{{ProviderType: types.PipelineTriggerProviderTypeCodeStarSourceConnection,
			GitConfiguration: &types.GitConfiguration{SourceActionName: aws.String("Source"),
				Push: []types.GitPushFilter{{Branches: &types.GitBranchFilterCriteria{Includes: []string{"main", "release/*", "feature/*"}, Excludes: []string{"feature/wip*"}}}}}}},
	}
}

func TestCreateGetUpdateListDeletePipeline(t *testing.T) {
	e := start(t)
	out := emutest.Must(e.c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl("web"),
		Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("web")}}}))
	// PipelineDeclaration.version: "The version number of the pipeline. A new
	// pipeline always has a version number of 1."
	if got := aws.ToInt32(out.Pipeline.Version); got != 1 {
		t.Fatalf("version = %d, want 1", got)
	}
	got := emutest.Must(e.c.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("web")}))
	if got.Pipeline.ExecutionMode != types.ExecutionModeQueued || got.Pipeline.PipelineType != types.PipelineTypeV2 ||
		len(got.Pipeline.Stages) != 4 || got.Pipeline.Stages[3].BeforeEntry == nil ||
		got.Pipeline.Triggers[0].GitConfiguration.Push[0].Branches.Excludes[0] != "feature/wip*" {
		t.Fatalf("GetPipeline lost the declaration: %+v", got.Pipeline)
	}
	if want := "arn:aws:codepipeline:us-east-1:000000000000:web"; aws.ToString(got.Metadata.PipelineArn) != want {
		t.Fatalf("arn = %s, want %s", aws.ToString(got.Metadata.PipelineArn), want)
	}
	d := got.Pipeline
	d.Stages[1].Actions[0].Configuration["ProjectName"] = "other"
	up := emutest.Must(e.c.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: d}))
	// "The version number is automatically incremented when a pipeline is
	// updated."
	if aws.ToInt32(up.Pipeline.Version) != 2 {
		t.Fatalf("updated version = %d, want 2", aws.ToInt32(up.Pipeline.Version))
	}
	v1 := emutest.Must(e.c.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("web"), Version: aws.Int32(1)}))
	if v1.Pipeline.Stages[1].Actions[0].Configuration["ProjectName"] != "web-build" {
		t.Fatalf("version 1 changed: %v", v1.Pipeline.Stages[1].Actions[0].Configuration)
	}
	for _, n := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		emutest.Must(e.c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl(n)}))
	}
	var names []string
	for p := cp.NewListPipelinesPaginator(e.c, &cp.ListPipelinesInput{}); p.HasMorePages(); {
		for _, s := range emutest.Must(p.NextPage(ctx)).Pipelines {
			names = append(names, aws.ToString(s.Name))
		}
	}
	if strings.Join(names, ",") != "a1,a2,a3,a4,a5,a6,web" {
		t.Fatalf("listed %v", names)
	}
	tags := emutest.Must(e.c.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: got.Metadata.PipelineArn}))
	if len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "web" {
		t.Fatalf("tags %+v", tags.Tags)
	}
	emutest.Must(e.c.TagResource(ctx, &cp.TagResourceInput{ResourceArn: got.Metadata.PipelineArn, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("ops")}}}))
	tags = emutest.Must(e.c.ListTagsForResource(ctx, &cp.ListTagsForResourceInput{ResourceArn: got.Metadata.PipelineArn}))
	if len(tags.Tags) != 2 {
		t.Fatalf("tags after TagResource %+v", tags.Tags)
	}
	emutest.Must(e.c.DeletePipeline(ctx, &cp.DeletePipelineInput{Name: aws.String("web")}))
	_, err := e.c.GetPipeline(ctx, &cp.GetPipelineInput{Name: aws.String("web")})
	// botocore codepipeline GetPipeline errors: PipelineNotFoundException.
	var nf *types.PipelineNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("GetPipeline after delete: %v, want PipelineNotFoundException", err)
	}
}

func TestCreatePipelineRejectsWhatAWSRejects(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(d *types.PipelineDeclaration)
		code, want string
	}{
		// botocore codepipeline PipelineName: 1-100, [A-Za-z0-9.@\-_]+.
		{"bad pipeline name", func(d *types.PipelineDeclaration) { d.Name = aws.String("my pipeline") },
			"ValidationException", "at 'pipeline.name' failed to satisfy constraint: Member must satisfy regular expression pattern: [A-Za-z0-9.@\\-_]+"},
		{"name too long", func(d *types.PipelineDeclaration) { d.Name = aws.String(strings.Repeat("a", 101)) },
			"ValidationException", "Member must have length less than or equal to 100"},
		// botocore codepipeline RoleArn pattern.
		{"bad role arn", func(d *types.PipelineDeclaration) { d.RoleArn = aws.String("pipeline-role") },
			"ValidationException", "at 'pipeline.roleArn'"},
		// botocore codepipeline ActionRunOrder: 1-999.
		{"run order", func(d *types.PipelineDeclaration) { d.Stages[1].Actions[0].RunOrder = aws.Int32(1000) },
			"ValidationException", "at 'pipeline.stages.2.member.actions.1.member.runOrder' failed to satisfy constraint: Member must have value less than or equal to 999"},
		// botocore codepipeline ActionTimeout: 5-86400.
		{"action timeout", func(d *types.PipelineDeclaration) { d.Stages[1].Actions[0].TimeoutInMinutes = aws.Int32(4) },
			"ValidationException", "Member must have value greater than or equal to 5"},
		// botocore codepipeline ArtifactName pattern [a-zA-Z0-9_\-]+.
		{"artifact name", func(d *types.PipelineDeclaration) {
			d.Stages[1].Actions[0].OutputArtifacts[0].Name = aws.String("build output")
		},
			"ValidationException", "outputArtifacts.1.member.name"},
		// botocore codepipeline ConditionList: min 1, max 1.
		{"two entry conditions", func(d *types.PipelineDeclaration) {
			c := d.Stages[3].BeforeEntry.Conditions[0]
			d.Stages[3].BeforeEntry.Conditions = append(d.Stages[3].BeforeEntry.Conditions, c)
		}, "ValidationException", "beforeEntry.conditions' failed to satisfy constraint: Member must have length less than or equal to 1"},
		// botocore codepipeline GitBranchPatternList: max 8.
		{"nine branch patterns", func(d *types.PipelineDeclaration) {
			d.Triggers[0].GitConfiguration.Push[0].Branches.Includes = strings.Split("a,b,c,d,e,f,g,h,i", ",")
		}, "ValidationException", "push.1.member.branches.includes' failed to satisfy constraint: Member must have length less than or equal to 8"},
		// "A pipeline must contain at least two stages" (pipeline structure
		// reference); botocore CreatePipeline errors: InvalidStructureException.
		{"one stage", func(d *types.PipelineDeclaration) { d.Stages = d.Stages[:1] },
			"InvalidStructureException", "minimum of 2 stages"},
		// "Only the first stage of a pipeline can contain source actions."
		{"source in build stage", func(d *types.PipelineDeclaration) {
			d.Stages[1].Actions = append(d.Stages[1].Actions, act("Src2", "Source", "S3", map[string]string{"S3Bucket": "b", "S3ObjectKey": "k"}, nil, []string{"Other"}))
		}, "InvalidStructureException", "Only the first stage of a pipeline can contain source actions"},
		{"build in source stage", func(d *types.PipelineDeclaration) {
			d.Stages[0].Actions = append(d.Stages[0].Actions, d.Stages[1].Actions[0])
		},
			"InvalidStructureException", "The first stage of a pipeline can only contain source actions"},
		// "All stage names within a pipeline must be unique."
		{"duplicate stage", func(d *types.PipelineDeclaration) { d.Stages[2].Name = aws.String("Build") },
			"InvalidStageDeclarationException", "Duplicate stage name: Build"},
		// "Output artifact names must be unique within a pipeline."
		{"duplicate artifact", func(d *types.PipelineDeclaration) {
			d.Stages[1].Actions[0].OutputArtifacts[0].Name = aws.String("SourceOutput")
		},
			"InvalidActionDeclarationException", "SourceOutput must be unique"},
		{"input never produced", func(d *types.PipelineDeclaration) { d.Stages[2].Actions[0].InputArtifacts[0].Name = aws.String("Nope") },
			"InvalidActionDeclarationException", "Input artifact Nope"},
		// action-reference-ECS: ClusterName and ServiceName are required.
		{"ECS without service", func(d *types.PipelineDeclaration) { delete(d.Stages[2].Actions[0].Configuration, "ServiceName") },
			"InvalidActionDeclarationException", "Action configuration for action 'Deploy' is missing required configuration 'ServiceName'"},
		// There is no action provider ECSStandard (anchors §3.2).
		{"unknown provider", func(d *types.PipelineDeclaration) {
			d.Stages[2].Actions[0].ActionTypeId.Provider = aws.String("ECSStandard")
		},
			"InvalidActionDeclarationException", "Provider: 'ECSStandard'"},
		// stage-conditions.html: entry conditions result FAIL or SKIP.
		{"entry rollback", func(d *types.PipelineDeclaration) {
			d.Stages[3].BeforeEntry.Conditions[0].Result = types.ResultRollback
		},
			"InvalidStageDeclarationException", "not supported for beforeEntry"},
		// execution-modes.html: QUEUED needs V2.
		{"queued V1", func(d *types.PipelineDeclaration) {
			d.PipelineType = types.PipelineTypeV1
			d.Triggers = nil
			d.Stages[3].BeforeEntry = nil
		}, "InvalidStructureException", "only supported for pipeline type V2"},
		// PipelineDeclaration.artifactStore: "either artifactStore or
		// artifactStores ... but you cannot use both".
		{"no artifact store", func(d *types.PipelineDeclaration) { d.ArtifactStore = nil },
			"InvalidStructureException", "either artifactStore or artifactStores"},
		{"trigger on unknown action", func(d *types.PipelineDeclaration) {
			d.Triggers[0].GitConfiguration.SourceActionName = aws.String("Nope")
		},
			"InvalidStructureException", "Trigger source action Nope"},
	}
	e := start(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decl("web")
			tc.edit(d)
			_, err := e.c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: d})
			emutest.WantCode(t, err, tc.code, tc.want)
		})
	}
	emutest.Must(e.c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl("web")}))
	_, err := e.c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl("web")})
	// botocore codepipeline CreatePipeline errors: PipelineNameInUseException.
	var inUse *types.PipelineNameInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("second create: %v", err)
	}
	_, err = e.c.UpdatePipeline(ctx, &cp.UpdatePipelineInput{Pipeline: decl("absent")})
	emutest.WantCode(t, err, "PipelineNotFoundException", "absent")
}

func TestPermanentAndTransientFaults(t *testing.T) {
	e := start(t)
	emutest.Throttle(e.srv, "codepipeline", "CreatePipeline", 2)
	c := cp.NewFromConfig(localawstest.Config(e.srv, 3))
	emutest.Must(c.CreatePipeline(ctx, &cp.CreatePipelineInput{Pipeline: decl("web")}))
	emutest.WantCalls(t, e.srv, "codepipeline", "CreatePipeline", emutest.Calls{Faulted: 2, OK: 1})
	emutest.Fail(e.srv, "codepipeline", "StartPipelineExecution", emutest.Always, "AccessDeniedException", 400, "not authorized")
	_, err := c.StartPipelineExecution(ctx, &cp.StartPipelineExecutionInput{Name: aws.String("web")})
	emutest.WantCode(t, err, "AccessDeniedException", "not authorized")
}
