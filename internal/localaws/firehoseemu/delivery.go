package firehoseemu

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/uuid"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/localaws/iampolicy"
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
	// Clock is the endpoint's clock: buffer intervals, metric times and
	// stream states are computed from it (default: the real clock).
	Clock clock.Clock
	// Authz, if set, enforces IAM as Firehose meets it: the stream assumes
	// its source and destination roles (their trust policies, with
	// aws:SourceAccount and aws:SourceArn), reads Kinesis with the source
	// role's policies, and writes each object with the destination role's
	// policies and the bucket policy. A refused call delivers nothing: the
	// records stay buffered and are retried, DeliveryToS3.Success is 0.
	Authz *iampolicy.Store
}

// Connect wires the delivery to Kinesis, S3, CloudWatch and the clock. Call
// it before the first CreateDeliveryStream.
func (s *Server) Connect(b Backends) {
	if b.Logf == nil {
		b.Logf = func(string, ...any) {}
	}
	b.Clock = clock.Or(b.Clock)
	s.mu.Lock()
	s.backend = b
	s.mu.Unlock()
}

type bufRecord struct {
	data    []byte
	arrival time.Time // Kinesis' ApproximateArrivalTimestamp: names the object
	read    time.Time // endpoint time the record was read: starts the buffer interval
}

type shardPos struct {
	iter    string
	lastSeq string
	done    bool
}

// reader is a delivery stream's position in its Kinesis source and its
// buffer. It runs no goroutine: Sync advances it to the endpoint's clock.
type reader struct {
	client                    *kinesis.Client
	stream                    string
	since                     time.Time // wall time of creation: Kinesis' records carry wall times
	shards                    map[string]*shardPos
	buf                       []bufRecord
	bufBytes                  int
	lastShardList, lastMetric time.Time
	maxBehind                 int64
}

// internalTransport marks the reader's requests as the emulation's own.
type internalTransport struct{ base http.RoundTripper }

func (t internalTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(awsproto.InternalHeader, "firehose")
	return t.base.RoundTrip(r)
}

// newReader returns the reader of a stream with a Kinesis source, or nil when
// the emulation is not connected to Kinesis and S3.
func newReader(b Backends, d *deliveryStream) *reader {
	if d.source == nil || b.KinesisURL == "" || b.S3 == nil {
		return nil
	}
	client := kinesis.New(kinesis.Options{
		Region:       b.Region,
		BaseEndpoint: aws.String(b.KinesisURL),
		Credentials:  credentials.NewStaticCredentialsProvider("firehose-emulator", "firehose-emulator", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: internalTransport{base: http.DefaultTransport}},
	})
	return &reader{client: client, stream: d.source.KinesisStreamARN[strings.LastIndex(d.source.KinesisStreamARN, "/")+1:],
		since: time.Now(), shards: map[string]*shardPos{}}
}

// Sync brings every delivery stream up to the endpoint's clock. After a
// write to Kinesis (wrote "kinesis"; DynamoDB's streaming destination writes
// through Kinesis too) it reads what the streams hold into the buffers: the
// buffer interval starts when a record is read. Every Sync writes a buffer
// to S3 once it reaches the size hint or its interval has passed on the
// clock. The endpoint calls it before it serves a request, after a write and
// after its clock is advanced, so state is computed from the clock when
// read; nothing runs in the background.
func (s *Server) Sync(ctx context.Context, wrote string) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	for _, d := range s.readers() {
		s.step(ctx, d, wrote == "kinesis", false)
	}
}

// readers lists the streams that deliver, by name.
func (s *Server) readers() []*deliveryStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var out []*deliveryStream
	for _, d := range s.streams {
		if d.rd != nil {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// drain delivers what a stream has in Kinesis and in its buffer now (its
// deletion, or the endpoint closing). Call with syncMu held.
func (s *Server) drain(ctx context.Context, d *deliveryStream) {
	if d.rd != nil {
		s.step(ctx, d, true, true)
	}
}

// step flushes one stream's buffer when it is due, after reading its source
// when read is set (syncMu held). With final, the buffer is written whatever
// its age.
func (s *Server) step(ctx context.Context, d *deliveryStream, read, final bool) {
	s.mu.Lock()
	b := s.backend
	scale := s.timeScale
	hints := *d.dest.BufferingHints
	s.mu.Unlock()
	rd := d.rd
	now := clock.Or(b.Clock).Now().UTC()
	if read && b.Authz != nil {
		if err := s.mayRead(b, d); err != nil {
			b.Logf("firehoseemu: %s: read from Kinesis: %v", d.name, err)
			read = false
		}
	}
	if read && (len(rd.shards) == 0 || now.Sub(rd.lastShardList) >= 5*time.Second) {
		if err := listShards(ctx, rd.client, rd.stream, rd.shards); err == nil {
			rd.lastShardList = now
		}
	}
	for id, p := range rd.shards {
		if !read {
			break
		}
		if p.done {
			continue
		}
		// A shard holds at most a few batches between two syncs; read
		// until it has nothing new (bounded, so a busy stream cannot keep
		// the request waiting).
		for range 8 {
			recs, behind, err := readShard(ctx, rd.client, rd.stream, id, p)
			if err != nil || len(recs) == 0 {
				break
			}
			if behind != nil && *behind > rd.maxBehind {
				rd.maxBehind = *behind
			}
			n, kept := 0, 0
			for _, r := range recs {
				n += len(r.Data)
				arr := aws.ToTime(r.ApproximateArrivalTimestamp)
				if arr.Before(rd.since.Add(-time.Second)) {
					continue // before DeliveryStartTimestamp
				}
				rd.buf = append(rd.buf, bufRecord{data: r.Data, arrival: arr.UTC(), read: now})
				rd.bufBytes += len(r.Data)
				kept++
			}
			if kept > 0 && b.Metrics != nil {
				b.Metrics("AWS/Firehose", "IncomingRecords", dims(d), float64(kept), "Count", now)
				b.Metrics("AWS/Firehose", "IncomingBytes", dims(d), float64(n), "Bytes", now)
			}
			if p.done {
				break
			}
		}
	}
	if b.Metrics != nil && now.Sub(rd.lastMetric) >= time.Duration(60*scale*float64(time.Second)) {
		// Kinesis publishes the consumer's MillisBehindLatest as
		// GetRecords.IteratorAgeMilliseconds, once a minute.
		b.Metrics("AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", map[string]string{"StreamName": rd.stream}, float64(rd.maxBehind), "Milliseconds", now)
		rd.lastMetric, rd.maxBehind = now, 0
	}
	if len(rd.buf) > 0 {
		interval := time.Duration(float64(*hints.IntervalInSeconds) * scale * float64(time.Second))
		if (final || rd.bufBytes >= int(*hints.SizeInMBs)<<20 || now.Sub(rd.buf[0].read) >= interval) && s.flush(d, b, rd.buf, now) {
			rd.buf, rd.bufBytes = nil, 0
		}
	}
	s.mu.Lock()
	d.buffered = len(rd.buf)
	s.mu.Unlock()
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
func (s *Server) flush(d *deliveryStream, b Backends, buf []bufRecord, now time.Time) bool {
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
	ok := true
	if body.Len() > 0 {
		key := EvalPrefix(str(dest.Prefix), first, "", false) + ObjectName(d.name, version, first) + ext
		if err := s.mayWrite(b, d, dest, bucket, key); err != nil {
			b.Logf("firehoseemu: %s: deliver to s3://%s/%s: %v", d.name, bucket, key, err)
			ok = false
		} else if err := b.S3.PutObjectDirect(bucket, key, compress(body.Bytes(), gz)); err != nil {
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
				// The age of the oldest record when it reached S3.
				b.Metrics("AWS/Firehose", "DeliveryToS3.DataFreshness", dims(d), now.Sub(buf[0].read).Seconds(), "Seconds", now)
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
		if err := s.mayWrite(b, d, dest, bucket, key); err != nil {
			b.Logf("firehoseemu: %s: write error records to s3://%s/%s: %v", d.name, bucket, key, err)
			return false
		}
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

// deputy is the context Firehose sends when it assumes a role: the
// account as sts:ExternalId (the trust policy of the Firehose Developer
// Guide, "Allow Firehose to assume an IAM role") and the confused-deputy
// keys aws:SourceAccount and aws:SourceArn (IAM User Guide, "The confused
// deputy problem").
func (s *Server) deputy(d *deliveryStream) map[string][]string {
	return map[string][]string{"sts:ExternalId": {s.account}, "aws:SourceAccount": {s.account}, "aws:SourceArn": {d.arn}}
}

// mayRead checks the source role: assumable by Firehose for this stream,
// and allowed the Kinesis calls a consumer makes.
func (s *Server) mayRead(b Backends, d *deliveryStream) error {
	role := d.source.RoleARN
	if err := b.Authz.AssumeRole("firehose.amazonaws.com", role, s.deputy(d)); err != nil {
		return err
	}
	for _, action := range []string{"kinesis:DescribeStream", "kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"} {
		if err := b.Authz.RoleMay(role, action, d.source.KinesisStreamARN, nil); err != nil {
			return err
		}
	}
	return nil
}

// mayWrite checks the destination role for one object: assumable, allowed
// s3:PutObject by its policies and the bucket policy over TLS (Firehose
// always uses TLS), and, when the stream encrypts with a customer managed
// key, kms:GenerateDataKey on that key (identity policies only: the
// endpoint has no KMS key policies).
func (s *Server) mayWrite(b Backends, d *deliveryStream, dest extendedS3, bucket, key string) error {
	if b.Authz == nil {
		return nil
	}
	role := str(dest.RoleARN)
	if err := b.Authz.AssumeRole("firehose.amazonaws.com", role, s.deputy(d)); err != nil {
		return err
	}
	tls := map[string][]string{"aws:SecureTransport": {"true"}}
	if err := b.Authz.RoleMay(role, "s3:PutObject", "arn:aws:s3:::"+bucket+"/"+key, tls); err != nil {
		return err
	}
	if e := dest.EncryptionConfiguration; e != nil && e.KMSEncryptionConfig != nil && e.KMSEncryptionConfig.AWSKMSKeyARN != "" {
		ctx := map[string][]string{"kms:ViaService": {"s3." + s.region + ".amazonaws.com"},
			"kms:EncryptionContext:aws:s3:arn": {"arn:aws:s3:::" + bucket + "/" + key}}
		if err := b.Authz.RoleMay(role, "kms:GenerateDataKey", e.KMSEncryptionConfig.AWSKMSKeyARN, ctx); err != nil {
			return err
		}
	}
	return nil
}
