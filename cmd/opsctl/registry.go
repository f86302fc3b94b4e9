package main

import "github.com/urfave/cli/v2"

// commandGroups holds the constructors of the command groups beyond version
// and whoami. Each group's file appends itself in init, so adding a group never
// touches this file or app.go (alarm.go, dlq.go, etl.go, ...).
var commandGroups []func(st *state) *cli.Command

func registerGroup(f func(st *state) *cli.Command) { commandGroups = append(commandGroups, f) }
