package main

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/codebuild"
	"github.com/aws/aws-sdk-go-v2/service/codeconnections"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/pipelines"
)

// pipelineCommands are the subcommands of `opsctl pipeline`, registered by
// the files that implement them.
var pipelineCommands []func(st *state) *cli.Command

func registerPipelineCommand(f func(st *state) *cli.Command) {
	pipelineCommands = append(pipelineCommands, f)
}

func init() {
	registerGroup(func(st *state) *cli.Command {
		cmd := &cli.Command{
			Name:  "pipeline",
			Usage: "CodePipeline V2 from a git push to an ECS rollout, with branch-gated integration tests and failure emails",
			Description: "Example:\n   opsctl pipeline create shop --repo github:acme/shop --branch main --cluster prod --service api \\\n" +
				"     --test-branches 'main,release/*' --test-command 'make integration' --notify ops@example.com\n" +
				"   opsctl pipeline status shop",
		}
		for _, f := range pipelineCommands {
			cmd.Subcommands = append(cmd.Subcommands, f(st))
		}
		return cmd
	})
	registerPipelineCommand(pipelineBuildspecCommand)
}

// pipelineDeps builds the pipelines package's clients. It makes no AWS call.
func pipelineDeps(ctx context.Context, st *state) (pipelines.Deps, error) {
	cfg, err := st.aws.Config(ctx)
	if err != nil {
		return pipelines.Deps{}, err
	}
	return pipelines.Deps{
		S3:          s3.NewFromConfig(cfg),
		ECR:         ecr.NewFromConfig(cfg),
		Connections: codeconnections.NewFromConfig(cfg),
		CodeBuild:   codebuild.NewFromConfig(cfg),
		Pipeline:    codepipeline.NewFromConfig(cfg),
		IAM:         iam.NewFromConfig(cfg),
		Events:      eventbridge.NewFromConfig(cfg),
		ECS:         ecs.NewFromConfig(cfg),
		Logs:        cloudwatchlogs.NewFromConfig(cfg),
		STS:         sts.NewFromConfig(cfg),
		Alarms: alarms.Deps{CloudWatch: cloudwatch.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg),
			Region: cfg.Region, Log: st.log},
		Region:    cfg.Region,
		Partition: partitionOf(cfg.Region),
		Log:       st.log,
		OnChange:  progressChange(st),
	}, nil
}

func pipelineBuildspecCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "buildspec",
		Usage:     "print the buildspec `pipeline create` gives the build (and test) project, for review",
		ArgsUsage: "NAME",
		Description: "The build logs in to ECR, checks that the container exists in the service's live task definition\n" +
			"(a wrong name fails the build with a clear message instead of breaking the deploy), builds with a\n" +
			"BuildKit layer cache taken from the newest image in ECR, pushes the image tagged with the commit id\n" +
			"(skipped when that tag already exists: tags are immutable) and writes imagedefinitions.json.\n" +
			"Only the account is read (STS).\n\n" +
			"Example:\n   opsctl pipeline buildspec shop --cluster prod --service api --container web --test-command 'make integration'\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "cluster", Usage: "ECS `CLUSTER` of the service", Required: true},
			&cli.StringFlag{Name: "service", Usage: "ECS `SERVICE` the pipeline deploys", Required: true},
			&cli.StringFlag{Name: "container", Usage: "container `NAME` in the service's task definition (default: the service name)"},
			&cli.StringFlag{Name: "dockerfile", Value: pipelines.DefaultDockerfile, Usage: "`PATH` of the Dockerfile in the repository"},
			&cli.StringFlag{Name: "test-command", Usage: "also print the Test stage's buildspec running `COMMAND`"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usage("pipeline buildspec: one pipeline NAME expected, got %d arguments", c.NArg())
			}
			o := pipelines.BuildspecOptions{Name: c.Args().First(), Cluster: c.String("cluster"), Service: c.String("service"),
				Container: c.String("container"), Dockerfile: c.String("dockerfile"), TestCommand: c.String("test-command")}.WithDefaults()
			if err := o.Validate(); err != nil {
				return err
			}
			return st.do(o, func() error {
				deps, err := pipelineDeps(c.Context, st)
				if err != nil {
					return err
				}
				r, err := pipelines.RenderBuildspec(c.Context, deps, o)
				if err != nil {
					return err
				}
				return st.printer.Emit(r, func(w io.Writer) error {
					fmt.Fprintf(w, "# buildspec of CodeBuild project %s\n%s", r.Project, r.Buildspec)
					if r.TestBuildspec != "" {
						fmt.Fprintf(w, "\n# buildspec of CodeBuild project %s\n%s", r.TestProject, r.TestBuildspec)
					}
					return nil
				})
			})
		},
	}
}
