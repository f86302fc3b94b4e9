package awsproto

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Input and output shapes in EC2's names (botocore ec2 service-2.json:
// DescribeVpcsRequest.VpcIds locationName "VpcId", Filter.Values
// locationName "Value"; DescribeVpcsResult.Vpcs locationName "vpcSet", list
// members "item"; Vpc.IsDefault "isDefault"; Tag "key"/"value").
type ec2Filter struct {
	Name   string
	Values []string `query:"Value"`
}

type ec2DescribeVpcs struct {
	VpcIds  []string    `query:"VpcId"`
	Filters []ec2Filter `query:"Filter"`
	DryRun  bool
}

type ec2Tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type ec2Vpc struct {
	VpcID     string   `xml:"vpcId"`
	CidrBlock string   `xml:"cidrBlock"`
	State     string   `xml:"state"`
	IsDefault bool     `xml:"isDefault"`
	Tags      []ec2Tag `xml:"tagSet>item"`
}

type ec2DescribeVpcsOut struct {
	Vpcs []ec2Vpc `xml:"vpcSet>item"`
}

func ec2Server(t *testing.T, ops map[string]Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(&EC2Service{Version: "2016-11-15", Ops: ops})
	t.Cleanup(srv.Close)
	return srv
}

func TestEC2QueryRoundTripsWithTheSDK(t *testing.T) {
	var mu sync.Mutex
	var got ec2DescribeVpcs
	srv := ec2Server(t, map[string]Handler{
		"DescribeVpcs": func(r *http.Request, dec Decoder) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			if err := dec(&got); err != nil {
				return nil, err
			}
			return ec2DescribeVpcsOut{Vpcs: []ec2Vpc{
				{VpcID: "vpc-1", CidrBlock: "172.31.0.0/16", State: "available", IsDefault: true, Tags: []ec2Tag{{"Name", "default"}}},
				{VpcID: "vpc-2", CidrBlock: "10.0.0.0/16", State: "available"},
			}}, nil
		},
	})
	c := ec2.NewFromConfig(testConfig(srv.URL))
	out, err := c.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{
		VpcIds: []string{"vpc-1", "vpc-2"},
		Filters: []ec2types.Filter{
			{Name: aws.String("isDefault"), Values: []string{"true"}},
			{Name: aws.String("vpc-id"), Values: []string{"vpc-1", "vpc-9"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vpcs) != 2 || aws.ToString(out.Vpcs[0].VpcId) != "vpc-1" || !aws.ToBool(out.Vpcs[0].IsDefault) ||
		out.Vpcs[0].State != ec2types.VpcStateAvailable || aws.ToString(out.Vpcs[0].Tags[0].Value) != "default" || aws.ToBool(out.Vpcs[1].IsDefault) {
		t.Fatalf("%+v", out.Vpcs)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got.VpcIds) != 2 || got.VpcIds[1] != "vpc-2" || len(got.Filters) != 2 || got.Filters[0].Name != "isDefault" ||
		len(got.Filters[1].Values) != 2 || got.Filters[1].Values[1] != "vpc-9" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestEC2QueryDecodesTagSpecificationsAndTimes(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	var got struct {
		LaunchTemplateName string `query:",required"`
		LaunchTemplateData struct {
			ImageID      string `query:"ImageId"`
			InstanceType string
			UserData     string
		} `query:",required"`
		TagSpecifications []struct {
			ResourceType string
			Tags         []struct{ Key, Value string } `query:"Tag"`
		} `query:"TagSpecification"`
	}
	type lt struct {
		ID      string  `xml:"launchTemplateId"`
		Name    string  `xml:"launchTemplateName"`
		Created XMLTime `xml:"createTime"`
		Default int64   `xml:"defaultVersionNumber"`
	}
	srv := ec2Server(t, map[string]Handler{
		"CreateLaunchTemplate": func(r *http.Request, dec Decoder) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			if err := dec(&got); err != nil {
				return nil, err
			}
			return struct {
				LT lt `xml:"launchTemplate"`
			}{lt{"lt-0123", got.LaunchTemplateName, XMLTime(created), 1}}, nil
		},
	})
	c := ec2.NewFromConfig(testConfig(srv.URL))
	out, err := c.CreateLaunchTemplate(context.Background(), &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("web"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String("ami-1"), InstanceType: ec2types.InstanceTypeT3Small, UserData: aws.String("IyEvYmluL2Jhc2g=")},
		TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate,
			Tags: []ec2types.Tag{{Key: aws.String("opsctl:cluster"), Value: aws.String("c")}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.LaunchTemplate.LaunchTemplateId) != "lt-0123" || !out.LaunchTemplate.CreateTime.Equal(created) || aws.ToInt64(out.LaunchTemplate.DefaultVersionNumber) != 1 {
		t.Fatalf("%+v", out.LaunchTemplate)
	}
	mu.Lock()
	defer mu.Unlock()
	if got.LaunchTemplateData.ImageID != "ami-1" || got.LaunchTemplateData.InstanceType != "t3.small" || got.LaunchTemplateData.UserData != "IyEvYmluL2Jhc2g=" ||
		len(got.TagSpecifications) != 1 || got.TagSpecifications[0].ResourceType != "launch-template" || got.TagSpecifications[0].Tags[0].Key != "opsctl:cluster" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestEC2QueryErrorsInEC2sShape(t *testing.T) {
	srv := ec2Server(t, map[string]Handler{
		// EC2 API reference, "Error codes": InvalidVpcID.NotFound.
		"DescribeVpcs": func(r *http.Request, dec Decoder) (any, error) {
			return nil, Errf("InvalidVpcID.NotFound", "The vpc ID 'vpc-9' does not exist")
		},
		"DescribeSubnets": func(r *http.Request, dec Decoder) (any, error) {
			var in struct {
				MaxResults int32 `query:",required"`
			}
			return nil, dec(&in)
		},
		"CreateTags": func(r *http.Request, dec Decoder) (any, error) {
			return nil, &Error{Status: 503, Code: EC2Throttling, Message: "Request limit exceeded."}
		},
	})
	c := ec2.NewFromConfig(testConfig(srv.URL))
	ctx := context.Background()
	var api smithy.APIError
	_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-9"}})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidVpcID.NotFound" || api.ErrorMessage() != "The vpc ID 'vpc-9' does not exist" {
		t.Fatalf("got %v", err)
	}
	_, err = c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if !errors.As(err, &api) || api.ErrorCode() != "MissingParameter" || !strings.Contains(api.ErrorMessage(), "MaxResults") {
		t.Fatalf("got %v", err)
	}
	_, err = c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"vpc-1"}, Tags: []ec2types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if !errors.As(err, &api) || api.ErrorCode() != "RequestLimitExceeded" {
		t.Fatalf("got %v", err)
	}
	_, err = c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidAction" {
		t.Fatalf("got %v", err)
	}
}

func TestIsEC2QueryFromTheSigningName(t *testing.T) {
	var seen []bool
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, IsEC2Query(r))
		mu.Unlock()
		WriteEC2Error(w, Errf("X", "y"))
	}))
	defer srv.Close()
	ctx := context.Background()
	ec2.NewFromConfig(testConfig(srv.URL)).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	r := httptest.NewRequest("POST", "/", strings.NewReader("Action=DescribeAutoScalingGroups"))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261204/us-east-1/autoscaling/aws4_request, SignedHeaders=host, Signature=x")
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || !seen[0] || IsEC2Query(r) {
		t.Fatalf("%v %v", seen, IsEC2Query(r))
	}
}
