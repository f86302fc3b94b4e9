package awsx

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/opsctl/opsctl/internal/opserr"
)

// STSAPI is the part of STS that CallerIdentity and WhoAmI call.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Caller is who the credentials are, and what opsctl builds ARNs from.
type Caller struct {
	Account string `json:"account"`
	// Partition is the ARN partition: aws, aws-cn, aws-us-gov, ...
	Partition string `json:"partition"`
	Region    string `json:"region"`
	ARN       string `json:"arn"`
	UserID    string `json:"user_id"`
}

// CallerIdentity calls STS GetCallerIdentity once: the account, and the
// partition taken from the caller's ARN (from the region when the answer
// has none). region is where the clients call; it is reported as is. Every
// package that builds ARNs uses this one lookup.
func CallerIdentity(ctx context.Context, client STSAPI, region string) (Caller, error) {
	if client == nil {
		return Caller{}, errors.New("find the AWS account: no STS client")
	}
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Caller{}, fmt.Errorf("get caller identity: %w", err)
	}
	c := Caller{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn), UserID: aws.ToString(out.UserId), Region: region}
	if c.Account == "" {
		return Caller{}, errors.New("get caller identity: no account in the answer")
	}
	c.Partition = PartitionOf(c.ARN, region)
	return c, nil
}

// PartitionOf returns the partition of an ARN ("arn:PARTITION:..."), or the
// partition a region belongs to when arn has none.
func PartitionOf(arn, region string) string {
	if p := strings.SplitN(arn, ":", 3); len(p) == 3 && p[0] == "arn" && p[1] != "" {
		return p[1]
	}
	return regionPartition(region)
}

// Identity is who the resolved credentials are, and where opsctl will send calls.
type Identity struct {
	Account   string `json:"account"`
	Partition string `json:"partition,omitempty"`
	ARN       string `json:"arn"`
	UserID    string `json:"user_id"`
	Region    string `json:"region"`
	Profile   string `json:"profile"`
	Endpoint  string `json:"endpoint,omitempty"`
	// Endpoints lists the overridden endpoint of each service opsctl calls
	// (service-specific settings included); absent services use AWS's.
	Endpoints map[string]string `json:"endpoints,omitempty"`
	// CredentialSource names the provider that supplied the credentials
	// (for example EnvConfigCredentials, SharedConfigCredentials, SSOProvider).
	CredentialSource string `json:"credential_source,omitempty"`
	// IdentityError says why the identity could not be read (the endpoint
	// serves no STS); Account, ARN and UserID are then empty.
	IdentityError string `json:"identity_error,omitempty"`
}

// WhoAmI calls STS GetCallerIdentity and reports it with the resolved settings.
//
// When the endpoint answers but serves no STS (an S3-only server such as
// MinIO or s3rver), WhoAmI still returns what is known — region, profile,
// endpoints, credential source — with IdentityError set, and an
// *opserr.NoIdentityError. Any other STS failure (expired or invalid
// credentials, access denied, no connection) is returned as it is.
func WhoAmI(ctx context.Context, client STSAPI, cfg aws.Config, opts Options) (Identity, error) {
	id := Identity{
		Region:    cfg.Region,
		Profile:   opts.EffectiveProfile(),
		Endpoint:  RedactURL(opts.EffectiveEndpoint()),
		Endpoints: ServiceEndpoints(cfg),
	}
	if id.Endpoint == "" && cfg.BaseEndpoint != nil {
		id.Endpoint = RedactURL(*cfg.BaseEndpoint) // the profile's endpoint_url
	}
	c, err := CallerIdentity(ctx, client, id.Region)
	if err != nil && !noSTS(err) {
		return Identity{}, err
	}
	if cfg.Credentials != nil {
		if creds, cerr := cfg.Credentials.Retrieve(ctx); cerr == nil {
			id.CredentialSource = creds.Source
		}
	}
	if err != nil {
		id.IdentityError = fmt.Sprintf("the endpoint %s serves no STS GetCallerIdentity (%v)", orDefault(id.Endpoints["sts"], "for sts"), briefError(err))
		return id, &opserr.NoIdentityError{Err: fmt.Errorf("identity could not be read: %s", id.IdentityError)}
	}
	id.Account, id.ARN, id.UserID, id.Partition = c.Account, c.ARN, c.UserID, c.Partition
	return id, nil
}

// noSTS reports whether err says the endpoint does not implement STS, as
// opposed to refusing these credentials: an HTTP 404/405/501, an
// unknown-action error code, or a body that is not an STS response at all.
func noSTS(err error) bool {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch re.HTTPStatusCode() {
		case 404, 405, 501:
			return true
		}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidAction", "UnknownOperationException", "UnknownOperation", "NotImplemented", "UnsupportedOperation":
			return true
		}
		if strings.Contains(strings.ToLower(ae.ErrorMessage()), "unsupported action") {
			return true
		}
	}
	var de *smithy.DeserializationError
	return errors.As(err, &de)
}

func briefError(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return strings.TrimSpace(ae.ErrorCode() + ": " + ae.ErrorMessage())
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("HTTP %d", re.HTTPStatusCode())
	}
	return "response is not STS's"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ServiceEndpoints returns the endpoint override each service opsctl calls
// will use (keyed by the lowercase service identifier of the AWS_ENDPOINT_URL_
// and services-section settings), asking each SDK client how it resolved. A
// service left to AWS's regional default is absent. Credentials in a URL are
// removed.
func ServiceEndpoints(cfg aws.Config) map[string]string {
	eps := map[string]*string{
		"sts":             sts.NewFromConfig(cfg).Options().BaseEndpoint,
		"s3":              s3.NewFromConfig(cfg).Options().BaseEndpoint,
		"sqs":             sqs.NewFromConfig(cfg).Options().BaseEndpoint,
		"sns":             sns.NewFromConfig(cfg).Options().BaseEndpoint,
		"lambda":          lambda.NewFromConfig(cfg).Options().BaseEndpoint,
		"cloudwatch":      cloudwatch.NewFromConfig(cfg).Options().BaseEndpoint,
		"cloudwatch_logs": cloudwatchlogs.NewFromConfig(cfg).Options().BaseEndpoint,
		"iam":             iam.NewFromConfig(cfg).Options().BaseEndpoint,
		"kinesis":         kinesis.NewFromConfig(cfg).Options().BaseEndpoint,
		"firehose":        firehose.NewFromConfig(cfg).Options().BaseEndpoint,
		"dynamodb":        dynamodb.NewFromConfig(cfg).Options().BaseEndpoint,
	}
	out := map[string]string{}
	for k, v := range eps {
		if v != nil && *v != "" {
			out[k] = RedactURL(*v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// SortedServices returns the keys of m in order, for stable tables.
func SortedServices(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
