package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"
)

// checkReferences checks, before a rollout writes anything, that what the
// new revision refers to still exists: its task and execution roles (IAM
// GetRole) and its containers' secrets (Secrets Manager DescribeSecret, SSM
// GetParameters). A client the Deps lack is not checked.
func checkReferences(ctx context.Context, d Deps, td *types.TaskDefinition) error {
	var problems []string
	if d.IAM != nil {
		for _, arn := range []*string{td.TaskRoleArn, td.ExecutionRoleArn} {
			if aws.ToString(arn) == "" {
				continue
			}
			name := lastPart(aws.ToString(arn))
			if _, err := d.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err != nil {
				if isCode(err, "NoSuchEntity", "NoSuchEntityException") {
					problems = append(problems, fmt.Sprintf("role %s does not exist", aws.ToString(arn)))
					continue
				}
				return fmt.Errorf("check role %s: %w", aws.ToString(arn), err)
			}
		}
	}
	var params []string
	for _, c := range td.ContainerDefinitions {
		for _, s := range c.Secrets {
			from := aws.ToString(s.ValueFrom)
			switch {
			case strings.HasPrefix(from, "arn:") && strings.Contains(from, ":secretsmanager:"):
				if d.Secrets == nil {
					continue
				}
				parts := strings.SplitN(from, ":", 8)
				id := strings.Join(parts[:min(len(parts), 7)], ":")
				if _, err := d.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)}); err != nil {
					if isCode(err, "ResourceNotFoundException") {
						problems = append(problems, fmt.Sprintf("secret %s (container %s, %s) does not exist", id, aws.ToString(c.Name), aws.ToString(s.Name)))
						continue
					}
					return fmt.Errorf("check secret %s: %w", id, err)
				}
			case strings.HasPrefix(from, "arn:") && strings.Contains(from, ":ssm:"):
				if _, name, ok := strings.Cut(from, ":parameter"); ok {
					params = append(params, name)
				}
			case !strings.HasPrefix(from, "arn:"):
				params = append(params, from)
			}
		}
	}
	if d.SSM != nil {
		for i := 0; i < len(params); i += 10 { // GetParameters takes up to 10 names
			batch := params[i:min(i+10, len(params))]
			out, err := d.SSM.GetParameters(ctx, &ssm.GetParametersInput{Names: batch})
			if err != nil {
				return fmt.Errorf("check SSM parameters %v: %w", batch, err)
			}
			for _, name := range out.InvalidParameters {
				problems = append(problems, fmt.Sprintf("SSM parameter %s does not exist", name))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("task definition %s:%d refers to what is missing (nothing was changed): %s", aws.ToString(td.Family), td.Revision, strings.Join(problems, "; "))
	}
	return nil
}

func isCode(err error, codes ...string) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.ErrorCode() == c {
			return true
		}
	}
	return false
}
