package pipelines

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// LogsOptions are the inputs of `pipeline logs`.
type LogsOptions struct {
	Name string
	// Execution is the execution whose build logs to read (default: the latest).
	Execution string
	// Tail is how many lines of each build log to show.
	Tail int
}

// botocore codepipeline PipelineExecutionId pattern.
var executionRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Validate checks the options before any call.
func (o LogsOptions) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.Execution != "" && !executionRe.MatchString(o.Execution) {
		return opserr.Usagef("--execution %q: an execution id is a UUID (8-4-4-4-12 lower-case hex digits)", o.Execution)
	}
	if o.Tail < 1 || o.Tail > 10000 {
		return opserr.Usagef("--tail %d: 1-10000 lines", o.Tail)
	}
	return nil
}

// BuildLog is one CodeBuild action's log.
type BuildLog struct {
	Stage     string   `json:"stage"`
	Action    string   `json:"action"`
	Status    string   `json:"status"`
	BuildID   string   `json:"build_id"`
	LogGroup  string   `json:"log_group,omitempty"`
	LogStream string   `json:"log_stream,omitempty"`
	Lines     []string `json:"lines"`
}

// LogsResult holds the build logs of one execution.
type LogsResult struct {
	Pipeline    string     `json:"pipeline"`
	ExecutionID string     `json:"execution_id"`
	Builds      []BuildLog `json:"builds"`
}

// Logs reads the CodeBuild logs of an execution's build and test actions.
func Logs(ctx context.Context, deps Deps, o LogsOptions) (LogsResult, error) {
	if err := o.Validate(); err != nil {
		return LogsResult{}, err
	}
	r := LogsResult{Pipeline: o.Name, ExecutionID: o.Execution, Builds: []BuildLog{}}
	if r.ExecutionID == "" {
		ex, err := deps.Pipeline.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(o.Name), MaxResults: aws.Int32(1)})
		if err != nil {
			if isNotFound(err) {
				return r, fmt.Errorf("pipeline %s: %w", o.Name, ErrNoPipeline)
			}
			return r, fmt.Errorf("list the executions of pipeline %s: %w", o.Name, err)
		}
		if len(ex.PipelineExecutionSummaries) == 0 {
			return r, fmt.Errorf("pipeline %s has not run yet: push to its branch or run opsctl pipeline run %s", o.Name, o.Name)
		}
		r.ExecutionID = aws.ToString(ex.PipelineExecutionSummaries[0].PipelineExecutionId)
	}
	in := &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(o.Name), Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(r.ExecutionID)}}
	var details []cptypes.ActionExecutionDetail
	for {
		out, err := deps.Pipeline.ListActionExecutions(ctx, in)
		if err != nil {
			return r, fmt.Errorf("list the actions of execution %s: %w", r.ExecutionID, err)
		}
		details = append(details, out.ActionExecutionDetails...)
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	// ListActionExecutions answers newest first; show them in the order they ran.
	for i := len(details) - 1; i >= 0; i-- {
		a := details[i]
		if a.Input == nil || a.Input.ActionTypeId == nil || aws.ToString(a.Input.ActionTypeId.Provider) != "CodeBuild" ||
			a.Output == nil || a.Output.ExecutionResult == nil || aws.ToString(a.Output.ExecutionResult.ExternalExecutionId) == "" {
			continue
		}
		bl := BuildLog{Stage: aws.ToString(a.StageName), Action: aws.ToString(a.ActionName), Status: string(a.Status),
			BuildID: aws.ToString(a.Output.ExecutionResult.ExternalExecutionId), Lines: []string{}}
		b, err := deps.CodeBuild.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{bl.BuildID}})
		if err != nil {
			return r, fmt.Errorf("read build %s: %w", bl.BuildID, err)
		}
		if len(b.Builds) > 0 && b.Builds[0].Logs != nil {
			bl.LogGroup, bl.LogStream = aws.ToString(b.Builds[0].Logs.GroupName), aws.ToString(b.Builds[0].Logs.StreamName)
		}
		if bl.LogGroup != "" && bl.LogStream != "" {
			if bl.Lines, err = logTail(ctx, deps, bl.LogGroup, bl.LogStream, o.Tail); err != nil {
				return r, err
			}
		}
		r.Builds = append(r.Builds, bl)
	}
	return r, nil
}
