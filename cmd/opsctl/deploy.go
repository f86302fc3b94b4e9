package main

import "github.com/urfave/cli/v2"

// deployCommands are the subcommands of `opsctl deploy`, registered by the
// files that implement them (deploy_cluster.go, deploy_service.go, …).
var deployCommands []func(st *state) *cli.Command

func registerDeployCommand(f func(st *state) *cli.Command) {
	deployCommands = append(deployCommands, f)
}

func init() {
	registerGroup(func(st *state) *cli.Command {
		cmd := &cli.Command{
			Name:        "deploy",
			Usage:       "ECS clusters on spot capacity, services, rollouts that tell the truth, rollback, auto scaling",
			Description: "Example:\n   opsctl deploy cluster create prod --spot\n   opsctl deploy rollout --cluster prod --service api --image 123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v2",
		}
		for _, f := range deployCommands {
			cmd.Subcommands = append(cmd.Subcommands, f(st))
		}
		return cmd
	})
}
