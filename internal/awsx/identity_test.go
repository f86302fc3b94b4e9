package awsx_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// ARN partitions: "arn:partition:service:region:account-id:resource" (AWS
// General Reference, "Amazon Resource Names"); China regions are cn-*,
// GovCloud us-gov-*.
func TestPartitionOfReadsTheARNThenTheRegion(t *testing.T) {
	tests := []struct{ name, arn, region, want string }{
		{"commercial ARN", "arn:aws:iam::123456789012:user/ops", "eu-west-1", "aws"},
		{"China ARN wins over the region", "arn:aws-cn:sts::123456789012:assumed-role/r/s", "us-east-1", "aws-cn"},
		{"GovCloud ARN", "arn:aws-us-gov:iam::123456789012:root", "", "aws-us-gov"},
		{"no ARN, China region", "", "cn-north-1", "aws-cn"},
		{"no ARN, GovCloud region", "", "us-gov-west-1", "aws-us-gov"},
		{"no ARN, commercial region", "", "ap-south-1", "aws"},
		{"not an ARN", "arn-ish", "", "aws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := awsx.PartitionOf(tt.arn, tt.region); got != tt.want {
				t.Fatalf("PartitionOf(%q, %q) = %q, want %q", tt.arn, tt.region, got, tt.want)
			}
		})
	}
}

// The one caller-identity lookup, through the real STS client against the
// local endpoint: account and partition from GetCallerIdentity, the region as
// given; an STS error is wrapped with what failed.
func TestCallerIdentityAgainstTheEndpoint(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	client := sts.NewFromConfig(localawstest.Config(srv, 1))
	ctx := context.Background()
	c, err := awsx.CallerIdentity(ctx, client, srv.Region)
	if err != nil {
		t.Fatal(err)
	}
	if c.Account != srv.Account || c.Partition != "aws" || c.Region != srv.Region || !strings.HasPrefix(c.ARN, "arn:aws:") {
		t.Fatalf("caller %+v", c)
	}
	// botocore sts service-2.json: GetCallerIdentity errors are the common
	// ones; ExpiredToken is what stale session credentials get.
	srv.InjectFault(localaws.Fault{Service: "sts", Operation: "GetCallerIdentity", Kind: localaws.FaultError, Code: "ExpiredToken", Status: 403,
		Message: "The security token included in the request is expired"})
	if _, err := awsx.CallerIdentity(ctx, client, srv.Region); err == nil || !strings.Contains(err.Error(), "get caller identity") || !strings.Contains(err.Error(), "ExpiredToken") {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := awsx.CallerIdentity(ctx, nil, srv.Region); err == nil {
		t.Fatal("no client: no error")
	}
}
