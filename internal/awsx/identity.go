package awsx

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// STSAPI is the part of STS that WhoAmI calls.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Identity is who the resolved credentials are, and where opsctl will send calls.
type Identity struct {
	Account  string `json:"account"`
	ARN      string `json:"arn"`
	UserID   string `json:"user_id"`
	Region   string `json:"region"`
	Profile  string `json:"profile"`
	Endpoint string `json:"endpoint,omitempty"`
	// CredentialSource names the provider that supplied the credentials
	// (for example EnvConfigCredentials, SharedConfigCredentials, SSOProvider).
	CredentialSource string `json:"credential_source,omitempty"`
}

// WhoAmI calls STS GetCallerIdentity and reports it with the resolved settings.
func WhoAmI(ctx context.Context, client STSAPI, cfg aws.Config, opts Options) (Identity, error) {
	out, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, fmt.Errorf("get caller identity: %w", err)
	}
	id := Identity{
		Account:  aws.ToString(out.Account),
		ARN:      aws.ToString(out.Arn),
		UserID:   aws.ToString(out.UserId),
		Region:   cfg.Region,
		Profile:  opts.EffectiveProfile(),
		Endpoint: opts.EffectiveEndpoint(),
	}
	if cfg.Credentials != nil {
		if creds, err := cfg.Credentials.Retrieve(ctx); err == nil {
			id.CredentialSource = creds.Source
		}
	}
	return id, nil
}
