package archive_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/etl/archive"
	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/firehoseemu"
	"github.com/opsctl/opsctl/internal/localaws/kmsemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
	"github.com/opsctl/opsctl/internal/plan"
)

type env struct {
	srv  *localaws.Server
	deps archive.Deps
	ad   alarms.Deps
	fh   *firehose.Client
	kc   *kinesis.Client
	s3c  *s3.Client
	ddb  *dynamodb.Client
	iamc *iam.Client
	cw   *cloudwatch.Client
	emu  *firehoseemu.Server
	kms  *kms.Client
}

// start runs the local endpoint with Kinesis (kinesis-local) and STS/SNS
// (fauxqs); Firehose delivery runs 200× faster than real time.
func start(t *testing.T) *env {
	t.Helper()
	return startClock(t, nil)
}

// startClock is start with the endpoint on clk (nil: real time).
func startClock(t *testing.T, clk clock.Clock) *env {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorKinesis, localaws.EmulatorSNS}, Clock: clk})
	emu := srv.Service("firehose").(*firehoseemu.Server)
	emu.SetTimeScale(0.005) // a 60 s buffer interval flushes after 300 ms
	cfg := localawstest.Config(srv, 0)
	e := &env{srv: srv, emu: emu, fh: firehose.NewFromConfig(cfg), kc: kinesis.NewFromConfig(cfg), s3c: localawstest.S3(srv),
		ddb: dynamodb.NewFromConfig(cfg), iamc: iam.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg)}
	// The key the golden policies name (a fixed ID; CreateKey picks a random one).
	srv.Service("kms").(*kmsemu.Server).AddKey(kmsKey[strings.LastIndex(kmsKey, "/")+1:])
	e.kms = kms.NewFromConfig(cfg)
	e.deps = archive.Deps{Kinesis: e.kc, Firehose: e.fh, DynamoDB: e.ddb, S3: e.s3c, IAM: e.iamc, KMS: e.kms,
		Logs: cloudwatchlogs.NewFromConfig(cfg), CloudWatch: e.cw, STS: sts.NewFromConfig(cfg), Region: srv.Region,
		// Waits poll every second of a clock running 20× real time: 50 ms
		// apart, for at most 30 real seconds.
		Clock: clock.NewOffset(clock.Real(), 20), WaitTimeout: 10 * time.Minute}
	e.ad = alarms.Deps{CloudWatch: e.cw, SNS: sns.NewFromConfig(cfg), STS: sts.NewFromConfig(cfg), Region: srv.Region}
	return e
}

func (e *env) table(t *testing.T, name string) {
	t.Helper()
	_, err := e.ddb.CreateTable(context.Background(), &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: ddbtypes.KeyTypeHash}}})
	if err != nil {
		t.Fatal(err)
	}
}

func writes(srv *localaws.Server) []string {
	var out []string
	for _, c := range srv.WriteCalls() {
		if c.Service == "kinesis" && (c.Operation == "GetShardIterator" || c.Operation == "GetRecords") {
			continue
		}
		out = append(out, c.Service+"."+c.Operation)
	}
	return out
}

func mustCreate(t *testing.T, e *env, o archive.Options) archive.CreateResult {
	t.Helper()
	res, err := archive.Create(context.Background(), e.deps, o)
	if err != nil {
		t.Fatalf("create: %v\n%+v", err, res.Changes)
	}
	return res
}

func TestCreateDynamoDBArchiveThenRerunWritesNothing(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	o := dynamoOpts()
	o.RetentionDays = 30
	res := mustCreate(t, e, o)
	if !res.BucketManaged || res.DebeziumConfig != "" {
		t.Fatalf("result %+v", res)
	}
	// Kinesis: on demand.
	ks, err := e.kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")})
	if err != nil || ks.StreamDescriptionSummary.StreamModeDetails.StreamMode != ktypes.StreamModeOnDemand {
		t.Fatalf("stream %+v %v", ks, err)
	}
	// Encrypted at rest with Kinesis' AWS managed key (botocore kinesis
	// StreamDescriptionSummary.EncryptionType: NONE | KMS).
	if s := ks.StreamDescriptionSummary; s.EncryptionType != ktypes.EncryptionTypeKms || aws.ToString(s.KeyId) != "alias/aws/kinesis" {
		t.Fatalf("stream encryption %s %s, want KMS alias/aws/kinesis", s.EncryptionType, aws.ToString(s.KeyId))
	}
	// Firehose: gzip, newline, prefixes, buffering, logging, source.
	d, err := e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	dst := d.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription
	switch {
	case dst.CompressionFormat != fhtypes.CompressionFormatGzip:
		t.Errorf("compression %s", dst.CompressionFormat)
	case dst.ProcessingConfiguration == nil || dst.ProcessingConfiguration.Processors[0].Type != fhtypes.ProcessorTypeAppendDelimiterToRecord:
		t.Errorf("no newline delimiter processor: %+v", dst.ProcessingConfiguration)
	case aws.ToString(dst.Prefix) != "cdc/orders/data/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/":
		t.Errorf("prefix %s", aws.ToString(dst.Prefix))
	case !strings.HasPrefix(aws.ToString(dst.ErrorOutputPrefix), "cdc/orders/errors/!{firehose:error-output-type}/"):
		t.Errorf("error prefix %s", aws.ToString(dst.ErrorOutputPrefix))
	case aws.ToInt32(dst.BufferingHints.SizeInMBs) != 64 || aws.ToInt32(dst.BufferingHints.IntervalInSeconds) != 300:
		t.Errorf("buffering %+v", dst.BufferingHints)
	case !aws.ToBool(dst.CloudWatchLoggingOptions.Enabled) || aws.ToString(dst.CloudWatchLoggingOptions.LogGroupName) != "/aws/kinesisfirehose/orders":
		t.Errorf("logging %+v", dst.CloudWatchLoggingOptions)
	case aws.ToString(d.DeliveryStreamDescription.Source.KinesisStreamSourceDescription.KinesisStreamARN) != "arn:aws:kinesis:us-east-1:000000000000:stream/orders":
		t.Errorf("source %+v", d.DeliveryStreamDescription.Source.KinesisStreamSourceDescription)
	}
	// DynamoDB streams to it with microsecond timestamps.
	kd, err := e.ddb.DescribeKinesisStreamingDestination(ctx, &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: aws.String("orders")})
	if err != nil || len(kd.KinesisDataStreamDestinations) != 1 || kd.KinesisDataStreamDestinations[0].ApproximateCreationDateTimePrecision != ddbtypes.ApproximateCreationDateTimePrecisionMicrosecond {
		t.Fatalf("streaming destination %+v %v", kd, err)
	}
	// Bucket: SSE-S3, public access blocked, TLS only, expiry.
	b := aws.String("acme-cdc")
	enc, err := e.s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	if err != nil || enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != s3types.ServerSideEncryptionAes256 {
		t.Errorf("encryption %+v %v", enc, err)
	}
	pab, err := e.s3c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) || !aws.ToBool(pab.PublicAccessBlockConfiguration.RestrictPublicBuckets) {
		t.Errorf("public access block %+v %v", pab, err)
	}
	pol, err := e.s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil || !strings.Contains(aws.ToString(pol.Policy), `"aws:SecureTransport": "false"`) || !strings.Contains(aws.ToString(pol.Policy), `"Effect": "Deny"`) {
		t.Errorf("bucket policy %v %v", aws.ToString(pol.Policy), err)
	}
	lc, err := e.s3c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	if err != nil || aws.ToInt32(lc.Rules[0].Expiration.Days) != 30 || aws.ToString(lc.Rules[0].Filter.Prefix) != "cdc/orders/" {
		t.Errorf("lifecycle %+v %v", lc, err)
	}
	// Role: the golden documents.
	role, err := e.iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-firehose-orders")})
	if err != nil {
		t.Fatal(err)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	golden(t, "policy-dynamodb-trust.json", trust+"\n")
	rp, err := e.iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("opsctl-firehose-orders"), PolicyName: aws.String("opsctl-etl-archive")})
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument))
	golden(t, "policy-dynamodb-role.json", doc+"\n")

	// Second run: nothing to do, no write call.
	e.srv.ResetCalls()
	again := mustCreate(t, e, o)
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("re-run wrote: %v", w)
	}
	if again.Changed() {
		t.Fatalf("re-run planned changes: %+v", again.Changes)
	}

	// Changed buffering: only UpdateDestination.
	e.srv.ResetCalls()
	o.BufferMB, o.BufferInterval = 32, 120*time.Second
	changed := mustCreate(t, e, o)
	if w := writes(e.srv); len(w) != 1 || w[0] != "firehose.UpdateDestination" {
		t.Fatalf("changed buffering wrote %v, want only firehose.UpdateDestination", w)
	}
	var diff []string
	for _, c := range changed.Changes {
		if c.Action != plan.ActionNone {
			diff = append(diff, c.Summary())
		}
	}
	if strings.Join(diff, "; ") != "buffer_mb: 64 → 32; buffer_interval: 300s → 120s" {
		t.Fatalf("diff %v", diff)
	}
	d, _ = e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("orders")})
	if bh := d.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription.BufferingHints; aws.ToInt32(bh.SizeInMBs) != 32 || aws.ToInt32(bh.IntervalInSeconds) != 120 {
		t.Fatalf("buffering after update %+v", bh)
	}
}

func TestCreateDryRunWritesNothingAndShowsPolicies(t *testing.T) {
	e := start(t)
	e.table(t, "orders")
	e.srv.ResetCalls()
	o := dynamoOpts()
	o.DryRun = true
	res := mustCreate(t, e, o)
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("dry run wrote: %v", w)
	}
	for _, c := range res.Changes {
		if c.Action == plan.ActionNone || c.Status != plan.StatusPlanned {
			t.Errorf("dry run change %+v: want a planned create", c)
		}
	}
	golden(t, "policy-dynamodb-trust.json", res.Policies.FirehoseTrust+"\n")
	golden(t, "policy-dynamodb-role.json", res.Policies.FirehoseRole+"\n")
	golden(t, "policy-dynamodb-bucket.json", res.Policies.Bucket+"\n")
	if _, err := e.kc.DescribeStreamSummary(context.Background(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String("orders")}); err == nil {
		t.Fatal("dry run created the stream")
	}
}

func TestCreateFailsBeforeWritingWhenTableIsMissing(t *testing.T) {
	e := start(t)
	e.srv.ResetCalls()
	_, err := archive.Create(context.Background(), e.deps, dynamoOpts())
	if err == nil || !strings.Contains(err.Error(), `dynamodb table "orders": not found`) {
		t.Fatalf("err = %v", err)
	}
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestCreateWithKMSKeyEncryptsBucketAndFirehose(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	o := postgresOpts()
	res := mustCreate(t, e, o)
	if !strings.Contains(res.DebeziumConfig, "PostgresConnector") || !strings.Contains(res.RebuildCommand, "--format debezium --key id") {
		t.Fatalf("postgres result %+v", res)
	}
	enc, err := e.s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("acme-cdc")})
	if err != nil {
		t.Fatal(err)
	}
	def := enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault
	if def.SSEAlgorithm != s3types.ServerSideEncryptionAwsKms || aws.ToString(def.KMSMasterKeyID) != kmsKey {
		t.Fatalf("bucket encryption %+v", def)
	}
	d, _ := e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("users")})
	ec := d.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription.EncryptionConfiguration
	if ec == nil || ec.KMSEncryptionConfig == nil || aws.ToString(ec.KMSEncryptionConfig.AWSKMSKeyARN) != kmsKey {
		t.Fatalf("firehose encryption %+v", ec)
	}
	rp, _ := e.iamc.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("opsctl-firehose-users"), PolicyName: aws.String("opsctl-etl-archive")})
	doc, _ := url.QueryUnescape(aws.ToString(rp.PolicyDocument))
	golden(t, "policy-postgres-kms-role.json", doc+"\n")
}

// A bucket opsctl did not create is never written, but what it lacks of
// what opsctl would have set (default encryption, all four Block Public
// Access settings, a TLS-only policy) is reported (issue 16 item 4).
func TestCreateChecksAForeignBucketAndReportsWhatIsMissing(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	b := aws.String("acme-cdc")
	if _, err := e.s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	// Half of Block Public Access, and a policy without a TLS deny.
	if _, err := e.s3c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	userPolicy := `{"Version":"2012-10-17","Statement":[{"Sid":"TeamRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/analysts"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-cdc/*"}]}`
	if _, err := e.s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(userPolicy)}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	o := dynamoOpts()
	o.RetentionDays = 7
	res := mustCreate(t, e, o)
	if res.BucketManaged {
		t.Fatal("a foreign bucket reported as managed")
	}
	all := strings.Join(res.Warnings, "\n")
	for _, want := range []string{"was not created by this archive", "Block Public Access is not fully on", "does not deny requests without TLS", "--retention-days 7 is not applied"} {
		if !strings.Contains(all, want) {
			t.Errorf("warnings lack %q:\n%s", want, all)
		}
	}
	for _, w := range writes(e.srv) {
		if strings.HasPrefix(w, "s3.") {
			t.Errorf("touched a bucket it did not create: %s", w)
		}
	}
	// Once the owner has set all three, nothing is reported missing.
	if _, err := e.s3c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: b, PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
		BlockPublicAcls: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: b, ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{
		Rules: []s3types.ServerSideEncryptionRule{{ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}}); err != nil {
		t.Fatal(err)
	}
	// The S3 user guide's TLS-only statement, in the owner's words.
	tls := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowSSLRequestsOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::acme-cdc","arn:aws:s3:::acme-cdc/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	if _, err := e.s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(tls)}); err != nil {
		t.Fatal(err)
	}
	o.RetentionDays = 0
	res = mustCreate(t, e, o)
	if len(res.Warnings) != 1 {
		t.Fatalf("a bucket with encryption, Block Public Access and a TLS-only policy still reported: %v", res.Warnings)
	}
}

// On a bucket opsctl created, its policy statement is merged by Sid: a
// statement the owner added later survives every run, and a run that finds
// opsctl's statement missing puts it back next to the owner's.
func TestCreateMergesTheBucketPolicyByStatementID(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	mustCreate(t, e, dynamoOpts())
	b := aws.String("acme-cdc")
	pol, err := e.s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	// The owner adds a statement next to opsctl's.
	user := `{"Sid":"TeamRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/analysts"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-cdc/*"}`
	live := aws.ToString(pol.Policy)
	i := strings.LastIndex(live, "]")
	withUser := live[:i] + "," + user + live[i:]
	if _, err := e.s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(withUser)}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	mustCreate(t, e, dynamoOpts())
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("re-run with the owner's statement added wrote %v", w)
	}
	// The owner replaces the whole policy with only their statement.
	if _, err := e.s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(`{"Version":"2012-10-17","Statement":[` + user + `]}`)}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	mustCreate(t, e, dynamoOpts())
	if w := writes(e.srv); strings.Join(w, ",") != "s3.PutBucketPolicy" {
		t.Fatalf("wrote %v, want one PutBucketPolicy", w)
	}
	pol, _ = e.s3c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	got := aws.ToString(pol.Policy)
	if !strings.Contains(got, `"TeamRead"`) || !strings.Contains(got, `"role/analysts"`) && !strings.Contains(got, `role/analysts`) {
		t.Fatalf("the owner's statement was replaced:\n%s", got)
	}
	if !strings.Contains(got, `"DenyInsecureTransport"`) || !strings.Contains(got, `"aws:SecureTransport"`) {
		t.Fatalf("opsctl's statement not put back:\n%s", got)
	}
}

// deliveredKeys waits until n objects are under prefix of acme-cdc.
func deliveredKeys(t *testing.T, e *env, prefix string, n int) []string {
	t.Helper()
	return localawstest.WaitObjects(t, e.srv, "acme-cdc", prefix, n)
}

func putRecords(t *testing.T, e *env, stream string, recs []record) {
	t.Helper()
	for _, r := range recs {
		if _, err := e.kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String(stream), PartitionKey: aws.String(r.key), Data: []byte(r.data)}); err != nil {
			t.Fatal(err)
		}
	}
}

type record struct{ key, data string }

func TestStatusHealthyThenUnhealthy(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	o := dynamoOpts()
	o.BufferInterval = 60 * time.Second
	mustCreate(t, e, o)
	// Nothing delivered yet, just created: healthy with a note.
	st, err := archive.Status(ctx, e.deps, archive.StatusOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !st.Healthy || len(st.Archives) != 1 || st.Archives[0].Name != "orders" || st.Archives[0].Warnings == nil {
		t.Fatalf("fresh archive %+v", st)
	}
	putRecords(t, e, "orders", []record{{"a", `{"eventName":"INSERT"}`}})
	deliveredKeys(t, e, "cdc/orders/data/", 1)
	st, err = archive.Status(ctx, e.deps, archive.StatusOptions{Name: "orders"})
	if err != nil {
		t.Fatal(err)
	}
	a := st.Archives[0]
	if !st.Healthy || a.StreamStatus != "ACTIVE" || a.DeliveryStatus != "ACTIVE" || a.NewestObject == "" || a.ErrorObjects != 0 {
		t.Fatalf("healthy archive reported %+v", a)
	}
	if a.DataFreshnessSeconds == nil || a.IteratorAgeMs == nil {
		t.Errorf("DataFreshness / IteratorAge not read from CloudWatch: %+v", a)
	}
	if !strings.HasPrefix(a.NewestObject, "cdc/orders/data/"+time.Now().UTC().Format("2006/01/02/")) {
		t.Errorf("newest object %s not under today's UTC prefix", a.NewestObject)
	}

	// Stale: the clock moves 7 hours on.
	stale := e.deps
	later := clock.NewOffset(clock.Real(), 1)
	later.Advance(7 * time.Hour)
	stale.Clock = later
	st, _ = archive.Status(ctx, stale, archive.StatusOptions{Name: "orders"})
	if st.Healthy || !strings.Contains(strings.Join(st.Archives[0].Problems, "\n"), "stale: the newest object is 7h") {
		t.Fatalf("stale archive reported %+v", st.Archives[0])
	}

	// Error objects: a record the processing step rejects lands under errors/.
	e.emu.FailRecords(func(_ string, b []byte) bool { return strings.Contains(string(b), "poison") })
	putRecords(t, e, "orders", []record{{"b", "poison"}})
	deliveredKeys(t, e, "cdc/orders/errors/processing-failed/", 1)
	st, _ = archive.Status(ctx, e.deps, archive.StatusOptions{Name: "orders"})
	if st.Healthy || st.Archives[0].ErrorObjects != 1 || !strings.Contains(strings.Join(st.Archives[0].Problems, "\n"), "could not deliver") {
		t.Fatalf("archive with error objects reported %+v", st.Archives[0])
	}
	if got := st.Unhealthy(); len(got) != 1 || got[0] != "orders" {
		t.Fatalf("unhealthy %v", got)
	}
}

func TestAlarmCreatesThreeAlarmsOnTheTopicAndIsIdempotent(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	mustCreate(t, e, dynamoOpts())
	opts := archive.AlarmOptions{Name: "orders", Emails: []string{"data@example.com"}}
	e.srv.ResetCalls()
	dry := opts
	dry.DryRun = true
	dryRes, err := archive.Alarm(ctx, e.deps, e.ad, dry)
	if err != nil || len(dryRes.Alarms) != 3 || dryRes.Topic.ARN == "" {
		t.Fatalf("dry run %+v %v", dryRes, err)
	}
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("alarm --dry-run wrote %v", w)
	}
	res, err := archive.Alarm(ctx, e.deps, e.ad, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Alarms) != 3 || res.Topic.ARN == "" || len(res.Topic.Subscriptions) != 1 {
		t.Fatalf("alarm result %+v", res)
	}
	f, errs, it := archive.AlarmNames("orders")
	out, err := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{f, errs, it}})
	if err != nil || len(out.MetricAlarms) != 3 {
		t.Fatalf("alarms %+v %v", out, err)
	}
	for _, a := range out.MetricAlarms {
		if len(a.AlarmActions) != 1 || a.AlarmActions[0] != res.Topic.ARN {
			t.Errorf("alarm %s actions %v", aws.ToString(a.AlarmName), a.AlarmActions)
		}
		switch aws.ToString(a.AlarmName) {
		case f:
			if aws.ToString(a.MetricName) != "DeliveryToS3.DataFreshness" || aws.ToFloat64(a.Threshold) != (300*time.Second+15*time.Minute).Seconds() {
				t.Errorf("freshness alarm %+v", a)
			}
		case errs:
			if aws.ToString(a.MetricName) != "DeliveryToS3.Success" || aws.ToFloat64(a.Threshold) != 1 {
				t.Errorf("delivery error alarm %+v", a)
			}
		}
	}
	e.srv.ResetCalls()
	if _, err := archive.Alarm(ctx, e.deps, e.ad, opts); err != nil {
		t.Fatal(err)
	}
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("second alarm run wrote %v", w)
	}
	if _, err := archive.Alarm(ctx, e.deps, e.ad, archive.AlarmOptions{Name: "nope", Emails: []string{"a@example.com"}}); err == nil {
		t.Fatal("alarm for a missing archive succeeded")
	}
}

func TestRmRemovesEverythingOrKeepsData(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep-data=%v", keep), func(t *testing.T) {
			e := start(t)
			ctx := context.Background()
			e.table(t, "orders")
			o := dynamoOpts()
			o.BufferInterval = 60 * time.Second
			mustCreate(t, e, o)
			if _, err := archive.Alarm(ctx, e.deps, e.ad, archive.AlarmOptions{Name: "orders", Emails: []string{"a@example.com"}}); err != nil {
				t.Fatal(err)
			}
			putRecords(t, e, "orders", []record{{"a", `{"x":1}`}})
			deliveredKeys(t, e, "cdc/orders/data/", 1)

			e.srv.ResetCalls()
			dry, err := archive.Rm(ctx, e.deps, archive.RmOptions{Name: "orders", KeepData: keep, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if w := writes(e.srv); len(w) != 0 {
				t.Fatalf("dry run wrote %v", w)
			}
			res, err := archive.Rm(ctx, e.deps, archive.RmOptions{Name: "orders", KeepData: keep})
			if err != nil {
				t.Fatalf("rm: %v %+v", err, res.Changes)
			}
			if len(res.Changes) != len(dry.Changes) {
				t.Fatalf("dry run planned %d changes, rm made %d", len(dry.Changes), len(res.Changes))
			}
			if _, err := e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("orders")}); err == nil {
				t.Error("firehose stream still there")
			}
			if _, err := e.iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-firehose-orders")}); err == nil {
				t.Error("role still there")
			}
			kd, _ := e.ddb.DescribeKinesisStreamingDestination(ctx, &dynamodb.DescribeKinesisStreamingDestinationInput{TableName: aws.String("orders")})
			if s := kd.KinesisDataStreamDestinations[0].DestinationStatus; s != ddbtypes.DestinationStatusDisabling && s != ddbtypes.DestinationStatusDisabled {
				t.Errorf("streaming destination %s", s)
			}
			f, _, _ := archive.AlarmNames("orders")
			if out, _ := e.cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{f}}); len(out.MetricAlarms) != 0 {
				t.Error("alarms still there")
			}
			_, err = e.s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("acme-cdc")})
			if keep && err != nil {
				t.Errorf("--keep-data removed the bucket: %v", err)
			}
			if !keep && err == nil {
				t.Errorf("bucket created for the archive survived rm (objects deleted: %d)", res.ObjectsDeleted)
			}
			// Re-running rm finds nothing to do.
			e.srv.ResetCalls()
			again, err := archive.Rm(ctx, e.deps, archive.RmOptions{Name: "orders", KeepData: keep})
			if err != nil || len(writes(e.srv)) != 0 {
				t.Fatalf("second rm: %v %v %+v", err, writes(e.srv), again.Changes)
			}
		})
	}
}

func TestCreateRetriesWhileFirehoseCannotAssumeTheNewRole(t *testing.T) {
	e := start(t)
	e.table(t, "orders")
	// IAM is eventually consistent: right after CreateRole, Firehose answers
	// this until the role has propagated.
	e.srv.InjectFault(localaws.Fault{Service: "firehose", Operation: "CreateDeliveryStream", Kind: localaws.FaultError, Times: 2,
		Code: "InvalidArgumentException", Message: "Firehose is unable to assume role arn:aws:iam::000000000000:role/opsctl-firehose-orders. Please check the role provided."})
	mustCreate(t, e, dynamoOpts())
	n := 0
	for _, c := range e.srv.Calls() {
		if c.Operation == "CreateDeliveryStream" {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("CreateDeliveryStream called %d times, want 3 (2 refused, then created)", n)
	}
}

func TestCreateStopsAtTheFirstFailureAndARerunFinishes(t *testing.T) {
	e := start(t)
	e.table(t, "orders")
	e.srv.InjectFault(localaws.Fault{Service: "iam", Operation: "PutRolePolicy", Kind: localaws.FaultError, Code: "AccessDenied", Message: "not allowed", Status: 403})
	res, err := archive.Create(context.Background(), e.deps, dynamoOpts())
	if err == nil || !strings.Contains(err.Error(), "put policy of role") {
		t.Fatalf("err = %v", err)
	}
	var failed, skipped []string
	for _, c := range res.Changes {
		switch c.Status {
		case plan.StatusFailed:
			failed = append(failed, c.Resource)
		case plan.StatusSkipped:
			skipped = append(skipped, c.Resource)
		}
	}
	if strings.Join(failed, ",") != archive.ResRolePolicy || strings.Join(skipped, ",") != archive.ResFirehose+","+archive.ResDDBStreaming {
		t.Fatalf("failed %v, skipped %v", failed, skipped)
	}
	res = mustCreate(t, e, dynamoOpts())
	var applied []string
	for _, c := range res.Changes {
		if c.Action != plan.ActionNone {
			applied = append(applied, c.Resource)
		}
	}
	if strings.Join(applied, ",") != archive.ResRolePolicy+","+archive.ResFirehose+","+archive.ResDDBStreaming {
		t.Fatalf("re-run applied %v, want only what the first run missed", applied)
	}
}

// Each changed flag (or drifted resource) is corrected with exactly the
// writes it needs.
func TestCreateAppliesOnlyWhatDiffers(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	o := dynamoOpts()
	o.RetentionDays = 30
	mustCreate(t, e, o)
	steps := []struct {
		name   string
		change func(o *archive.Options)
		drift  func()
		want   []string
	}{
		{"longer retention", func(o *archive.Options) { o.RetentionDays = 60 }, nil, []string{"s3.PutBucketLifecycleConfiguration"}},
		{"no retention", func(o *archive.Options) { o.RetentionDays = 0 }, nil, []string{"s3.DeleteBucketLifecycle"}},
		{"kms key", func(o *archive.Options) { o.KMSKey = kmsKey }, nil, []string{"s3.PutBucketEncryption", "iam.PutRolePolicy", "firehose.UpdateDestination"}},
		{"log retention", func(o *archive.Options) { o.LogRetentionDays = 30 }, nil, []string{"logs.PutRetentionPolicy"}},
		{"new prefix", func(o *archive.Options) { o.Prefix = "cdc/v2/orders/" }, nil, []string{"iam.PutRolePolicy", "firehose.UpdateDestination"}},
		{"bucket policy deleted by hand", nil, func() {
			if _, err := e.s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String("acme-cdc")}); err != nil {
				t.Fatal(err)
			}
		}, []string{"s3.PutBucketPolicy"}},
		{"stream encryption stopped by hand", nil, func() {
			if _, err := e.kc.StopStreamEncryption(ctx, &kinesis.StopStreamEncryptionInput{StreamName: aws.String("orders"), EncryptionType: ktypes.EncryptionTypeKms, KeyId: aws.String("alias/aws/kinesis")}); err != nil {
				t.Fatal(err)
			}
		}, []string{"kinesis.StartStreamEncryption"}},
		{"public access unblocked by hand", nil, func() {
			if _, err := e.s3c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String("acme-cdc")}); err != nil {
				t.Fatal(err)
			}
		}, []string{"s3.PutPublicAccessBlock"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				st.change(&o)
			}
			if st.drift != nil {
				st.drift()
			}
			e.srv.ResetCalls()
			mustCreate(t, e, o)
			if got := writes(e.srv); strings.Join(got, ",") != strings.Join(st.want, ",") {
				t.Fatalf("wrote %v, want %v", got, st.want)
			}
		})
	}
}

// The update waits for a Firehose stream that stays CREATING for 20 minutes
// of the endpoint's clock; the waiter sleeps on that same clock (a
// clock.Fake), so the wait takes no real time.
func TestUpdateWaitsForAFirehoseStreamStillCreating(t *testing.T) {
	fake := clock.NewFake(time.Now().UTC())
	e := startClock(t, fake)
	e.table(t, "orders")
	e.emu.SetCreateDelay(20 * time.Minute) // real streams take about a minute
	o := dynamoOpts()
	mustCreate(t, e, o) // waits for kinesis-local, which runs on real time
	o.BufferMB = 8
	e.srv.ResetCalls()
	e.deps.Clock = fake
	e.deps.WaitTimeout = 30 * time.Minute
	began, realBegan := fake.Now(), time.Now()
	mustCreate(t, e, o) // UpdateDestination is refused while CREATING: create must wait
	if waited := fake.Now().Sub(began); waited < 20*time.Minute {
		t.Fatalf("the update went ahead after %s of endpoint time, before the stream's 20 minutes", waited)
	}
	t.Logf("waited 20 minutes of endpoint time in %s", time.Since(realBegan).Round(time.Millisecond))
	var describes int
	for _, c := range e.srv.Calls() {
		if c.Operation == "DescribeDeliveryStream" {
			describes++
		}
		if c.Operation == "UpdateDestination" && c.Status != 200 {
			t.Fatalf("UpdateDestination answered %d: sent before the stream was ACTIVE", c.Status)
		}
	}
	if describes < 2 {
		t.Fatalf("%d DescribeDeliveryStream calls: did not wait for ACTIVE", describes)
	}
	if w := writes(e.srv); len(w) != 1 || w[0] != "firehose.UpdateDestination" {
		t.Fatalf("wrote %v", w)
	}
}

// A check that cannot run is reported, and the archive is never healthy
// because of it (issue 16 item 3). The faults are permanent (Times: -1):
// AccessDenied is what AWS answers a caller without the permission (IAM
// user guide, "Troubleshoot access denied error messages"), and the SDK does
// not retry it.
func TestStatusReportsWhatCouldNotBeCheckedAndIsNeverHealthyThen(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	o := dynamoOpts()
	o.BufferInterval = 60 * time.Second
	mustCreate(t, e, o)
	putRecords(t, e, "orders", []record{{"a", `{"eventName":"INSERT"}`}})
	deliveredKeys(t, e, "cdc/orders/data/", 1)
	denied := func(service, op string) localaws.Fault {
		return localaws.Fault{Service: service, Operation: op, Kind: localaws.FaultError, Times: -1, Code: "AccessDenied", Status: 403,
			Message: "User: arn:aws:iam::000000000000:user/ops is not authorized to perform: " + op}
	}
	cases := []struct {
		name      string
		fault     *localaws.Fault
		noCW      bool
		unchecked string
	}{
		{"metrics AccessDenied", ptr(denied("monitoring", "GetMetricData")), false, "DeliveryToS3.DataFreshness (CloudWatch GetMetricData): "},
		{"no CloudWatch client", nil, true, "no CloudWatch client"},
		{"data listing AccessDenied", ptr(denied("s3", "ListObjectsV2")), false, "the newest delivered object (list s3://acme-cdc/cdc/orders/data/)"},
		{"kinesis AccessDenied", ptr(denied("kinesis", "DescribeStreamSummary")), false, "kinesis stream orders (describe stream)"},
		{"firehose AccessDenied", ptr(denied("firehose", "DescribeDeliveryStream")), false, "the firehose stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.srv.ClearFaults()
			// Healthy while every check runs.
			st, err := archive.Status(ctx, e.deps, archive.StatusOptions{Name: "orders"})
			if err != nil || !st.Healthy || st.Archives[0].Health != archive.HealthHealthy {
				t.Fatalf("before the fault: %+v %v", st, err)
			}
			deps := e.deps
			if c.fault != nil {
				e.srv.InjectFault(*c.fault)
				defer e.srv.ClearFaults()
			}
			if c.noCW {
				deps.CloudWatch = nil
			}
			st, err = archive.Status(ctx, deps, archive.StatusOptions{Name: "orders"})
			if err != nil {
				t.Fatalf("status failed instead of reporting what it could not check: %v", err)
			}
			a := st.Archives[0]
			if st.Healthy || a.Healthy || a.Health != archive.HealthUnknown || len(a.Problems) != 0 {
				t.Fatalf("health %q healthy=%v problems=%v: want unknown", a.Health, a.Healthy, a.Problems)
			}
			if got := strings.Join(a.Unchecked, "\n"); !strings.Contains(got, c.unchecked) {
				t.Fatalf("unchecked %q, want it to name %q", got, c.unchecked)
			}
			if c.fault != nil && !strings.Contains(strings.Join(a.Unchecked, "\n"), "AccessDenied") {
				t.Errorf("unchecked %v does not say why (AccessDenied)", a.Unchecked)
			}
			if u := st.Unknown(); len(u) != 1 || u[0] != "orders" || len(st.Unhealthy()) != 0 {
				t.Errorf("unknown %v unhealthy %v", u, st.Unhealthy())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// rm deletes the Firehose stream before the objects (so nothing lands after
// them); when deleting the objects then fails, the re-run still knows the
// bucket and prefix from the role opsctl wrote and finishes the job, and an
// object opsctl did not write survives (issue 16 item 6).
func TestRmReRunAfterFailedObjectDeleteFinishesTheJob(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	e.table(t, "orders")
	o := dynamoOpts()
	o.BufferInterval = 60 * time.Second
	mustCreate(t, e, o)
	putRecords(t, e, "orders", []record{{"a", `{"x":1}`}})
	deliveredKeys(t, e, "cdc/orders/data/", 1)
	// The user's own object in the same bucket, outside the archive's prefixes.
	if _, err := e.s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("acme-cdc"), Key: aws.String("cdc/orders-notes.txt"), Body: strings.NewReader("mine")}); err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault(localaws.Fault{Service: "s3", Operation: "DeleteObjects", Kind: localaws.FaultError, Code: "AccessDenied", Status: 403, Message: "Access Denied"})
	res, err := archive.Rm(ctx, e.deps, archive.RmOptions{Name: "orders"})
	if opserr.ExitCode(err) != opserr.ExitPartial || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("rm with a failing object delete: err %v (exit %d), want partial", err, opserr.ExitCode(err))
	}
	if _, err := e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("orders")}); err == nil {
		t.Fatal("the Firehose stream survived: the failure is not the one this test is about")
	}
	if n := plan.Count(res.Changes); n.Failed != 1 {
		t.Fatalf("changes %+v", res.Changes)
	}
	again, err := archive.Rm(ctx, e.deps, archive.RmOptions{Name: "orders"})
	if err != nil {
		t.Fatalf("re-run: %v %+v", err, again.Changes)
	}
	if len(again.Warnings) != 0 && strings.Contains(strings.Join(again.Warnings, " "), "unknown") {
		t.Fatalf("re-run did not know the bucket and prefix: %v", again.Warnings)
	}
	if again.ObjectsDeleted != 1 {
		t.Fatalf("re-run deleted %d objects, want the 1 delivered", again.ObjectsDeleted)
	}
	out, err := e.s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("acme-cdc")})
	if err != nil || len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "cdc/orders-notes.txt" {
		t.Fatalf("left in the bucket: %+v %v (want only the user's object)", out, err)
	}
	if _, err := e.iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("opsctl-firehose-orders")}); err == nil {
		t.Error("role still there after the re-run")
	}
	// Nothing left: a third run writes nothing.
	e.srv.ResetCalls()
	if _, err := archive.Rm(ctx, e.deps, archive.RmOptions{Name: "orders"}); err != nil || len(writes(e.srv)) != 0 {
		t.Fatalf("third rm: %v %v", err, writes(e.srv))
	}
}

// A --kms-key alias is resolved to the key ARN (KMS DescribeKey) before
// anything is written: IAM matches the role policy's Resource against the
// key ARN, never an alias (issue 16 item 4). A missing alias fails with no
// write.
func TestCreateResolvesAKMSAliasToTheKeyARN(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	if _, err := e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/cdc-archive"), TargetKeyId: aws.String(kmsKey)}); err != nil {
		t.Fatal(err)
	}
	e.srv.ResetCalls()
	o := postgresOpts()
	o.KMSKey = "alias/missing"
	if _, err := archive.Create(ctx, e.deps, o); err == nil || !strings.Contains(err.Error(), "no such key or alias") {
		t.Fatalf("missing alias: %v", err)
	}
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("a missing alias wrote %v", w)
	}
	for _, alias := range []string{"alias/cdc-archive", "arn:aws:kms:us-east-1:000000000000:alias/cdc-archive"} {
		o.KMSKey = alias
		res := mustCreate(t, e, o)
		if strings.Contains(res.Policies.FirehoseRole, "alias/") || !strings.Contains(res.Policies.FirehoseRole, `"Resource": "`+kmsKey+`"`) {
			t.Fatalf("--kms-key %s: role policy names the alias, not the key ARN:\n%s", alias, res.Policies.FirehoseRole)
		}
		enc, err := e.s3c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: aws.String("acme-cdc")})
		if err != nil || aws.ToString(enc.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.KMSMasterKeyID) != kmsKey {
			t.Fatalf("bucket encryption %+v %v", enc, err)
		}
		d, _ := e.fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("users")})
		if got := aws.ToString(d.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription.EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN); got != kmsKey {
			t.Fatalf("firehose key %s", got)
		}
	}
	// The alias and the key ARN name the same key: the key ARN re-run writes nothing.
	e.srv.ResetCalls()
	o.KMSKey = kmsKey
	mustCreate(t, e, o)
	if w := writes(e.srv); len(w) != 0 {
		t.Fatalf("key ARN after alias wrote %v", w)
	}
}
