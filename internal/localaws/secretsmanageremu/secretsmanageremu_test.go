package secretsmanageremu_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// wantCode fails unless err has the AWS error code and a message containing
// msg (the shared test kit's).
var wantCode = emutest.WantCode

func TestCreateDescribeGetSecret(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	c := sm.NewFromConfig(localawstest.Config(srv, 1))

	out, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("prod/api/db"), SecretString: aws.String(`{"password":"p"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// The ARN ends in the name, a hyphen and six random characters
	// (Secrets Manager user guide, "Find secrets by ARN").
	if !regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/api/db-[A-Za-z0-9]{6}$`).MatchString(aws.ToString(out.ARN)) || out.VersionId == nil {
		t.Fatalf("create = %+v", out)
	}
	// botocore CreateSecret errors: ResourceExistsException.
	_, err = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("prod/api/db"), SecretString: aws.String("x")})
	wantCode(t, err, "ResourceExistsException", "already exists")
	var exists *types.ResourceExistsException
	if !errors.As(err, &exists) {
		t.Fatalf("%T is not the SDK's ResourceExistsException", err)
	}
	for _, id := range []string{"prod/api/db", aws.ToString(out.ARN), strings.TrimSuffix(aws.ToString(out.ARN), aws.ToString(out.ARN)[len(aws.ToString(out.ARN))-7:])} {
		d, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String(id)})
		if err != nil || aws.ToString(d.ARN) != aws.ToString(out.ARN) || !d.CreatedDate.Equal(clk.Now()) {
			t.Fatalf("describe %s = %+v, %v", id, d, err)
		}
	}
	v, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/api/db")})
	if err != nil || aws.ToString(v.SecretString) != `{"password":"p"}` || v.VersionStages[0] != "AWSCURRENT" {
		t.Fatalf("get = %+v, %v", v, err)
	}
	// botocore DescribeSecret / GetSecretValue errors: ResourceNotFoundException.
	_, err = c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("prod/nope")})
	wantCode(t, err, "ResourceNotFoundException", "can't find the specified secret")
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("%T is not the SDK's ResourceNotFoundException", err)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("prod/api/db"), VersionStage: aws.String("AWSPREVIOUS")})
	wantCode(t, err, "ResourceNotFoundException", "staging label: AWSPREVIOUS")

	// A secret with no value has no AWSCURRENT version.
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("empty")}); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("empty")})
	wantCode(t, err, "ResourceNotFoundException", "AWSCURRENT")

	bad := map[string]struct {
		in        sm.CreateSecretInput
		code, msg string
	}{
		// botocore: NameType max 512.
		"name too long":  {sm.CreateSecretInput{Name: aws.String(strings.Repeat("a", 513))}, "ValidationException", "512"},
		"bad characters": {sm.CreateSecretInput{Name: aws.String("a b")}, "InvalidParameterException", "Invalid name"},
		"both values":    {sm.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("s"), SecretBinary: []byte("b")}, "InvalidParameterException", "both"},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := c.CreateSecret(ctx, &tc.in)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
}
