package firehoseemu

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"
)

// ObjectStore is where delivered objects go (the S3 emulation, in process, so
// deliveries are not recorded as API calls of the test).
type ObjectStore interface {
	PutObjectDirect(bucket, key string, body []byte) error
}

// MetricFunc records one CloudWatch datapoint (the CloudWatch emulation).
type MetricFunc func(namespace, name string, dims map[string]string, value float64, unit string, at time.Time)

// Backends connect the emulation to the endpoint's other services.
type Backends struct {
	// KinesisURL is the endpoint the readers call Kinesis through (the local
	// endpoint's own URL); "" disables delivery.
	KinesisURL, Region string
	S3                 ObjectStore
	// Metrics, if set, receives AWS/Firehose metrics: IncomingRecords,
	// IncomingBytes, DeliveryToS3.Records, DeliveryToS3.Success and
	// DeliveryToS3.DataFreshness (seconds).
	Metrics MetricFunc
	Logf    func(format string, args ...any)
}

// Connect wires the delivery readers to Kinesis, S3 and CloudWatch. Call it
// before the first CreateDeliveryStream.
func (s *Server) Connect(b Backends) {
	if b.Logf == nil {
		b.Logf = func(string, ...any) {}
	}
	s.mu.Lock()
	s.backend = b
	s.mu.Unlock()
}

type bufRecord struct {
	data    []byte
	arrival time.Time // Kinesis' ApproximateArrivalTimestamp: names the object
	read    time.Time // when the reader got it: starts the buffer interval
}

type shardPos struct {
	iter    string
	lastSeq string
	done    bool
}

// deliver is the per-stream reader: poll every shard, buffer, flush.
func (s *Server) deliver(d *deliveryStream) {
	s.mu.Lock()
	b := s.backend
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-d.stopCh
		cancel()
	}()
	if b.KinesisURL == "" || b.S3 == nil {
		<-d.stopCh
		return
	}
	client := kinesis.New(kinesis.Options{
		Region:       b.Region,
		BaseEndpoint: aws.String(b.KinesisURL),
		Credentials:  credentials.NewStaticCredentialsProvider("firehose-emulator", "firehose-emulator", ""),
		Retryer:      aws.NopRetryer{},
	})
	streamName := d.source.KinesisStreamARN[strings.LastIndex(d.source.KinesisStreamARN, "/")+1:]
	shards := map[string]*shardPos{}
	var buf []bufRecord
	var bufBytes int
	var lastShardList, lastMetric time.Time
	var maxBehind int64
	for {
		s.mu.Lock()
		poll, scale := s.pollEvery, s.timeScale
		s.mu.Unlock()
		select {
		case <-d.stopCh:
			if len(buf) > 0 {
				s.flush(d, b, buf)
			}
			return
		case <-time.After(poll):
		}
		if time.Since(lastShardList) > 5*poll || len(shards) == 0 {
			if err := listShards(ctx, client, streamName, shards); err == nil {
				lastShardList = time.Now()
			}
		}
		for id, p := range shards {
			if p.done {
				continue
			}
			recs, behind, err := readShard(ctx, client, streamName, id, p)
			if err != nil {
				continue
			}
			if behind != nil && *behind > maxBehind {
				maxBehind = *behind
			}
			for _, r := range recs {
				arr := aws.ToTime(r.ApproximateArrivalTimestamp)
				if arr.Before(d.created.Add(-time.Second)) {
					continue // before DeliveryStartTimestamp
				}
				buf = append(buf, bufRecord{data: r.Data, arrival: arr.UTC(), read: time.Now()})
				bufBytes += len(r.Data)
			}
			if len(recs) > 0 && b.Metrics != nil {
				n := 0
				for _, r := range recs {
					n += len(r.Data)
				}
				now := time.Now().UTC()
				b.Metrics("AWS/Firehose", "IncomingRecords", dims(d), float64(len(recs)), "Count", now)
				b.Metrics("AWS/Firehose", "IncomingBytes", dims(d), float64(n), "Bytes", now)
			}
		}
		s.mu.Lock()
		d.buffered = len(buf)
		s.mu.Unlock()
		if b.Metrics != nil && time.Since(lastMetric) >= time.Duration(60*scale*float64(time.Second)) {
			// Kinesis publishes the consumer's MillisBehindLatest as
			// GetRecords.IteratorAgeMilliseconds, once a minute.
			b.Metrics("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", map[string]string{"StreamName": streamName}, float64(maxBehind), "Milliseconds", time.Now().UTC())
			lastMetric, maxBehind = time.Now(), 0
		}
		if len(buf) == 0 {
			continue
		}
		s.mu.Lock()
		hints := *d.dest.BufferingHints
		s.mu.Unlock()
		interval := time.Duration(float64(*hints.IntervalInSeconds) * scale * float64(time.Second))
		if bufBytes >= int(*hints.SizeInMBs)<<20 || time.Since(buf[0].read) >= interval {
			if s.flush(d, b, buf) {
				buf, bufBytes = nil, 0
				s.mu.Lock()
				d.buffered = 0
				s.mu.Unlock()
			}
		}
	}
}

func dims(d *deliveryStream) map[string]string {
	return map[string]string{"DeliveryStreamName": d.name}
}

func listShards(ctx context.Context, c *kinesis.Client, stream string, shards map[string]*shardPos) error {
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return err
		}
		for _, sh := range out.Shards {
			if _, ok := shards[aws.ToString(sh.ShardId)]; !ok {
				shards[aws.ToString(sh.ShardId)] = &shardPos{}
			}
		}
		if out.NextToken == nil {
			return nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// readShard reads the next batch of a shard and returns it with
// MillisBehindLatest.
func readShard(ctx context.Context, c *kinesis.Client, stream, shard string, p *shardPos) ([]ktypes.Record, *int64, error) {
	if p.iter == "" {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon}
		if p.lastSeq != "" {
			in.ShardIteratorType = ktypes.ShardIteratorTypeAfterSequenceNumber
			in.StartingSequenceNumber = aws.String(p.lastSeq)
		}
		out, err := c.GetShardIterator(ctx, in)
		if err != nil {
			return nil, nil, err
		}
		p.iter = aws.ToString(out.ShardIterator)
	}
	out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: aws.String(p.iter), Limit: aws.Int32(10000)})
	if err != nil {
		p.iter = "" // expired or invalid: resume after the last sequence number
		return nil, nil, err
	}
	if out.NextShardIterator == nil {
		p.done = true // closed shard fully read
	}
	p.iter = aws.ToString(out.NextShardIterator)
	if n := len(out.Records); n > 0 {
		p.lastSeq = aws.ToString(out.Records[n-1].SequenceNumber)
	}
	return out.Records, out.MillisBehindLatest, nil
}

// flush writes one buffer: the delivered object and, if any record failed
// processing, one error object. It returns false (keep the buffer, retry) when
// S3 rejected the write.
func (s *Server) flush(d *deliveryStream, b Backends, buf []bufRecord) bool {
	s.mu.Lock()
	dest := d.dest
	version := d.version
	fail := s.failRecord
	s.mu.Unlock()
	bucket := strings.TrimPrefix(str(dest.BucketARN), "arn:aws:s3:::")
	delim, appendDelim := delimiter(dest.ProcessingConfiguration)
	first := buf[0].arrival
	var body bytes.Buffer
	var failed []bufRecord
	for _, r := range buf {
		if fail != nil && fail(d.name, r.data) {
			failed = append(failed, r)
			continue
		}
		body.Write(r.data)
		if appendDelim {
			body.WriteString(delim)
		}
	}
	gz := str(dest.CompressionFormat) == "GZIP"
	ext := ""
	if gz {
		ext = ".gz"
	}
	if dest.FileExtension != nil {
		ext = *dest.FileExtension
	}
	now := time.Now().UTC()
	ok := true
	if body.Len() > 0 {
		key := EvalPrefix(str(dest.Prefix), first, "", false) + ObjectName(d.name, version, first) + ext
		if err := b.S3.PutObjectDirect(bucket, key, compress(body.Bytes(), gz)); err != nil {
			b.Logf("firehoseemu: %s: deliver to s3://%s/%s: %v", d.name, bucket, key, err)
			ok = false
		}
		if b.Metrics != nil {
			success := 1.0
			if !ok {
				success = 0
			}
			b.Metrics("AWS/Firehose", "DeliveryToS3.Success", dims(d), success, "None", now)
			if ok {
				b.Metrics("AWS/Firehose", "DeliveryToS3.Records", dims(d), float64(len(buf)-len(failed)), "Count", now)
				b.Metrics("AWS/Firehose", "DeliveryToS3.DataFreshness", dims(d), now.Sub(first).Seconds(), "Seconds", now)
			}
		}
	}
	if !ok {
		return false
	}
	if len(failed) > 0 {
		var eb bytes.Buffer
		for _, r := range failed {
			line, _ := json.Marshal(map[string]any{
				"attemptsMade":           1,
				"arrivalTimestamp":       r.arrival.UnixMilli(),
				"errorCode":              "Processor.Failed",
				"errorMessage":           "The record was rejected by the processing configuration.",
				"attemptEndingTimestamp": now.UnixMilli(),
				"rawData":                base64.StdEncoding.EncodeToString(r.data),
			})
			eb.Write(line)
			eb.WriteByte('\n')
		}
		key := EvalPrefix(str(dest.ErrorOutputPrefix), first, "processing-failed", true) + ObjectName(d.name, version, first) + ext
		if err := b.S3.PutObjectDirect(bucket, key, compress(eb.Bytes(), gz)); err != nil {
			b.Logf("firehoseemu: %s: write error records to s3://%s/%s: %v", d.name, bucket, key, err)
			return false
		}
		if b.Metrics != nil {
			b.Metrics("AWS/Firehose", "ExecuteProcessing.Success", dims(d), 0, "None", now)
		}
	}
	return true
}

func compress(b []byte, gz bool) []byte {
	if !gz {
		return b
	}
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// delimiter returns what AppendDelimiterToRecord appends ("\n" unless a
// Delimiter parameter says otherwise) and whether the processor is on.
func delimiter(p *processingConfiguration) (string, bool) {
	if p == nil || p.Enabled == nil || !*p.Enabled {
		return "", false
	}
	for _, pr := range p.Processors {
		if pr.Type != "AppendDelimiterToRecord" {
			continue
		}
		for _, prm := range pr.Parameters {
			if prm.ParameterName == "Delimiter" {
				v := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r").Replace(prm.ParameterValue)
				return v, true
			}
		}
		return "\n", true
	}
	return "", false
}

// ObjectName is Firehose's object name without extension:
// DeliveryStreamName-DeliveryStreamVersion-YYYY-MM-DD-HH-MM-SS-RandomString.
func ObjectName(stream string, version int, t time.Time) string {
	return fmt.Sprintf("%s-%d-%s-%s", stream, version, t.UTC().Format("2006-01-02-15-04-05"), uuid.NewString())
}

// EvalPrefix evaluates a Firehose S3 prefix for records that arrived at t.
// Without expressions Firehose appends the UTC arrival hour "YYYY/MM/DD/HH/"
// (for error output: "error-output-type/YYYY/MM/DD/HH/"); with expressions it
// substitutes !{timestamp:pattern}, !{firehose:random-string} and
// !{firehose:error-output-type} and appends nothing.
func EvalPrefix(prefix string, t time.Time, errorType string, isError bool) string {
	t = t.UTC()
	if !strings.Contains(prefix, "!{") {
		p := prefix
		if isError {
			p += errorType + "/"
		}
		return p + t.Format("2006/01/02/15/")
	}
	return exprRe.ReplaceAllStringFunc(prefix, func(m string) string {
		e := m[2 : len(m)-1]
		switch {
		case strings.HasPrefix(e, "timestamp:"):
			v, _ := javaFormat(strings.TrimPrefix(e, "timestamp:"), t)
			return v
		case e == "firehose:random-string":
			return strings.ReplaceAll(uuid.NewString(), "-", "")[:11]
		case e == "firehose:error-output-type":
			return errorType
		}
		return m
	})
}

// javaFormat renders the subset of java.time.format.DateTimeFormatter
// patterns Firehose prefixes use: yyyy yy MM dd HH mm ss, literal text in
// single quotes and separators.
func javaFormat(pattern string, t time.Time) (string, error) {
	var out strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		j := i
		for j < len(pattern) && pattern[j] == c {
			j++
		}
		run := pattern[i:j]
		switch {
		case c == '\'':
			end := strings.IndexByte(pattern[i+1:], '\'')
			if end < 0 {
				return "", fmt.Errorf("unterminated quote")
			}
			out.WriteString(pattern[i+1 : i+1+end])
			i += end + 2
			continue
		case run == "yyyy" || run == "uuuu":
			out.WriteString(t.Format("2006"))
		case run == "yy" || run == "uu":
			out.WriteString(t.Format("06"))
		case run == "MM":
			out.WriteString(t.Format("01"))
		case run == "dd":
			out.WriteString(t.Format("02"))
		case run == "HH":
			out.WriteString(t.Format("15"))
		case run == "mm":
			out.WriteString(t.Format("04"))
		case run == "ss":
			out.WriteString(t.Format("05"))
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			return "", fmt.Errorf("unsupported pattern letters %q", run)
		default:
			out.WriteString(run)
		}
		i = j
	}
	return out.String(), nil
}
