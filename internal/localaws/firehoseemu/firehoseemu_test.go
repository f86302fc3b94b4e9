package firehoseemu_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/firehoseemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

const role = "arn:aws:iam::000000000000:role/fh"

func dest(bucket, prefix string, delim bool, gz bool) *fhtypes.ExtendedS3DestinationConfiguration {
	d := &fhtypes.ExtendedS3DestinationConfiguration{
		RoleARN: aws.String(role), BucketARN: aws.String("arn:aws:s3:::" + bucket),
		Prefix: aws.String(prefix), ErrorOutputPrefix: aws.String(prefix + "errors/"),
		BufferingHints:    &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(60)},
		CompressionFormat: fhtypes.CompressionFormatUncompressed,
	}
	if gz {
		d.CompressionFormat = fhtypes.CompressionFormatGzip
	}
	if delim {
		d.ProcessingConfiguration = &fhtypes.ProcessingConfiguration{Enabled: aws.Bool(true),
			Processors: []fhtypes.Processor{{Type: fhtypes.ProcessorTypeAppendDelimiterToRecord}}}
	}
	return d
}

func TestControlPlaneValidationAndVersions(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{})
	ctx := context.Background()
	fh := firehose.NewFromConfig(localawstest.Config(srv, 1))
	ks := &fhtypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/s"), RoleARN: aws.String(role)}
	bad := []struct {
		name string
		in   *firehose.CreateDeliveryStreamInput
		code string
	}{
		{"name with a slash", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("a/b"), ExtendedS3DestinationConfiguration: dest("b", "p/", true, true)}, "ValidationException"},
		{"buffer size above 128 MiB", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), ExtendedS3DestinationConfiguration: func() *fhtypes.ExtendedS3DestinationConfiguration {
			d := dest("b", "p/", true, true)
			d.BufferingHints.SizeInMBs = aws.Int32(129)
			return d
		}()}, "InvalidArgumentException"},
		{"interval above 900 s", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), ExtendedS3DestinationConfiguration: func() *fhtypes.ExtendedS3DestinationConfiguration {
			d := dest("b", "p/", true, true)
			d.BufferingHints.IntervalInSeconds = aws.Int32(901)
			return d
		}()}, "InvalidArgumentException"},
		{"expression prefix without error prefix", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), ExtendedS3DestinationConfiguration: func() *fhtypes.ExtendedS3DestinationConfiguration {
			d := dest("b", "p/!{timestamp:yyyy}/", true, true)
			d.ErrorOutputPrefix = nil
			return d
		}()}, "InvalidArgumentException"},
		{"kinesis source without configuration", &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("x"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource, ExtendedS3DestinationConfiguration: dest("b", "p/", true, true)}, "InvalidArgumentException"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fh.CreateDeliveryStream(ctx, tc.in)
			if emutest.Code(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
	in := &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("ok"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration: ks, ExtendedS3DestinationConfiguration: dest("b", "p/", true, true),
		Tags: []fhtypes.Tag{{Key: aws.String("owner"), Value: aws.String("opsctl")}}}
	out, err := fh.CreateDeliveryStream(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.DeliveryStreamARN); got != "arn:aws:firehose:us-east-1:000000000000:deliverystream/ok" {
		t.Fatalf("arn %s", got)
	}
	if _, err := fh.CreateDeliveryStream(ctx, in); emutest.Code(err) != "ResourceInUseException" {
		t.Fatalf("duplicate: %v", err)
	}
	d, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("ok")})
	if err != nil {
		t.Fatal(err)
	}
	desc := d.DeliveryStreamDescription
	e := desc.Destinations[0].ExtendedS3DestinationDescription
	if desc.DeliveryStreamStatus != fhtypes.DeliveryStreamStatusActive || aws.ToString(desc.VersionId) != "1" ||
		e.CompressionFormat != fhtypes.CompressionFormatGzip || e.ProcessingConfiguration.Processors[0].Type != fhtypes.ProcessorTypeAppendDelimiterToRecord ||
		aws.ToString(desc.Source.KinesisStreamSourceDescription.KinesisStreamARN) != aws.ToString(ks.KinesisStreamARN) {
		t.Fatalf("describe: %+v", desc)
	}
	upd := &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("ok"), CurrentDeliveryStreamVersionId: aws.String("1"),
		DestinationId: desc.Destinations[0].DestinationId, ExtendedS3DestinationUpdate: &fhtypes.ExtendedS3DestinationUpdate{
			BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(64), IntervalInSeconds: aws.Int32(120)}}}
	if _, err := fh.UpdateDestination(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.UpdateDestination(ctx, upd); emutest.Code(err) != "ConcurrentModificationException" {
		t.Fatalf("stale version: %v", err)
	}
	d, _ = fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("ok")})
	if bh := d.DeliveryStreamDescription.Destinations[0].ExtendedS3DestinationDescription.BufferingHints; aws.ToInt32(bh.SizeInMBs) != 64 || aws.ToString(d.DeliveryStreamDescription.VersionId) != "2" {
		t.Fatalf("after update: %+v", bh)
	}
	tags, err := fh.ListTagsForDeliveryStream(ctx, &firehose.ListTagsForDeliveryStreamInput{DeliveryStreamName: aws.String("ok")})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "opsctl" {
		t.Fatalf("tags %+v %v", tags, err)
	}
	if _, err := fh.UntagDeliveryStream(ctx, &firehose.UntagDeliveryStreamInput{DeliveryStreamName: aws.String("ok"), TagKeys: []string{"owner"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		in2 := *in
		in2.DeliveryStreamName = aws.String(fmt.Sprintf("s%02d", i))
		if _, err := fh.CreateDeliveryStream(ctx, &in2); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	lin := &firehose.ListDeliveryStreamsInput{}
	for {
		l, err := fh.ListDeliveryStreams(ctx, lin)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, l.DeliveryStreamNames...)
		if !aws.ToBool(l.HasMoreDeliveryStreams) {
			break
		}
		lin.ExclusiveStartDeliveryStreamName = aws.String(names[len(names)-1])
	}
	if len(names) != 13 {
		t.Fatalf("listed %d: %v", len(names), names)
	}
	if _, err := fh.DeleteDeliveryStream(ctx, &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("ok")}); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.DescribeDeliveryStream(ctx, &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("ok")}); emutest.Code(err) != "ResourceNotFoundException" {
		t.Fatalf("after delete: %v", err)
	}
}

func TestEvalPrefix(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	for _, tc := range []struct {
		prefix, errType string
		isErr           bool
		want            string
	}{
		{"cdc/orders/", "", false, "cdc/orders/2026/03/04/05/"},
		{"", "", false, "2026/03/04/05/"},
		{"cdc/errors/", "processing-failed", true, "cdc/errors/processing-failed/2026/03/04/05/"},
		{"cdc/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/", "", false, "cdc/year=2026/month=03/day=04/hour=05/"},
		{"err/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/", "processing-failed", true, "err/processing-failed/2026/03/04/"},
	} {
		if got := firehoseemu.EvalPrefix(tc.prefix, at, tc.errType, tc.isErr); got != tc.want {
			t.Errorf("EvalPrefix(%q) = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	if n := firehoseemu.ObjectName("orders", 3, at); !regexp.MustCompile(`^orders-3-2026-03-04-05-06-07-[0-9a-f-]{36}$`).MatchString(n) {
		t.Errorf("object name %q", n)
	}
}

// delivery is a Kinesis stream "src", a bucket "lake" and a delivery stream
// "arch" (1 MiB / 60 s buffers) on an endpoint whose clock is a clock.Fake:
// the buffers flush when a test advances it, never on their own.
type delivery struct {
	srv  *localaws.Server
	clk  *clock.Fake
	emu  *firehoseemu.Server
	kc   *kinesis.Client
	s3c  *s3.Client
	fh   *firehose.Client
	iamc *iam.Client
	cfgT *testing.T
}

// The delivery role, as the Firehose Developer Guide writes it ("Allow
// Firehose to assume an IAM role" and "Grant Firehose access to an Amazon S3
// destination"): the endpoint enforces it on every read and write.
const firehoseTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},
	"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"000000000000"}}}]}`

const firehoseS3Policy = `{"Version":"2012-10-17","Statement":[
	{"Effect":"Allow","Action":["s3:AbortMultipartUpload","s3:GetBucketLocation","s3:GetObject","s3:ListBucket","s3:ListBucketMultipartUploads","s3:PutObject"],
	 "Resource":["arn:aws:s3:::lake","arn:aws:s3:::lake/*"]},
	{"Effect":"Allow","Action":["kinesis:DescribeStream","kinesis:GetShardIterator","kinesis:GetRecords","kinesis:ListShards"],
	 "Resource":"arn:aws:kinesis:us-east-1:000000000000:stream/src"}]}`

func createRole(t *testing.T, c *iam.Client, trust, policy string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("fh"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	putRolePolicy(t, c, policy)
}

func putRolePolicy(t *testing.T, c *iam.Client, policy string) {
	t.Helper()
	if _, err := c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String("fh"), PolicyName: aws.String("delivery"),
		PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
}

func startDelivery(t *testing.T, prefix string, delim, gz bool) *delivery {
	t.Helper()
	clk := clock.NewFake(time.Now().UTC())
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorKinesis}, Clock: clk})
	ctx := context.Background()
	cfg := localawstest.Config(srv, 0)
	e := &delivery{srv: srv, clk: clk, emu: srv.Service("firehose").(*firehoseemu.Server), kc: kinesis.NewFromConfig(cfg),
		s3c: localawstest.S3(srv), fh: firehose.NewFromConfig(cfg), cfgT: t}
	if _, err := e.kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("src"), StreamModeDetails: &ktypes.StreamModeDetails{StreamMode: ktypes.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	// kinesis-local is a separate process on real time: its waiter sleeps
	// for real.
	w := kinesis.NewStreamExistsWaiter(e.kc, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("src")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	e.iamc = iam.NewFromConfig(cfg)
	createRole(t, e.iamc, firehoseTrust, firehoseS3Policy)
	_, err := e.fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("arch"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &fhtypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/src"), RoleARN: aws.String(role)},
		ExtendedS3DestinationConfiguration: dest("lake", prefix, delim, gz)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// objects lists the keys under prefix: one ListObjectsV2, which the endpoint
// serves after bringing Firehose up to its clock.
func (e *delivery) objects(prefix string) []string {
	t := e.cfgT
	t.Helper()
	out, err := e.s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}

func (e *delivery) get(key string, gz bool) string {
	t := e.cfgT
	t.Helper()
	out, err := e.s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	var r io.Reader = out.Body
	if gz {
		zr, err := gzip.NewReader(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, _ := io.ReadAll(r)
	return string(b)
}

// put writes records to the source stream; each PutRecord is a write, after
// which the endpoint lets Firehose read it at the clock's current time.
func (e *delivery) put(recs ...string) {
	t := e.cfgT
	t.Helper()
	for i, r := range recs {
		if _, err := e.kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("src"), PartitionKey: aws.String("k"), Data: []byte(r)}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
}

// The buffer interval is endpoint time: nothing is written a second before
// it ends, and the object is there as soon as the clock reaches it.
func TestDeliveryFlushesWhenTheClockPassesTheInterval(t *testing.T) {
	e := startDelivery(t, "raw/", false, false)
	e.put(`{"a":1}`, `{"a":2}`)
	if n := e.emu.BufferedRecords("arch"); n != 2 {
		t.Fatalf("%d records buffered after the puts, want 2", n)
	}
	e.clk.Advance(59 * time.Second)
	if keys := e.objects("raw/"); len(keys) != 0 {
		t.Fatalf("flushed before the 60 s interval: %v", keys)
	}
	e.clk.Advance(time.Second)
	keys := e.objects("raw/")
	if len(keys) != 1 {
		t.Fatalf("after 60 s of endpoint time: %v, want one object", keys)
	}
	if n := e.emu.BufferedRecords("arch"); n != 0 {
		t.Fatalf("%d records still buffered", n)
	}
}

// The control API's clock advance flushes too (the standalone endpoint).
func TestClockControlAPIFlushesTheBuffers(t *testing.T) {
	e := startDelivery(t, "ctl/", false, false)
	e.put("x")
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/_localaws/clock", strings.NewReader(`{"advance":"61s"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("advance: %v %v", resp, err)
	}
	resp.Body.Close()
	if n := e.emu.BufferedRecords("arch"); n != 0 {
		t.Fatalf("advancing the clock left %d records buffered", n)
	}
}

func TestDeliveryConcatenatesWithoutDelimiterByDefault(t *testing.T) {
	e := startDelivery(t, "raw/", false, false)
	e.put(`{"a":1}`, `{"a":2}`)
	e.clk.Advance(60 * time.Second)
	keys := e.objects("raw/")
	want := regexp.MustCompile(`^raw/\d{4}/\d{2}/\d{2}/\d{2}/arch-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$`)
	if len(keys) != 1 || !want.MatchString(keys[0]) {
		t.Fatalf("keys %q: want one Firehose object", keys)
	}
	if body := e.get(keys[0], false); body != `{"a":1}{"a":2}` {
		t.Fatalf("body %q", body)
	}
}

func TestDeliveryAppendsDelimiterAndGzips(t *testing.T) {
	e := startDelivery(t, "cdc/", true, true)
	e.emu.FailRecords(func(_ string, b []byte) bool { return bytes.Contains(b, []byte("poison")) })
	e.put(`{"a":1}`, `poison`, `{"a":2}`)
	e.clk.Advance(60 * time.Second)
	keys := e.objects("cdc/2")
	if len(keys) != 1 || !strings.HasSuffix(keys[0], ".gz") {
		t.Fatalf("keys %v: want one gzip object ending .gz", keys)
	}
	if body := e.get(keys[0], true); body != "{\"a\":1}\n{\"a\":2}\n" {
		t.Fatalf("body %q", body)
	}
	ekeys := e.objects("cdc/errors/processing-failed/")
	if len(ekeys) != 1 {
		t.Fatalf("error objects %v", ekeys)
	}
	if body := e.get(ekeys[0], true); !strings.Contains(body, `"rawData":"cG9pc29u"`) {
		t.Fatalf("error record %q", body)
	}
}

func TestDeliveryFlushesWhenTheSizeHintIsReached(t *testing.T) {
	e := startDelivery(t, "big/", false, false)
	// A 900 s interval; the clock does not move in this test: only the
	// 1 MiB size hint can flush.
	d, err := e.fh.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("arch")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.fh.UpdateDestination(context.Background(), &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("arch"),
		CurrentDeliveryStreamVersionId: d.DeliveryStreamDescription.VersionId, DestinationId: d.DeliveryStreamDescription.Destinations[0].DestinationId,
		ExtendedS3DestinationUpdate: &fhtypes.ExtendedS3DestinationUpdate{BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(900)}}}); err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("x", 600<<10)
	e.put(chunk)
	if keys := e.objects("big/"); len(keys) != 0 {
		t.Fatalf("600 KiB flushed before the 1 MiB hint: %v", keys)
	}
	e.put(chunk)
	keys := e.objects("big/")
	if len(keys) != 1 {
		t.Fatalf("1.2 MiB buffered, objects %v: want one, by size", keys)
	}
	if !strings.Contains(keys[0], "arch-2-") {
		t.Errorf("object %s not named with the destination version 2", keys[0])
	}
	if body := e.get(keys[0], false); len(body) != 2*len(chunk) {
		t.Fatalf("object has %d bytes, want %d", len(body), 2*len(chunk))
	}
}

func TestDeliveryPublishesMetricsToCloudWatch(t *testing.T) {
	e := startDelivery(t, "m/", true, false)
	e.put(`{"a":1}`)
	e.clk.Advance(90 * time.Second)
	if keys := e.objects("m/"); len(keys) != 1 {
		t.Fatalf("objects %v", keys)
	}
	cw := cloudwatch.NewFromConfig(localawstest.Config(e.srv, 0))
	now := e.clk.Now()
	q := func(id, ns, name, dim, val string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Maximum"),
			Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(name), Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(val)}}}}}
	}
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(5 * time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			q("fresh", "AWS/Firehose", "DeliveryToS3.DataFreshness", "DeliveryStreamName", "arch"),
			q("ok", "AWS/Firehose", "DeliveryToS3.Success", "DeliveryStreamName", "arch"),
			q("incoming", "AWS/Firehose", "IncomingRecords", "DeliveryStreamName", "arch"),
			q("age", "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", "StreamName", "src"),
		}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]float64{}
	for _, r := range out.MetricDataResults {
		got[aws.ToString(r.Id)] = r.Values
	}
	for _, id := range []string{"fresh", "ok", "incoming", "age"} {
		if len(got[id]) == 0 {
			t.Errorf("no datapoints for %s", id)
		}
	}
	// The record waited 90 s of endpoint time in the buffer.
	if f := got["fresh"]; len(f) > 0 && f[0] != 90 {
		t.Errorf("DataFreshness %v, want 90 (seconds on the endpoint clock)", f)
	}
}

func TestCloseDeliversWhatIsBuffered(t *testing.T) {
	e := startDelivery(t, "c/", false, false)
	e.put("buffered")
	if n := e.emu.BufferedRecords("arch"); n != 1 {
		t.Fatalf("%d records buffered, want 1", n)
	}
	e.emu.Close() // the clock has not moved: only Close can flush
	keys := e.objects("c/")
	if len(keys) != 1 {
		t.Fatalf("objects after Close: %v", keys)
	}
	if body := e.get(keys[0], false); body != "buffered" {
		t.Fatalf("flushed %q", body)
	}
	// A stream created after Close does not deliver.
	if _, err := e.fh.CreateDeliveryStream(context.Background(), &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("late"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &fhtypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/src"), RoleARN: aws.String(role)},
		ExtendedS3DestinationConfiguration: dest("lake", "late/", false, false)}); err != nil {
		t.Fatal(err)
	}
	e.put("after")
	e.clk.Advance(time.Hour)
	if keys := e.objects("late/"); len(keys) != 0 {
		t.Fatalf("a stream created after Close delivered %v", keys)
	}
	e.emu.Close() // idempotent
}

// Deleting a stream delivers its buffer before the call returns.
func TestDeleteDeliversTheBuffer(t *testing.T) {
	e := startDelivery(t, "del/", false, false)
	e.put("last")
	if _, err := e.fh.DeleteDeliveryStream(context.Background(), &firehose.DeleteDeliveryStreamInput{DeliveryStreamName: aws.String("arch")}); err != nil {
		t.Fatal(err)
	}
	if keys := e.objects("del/"); len(keys) != 1 || e.get(keys[0], false) != "last" {
		t.Fatalf("objects after delete: %v", keys)
	}
}

// A stream kept CREATING by SetCreateDelay becomes ACTIVE when the endpoint's
// clock passes the delay: a 20-minute wait in no real time.
func TestCreateDelayIsEndpointTime(t *testing.T) {
	clk := clock.NewFake(time.Time{})
	srv := localawstest.Start(t, localaws.Options{Clock: clk}) // no Kinesis needed
	e := &delivery{clk: clk, emu: srv.Service("firehose").(*firehoseemu.Server), fh: firehose.NewFromConfig(localawstest.Config(srv, 0))}
	e.emu.SetCreateDelay(20 * time.Minute)
	if _, err := e.fh.CreateDeliveryStream(context.Background(), &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("slow"), DeliveryStreamType: fhtypes.DeliveryStreamTypeDirectPut,
		ExtendedS3DestinationConfiguration: dest("lake", "slow/", false, false)}); err != nil {
		t.Fatal(err)
	}
	status := func() fhtypes.DeliveryStreamStatus {
		out, err := e.fh.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("slow")})
		if err != nil {
			t.Fatal(err)
		}
		return out.DeliveryStreamDescription.DeliveryStreamStatus
	}
	e.clk.Advance(20*time.Minute - time.Second)
	if s := status(); s != fhtypes.DeliveryStreamStatusCreating {
		t.Fatalf("status %s a second before the delay ends, want CREATING", s)
	}
	e.clk.Advance(time.Second)
	if s := status(); s != fhtypes.DeliveryStreamStatusActive {
		t.Fatalf("status %s when the delay ended, want ACTIVE", s)
	}
}

func FuzzEvalPrefix(f *testing.F) {
	for _, seed := range []string{"cdc/", "", "a/!{timestamp:yyyy}/!{timestamp:MM}/", "e/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd/HH}/",
		"!{firehose:random-string}/x", "!{timestamp:'year='yyyy}/", "!{", "!{timestamp:q}", "!{partitionKeyFromQuery:id}/"} {
		f.Add(seed)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, prefix string) {
		for _, isErr := range []bool{false, true} {
			got := firehoseemu.EvalPrefix(prefix, at, "processing-failed", isErr)
			if !strings.Contains(prefix, "!{") && !strings.HasSuffix(got, "2026/01/02/03/") {
				t.Fatalf("EvalPrefix(%q) = %q: no arrival-hour suffix", prefix, got)
			}
		}
	})
}
