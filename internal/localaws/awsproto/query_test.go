package awsproto

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
)

// testConfig points real SDK clients at url with static credentials and no
// retries, so each test call is one request.
func testConfig(u string) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(u),
		RetryMaxAttempts: 1,
	}
}

// The decoded input of CreateAutoScalingGroup, in the test's own structs
// (member names from botocore autoscaling service-2.json
// CreateAutoScalingGroupType, MixedInstancesPolicy, LaunchTemplateOverrides,
// InstancesDistribution, Tag).
type asgOverride struct {
	InstanceType     string
	WeightedCapacity *string
}

type asgCreate struct {
	AutoScalingGroupName string `query:",required"`
	MinSize              int32  `query:",required"`
	MaxSize              int32  `query:",required"`
	DesiredCapacity      *int32
	VPCZoneIdentifier    string
	MixedInstancesPolicy *struct {
		LaunchTemplate struct {
			LaunchTemplateSpecification struct {
				LaunchTemplateName string
				Version            string
			}
			Overrides []asgOverride
		}
		InstancesDistribution struct {
			OnDemandBaseCapacity                *int32
			OnDemandPercentageAboveBaseCapacity *int32
			SpotAllocationStrategy              string
		}
	}
	NewInstancesProtectedFromScaleIn *bool
	Tags                             []struct {
		Key, Value        string
		PropagateAtLaunch bool
	}
	TrafficSources []struct{ Identifier string } // absent: stays nil
}

type asgDescribeOut struct {
	Groups    []asgXML `xml:"AutoScalingGroups>member"`
	NextToken string   `xml:"NextToken,omitempty"`
}

type asgXML struct {
	Name      string     `xml:"AutoScalingGroupName"`
	MinSize   int32      `xml:"MinSize"`
	MaxSize   int32      `xml:"MaxSize"`
	Created   XMLTime    `xml:"CreatedTime"`
	Protected bool       `xml:"NewInstancesProtectedFromScaleIn"`
	AZs       []string   `xml:"AvailabilityZones>member"`
	Tags      []tagXML   `xml:"Tags>member"`
	Empty     []struct{} `xml:"Instances>member"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func queryServer(t *testing.T, ops map[string]Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(&QueryService{
		Version: "2011-01-01",
		XMLNS:   "http://autoscaling.amazonaws.com/doc/2011-01-01/",
		Ops:     ops,
	})
	t.Cleanup(srv.Close)
	return srv
}

func TestQueryDecodesNestedListsAndStructsFromTheSDK(t *testing.T) {
	var mu sync.Mutex
	var got asgCreate
	srv := queryServer(t, map[string]Handler{
		"CreateAutoScalingGroup": func(r *http.Request, dec Decoder) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			return nil, dec(&got)
		},
	})
	c := autoscaling.NewFromConfig(testConfig(srv.URL))
	_, err := c.CreateAutoScalingGroup(context.Background(), &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: aws.String("web"),
		MinSize:              aws.Int32(0),
		MaxSize:              aws.Int32(4),
		VPCZoneIdentifier:    aws.String("subnet-1,subnet-2"),
		MixedInstancesPolicy: &astypes.MixedInstancesPolicy{
			LaunchTemplate: &astypes.LaunchTemplate{
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("lt"), Version: aws.String("$Latest")},
				Overrides: []astypes.LaunchTemplateOverrides{
					{InstanceType: aws.String("t3.small")},
					{InstanceType: aws.String("t3a.small"), WeightedCapacity: aws.String("2")},
				},
			},
			InstancesDistribution: &astypes.InstancesDistribution{
				OnDemandBaseCapacity:                aws.Int32(1),
				OnDemandPercentageAboveBaseCapacity: aws.Int32(0),
				SpotAllocationStrategy:              aws.String("price-capacity-optimized"),
			},
		},
		NewInstancesProtectedFromScaleIn: aws.Bool(true),
		Tags:                             []astypes.Tag{{Key: aws.String("a"), Value: aws.String("1"), PropagateAtLaunch: aws.Bool(true)}, {Key: aws.String("b"), Value: aws.String("")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	mip := got.MixedInstancesPolicy
	switch {
	case got.AutoScalingGroupName != "web", got.MinSize != 0, got.MaxSize != 4, got.DesiredCapacity != nil,
		got.VPCZoneIdentifier != "subnet-1,subnet-2":
		t.Fatalf("scalars: %+v", got)
	case mip == nil, mip.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName != "lt",
		mip.LaunchTemplate.LaunchTemplateSpecification.Version != "$Latest":
		t.Fatalf("launch template: %+v", mip)
	case len(mip.LaunchTemplate.Overrides) != 2, mip.LaunchTemplate.Overrides[0].InstanceType != "t3.small",
		mip.LaunchTemplate.Overrides[0].WeightedCapacity != nil,
		mip.LaunchTemplate.Overrides[1].WeightedCapacity == nil || *mip.LaunchTemplate.Overrides[1].WeightedCapacity != "2":
		t.Fatalf("overrides: %+v", mip.LaunchTemplate.Overrides)
	case *mip.InstancesDistribution.OnDemandBaseCapacity != 1, *mip.InstancesDistribution.OnDemandPercentageAboveBaseCapacity != 0,
		mip.InstancesDistribution.SpotAllocationStrategy != "price-capacity-optimized":
		t.Fatalf("distribution: %+v", mip.InstancesDistribution)
	case got.NewInstancesProtectedFromScaleIn == nil || !*got.NewInstancesProtectedFromScaleIn:
		t.Fatal("NewInstancesProtectedFromScaleIn lost")
	case len(got.Tags) != 2 || got.Tags[0].Key != "a" || !got.Tags[0].PropagateAtLaunch || got.Tags[1].Value != "":
		t.Fatalf("tags: %+v", got.Tags)
	case got.TrafficSources != nil:
		t.Fatalf("absent list decoded: %+v", got.TrafficSources)
	}
}

func TestQueryEncodesResultsTheSDKReads(t *testing.T) {
	created := time.Date(2026, 12, 4, 13, 0, 0, 123e6, time.UTC)
	srv := queryServer(t, map[string]Handler{
		"DescribeAutoScalingGroups": func(r *http.Request, dec Decoder) (any, error) {
			var in struct{ AutoScalingGroupNames []string }
			if err := dec(&in); err != nil {
				return nil, err
			}
			out := asgDescribeOut{NextToken: "tok"}
			for _, n := range in.AutoScalingGroupNames {
				out.Groups = append(out.Groups, asgXML{Name: n, MaxSize: 4, Created: XMLTime(created), Protected: true,
					AZs: []string{"us-east-1a", "us-east-1b"}, Tags: []tagXML{{"k", "v & <w>"}}})
			}
			return out, nil
		},
	})
	c := autoscaling.NewFromConfig(testConfig(srv.URL))
	out, err := c.DescribeAutoScalingGroups(context.Background(), &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.AutoScalingGroups) != 2 || aws.ToString(out.NextToken) != "tok" {
		t.Fatalf("%+v", out)
	}
	g := out.AutoScalingGroups[1]
	if aws.ToString(g.AutoScalingGroupName) != "b" || aws.ToInt32(g.MaxSize) != 4 || !aws.ToBool(g.NewInstancesProtectedFromScaleIn) ||
		!g.CreatedTime.Equal(created) || len(g.AvailabilityZones) != 2 || aws.ToString(g.Tags[0].Value) != "v & <w>" {
		t.Fatalf("group: %+v", g)
	}
}

func TestQueryErrorsAreTheSDKsTypedErrors(t *testing.T) {
	srv := queryServer(t, map[string]Handler{
		// botocore autoscaling: CreateAutoScalingGroup errors AlreadyExistsFault
		// (error code "AlreadyExists", httpStatusCode 400, senderFault).
		"CreateAutoScalingGroup": func(r *http.Request, dec Decoder) (any, error) {
			var in asgCreate
			if err := dec(&in); err != nil {
				return nil, err
			}
			return nil, Errf("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", in.AutoScalingGroupName)
		},
		"DeleteAutoScalingGroup": func(r *http.Request, dec Decoder) (any, error) {
			return nil, errors.New("boom")
		},
	})
	c := autoscaling.NewFromConfig(testConfig(srv.URL))
	ctx := context.Background()
	_, err := c.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String("web"), MinSize: aws.Int32(0), MaxSize: aws.Int32(1)})
	var ae *astypes.AlreadyExistsFault
	if !errors.As(err, &ae) || ae.ErrorCode() != "AlreadyExists" || !strings.Contains(ae.ErrorMessage(), "web") || ae.ErrorFault() != smithy.FaultClient {
		t.Fatalf("want AlreadyExistsFault, got %T %v", err, err)
	}
	// A missing required member is a ValidationError worded as AWS's
	// constraint violations are (the SDK checks required members itself, so
	// this request is sent by hand), in the ErrorResponse shape.
	resp, err := http.PostForm(srv.URL, url.Values{"Action": {"CreateAutoScalingGroup"}, "Version": {"2011-01-01"}, "AutoScalingGroupName": {"web"}, "MinSize": {"0"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>", "Value null at &#39;maxSize&#39;", "<RequestId>"} {
		if resp.StatusCode != 400 || !strings.Contains(string(body), want) {
			t.Fatalf("%d %s: want %s", resp.StatusCode, body, want)
		}
	}
	var api smithy.APIError
	_, err = c.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("web")})
	if !errors.As(err, &api) || api.ErrorCode() != "InternalFailure" || !strings.Contains(err.Error(), "StatusCode: 500") {
		t.Fatalf("want a 500 InternalFailure, got %v", err)
	}
	_, err = c.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidAction" {
		t.Fatalf("want InvalidAction, got %v", err)
	}
}

func TestQueryDecodesMapsAndRawForms(t *testing.T) {
	var mu sync.Mutex
	var got struct {
		Name       string            `query:",required"`
		Attributes map[string]string // Attributes.entry.N.key/value
	}
	var raw url.Values
	srv := httptest.NewServer(&QueryService{Version: "2010-03-31", Ops: map[string]Handler{
		"CreateTopic": func(r *http.Request, dec Decoder) (any, error) {
			mu.Lock()
			defer mu.Unlock()
			if err := dec(&raw); err != nil {
				return nil, err
			}
			if err := dec(&got); err != nil {
				return nil, err
			}
			return struct {
				TopicArn string `xml:"TopicArn"`
			}{"arn:aws:sns:us-east-1:000000000000:" + got.Name}, nil
		},
	}})
	defer srv.Close()
	c := sns.NewFromConfig(testConfig(srv.URL))
	out, err := c.CreateTopic(context.Background(), &sns.CreateTopicInput{Name: aws.String("t"), Attributes: map[string]string{"DisplayName": "x", "FifoTopic": "false"}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if aws.ToString(out.TopicArn) != "arn:aws:sns:us-east-1:000000000000:t" || len(got.Attributes) != 2 || got.Attributes["DisplayName"] != "x" || got.Attributes["FifoTopic"] != "false" {
		t.Fatalf("%v %+v", aws.ToString(out.TopicArn), got)
	}
	if raw.Get("Action") != "CreateTopic" || raw.Get("Version") != "2010-03-31" {
		t.Fatalf("raw form: %v", raw)
	}
}

func TestQueryRejectsMalformedValues(t *testing.T) {
	cases := []struct {
		name, form, want string
	}{
		{"integer", "MaxSize=four", "ValidationError"},
		{"boolean", "MaxSize=1&Flag=maybe", "ValidationError"},
		{"missing", "Flag=true", "ValidationError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form, _ := url.ParseQuery(tc.form)
			var v struct {
				MaxSize int32 `query:",required"`
				Flag    bool
			}
			err := DecodeQueryForm(form, &v)
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestQueryDecodesTimesBlobsAndFlatMaps(t *testing.T) {
	form, _ := url.ParseQuery("At=2026-12-04T13:00:00.500Z&Epoch=1764853200&Blob=aGk%3D&Attribute.1.Name=a&Attribute.1.Value=1&Attribute.2.Name=b&Attribute.2.Value=2&Empty=")
	var v struct {
		At         time.Time
		Epoch      XMLTime
		Blob       []byte
		Attributes map[string]string `query:"Attribute,flat,key=Name,value=Value"`
		Empty      []string
	}
	if err := DecodeQueryForm(form, &v); err != nil {
		t.Fatal(err)
	}
	if !v.At.Equal(time.Date(2026, 12, 4, 13, 0, 0, 5e8, time.UTC)) || time.Time(v.Epoch).Unix() != 1764853200 || string(v.Blob) != "hi" ||
		v.Attributes["a"] != "1" || v.Attributes["b"] != "2" || v.Empty == nil || len(v.Empty) != 0 {
		t.Fatalf("%+v", v)
	}
	bad, _ := url.ParseQuery("At=yesterday")
	var e *Error
	if err := DecodeQueryForm(bad, &v); !errors.As(err, &e) || e.Code != "ValidationError" {
		t.Fatalf("%v", err)
	}
}
