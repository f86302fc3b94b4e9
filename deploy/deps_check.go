package deploy

import (
	"fmt"
	"strings"
)

// missingClient is the error for a Deps client a command needs but the
// library caller left nil (a nil client is one the command does not call).
func missingClient(field, why string) error {
	return fmt.Errorf("deploy: Deps.%s is nil, but %s needs it: set it (cmd/opsctl builds every client)", field, why)
}

// requireClusterClients checks, before any AWS call, that CreateCluster has
// the clients its mode calls: ECS and EC2 always (cluster, default VPC,
// security group), and for EC2 capacity also Auto Scaling (the groups), SSM
// (the ECS-optimized AMI parameter) and IAM (the instance role and profile).
// Fargate mode needs Auto Scaling only to remove groups a former EC2 mode
// left (groupDeleteStep says so when it finds one).
func (d Deps) requireClusterClients(fargate bool) error {
	need := []struct {
		field string
		nilv  bool
	}{{"ECS", d.ECS == nil}, {"EC2", d.EC2 == nil}}
	if !fargate {
		need = append(need, []struct {
			field string
			nilv  bool
		}{{"AutoScaling", d.AutoScaling == nil}, {"SSM", d.SSM == nil}, {"IAM", d.IAM == nil}}...)
	}
	for _, n := range need {
		if n.nilv {
			mode := "an EC2-capacity cluster"
			if fargate {
				mode = "a Fargate cluster"
			}
			return missingClient(n.field, "creating "+mode)
		}
	}
	return nil
}

// partitionOf is the AWS partition a region belongs to, by the regionRegex
// of each partition in the SDK's partitions.json (aws-sdk-go-v2
// internal/endpoints/awsrulesfn): aws-cn ^cn-, aws-us-gov ^us-gov-, aws-iso
// ^us-iso-, aws-iso-b ^us-isob-, aws-iso-e ^eu-isoe-, aws-iso-f ^us-isof-,
// aws-eusc ^eusc-; everything else is aws.
func partitionOf(region string) string {
	for _, p := range []struct{ prefix, partition string }{
		{"cn-", "aws-cn"},
		{"us-gov-", "aws-us-gov"},
		{"us-isob-", "aws-iso-b"},
		{"us-isof-", "aws-iso-f"},
		{"us-iso-", "aws-iso"},
		{"eu-isoe-", "aws-iso-e"},
		{"eusc-", "aws-eusc"},
	} {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return "aws"
}
