package kmsemu_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

var ctx = context.Background()

func start(t *testing.T) (*localaws.Server, *kms.Client) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{})
	return srv, kms.NewFromConfig(localawstest.Config(srv, 1))
}

// DescribeKey accepts "key ID, key ARN, alias name, or alias ARN" (botocore
// kms DescribeKeyRequest.KeyId) and answers the key's ARN for each.
func TestDescribeKeyResolvesEveryFormToTheKeyARN(t *testing.T) {
	srv, c := start(t)
	k := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("archive")})).KeyMetadata
	if k.KeyState != types.KeyStateEnabled || k.KeySpec != types.KeySpecSymmetricDefault || k.KeyManager != types.KeyManagerTypeCustomer ||
		!strings.HasPrefix(aws.ToString(k.Arn), "arn:aws:kms:"+srv.Region+":"+srv.Account+":key/") || aws.ToString(k.Arn) != "arn:aws:kms:"+srv.Region+":"+srv.Account+":key/"+aws.ToString(k.KeyId) {
		t.Fatalf("created key %+v", k)
	}
	emutest.Must(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/archive"), TargetKeyId: k.KeyId}))
	for _, id := range []string{aws.ToString(k.KeyId), aws.ToString(k.Arn), "alias/archive", "arn:aws:kms:" + srv.Region + ":" + srv.Account + ":alias/archive"} {
		got := emutest.Must(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})).KeyMetadata
		if aws.ToString(got.Arn) != aws.ToString(k.Arn) {
			t.Errorf("DescribeKey(%s) = %s, want %s", id, aws.ToString(got.Arn), aws.ToString(k.Arn))
		}
	}
	// A predefined AWS alias gets its AWS managed key (DescribeKeyRequest.KeyId doc).
	aws1 := emutest.Must(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/kinesis")})).KeyMetadata
	aws2 := emutest.Must(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/aws/kinesis")})).KeyMetadata
	if aws1.KeyManager != types.KeyManagerTypeAws || aws.ToString(aws1.Arn) != aws.ToString(aws2.Arn) {
		t.Fatalf("AWS managed key %+v / %+v", aws1, aws2)
	}
}

func TestKMSErrors(t *testing.T) {
	srv, c := start(t)
	k := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	emutest.Must(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a"), TargetKeyId: k.Arn}))
	// botocore kms DescribeKey errors: NotFoundException.
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/missing")})
	var nf *types.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("missing alias: %v", err)
	}
	emutest.WantCode(t, err, "NotFoundException", "alias/missing is not found")
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("arn:aws:kms:" + srv.Region + ":" + srv.Account + ":key/00000000-0000-0000-0000-000000000000")})
	emutest.WantCode(t, err, "NotFoundException", "does not exist")
	// botocore kms CreateAlias errors: AlreadyExistsException, InvalidAliasNameException, NotFoundException.
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/a"), TargetKeyId: k.KeyId})
	var ae *types.AlreadyExistsException
	if !errors.As(err, &ae) {
		t.Fatalf("duplicate alias: %v", err)
	}
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("noprefix"), TargetKeyId: k.KeyId})
	emutest.WantCode(t, err, "InvalidAliasNameException", "alias/")
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/b"), TargetKeyId: aws.String("1111")})
	emutest.WantCode(t, err, "NotFoundException", "")
	// botocore kms AliasNameType pattern ^[a-zA-Z0-9:/_-]+$.
	_, err = c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/with space"), TargetKeyId: k.KeyId})
	emutest.WantCode(t, err, "ValidationException", "Member must satisfy regular expression pattern")
	// botocore kms LimitType 1-1000.
	_, err = c.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(1001)})
	emutest.WantCode(t, err, "ValidationException", "less than or equal to 1000")
	// A permanent failure surfaces; throttling is retried.
	emutest.Fail(srv, "kms", "DescribeKey", emutest.Always, "AccessDeniedException", 400, "not authorized")
	_, err = c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
	emutest.WantCode(t, err, "AccessDeniedException", "not authorized")
	srv.ClearFaults()
	emutest.Throttle(srv, "kms", "DescribeKey", 2)
	retrying := kms.NewFromConfig(localawstest.Config(srv, 3))
	emutest.Must(retrying.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId}))
	emutest.WantCalls(t, srv, "kms", "DescribeKey", emutest.Calls{Faulted: 3, OK: 1, Failed: 2} /* the two NotFound lookups above */)
}

func TestListAliasesPagesAndFiltersByKey(t *testing.T) {
	_, c := start(t)
	k1 := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	k2 := emutest.Must(c.CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	for _, a := range []string{"alias/a1", "alias/a2", "alias/a3", "alias/a4"} {
		emutest.Must(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(a), TargetKeyId: k1.KeyId}))
	}
	emutest.Must(c.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/b1"), TargetKeyId: k2.KeyId}))
	var all []string
	p := kms.NewListAliasesPaginator(c, &kms.ListAliasesInput{})
	for p.HasMorePages() {
		for _, a := range emutest.Must(p.NextPage(ctx)).Aliases {
			all = append(all, aws.ToString(a.AliasName))
		}
	}
	if strings.Join(all, ",") != "alias/a1,alias/a2,alias/a3,alias/a4,alias/b1" {
		t.Fatalf("aliases %v", all)
	}
	out := emutest.Must(c.ListAliases(ctx, &kms.ListAliasesInput{KeyId: k2.Arn}))
	if len(out.Aliases) != 1 || aws.ToString(out.Aliases[0].TargetKeyId) != aws.ToString(k2.KeyId) || out.Truncated {
		t.Fatalf("aliases of k2 %+v", out)
	}
}
