package pipelines

import (
	"context"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/opsctl/opsctl/internal/opserr"
)

// RunOptions are the inputs of `pipeline run`.
type RunOptions struct {
	Name string
	// Branch, when set, must be the source action's branch: CodePipeline
	// starts a manual execution on that branch (pipelines-filter.html: "A
	// manual start uses the action's BranchName") and offers no branch
	// override (SourceRevisionType: COMMIT_ID, IMAGE_DIGEST,
	// S3_OBJECT_VERSION_ID, S3_OBJECT_KEY).
	Branch string
	// Commit runs a specific commit (a COMMIT_ID source revision override).
	Commit string
}

var commitRe = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// Validate checks the options before any call.
func (o RunOptions) Validate() error {
	if err := ValidateName(o.Name); err != nil {
		return err
	}
	if o.Branch != "" {
		if err := ValidateBranch("--branch", o.Branch); err != nil {
			return err
		}
	}
	if o.Commit != "" && !commitRe.MatchString(o.Commit) {
		return opserr.Usagef("--commit %q: a commit id is 7-64 hexadecimal digits", o.Commit)
	}
	return nil
}

// RunResult is the started execution.
type RunResult struct {
	Pipeline    string `json:"pipeline"`
	ExecutionID string `json:"execution_id"`
	Branch      string `json:"branch,omitempty"`
	Commit      string `json:"commit,omitempty"`
}

// Run starts an execution of the pipeline.
func Run(ctx context.Context, deps Deps, o RunOptions) (RunResult, error) {
	if err := o.Validate(); err != nil {
		return RunResult{}, err
	}
	r := RunResult{Pipeline: o.Name, Commit: o.Commit}
	p, err := deps.Pipeline.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(o.Name)})
	if err != nil {
		if isNotFound(err) {
			return r, fmt.Errorf("pipeline %s: %w", o.Name, ErrNoPipeline)
		}
		return r, fmt.Errorf("read pipeline %s: %w", o.Name, err)
	}
	var src cptypes.ActionDeclaration
	if len(p.Pipeline.Stages) > 0 && len(p.Pipeline.Stages[0].Actions) > 0 {
		src = p.Pipeline.Stages[0].Actions[0]
	}
	r.Branch = src.Configuration["BranchName"]
	if o.Branch != "" && o.Branch != r.Branch {
		return r, fmt.Errorf("--branch %s: pipeline %s builds %q when started by hand; CodePipeline has no branch override for a manual start. Push to %s (its push trigger starts the pipeline) or run --commit on %s",
			o.Branch, o.Name, r.Branch, o.Branch, r.Branch)
	}
	in := &codepipeline.StartPipelineExecutionInput{Name: aws.String(o.Name)}
	if o.Commit != "" {
		if src.ActionTypeId == nil || aws.ToString(src.ActionTypeId.Provider) == "S3" {
			return r, fmt.Errorf("--commit: pipeline %s has an S3 source, which has no commits", o.Name)
		}
		in.SourceRevisions = []cptypes.SourceRevisionOverride{{ActionName: src.Name, RevisionType: cptypes.SourceRevisionTypeCommitId, RevisionValue: aws.String(o.Commit)}}
	}
	out, err := deps.Pipeline.StartPipelineExecution(ctx, in)
	if err != nil {
		return r, fmt.Errorf("start pipeline %s: %w", o.Name, err)
	}
	r.ExecutionID = aws.ToString(out.PipelineExecutionId)
	return r, nil
}
