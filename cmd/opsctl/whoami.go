package main

import (
	"io"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/output"
)

func whoamiCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "whoami",
		Usage: "show the AWS identity, region, profile and endpoint opsctl will use",
		Description: "Calls STS GetCallerIdentity with the resolved credentials: the first command to run\n" +
			"when checking a profile, SSO login or endpoint.\n\n" +
			"Example:\n   opsctl --profile prod whoami\n   opsctl --endpoint-url http://127.0.0.1:4566 whoami --output json",
		Action: func(c *cli.Context) error {
			return st.do(st.aws.Options(), func() error {
				cfg, err := st.aws.Config(c.Context)
				if err != nil {
					return err
				}
				id, err := awsx.WhoAmI(c.Context, sts.NewFromConfig(cfg), cfg, st.aws.Options())
				if err != nil {
					return err
				}
				return st.printer.Emit(id, func(w io.Writer) error {
					return output.WriteKV(w, [][2]string{
						{"Account", id.Account}, {"ARN", id.ARN}, {"UserID", id.UserID},
						{"Region", id.Region}, {"Profile", id.Profile}, {"Endpoint", id.Endpoint},
						{"Credentials", id.CredentialSource},
					})
				})
			})
		},
	}
}
