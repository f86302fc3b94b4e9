package deploy

import "testing"

// The partition of each region family (aws-sdk-go-v2
// internal/endpoints/awsrulesfn/partitions.json regionRegex).
func TestPartitionOfRegion(t *testing.T) {
	for region, want := range map[string]string{
		"us-east-1": "aws", "eu-central-1": "aws", "cn-north-1": "aws-cn", "cn-northwest-1": "aws-cn",
		"us-gov-west-1": "aws-us-gov", "us-iso-east-1": "aws-iso", "us-isob-east-1": "aws-iso-b",
		"eu-isoe-west-1": "aws-iso-e", "us-isof-south-1": "aws-iso-f", "eusc-de-east-1": "aws-eusc", "": "aws",
	} {
		if got := (Deps{Region: region}).partition(); got != want {
			t.Errorf("partition of %q = %s, want %s", region, got, want)
		}
	}
	if got := (Deps{Region: "cn-north-1", Partition: "aws"}).partition(); got != "aws" {
		t.Errorf("an explicit Partition is kept, got %s", got)
	}
}
