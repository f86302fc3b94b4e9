package main

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/applicationautoscaling"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/deploy"
	"github.com/opsctl/opsctl/internal/plan"
)

// deployDeps builds the AWS clients of the deploy package from the loaded
// AWS configuration. It makes no AWS call: the account is looked up by the
// command that needs it (deploy resolves it through STS when Account is
// empty), so bad input still fails before any call.
func deployDeps(ctx context.Context, st *state) (deploy.Deps, error) {
	cfg, err := st.aws.Config(ctx)
	if err != nil {
		return deploy.Deps{}, err
	}
	return deploy.Deps{
		ECS:         ecs.NewFromConfig(cfg),
		EC2:         ec2.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg),
		AppScaling:  applicationautoscaling.NewFromConfig(cfg),
		SSM:         ssm.NewFromConfig(cfg),
		Secrets:     secretsmanager.NewFromConfig(cfg),
		ECR:         ecr.NewFromConfig(cfg),
		IAM:         iam.NewFromConfig(cfg),
		Logs:        cloudwatchlogs.NewFromConfig(cfg),
		STS:         sts.NewFromConfig(cfg),
		ELB:         elbv2.NewFromConfig(cfg),
		ACM:         acm.NewFromConfig(cfg),
		Region:      cfg.Region,
		Partition:   partitionOf(cfg.Region),
		Log:         st.log,
		Alarms: alarms.Deps{CloudWatch: cloudwatch.NewFromConfig(cfg), Logs: cloudwatchlogs.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg),
			IAM: iam.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg), Region: cfg.Region, Log: st.log},
		OnChange: func(c plan.Change) {
			st.log.Debug("applied", "resource", c.Resource, "name", c.Name, "action", c.Action, "status", c.Status)
		},
	}, nil
}

// partitionOf is the ARN partition of a region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}
