package main

import "github.com/urfave/cli/v2"

// etlCommands holds the etl subcommands; each lives in its own file
// (etl_rebuild.go, etl_archive.go) and adds itself in init.
var etlCommands []func(st *state) *cli.Command

func registerEtlCommand(f func(st *state) *cli.Command) { etlCommands = append(etlCommands, f) }

func init() {
	registerGroup(func(st *state) *cli.Command {
		var subs []*cli.Command
		for _, f := range etlCommands {
			subs = append(subs, f(st))
		}
		return &cli.Command{
			Name:  "etl",
			Usage: "CDC archives to S3 and table snapshots rebuilt from them",
			Description: "Set up change-data-capture archives (DynamoDB / MySQL / Postgres → Kinesis → Firehose → S3)\n" +
				"and rebuild the latest table state from them as Parquet, without Spark.\n\n" +
				"Example:\n   opsctl etl rebuild --source s3://lake/cdc/orders/ --format dynamodb --dest s3://lake/tables/orders/",
			Subcommands: subs,
		}
	})
}
