package pipelines

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// DefaultLogTail is how many build log lines status shows for a failure.
const DefaultLogTail = 20

// StatusOptions are the inputs of `pipeline status`.
type StatusOptions struct {
	Name string
	// Executions is how many recent executions to list (1-50).
	Executions int
	// Tail is how many build log lines to show for a failed build action.
	Tail int
}

// Validate checks the options before any call.
func (o StatusOptions) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.Executions < 1 || o.Executions > 50 {
		return opserr.Usagef("--executions %d: 1-50", o.Executions)
	}
	if o.Tail < 0 || o.Tail > 1000 {
		return opserr.Usagef("--tail %d: 0-1000 lines", o.Tail)
	}
	return nil
}

// ActionState is an action's latest execution.
type ActionState struct {
	Stage       string     `json:"stage"`
	Action      string     `json:"action"`
	Status      string     `json:"status"`
	ExecutionID string     `json:"execution_id,omitempty"`
	Summary     string     `json:"summary,omitempty"`
	ErrorCode   string     `json:"error_code,omitempty"`
	Error       string     `json:"error,omitempty"`
	ExternalID  string     `json:"external_id,omitempty"`
	URL         string     `json:"url,omitempty"`
	Changed     *time.Time `json:"last_change,omitempty"`
}

// StageState is a stage's latest execution and its actions.
type StageState struct {
	Stage       string        `json:"stage"`
	Status      string        `json:"status"`
	ExecutionID string        `json:"execution_id,omitempty"`
	Type        string        `json:"type,omitempty"`
	Actions     []ActionState `json:"actions"`
}

// Execution is one pipeline execution.
type Execution struct {
	ID       string    `json:"execution_id"`
	Status   string    `json:"status"`
	Type     string    `json:"type,omitempty"`
	Trigger  string    `json:"trigger,omitempty"`
	Revision string    `json:"revision,omitempty"`
	Summary  string    `json:"summary,omitempty"`
	Started  time.Time `json:"started"`
	Updated  time.Time `json:"updated"`
}

// Failure is the failing action of the latest failed execution and the tail
// of its CodeBuild log.
type Failure struct {
	ExecutionID string   `json:"execution_id"`
	Stage       string   `json:"stage"`
	Action      string   `json:"action"`
	Error       string   `json:"error"`
	BuildID     string   `json:"build_id,omitempty"`
	LogGroup    string   `json:"log_group,omitempty"`
	LogStream   string   `json:"log_stream,omitempty"`
	LogTail     []string `json:"log_tail,omitempty"`
}

// StatusResult is what `pipeline status` reports.
type StatusResult struct {
	Pipeline   string       `json:"pipeline"`
	Version    int32        `json:"version"`
	Stages     []StageState `json:"stages"`
	Executions []Execution  `json:"executions"`
	Failure    *Failure     `json:"failure,omitempty"`
	ConsoleURL string       `json:"console_url"`
}

// ErrNoPipeline is wrapped when the pipeline does not exist.
var ErrNoPipeline = errors.New("no such pipeline")

// Status reads the pipeline's state: each stage and action's latest
// execution, the recent executions, and, when the latest execution failed,
// the failing action and the tail of its CodeBuild log.
func Status(ctx context.Context, deps Deps, o StatusOptions) (StatusResult, error) {
	if err := o.Validate(); err != nil {
		return StatusResult{}, err
	}
	r := StatusResult{Pipeline: o.Name, ConsoleURL: NamesOf(o.Name, deps.Region, "").ConsoleURL}
	st, err := deps.Pipeline.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(o.Name)})
	if err != nil {
		if isNotFound(err) {
			return r, fmt.Errorf("pipeline %s: %w (create it with opsctl pipeline create)", o.Name, ErrNoPipeline)
		}
		return r, fmt.Errorf("read the state of pipeline %s: %w", o.Name, err)
	}
	r.Version = aws.ToInt32(st.PipelineVersion)
	for _, s := range st.StageStates {
		ss := StageState{Stage: aws.ToString(s.StageName), Actions: []ActionState{}}
		if e := s.LatestExecution; e != nil {
			ss.Status, ss.ExecutionID, ss.Type = string(e.Status), aws.ToString(e.PipelineExecutionId), string(e.Type)
		}
		for _, a := range s.ActionStates {
			as := ActionState{Stage: ss.Stage, Action: aws.ToString(a.ActionName)}
			if e := a.LatestExecution; e != nil {
				as.Status, as.ExecutionID, as.Summary = string(e.Status), aws.ToString(e.ActionExecutionId), aws.ToString(e.Summary)
				as.ExternalID, as.URL = aws.ToString(e.ExternalExecutionId), aws.ToString(e.ExternalExecutionUrl)
				as.Changed = e.LastStatusChange
				if e.ErrorDetails != nil {
					as.ErrorCode, as.Error = aws.ToString(e.ErrorDetails.Code), aws.ToString(e.ErrorDetails.Message)
				}
			}
			ss.Actions = append(ss.Actions, as)
		}
		r.Stages = append(r.Stages, ss)
	}
	ex, err := deps.Pipeline.ListPipelineExecutions(ctx, &codepipeline.ListPipelineExecutionsInput{PipelineName: aws.String(o.Name), MaxResults: aws.Int32(int32(o.Executions))})
	if err != nil {
		return r, fmt.Errorf("list the executions of pipeline %s: %w", o.Name, err)
	}
	for _, e := range ex.PipelineExecutionSummaries {
		x := Execution{ID: aws.ToString(e.PipelineExecutionId), Status: string(e.Status), Type: string(e.ExecutionType)}
		if e.Trigger != nil {
			x.Trigger = string(e.Trigger.TriggerType)
		}
		if e.StartTime != nil {
			x.Started = *e.StartTime
		}
		if e.LastUpdateTime != nil {
			x.Updated = *e.LastUpdateTime
		}
		if len(e.SourceRevisions) > 0 {
			x.Revision, x.Summary = aws.ToString(e.SourceRevisions[0].RevisionId), firstLine(aws.ToString(e.SourceRevisions[0].RevisionSummary))
		}
		r.Executions = append(r.Executions, x)
		if len(r.Executions) >= o.Executions {
			break
		}
	}
	// The latest finished execution's failure: a rollback that followed it
	// does not hide it (the change it rolled back still failed).
	for _, x := range r.Executions {
		if x.Type == string(cptypes.ExecutionTypeRollback) && x.Status == string(cptypes.PipelineExecutionStatusSucceeded) {
			continue
		}
		if x.Status == string(cptypes.PipelineExecutionStatusFailed) {
			r.Failure, err = failure(ctx, deps, o, x.ID)
			if err != nil {
				return r, err
			}
			break
		}
		if x.Status == string(cptypes.PipelineExecutionStatusSucceeded) {
			break // the latest finished execution succeeded
		}
	}
	return r, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// failure finds the failed action of an execution and its build log tail.
func failure(ctx context.Context, deps Deps, o StatusOptions, execution string) (*Failure, error) {
	out, err := deps.Pipeline.ListActionExecutions(ctx, &codepipeline.ListActionExecutionsInput{PipelineName: aws.String(o.Name),
		Filter: &cptypes.ActionExecutionFilter{PipelineExecutionId: aws.String(execution)}})
	if err != nil {
		return nil, fmt.Errorf("list the actions of execution %s: %w", execution, err)
	}
	var f *Failure
	for _, a := range out.ActionExecutionDetails {
		if a.Status != cptypes.ActionExecutionStatusFailed {
			continue
		}
		f = &Failure{ExecutionID: execution, Stage: aws.ToString(a.StageName), Action: aws.ToString(a.ActionName)}
		if a.Output != nil && a.Output.ExecutionResult != nil {
			f.Error = aws.ToString(a.Output.ExecutionResult.ExternalExecutionSummary)
			if a.Output.ExecutionResult.ErrorDetails != nil {
				f.Error = aws.ToString(a.Output.ExecutionResult.ErrorDetails.Message)
			}
			if a.Input != nil && a.Input.ActionTypeId != nil && aws.ToString(a.Input.ActionTypeId.Provider) == "CodeBuild" {
				f.BuildID = aws.ToString(a.Output.ExecutionResult.ExternalExecutionId)
			}
		}
		break
	}
	if f == nil || f.BuildID == "" || o.Tail == 0 || deps.CodeBuild == nil || deps.Logs == nil {
		return f, nil
	}
	b, err := deps.CodeBuild.BatchGetBuilds(ctx, &codebuild.BatchGetBuildsInput{Ids: []string{f.BuildID}})
	if err != nil {
		return f, fmt.Errorf("read build %s: %w", f.BuildID, err)
	}
	if len(b.Builds) == 0 || b.Builds[0].Logs == nil {
		return f, nil
	}
	f.LogGroup, f.LogStream = aws.ToString(b.Builds[0].Logs.GroupName), aws.ToString(b.Builds[0].Logs.StreamName)
	if f.LogGroup == "" || f.LogStream == "" {
		return f, nil
	}
	f.LogTail, err = logTail(ctx, deps, f.LogGroup, f.LogStream, o.Tail)
	return f, err
}

// logTail reads the last n lines of a log stream.
func logTail(ctx context.Context, deps Deps, group, stream string, n int) ([]string, error) {
	ev, err := deps.Logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(stream),
		StartFromHead: aws.Bool(false), Limit: aws.Int32(int32(n))})
	if err != nil {
		return nil, fmt.Errorf("read build log %s/%s: %w", group, stream, err)
	}
	var lines []string
	for _, e := range ev.Events {
		lines = append(lines, strings.TrimRight(aws.ToString(e.Message), "\n"))
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, nil
}
