package pipelines

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	cbtypes "github.com/aws/aws-sdk-go-v2/service/codebuild/types"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

// RmOptions are the inputs of `pipeline rm`.
type RmOptions struct {
	Name   string
	DryRun bool
}

// RmResult is what `pipeline rm` deleted, and what it kept.
type RmResult struct {
	Pipeline string        `json:"pipeline"`
	DryRun   bool          `json:"dry_run"`
	Changes  []plan.Change `json:"changes"`
	Counts   plan.Counts   `json:"counts"`
	// Kept are resources holding a team's data (images, artifacts) that rm
	// leaves; the text says how to delete them.
	Kept []string `json:"kept"`
}

// PlanRemove reads what exists of the pipeline's resources and plans their
// deletion (the pipeline, the failure rule, the CodeBuild projects, the
// roles and the connection opsctl created). Nothing opsctl did not create is
// touched; the ECR repository and the artifact bucket are kept.
func PlanRemove(ctx context.Context, deps Deps, o RmOptions) ([]plan.Step, RmResult, error) {
	r := RmResult{Pipeline: o.Name, DryRun: o.DryRun}
	if err := ValidateName(o.Name); err != nil {
		return nil, r, err
	}
	account, err := deps.account(ctx)
	if err != nil {
		return nil, r, err
	}
	n := NamesOf(o.Name, deps.Region, account)
	var steps []plan.Step
	// The failure rule and its target.
	if deps.Events != nil {
		if _, err := deps.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(n.Rule)}); err == nil {
			steps = append(steps, plan.Delete(ResRule, n.Rule, func(ctx context.Context) error {
				t, err := deps.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(n.Rule)})
				if err != nil && !isNotFound(err) {
					return fmt.Errorf("read the targets of rule %s: %w", n.Rule, err)
				}
				if err == nil && len(t.Targets) > 0 {
					var ids []string
					for _, x := range t.Targets {
						ids = append(ids, aws.ToString(x.Id))
					}
					if _, err := deps.Events.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(n.Rule), Ids: ids}); err != nil && !isNotFound(err) {
						return fmt.Errorf("remove the targets of rule %s: %w", n.Rule, err)
					}
				}
				_, err = deps.Events.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(n.Rule)})
				return wrap(err, "delete rule %s", n.Rule)
			}))
		} else if !isNotFound(err) {
			return nil, r, fmt.Errorf("read rule %s: %w", n.Rule, err)
		}
	}
	// The pipeline.
	if _, err := deps.Pipeline.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(n.Pipeline)}); err == nil {
		steps = append(steps, plan.Delete(ResPipeline, n.Pipeline, func(ctx context.Context) error {
			_, err := deps.Pipeline.DeletePipeline(ctx, &codepipeline.DeletePipelineInput{Name: aws.String(n.Pipeline)})
			return wrap(err, "delete pipeline %s", n.Pipeline)
		}))
	} else if !isNotFound(err) {
		return nil, r, fmt.Errorf("read pipeline %s: %w", n.Pipeline, err)
	}
	// The CodeBuild projects.
	projects, err := deps.CodeBuild.BatchGetProjects(ctx, &codebuild.BatchGetProjectsInput{Names: []string{n.BuildProject, n.testProject()}})
	if err != nil {
		return nil, r, fmt.Errorf("read CodeBuild projects of pipeline %s: %w", n.Pipeline, err)
	}
	for _, p := range projects.Projects {
		name := aws.ToString(p.Name)
		if !hasManagedTag(p.Tags) {
			continue
		}
		steps = append(steps, plan.Delete(ResProject, name, func(ctx context.Context) error {
			_, err := deps.CodeBuild.DeleteProject(ctx, &codebuild.DeleteProjectInput{Name: aws.String(name)})
			return wrap(err, "delete CodeBuild project %s", name)
		}))
	}
	// The roles (their inline policy first).
	for _, role := range []string{n.PipelineRole, n.BuildRole} {
		role := role
		out, err := deps.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(role)})
		if err != nil {
			if isNotFound(err) {
				continue
			}
			return nil, r, fmt.Errorf("read IAM role %s: %w", role, err)
		}
		managed := false
		for _, t := range out.Role.Tags {
			managed = managed || (aws.ToString(t.Key) == "opsctl:managed" && aws.ToString(t.Value) == "true")
		}
		if !managed {
			continue
		}
		steps = append(steps, plan.Delete(ResRole, role, func(ctx context.Context) error {
			if _, err := deps.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(policyName)}); err != nil && !isNotFound(err) {
				return fmt.Errorf("delete the permissions of IAM role %s: %w", role, err)
			}
			_, err := deps.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(role)})
			return wrap(err, "delete IAM role %s", role)
		}))
	}
	// The connection, when opsctl created it.
	if deps.Connections != nil {
		name := connectionName(o.Name)
		in := &codeconnections.ListConnectionsInput{}
		for {
			out, err := deps.Connections.ListConnections(ctx, in)
			if err != nil {
				return nil, r, fmt.Errorf("list CodeConnections connections: %w", err)
			}
			for _, c := range out.Connections {
				if aws.ToString(c.ConnectionName) != name {
					continue
				}
				arn := aws.ToString(c.ConnectionArn)
				tags, err := deps.Connections.ListTagsForResource(ctx, &codeconnections.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
				if err != nil {
					return nil, r, fmt.Errorf("read the tags of connection %s: %w", name, err)
				}
				managed := false
				for _, t := range tags.Tags {
					managed = managed || (aws.ToString(t.Key) == "opsctl:managed" && aws.ToString(t.Value) == "true")
				}
				if managed {
					steps = append(steps, plan.Delete(ResConnection, name, func(ctx context.Context) error {
						_, err := deps.Connections.DeleteConnection(ctx, &codeconnections.DeleteConnectionInput{ConnectionArn: aws.String(arn)})
						if isNotFound(err) {
							return nil
						}
						return wrap(err, "delete connection %s", name)
					}))
				}
			}
			if out.NextToken == nil {
				break
			}
			in.NextToken = out.NextToken
		}
	}
	r.Kept = []string{
		fmt.Sprintf("ECR repository %s (its images): aws ecr delete-repository --repository-name %s --force", n.Repository, n.Repository),
		fmt.Sprintf("artifact bucket %s (build artifacts): aws s3 rb s3://%s --force", n.Bucket, n.Bucket),
		fmt.Sprintf("build log groups /aws/codebuild/%s and /aws/codebuild/%s", n.BuildProject, n.testProject()),
	}
	return steps, r, nil
}

func hasManagedTag(tags []cbtypes.Tag) bool {
	for _, t := range tags {
		if aws.ToString(t.Key) == "opsctl:managed" && aws.ToString(t.Value) == "true" {
			return true
		}
	}
	return false
}

// Remove applies a planned removal. It is re-runnable: what is already gone
// is not in the plan.
func Remove(ctx context.Context, deps Deps, steps []plan.Step, r RmResult) (RmResult, error) {
	changes, err := plan.Execute(ctx, steps, plan.Options{DryRun: r.DryRun, OnChange: deps.OnChange, Log: deps.Log})
	r.Changes, r.Counts = changes, plan.Count(changes)
	if r.Changes == nil {
		r.Changes = []plan.Change{}
	}
	if err != nil && plan.Partial(changes) {
		return r, &opserr.PartialError{Err: err}
	}
	return r, err
}
