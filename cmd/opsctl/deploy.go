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
			Name:  "deploy",
			Usage: "ECS clusters on spot capacity, services, rollouts that tell the truth, rollback, auto scaling",
		}
		for _, f := range deployCommands {
			cmd.Subcommands = append(cmd.Subcommands, f(st))
		}
		return cmd
	})
}
