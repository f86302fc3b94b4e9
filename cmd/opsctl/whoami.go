package main

import (
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/urfave/cli/v2"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/output"
)

func whoamiCommand(st *state) *cli.Command {
	return &cli.Command{
		Name:  "whoami",
		Usage: "show the AWS identity, region, profile and endpoint opsctl will use",
		Description: "Calls STS GetCallerIdentity with the resolved credentials: the first command to run\n" +
			"when checking a profile, SSO login or endpoint. Lists the endpoint of each service that is\n" +
			"overridden (--endpoint-url, AWS_ENDPOINT_URL_<SERVICE>, the profile's services section).\n" +
			"On an endpoint that serves no STS (MinIO, s3rver) it prints what it knows, says the\n" +
			"identity could not be read, and exits 4.\n\n" +
			"Example:\n   opsctl --profile prod whoami\n   opsctl --endpoint-url http://127.0.0.1:4566 whoami --output json",
		Action: func(c *cli.Context) error {
			return st.do(st.aws.Options(), func() error {
				cfg, err := st.aws.Config(c.Context)
				if err != nil {
					return err
				}
				id, err := awsx.WhoAmI(c.Context, sts.NewFromConfig(cfg), cfg, st.aws.Options())
				var noID *opserr.NoIdentityError
				if err != nil && !errors.As(err, &noID) {
					return err
				}
				if perr := st.printer.Emit(id, func(w io.Writer) error {
					pairs := [][2]string{
						{"Account", id.Account}, {"ARN", id.ARN}, {"UserID", id.UserID},
						{"Region", id.Region}, {"Profile", id.Profile}, {"Endpoint", id.Endpoint},
					}
					for _, svc := range awsx.SortedServices(id.Endpoints) {
						if id.Endpoints[svc] != id.Endpoint {
							pairs = append(pairs, [2]string{"Endpoint (" + svc + ")", id.Endpoints[svc]})
						}
					}
					pairs = append(pairs, [2]string{"Credentials", id.CredentialSource})
					if id.IdentityError != "" {
						pairs = append(pairs, [2]string{"Identity", "unknown: " + id.IdentityError})
					}
					return output.WriteKV(w, pairs)
				}); perr != nil {
					return perr
				}
				return err // exit 4 when the identity could not be read
			})
		},
	}
}
