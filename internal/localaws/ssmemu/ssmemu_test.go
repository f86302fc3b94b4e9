package ssmemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/localaws/ssmemu"
)

func start(t *testing.T) (*ssm.Client, *ssmemu.Server, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Clock: clk})
	emu, ok := srv.Service("ssm").(*ssmemu.Server)
	if !ok {
		t.Fatalf("the endpoint serves %T for \"ssm\"", srv.Service("ssm"))
	}
	return ssm.NewFromConfig(localawstest.Config(srv, 1)), emu, clk
}

// wantCode fails unless err has the AWS error code and a message containing
// msg (the shared test kit's).
var wantCode = emutest.WantCode

func TestPublicECSOptimizedAMIParameters(t *testing.T) {
	ctx := context.Background()
	c, emu, _ := start(t)
	// ECS developer guide, retrieve-ecs-optimized_AMI: ".../recommended" is a
	// JSON document with image_id; ".../recommended/image_id" is the bare id.
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ssmemu.AL2023ImageID)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(aws.ToString(out.Parameter.Value), "ami-") || out.Parameter.Type != types.ParameterTypeString {
		t.Fatalf("image_id parameter = %+v", out.Parameter)
	}
	// Public parameter ARNs carry no account.
	if got := aws.ToString(out.Parameter.ARN); got != "arn:aws:ssm:us-east-1::parameter"+ssmemu.AL2023ImageID {
		t.Fatalf("ARN = %s", got)
	}
	rec, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ssmemu.AL2023Recommended)})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		ImageID string `json:"image_id"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(rec.Parameter.Value)), &doc); err != nil || doc.ImageID != aws.ToString(out.Parameter.Value) {
		t.Fatalf("recommended = %s (%v)", aws.ToString(rec.Parameter.Value), err)
	}
	emu.SeedPublic("ami-0fedcba9876543210")
	out2, _ := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(ssmemu.AL2023ImageID)})
	if aws.ToString(out2.Parameter.Value) != "ami-0fedcba9876543210" || out2.Parameter.Version != out.Parameter.Version+1 {
		t.Fatalf("after a new AMI: %+v", out2.Parameter)
	}
}

func TestPutGetAndErrors(t *testing.T) {
	ctx := context.Background()
	c, _, clk := start(t)
	put, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db_url"), Value: aws.String("postgres://x"), Type: types.ParameterTypeSecureString})
	if err != nil {
		t.Fatal(err)
	}
	if put.Version != 1 || put.Tier != types.ParameterTierStandard {
		t.Fatalf("put = %+v", put)
	}
	// botocore ssm PutParameter errors: ParameterAlreadyExists without Overwrite.
	_, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db_url"), Value: aws.String("y"), Type: types.ParameterTypeString})
	wantCode(t, err, "ParameterAlreadyExists", "overwrite")
	var exists *types.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("%T is not the SDK's ParameterAlreadyExists", err)
	}
	clk.Advance(time.Minute)
	put, err = c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/app/db_url"), Value: aws.String("postgres://y"), Overwrite: aws.Bool(true)})
	if err != nil || put.Version != 2 {
		t.Fatalf("overwrite: %+v %v", put, err)
	}
	got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db_url"), WithDecryption: aws.Bool(true)})
	if err != nil || aws.ToString(got.Parameter.Value) != "postgres://y" || got.Parameter.Type != types.ParameterTypeSecureString ||
		!got.Parameter.LastModifiedDate.Equal(clk.Now()) {
		t.Fatalf("get = %+v %v", got, err)
	}
	enc, _ := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db_url")})
	if aws.ToString(enc.Parameter.Value) == "postgres://y" {
		t.Fatal("a SecureString came back in clear text without WithDecryption")
	}
	// Version selectors: :1 was replaced; :9 does not exist.
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/db_url:9")})
	wantCode(t, err, "ParameterVersionNotFound", "version 9")

	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/missing")})
	wantCode(t, err, "ParameterNotFound", "")
	var nf *types.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("%T is not the SDK's ParameterNotFound", err)
	}

	// GetParameters: unknown names come back in InvalidParameters, not as an error.
	many, err := c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/db_url", "/app/missing"}, WithDecryption: aws.Bool(true)})
	if err != nil || len(many.Parameters) != 1 || len(many.InvalidParameters) != 1 || many.InvalidParameters[0] != "/app/missing" {
		t.Fatalf("GetParameters = %+v %v", many, err)
	}
	// botocore: GetParametersRequest.Names max 10.
	_, err = c.GetParameters(ctx, &ssm.GetParametersInput{Names: strings.Split("a b c d e f g h i j k", " ")})
	wantCode(t, err, "ValidationException", "less than or equal to 10")

	cases := map[string]struct {
		in        ssm.PutParameterInput
		code, msg string
	}{
		// botocore: PSParameterName max 2048.
		"name too long": {ssm.PutParameterInput{Name: aws.String("/" + strings.Repeat("a", 2048)), Value: aws.String("v"), Type: types.ParameterTypeString}, "ValidationException", "2048"},
		// botocore: ParameterType enum.
		"bad type":           {ssm.PutParameterInput{Name: aws.String("/x"), Value: aws.String("v"), Type: "Number"}, "ValidationException", "enum value set"},
		"reserved prefix":    {ssm.PutParameterInput{Name: aws.String("/aws/mine"), Value: aws.String("v"), Type: types.ParameterTypeString}, "AccessDeniedException", "reserved parameter name"},
		"no type on create":  {ssm.PutParameterInput{Name: aws.String("/new"), Value: aws.String("v")}, "ValidationException", "type is required"},
		"pattern mismatch":   {ssm.PutParameterInput{Name: aws.String("/n"), Value: aws.String("abc"), Type: types.ParameterTypeString, AllowedPattern: aws.String(`^\d+$`)}, "ParameterPatternMismatchException", "allowedPattern"},
		"standard tier 4 KB": {ssm.PutParameterInput{Name: aws.String("/big"), Value: aws.String(strings.Repeat("v", 4097)), Type: types.ParameterTypeString}, "ValidationException", "4096"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := c.PutParameter(ctx, &tc.in)
			wantCode(t, err, tc.code, tc.msg)
		})
	}
}

func TestDescribeParametersFiltersAndPages(t *testing.T) {
	ctx := context.Background()
	c, _, _ := start(t)
	for i := 0; i < 13; i++ {
		name := "/svc/a/p" + string(rune('a'+i))
		if i%2 == 1 {
			name = "/svc/a/deep/p" + string(rune('a'+i))
		}
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("v"), Type: types.ParameterTypeString}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(f []types.ParameterStringFilter) int {
		n := 0
		p := ssm.NewDescribeParametersPaginator(c, &ssm.DescribeParametersInput{ParameterFilters: f})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n += len(out.Parameters)
		}
		return n
	}
	if n := count(nil); n != 13 {
		t.Fatalf("all = %d (public parameters are not listed)", n)
	}
	if n := count([]types.ParameterStringFilter{{Key: aws.String("Path"), Option: aws.String("Recursive"), Values: []string{"/svc/a"}}}); n != 13 {
		t.Fatalf("recursive = %d", n)
	}
	if n := count([]types.ParameterStringFilter{{Key: aws.String("Path"), Values: []string{"/svc/a"}}}); n != 7 {
		t.Fatalf("one level = %d", n)
	}
	if n := count([]types.ParameterStringFilter{{Key: aws.String("Name"), Option: aws.String("BeginsWith"), Values: []string{"/svc/a/deep/"}}}); n != 6 {
		t.Fatalf("begins with = %d", n)
	}
	// botocore: ParameterStringFilterKey pattern tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType.
	_, err := c.DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []types.ParameterStringFilter{{Key: aws.String("Colour"), Values: []string{"x"}}}})
	wantCode(t, err, "InvalidFilterKey", "")
	_, err = c.DescribeParameters(ctx, &ssm.DescribeParametersInput{NextToken: aws.String("garbage")})
	wantCode(t, err, "InvalidNextToken", "")
	// botocore: MaxResults 1..50.
	_, err = c.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(51)})
	wantCode(t, err, "ValidationException", "50")
}
