package awsx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// Identity is who the resolved credentials are, and where opsctl will send calls.
type Identity struct {
	Account   string `json:"account"`
	Partition string `json:"partition"`
	ARN       string `json:"arn"`
	UserID    string `json:"user_id"`
	Region    string `json:"region"`
	Profile   string `json:"profile"`
	Endpoint  string `json:"endpoint,omitempty"`
	// CredentialSource names the provider that supplied the credentials
	// (for example EnvConfigCredentials, SharedConfigCredentials, SSOProvider).
	CredentialSource string `json:"credential_source,omitempty"`
}

// WhoAmI calls STS GetCallerIdentity and reports it with the resolved settings.
func WhoAmI(ctx context.Context, client STSAPI, cfg aws.Config, opts Options) (Identity, error) {
	c, err := CallerIdentity(ctx, client, cfg.Region)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{
		Account:   c.Account,
		Partition: c.Partition,
		ARN:       c.ARN,
		UserID:    c.UserID,
		Region:    c.Region,
		Profile:   opts.EffectiveProfile(),
		Endpoint:  opts.EffectiveEndpoint(),
	}
	if cfg.Credentials != nil {
		if creds, err := cfg.Credentials.Retrieve(ctx); err == nil {
			id.CredentialSource = creds.Source
		}
	}
	return id, nil
}
