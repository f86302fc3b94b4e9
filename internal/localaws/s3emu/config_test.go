package s3emu_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/localaws/s3emu"
)

func TestBucketConfigRoundTripsWithRealErrorCodes(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	ctx := context.Background()
	c := localawstest.S3(srv)
	b := aws.String("lake")
	if _, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}); emutest.Code(err) != "NoSuchBucket" {
		t.Fatalf("missing bucket: %v", err)
	}
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// Nothing configured yet: each Get has its own error code.
	for name, get := range map[string]func() error{
		"ServerSideEncryptionConfigurationNotFoundError": func() error {
			_, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
			return err
		},
		"NoSuchPublicAccessBlockConfiguration": func() error {
			_, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
			return err
		},
		"NoSuchBucketPolicy": func() error { _, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); return err },
		"NoSuchLifecycleConfiguration": func() error {
			_, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
			return err
		},
		"NoSuchTagSet": func() error { _, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b}); return err },
	} {
		if err := get(); emutest.Code(err) != name {
			t.Errorf("want %s, got %v", name, err)
		}
	}
	if _, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &types.ServerSideEncryptionConfiguration{
		Rules: []types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAwsKms, KMSMasterKeyID: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")}, BucketKeyEnabled: aws.Bool(true)}}}}); err != nil {
		t.Fatal(err)
	}
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != types.ServerSideEncryptionAwsKms ||
		aws.ToString(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != "arn:aws:kms:us-east-1:000000000000:key/k" {
		t.Fatalf("encryption %+v %v", enc, err)
	}
	if _, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Fatalf("pab %+v %v", pab, err)
	}
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::other/*"}]}`)}); emutest.Code(err) != "MalformedPolicy" {
		t.Fatalf("foreign resource: %v", err)
	}
	pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::lake","arn:aws:s3:::lake/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	if _, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(pol)}); err != nil {
		t.Fatal(err)
	}
	gp, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil || aws.ToString(gp.Policy) != pol {
		t.Fatalf("policy %v %v", gp, err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
		ID: aws.String("expire"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("cdc/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(0)}}}}}); emutest.Code(err) != "InvalidArgument" {
		t.Fatalf("zero days: %v", err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b, LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
		ID: aws.String("expire"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("cdc/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(30)}}}}}); err != nil {
		t.Fatal(err)
	}
	lc, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil || aws.ToInt32(lc.Rules[0].Expiration.Days) != 30 || aws.ToString(lc.Rules[0].Filter.Prefix) != "cdc/" {
		t.Fatalf("lifecycle %+v %v", lc, err)
	}
	if _, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b, Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("opsctl:archive"), Value: aws.String("orders")}}}}); err != nil {
		t.Fatal(err)
	}
	tg, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: b})
	if err != nil || len(tg.TagSet) != 1 || aws.ToString(tg.TagSet[0].Value) != "orders" {
		t.Fatalf("tagging %+v %v", tg, err)
	}
	// Objects still work next to the configuration.
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String("cdc/x"), Body: strings.NewReader("hi")}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: b, Key: aws.String("cdc/x")})
	if err != nil {
		t.Fatal(err)
	}
	if body, _ := io.ReadAll(obj.Body); string(body) != "hi" {
		t.Fatalf("object body %q", body)
	}
	if _, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b}); emutest.Code(err) != "NoSuchBucketPolicy" {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// A deleted and re-created bucket starts without configuration.
	c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: b, Key: aws.String("cdc/x")})
	if _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b})
	if _, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b}); emutest.Code(err) != "ServerSideEncryptionConfigurationNotFoundError" {
		t.Fatalf("recreated bucket kept config: %v", err)
	}
}

func TestOperationNamesOfBucketConfigCalls(t *testing.T) {
	s := s3emu.New()
	for _, tc := range []struct{ method, target, want string }{
		{"PUT", "/b?encryption", "PutBucketEncryption"},
		{"GET", "/b?encryption", "GetBucketEncryption"},
		{"PUT", "/b?publicAccessBlock", "PutPublicAccessBlock"},
		{"GET", "/b?publicAccessBlock", "GetPublicAccessBlock"},
		{"DELETE", "/b?publicAccessBlock", "DeletePublicAccessBlock"},
		{"PUT", "/b?policy", "PutBucketPolicy"},
		{"DELETE", "/b?policy", "DeleteBucketPolicy"},
		{"PUT", "/b?lifecycle", "PutBucketLifecycleConfiguration"},
		{"GET", "/b?lifecycle", "GetBucketLifecycleConfiguration"},
		{"DELETE", "/b?lifecycle", "DeleteBucketLifecycle"},
		{"PUT", "/b?tagging", "PutBucketTagging"},
		{"PUT", "/b/k?tagging", "PutObjectTagging"},
		{"PUT", "/b/k", "PutObject"},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		if got := s.OperationName(r); got != tc.want {
			t.Errorf("%s %s = %s, want %s", tc.method, tc.target, got, tc.want)
		}
	}
}
