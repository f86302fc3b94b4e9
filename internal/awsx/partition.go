package awsx

import "strings"

// regionPartition is the AWS partition a region belongs to, by the regionRegex
// of each partition in the SDK's partitions.json (aws-sdk-go-v2
// internal/endpoints/awsrulesfn): aws-cn ^cn-, aws-us-gov ^us-gov-, aws-iso
// ^us-iso-, aws-iso-b ^us-isob-, aws-iso-e ^eu-isoe-, aws-iso-f ^us-isof-,
// aws-eusc ^eusc-; everything else is aws.
func regionPartition(region string) string {
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
