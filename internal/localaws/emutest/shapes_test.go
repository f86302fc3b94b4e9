package emutest_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwl "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// An injected fault must reach the SDK as the AWS error it names, whatever
// the protocol: the router answers before the emulation, so each codec's
// error shape is what is tested here.
func TestInjectedFaultsAnswerInEveryProtocolsErrorShape(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	cfg := localawstest.Config(srv, 1)
	ctx := context.Background()
	cases := []struct {
		protocol, service, op string
		call                  func() error
	}{
		{"awsJson1_1", "logs", "DescribeLogGroups", func() error {
			_, err := cwl.NewFromConfig(cfg).DescribeLogGroups(ctx, &cwl.DescribeLogGroupsInput{})
			return err
		}},
		{"rpcv2Cbor", "monitoring", "DescribeAlarms", func() error {
			_, err := cloudwatch.NewFromConfig(cfg).DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{})
			return err
		}},
		{"awsQuery", "iam", "ListRoles", func() error {
			_, err := iam.NewFromConfig(cfg).ListRoles(ctx, &iam.ListRolesInput{})
			return err
		}},
		{"ec2Query", "ec2", "DescribeVpcs", func() error {
			_, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
			return err
		}},
		{"restJson1", "lambda", "ListFunctions", func() error {
			_, err := lambda.NewFromConfig(cfg).ListFunctions(ctx, &lambda.ListFunctionsInput{})
			return err
		}},
		{"restXml", "s3", "ListBuckets", func() error {
			_, err := localawstest.S3(srv).ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.protocol, func(t *testing.T) {
			emutest.Fail(srv, tc.service, tc.op, 1, "AccessDenied", 403, "not for you")
			err := tc.call()
			emutest.WantCode(t, err, "AccessDenied", "not for you")
			emutest.WantHTTP(t, err, "AccessDenied", 403)
			if err := tc.call(); err != nil {
				t.Fatalf("after the one fault: %v", err)
			}
		})
	}

	// Throttling is the service's own code (ThrottlingException, Throttling
	// for awsQuery, RequestLimitExceeded for EC2, SlowDown for S3), which the
	// SDK's standard retryer retries.
	cfg = localawstest.Config(srv, 3)
	for _, tc := range cases {
		t.Run(tc.protocol+" throttled", func(t *testing.T) {
			srv.ResetCalls()
			emutest.Throttle(srv, tc.service, tc.op, 1)
			if err := tc.call(); err != nil {
				t.Fatalf("throttled once, then retried: %v", err)
			}
			emutest.WantCalls(t, srv, tc.service, tc.op, emutest.Calls{Faulted: 1, OK: 1})
		})
	}
}
