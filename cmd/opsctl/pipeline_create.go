package main

import (
	"fmt"
	"io"
	"sort"

	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/output"
	"github.com/opsctl/opsctl/internal/plan"
	"github.com/opsctl/opsctl/pipelines"
)

func init() { registerPipelineCommand(pipelineCreateCommand) }

// pipelineCreateOptions reads the flags into options and validates them (no AWS call).
func pipelineCreateOptions(c *cli.Context) (pipelines.CreateOptions, error) {
	if c.NArg() != 1 {
		return pipelines.CreateOptions{}, usage("pipeline create: one pipeline NAME expected, got %d arguments", c.NArg())
	}
	r, err := pipelines.ParseRepo(c.String("repo"))
	if err != nil {
		return pipelines.CreateOptions{}, err
	}
	o := pipelines.CreateOptions{
		Name: c.Args().First(), Repo: r, Branch: c.String("branch"), TriggerBranches: pipelines.SplitList(c.String("trigger-branches")),
		Cluster: c.String("cluster"), Service: c.String("service"), Container: c.String("container"), Dockerfile: c.String("dockerfile"),
		TestBranches: pipelines.SplitList(c.String("test-branches")), TestCommand: c.String("test-command"), Notify: c.String("notify"),
		KeepImages: c.Int("keep-images"), Wait: c.Bool("wait"), DryRun: c.Bool("dry-run"),
	}.WithDefaults()
	return o, o.Validate()
}

func pipelineCreateCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:      "create",
		Usage:     "create a CodePipeline V2 from a git push to an ECS rollout, or bring it to what the flags say (idempotent)",
		ArgsUsage: "NAME",
		Description: "Plans, diffs and applies, after checking the container against the service's live task definition:\n" +
			"a CodeConnections connection (GitHub, GitLab, Bitbucket; created PENDING: open the printed link and\n" +
			"click \"Update pending connection\"; --wait polls until AVAILABLE), the artifact bucket (SSE-S3, Block\n" +
			"Public Access, TLS only), the ECR repository NAME (scan on push, immutable tags, keeps the newest\n" +
			"--keep-images), the IAM roles opsctl-pipeline-NAME and opsctl-pipeline-NAME-build (least privilege,\n" +
			"aws:SourceAccount/aws:SourceArn conditions), the CodeBuild projects NAME-build (privileged Docker) and\n" +
			"NAME-test, and the pipeline: V2, QUEUED, Source → Build → Deploy (ECS, rolls back on failure) → Test\n" +
			"(only on --test-branches: a VariableCheck entry condition skips it elsewhere; a failed test rolls the\n" +
			"service back to the last tested image). Pushes to --trigger-branches (default: --branch and the test\n" +
			"branches) start it. With --notify, an EventBridge rule sends failed actions (pipeline, stage, action,\n" +
			"execution, console link) to the alarms SNS topic. A second run writes nothing.\n\n" +
			"Example:\n   opsctl pipeline create shop --repo github:acme/shop --branch main --cluster prod --service api \\\n" +
			"     --test-branches 'main,release/*' --test-command 'make integration' --notify ops@example.com\n" +
			"   opsctl pipeline create shop --repo codecommit:shop --cluster prod --service api --dry-run\n\n" + exitCodesHelp,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "repo", Usage: "source: github:OWNER/REPO, gitlab:GROUP/PROJECT, bitbucket:WORKSPACE/REPO, codecommit:NAME or s3://BUCKET/KEY.zip", Required: true},
			&cli.StringFlag{Name: "branch", Usage: "`BRANCH` the source action builds (default main; not for s3://)"},
			&cli.StringFlag{Name: "trigger-branches", Usage: "comma-separated branch `GLOBS` whose pushes start the pipeline (default: --branch and --test-branches)"},
			&cli.StringFlag{Name: "cluster", Usage: "ECS `CLUSTER` of the service", Required: true},
			&cli.StringFlag{Name: "service", Usage: "ECS `SERVICE` to deploy", Required: true},
			&cli.StringFlag{Name: "container", Usage: "container `NAME` to replace (default: the task definition's only container)"},
			&cli.StringFlag{Name: "dockerfile", Value: pipelines.DefaultDockerfile, Usage: "`PATH` of the Dockerfile in the repository"},
			&cli.StringFlag{Name: "test-branches", Usage: "comma-separated branch `GLOBS` whose executions run the Test stage"},
			&cli.StringFlag{Name: "test-command", Usage: "integration test `COMMAND` run against the deployed service"},
			&cli.StringFlag{Name: "notify", Usage: "`EMAIL` told of failed executions"},
			&cli.IntFlag{Name: "keep-images", Value: pipelines.DefaultKeepImages, Usage: "images the ECR lifecycle policy keeps (`N`)"},
			&cli.BoolFlag{Name: "wait", Usage: "wait until the connection's handshake is completed in the console"},
			&cli.BoolFlag{Name: "dry-run", Usage: "print the plan, the buildspecs and every policy document; write nothing"},
		},
		Action: func(c *cli.Context) error {
			o, err := pipelineCreateOptions(c)
			if err != nil {
				return err
			}
			return st.do(o, func() error {
				deps, err := pipelineDeps(c.Context, st)
				if err != nil {
					return err
				}
				res, err := pipelines.Create(c.Context, deps, o)
				if err != nil && len(res.Changes) == 0 {
					return err
				}
				return emitThen(st, res, func(w io.Writer) error { return writePipelineCreate(w, res) }, err)
			})
		},
	}
}

func writePipelineCreate(w io.Writer, r pipelines.CreateResult) error {
	mode := ""
	if r.DryRun {
		mode = " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "Pipeline %s%s\n", r.Pipeline, mode)
	pairs := [][2]string{{"Container", r.Container}, {"Image repository", r.RepositoryURI}, {"Artifact bucket", r.Bucket},
		{"Build project", r.BuildProject}}
	if r.TestProject != "" {
		pairs = append(pairs, [2]string{"Test project", r.TestProject})
	}
	if r.Connection != "" {
		pairs = append(pairs, [2]string{"Connection", r.Connection + " (" + r.ConnectionStatus + ")"})
	}
	if r.Rule != "" {
		pairs = append(pairs, [2]string{"Failure rule", r.Rule + " → " + r.TopicARN})
	}
	pairs = append(pairs, [2]string{"Console", r.ConsoleURL})
	if err := output.WriteKV(w, pairs); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := output.WriteTable(w, plan.Headers, plan.Rows(r.Changes, 70)); err != nil {
		return err
	}
	for _, t := range r.Todo {
		fmt.Fprintf(w, "\nTo do: %s\n", t)
	}
	if r.DryRun {
		names := make([]string, 0, len(r.Documents))
		for n := range r.Documents {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "\n# %s\n%s\n", n, r.Documents[n])
		}
	}
	return nil
}
