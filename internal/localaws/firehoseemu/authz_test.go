package firehoseemu_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// The endpoint enforces IAM on delivery (README, "IAM on the local
// endpoint"): Firehose assumes the stream's role under its trust policy,
// reads Kinesis and writes S3 with the role's policies and the bucket
// policy. A refused call loses nothing: records stay in Kinesis or in the
// buffer and are delivered once the policy allows it, as Firehose retries.
func TestDeliveryIsRefusedWithoutPermissionAndResumesWhenGranted(t *testing.T) {
	withoutPut := strings.Replace(firehoseS3Policy, `"s3:PutObject"`, `"s3:GetObject"`, 1)
	withoutRead := strings.Replace(firehoseS3Policy, `"kinesis:GetRecords",`, ``, 1)
	otherStream := strings.Replace(firehoseTrust, `"StringEquals":{"sts:ExternalId":"000000000000"}`,
		`"StringEquals":{"aws:SourceAccount":"000000000000"},"ArnLike":{"aws:SourceArn":"arn:aws:firehose:us-east-1:000000000000:deliverystream/other"}`, 1)
	thisStream := strings.Replace(otherStream, "deliverystream/other", "deliverystream/arch", 1)
	cases := []struct {
		name          string
		trust, policy string
		fixTrust      string // "" keeps the trust policy; the fix re-puts firehoseS3Policy
	}{
		{"no s3:PutObject", firehoseTrust, withoutPut, ""},
		{"no kinesis:GetRecords", firehoseTrust, withoutRead, ""},
		// IAM User Guide, "The confused deputy problem": a trust policy naming
		// another stream's ARN does not let this stream assume the role.
		{"trust names another stream", otherStream, firehoseS3Policy, thisStream},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := startDelivery(t, "raw/", true, false)
			ctx := context.Background()
			if _, err := e.iamc.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("fh"), PolicyDocument: aws.String(c.trust)}); err != nil {
				t.Fatal(err)
			}
			putRolePolicy(t, e.iamc, c.policy)
			e.put(`{"a":1}`, `{"a":2}`)
			e.clk.Advance(2 * time.Minute)
			if keys := e.objects("raw/"); len(keys) != 0 {
				t.Fatalf("delivered %v although the role is not allowed", keys)
			}
			if c.fixTrust != "" {
				if _, err := e.iamc.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("fh"), PolicyDocument: aws.String(c.fixTrust)}); err != nil {
					t.Fatal(err)
				}
			}
			putRolePolicy(t, e.iamc, firehoseS3Policy)
			e.put(`{"a":3}`) // a write to Kinesis makes the stream read again
			e.clk.Advance(2 * time.Minute)
			keys := e.objects("raw/")
			// Objects of one second sort by their random suffix: compare
			// the records, not the order of the objects.
			if got := records(e, keys); got != `{"a":1} {"a":2} {"a":3}` {
				t.Fatalf("after granting: objects %v hold %s, want all three records once", keys, got)
			}
		})
	}
}

// A bucket policy's explicit deny wins over the role's allow; the TLS-only
// deny opsctl writes does not stop Firehose, which always uses TLS.
func TestBucketPolicyDenyStopsDelivery(t *testing.T) {
	tlsOnly := `{"Version":"2012-10-17","Statement":[{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*",
		"Resource":["arn:aws:s3:::lake","arn:aws:s3:::lake/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	denyRole := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:role/fh"},"Action":"s3:PutObject",
		"Resource":"arn:aws:s3:::lake/*"}]}`
	// One endpoint, the two policies in turn (each start costs a Kinesis).
	e := startDelivery(t, "raw/", true, false)
	for i, c := range []struct {
		name    string
		policy  string
		deliver bool
	}{{"TLS-only deny", tlsOnly, true}, {"deny for the role", denyRole, false}} {
		if _, err := e.s3c.PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String("lake"), Policy: aws.String(c.policy)}); err != nil {
			t.Fatal(err)
		}
		e.put(`{"a":1}`)
		e.clk.Advance(2 * time.Minute)
		want := 1
		if !c.deliver {
			want = i
		}
		if got := len(e.objects("raw/")); got != want {
			t.Fatalf("%s: %d objects, want %d", c.name, got, want)
		}
	}
}

// With a customer managed key on the stream, Firehose needs
// kms:GenerateDataKey, and KMS allows it only if the key policy allows the
// role or delegates to the account's IAM policies (AWS KMS Developer Guide,
// "Key policies in AWS KMS": "Unless the key policy explicitly allows it, you
// cannot use IAM policies to allow access to a KMS key").
func TestDeliveryWithAKMSKeyNeedsTheKeyPolicy(t *testing.T) {
	e := startDelivery(t, "raw/", true, false)
	ctx := context.Background()
	kc := kms.NewFromConfig(localawstest.Config(e.srv, 0))
	notUs := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/other"},"Action":"kms:*","Resource":"*"}]}`
	key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{Policy: aws.String(notUs)})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	withKMS := strings.TrimSuffix(firehoseS3Policy, `]}`) + `,{"Effect":"Allow","Action":"kms:GenerateDataKey","Resource":"` + keyARN + `"}]}`
	putRolePolicy(t, e.iamc, withKMS)
	d := dest("lake", "enc/", true, false)
	d.EncryptionConfiguration = &fhtypes.EncryptionConfiguration{KMSEncryptionConfig: &fhtypes.KMSEncryptionConfig{AWSKMSKeyARN: aws.String(keyARN)}}
	if _, err := e.fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("enc"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &fhtypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/src"), RoleARN: aws.String(role)},
		ExtendedS3DestinationConfiguration: d}); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(10 * time.Second) // the stream becomes ACTIVE
	e.put(`{"a":1}`)
	e.clk.Advance(2 * time.Minute)
	if keys := e.objects("enc/"); len(keys) != 0 {
		t.Fatalf("delivered %v although the key policy does not allow the role", keys)
	}
	// The default key policy delegates to IAM, whose policy allows the role.
	def := `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},"Action":"kms:*","Resource":"*"}]}`
	if _, err := kc.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: key.KeyMetadata.KeyId, Policy: aws.String(def)}); err != nil {
		t.Fatal(err)
	}
	e.put(`{"a":2}`)
	e.clk.Advance(2 * time.Minute)
	if got := records(e, e.objects("enc/")); got != `{"a":1} {"a":2}` {
		t.Fatalf("after the key policy allowed it: %s", got)
	}
}

// records returns the newline-delimited records of the objects, sorted and
// space-separated.
func records(e *delivery, keys []string) string {
	var lines []string
	for _, k := range keys {
		lines = append(lines, strings.Fields(e.get(k, false))...)
	}
	sort.Strings(lines)
	return strings.Join(lines, " ")
}
