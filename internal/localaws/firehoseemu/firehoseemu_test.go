package firehoseemu_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	fhtypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

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

// startDelivery sets up a Kinesis stream, a bucket and a delivery stream.
func startDelivery(t *testing.T, prefix string, delim, gz bool) (*localaws.Server, *kinesis.Client, *s3.Client) {
	t.Helper()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorKinesis}})
	srv.Service("firehose").(*firehoseemu.Server).SetTimeScale(0.005) // 60 s → 300 ms
	ctx := context.Background()
	cfg := localawstest.Config(srv, 0)
	kc := kinesis.NewFromConfig(cfg)
	s3c := localawstest.S3(srv)
	if _, err := kc.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String("src"), StreamModeDetails: &ktypes.StreamModeDetails{StreamMode: ktypes.StreamModeOnDemand}}); err != nil {
		t.Fatal(err)
	}
	w := kinesis.NewStreamExistsWaiter(kc, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String("src")}, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("lake")}); err != nil {
		t.Fatal(err)
	}
	fh := firehose.NewFromConfig(cfg)
	_, err := fh.CreateDeliveryStream(ctx, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("arch"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &fhtypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/src"), RoleARN: aws.String(role)},
		ExtendedS3DestinationConfiguration: dest("lake", prefix, delim, gz)})
	if err != nil {
		t.Fatal(err)
	}
	return srv, kc, s3c
}

func waitObjects(t *testing.T, s3c *s3.Client, prefix string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("lake"), Prefix: aws.String(prefix)})
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if len(keys) >= n {
			return keys
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %d objects under %s, have %v", n, prefix, keys)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, s3c *s3.Client, key string, gz bool) string {
	t.Helper()
	out, err := s3c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("lake"), Key: aws.String(key)})
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

func put(t *testing.T, kc *kinesis.Client, recs ...string) {
	t.Helper()
	for i, r := range recs {
		if _, err := kc.PutRecord(context.Background(), &kinesis.PutRecordInput{StreamName: aws.String("src"), PartitionKey: aws.String("k"), Data: []byte(r)}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
}

func TestDeliveryConcatenatesWithoutDelimiterByDefault(t *testing.T) {
	_, kc, s3c := startDelivery(t, "raw/", false, false)
	put(t, kc, `{"a":1}`, `{"a":2}`)
	keys := waitObjects(t, s3c, "raw/", 1)
	want := regexp.MustCompile(`^raw/\d{4}/\d{2}/\d{2}/\d{2}/arch-1-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9a-f-]{36}$`)
	if !want.MatchString(keys[0]) {
		t.Fatalf("key %q does not look like a Firehose object", keys[0])
	}
	if body := get(t, s3c, keys[0], false); body != `{"a":1}{"a":2}` {
		t.Fatalf("body %q", body)
	}
}

func TestDeliveryAppendsDelimiterAndGzips(t *testing.T) {
	srv, kc, s3c := startDelivery(t, "cdc/", true, true)
	srv.Service("firehose").(*firehoseemu.Server).FailRecords(func(_ string, b []byte) bool { return bytes.Contains(b, []byte("poison")) })
	put(t, kc, `{"a":1}`, `poison`, `{"a":2}`)
	keys := waitObjects(t, s3c, "cdc/2", 1)
	if !strings.HasSuffix(keys[0], ".gz") {
		t.Fatalf("gzip object without .gz: %s", keys[0])
	}
	if body := get(t, s3c, keys[0], true); body != "{\"a\":1}\n{\"a\":2}\n" {
		t.Fatalf("body %q", body)
	}
	ekeys := waitObjects(t, s3c, "cdc/errors/processing-failed/", 1)
	if body := get(t, s3c, ekeys[0], true); !strings.Contains(body, `"rawData":"cG9pc29u"`) {
		t.Fatalf("error record %q", body)
	}
}

func TestDeliveryFlushesWhenTheSizeHintIsReached(t *testing.T) {
	srv, kc, s3c := startDelivery(t, "big/", false, false)
	// A 900 s interval (4.5 s scaled) never elapses in this test: only the
	// 1 MiB size hint can flush.
	fh := firehose.NewFromConfig(localawstest.Config(srv, 0))
	d, err := fh.DescribeDeliveryStream(context.Background(), &firehose.DescribeDeliveryStreamInput{DeliveryStreamName: aws.String("arch")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.UpdateDestination(context.Background(), &firehose.UpdateDestinationInput{DeliveryStreamName: aws.String("arch"),
		CurrentDeliveryStreamVersionId: d.DeliveryStreamDescription.VersionId, DestinationId: d.DeliveryStreamDescription.Destinations[0].DestinationId,
		ExtendedS3DestinationUpdate: &fhtypes.ExtendedS3DestinationUpdate{BufferingHints: &fhtypes.BufferingHints{SizeInMBs: aws.Int32(1), IntervalInSeconds: aws.Int32(900)}}}); err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("x", 600<<10)
	put(t, kc, chunk, chunk)
	start := time.Now()
	keys := waitObjects(t, s3c, "big/", 1)
	if time.Since(start) > 4*time.Second {
		t.Fatalf("flushed after %s: by interval, not size", time.Since(start))
	}
	if !strings.Contains(keys[0], "arch-2-") {
		t.Errorf("object %s not named with the destination version 2", keys[0])
	}
	if body := get(t, s3c, keys[0], false); len(body) != 2*len(chunk) {
		t.Fatalf("object has %d bytes, want %d", len(body), 2*len(chunk))
	}
}

func TestDeliveryPublishesMetricsToCloudWatch(t *testing.T) {
	srv, kc, s3c := startDelivery(t, "m/", true, false)
	put(t, kc, `{"a":1}`)
	waitObjects(t, s3c, "m/", 1)
	cw := cloudwatch.NewFromConfig(localawstest.Config(srv, 0))
	now := time.Now()
	q := func(id, ns, name, dim, val string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{Period: aws.Int32(60), Stat: aws.String("Maximum"),
			Metric: &cwtypes.Metric{Namespace: aws.String(ns), MetricName: aws.String(name), Dimensions: []cwtypes.Dimension{{Name: aws.String(dim), Value: aws.String(val)}}}}}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
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
		missing := []string{}
		for _, r := range out.MetricDataResults {
			if len(r.Values) == 0 {
				missing = append(missing, aws.ToString(r.Id))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no datapoints for %v", missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCloseStopsTheDeliveryReaders(t *testing.T) {
	srv, kc, s3c := startDelivery(t, "c/", false, false)
	emu := srv.Service("firehose").(*firehoseemu.Server)
	emu.SetTimeScale(0.2) // a 60 s interval takes 12 s: only Close can flush in time
	put(t, kc, "buffered")
	// Once the reader buffered the record, close: the buffered record is
	// flushed, and Close returns once every reader has stopped.
	for i := 0; emu.BufferedRecords("arch") < 1; i++ {
		if i > 200 {
			t.Fatalf("the record never reached the buffer (%d)", emu.BufferedRecords("arch"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := make(chan struct{})
	go func() { emu.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return: a delivery reader is stuck")
	}
	keys := waitObjects(t, s3c, "c/", 1)
	if body := get(t, s3c, keys[0], false); body != "buffered" {
		t.Fatalf("flushed %q", body)
	}
	// A stream created after Close gets no reader.
	fh := firehose.NewFromConfig(localawstest.Config(srv, 0))
	if _, err := fh.CreateDeliveryStream(context.Background(), &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("late"), DeliveryStreamType: fhtypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &fhtypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String("arn:aws:kinesis:us-east-1:000000000000:stream/src"), RoleARN: aws.String(role)},
		ExtendedS3DestinationConfiguration: dest("lake", "late/", false, false)}); err != nil {
		t.Fatal(err)
	}
	emu.Close() // idempotent
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
