// Package firehoseemu emulates Amazon Data Firehose (awsJson1.1,
// Firehose_20150804.*, SigV4 name "firehose") for the local endpoint:
// CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams,
// UpdateDestination (with CurrentDeliveryStreamVersionId checks),
// DeleteDeliveryStream and Tag/Untag/ListTagsForDeliveryStream, validated as
// the service does (name charset/length, buffering ranges, prefix rules).
//
// It really delivers: a delivery stream with a Kinesis source reads the stream
// through the local endpoint's Kinesis emulator, buffers by size and
// interval, concatenates records with no delimiter unless an
// AppendDelimiterToRecord processor is configured, gzips when asked and
// writes objects named and prefixed as real Firehose does into the S3
// emulation. Nothing runs in the background: the endpoint calls Sync (see
// delivery.go) when it serves a request and when its clock moves, and the
// buffers flush from the endpoint's clock, so a test that advances a
// clock.Fake by the buffer interval sees the object at once. Close delivers
// what is still buffered.
package firehoseemu

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Server is the Firehose emulation.
type Server struct {
	awsproto.RPC
	region, account string

	mu      sync.Mutex
	streams map[string]*deliveryStream
	backend Backends
	// timeScale converts the configured buffering interval: real time is
	// IntervalInSeconds × timeScale seconds (tests shorten it).
	timeScale   float64
	createDelay time.Duration
	failRecord  func(stream string, data []byte) bool
	closed      bool
	// syncMu serialises Sync, deletions and Close: one reader per stream.
	syncMu sync.Mutex
}

// New returns an empty Firehose for region and account.
func New(region, account string) *Server {
	s := &Server{region: region, account: account, streams: map[string]*deliveryStream{},
		timeScale: 1, createDelay: 0}
	s.Ops = map[string]awsproto.Handler{
		"CreateDeliveryStream":      s.create,
		"DescribeDeliveryStream":    s.describe,
		"ListDeliveryStreams":       s.list,
		"UpdateDestination":         s.updateDestination,
		"DeleteDeliveryStream":      s.delete,
		"TagDeliveryStream":         s.tag,
		"UntagDeliveryStream":       s.untag,
		"ListTagsForDeliveryStream": s.listTags,
	}
	return s
}

// SetTimeScale shortens (or stretches) buffering intervals on the endpoint's
// clock: an IntervalInSeconds of N flushes N×scale seconds after the first
// buffered record was read. Tests that run a real opsctl binary against a
// real-time endpoint use e.g. 0.005 (60 s → 300 ms); in-process tests
// advance the clock instead.
func (s *Server) SetTimeScale(scale float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if scale > 0 {
		s.timeScale = scale
	}
}

// SetCreateDelay keeps new delivery streams in CREATING for d of the
// endpoint's clock (default 0: ACTIVE on the first Describe), to exercise
// callers that wait.
func (s *Server) SetCreateDelay(d time.Duration) {
	s.mu.Lock()
	s.createDelay = d
	s.mu.Unlock()
}

// FailRecords makes the processing step fail the records for which f returns
// true: they are written under the error output prefix
// (error-output-type "processing-failed") as real Firehose does for records a
// processor rejects. nil restores normal delivery.
func (s *Server) FailRecords(f func(stream string, data []byte) bool) {
	s.mu.Lock()
	s.failRecord = f
	s.mu.Unlock()
}

// BufferedRecords returns how many records a delivery stream has read from
// Kinesis and not yet written to S3 (-1 for an unknown stream), so tests can
// wait for a record to be in the buffer.
func (s *Server) BufferedRecords(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.streams[name]; ok {
		return d.buffered
	}
	return -1
}

// Close delivers what every stream has read or can still read, then stops
// delivery: streams created afterwards do not deliver. Idempotent.
func (s *Server) Close() {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	for _, d := range s.readers() {
		s.drain(context.Background(), d)
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

var nameRe = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)

type bufferingHints struct {
	SizeInMBs         *int32 `json:",omitempty"`
	IntervalInSeconds *int32 `json:",omitempty"`
}

type processorParameter struct {
	ParameterName  string
	ParameterValue string
}

type processor struct {
	Type       string
	Parameters []processorParameter `json:",omitempty"`
}

type processingConfiguration struct {
	Enabled    *bool       `json:",omitempty"`
	Processors []processor `json:",omitempty"`
}

type cloudWatchLogging struct {
	Enabled       *bool   `json:",omitempty"`
	LogGroupName  *string `json:",omitempty"`
	LogStreamName *string `json:",omitempty"`
}

type kmsEncryptionConfig struct {
	AWSKMSKeyARN string
}

type encryptionConfiguration struct {
	NoEncryptionConfig  string               `json:",omitempty"`
	KMSEncryptionConfig *kmsEncryptionConfig `json:",omitempty"`
}

type dynamicPartitioning struct {
	Enabled *bool `json:",omitempty"`
}

// extendedS3 is both the configuration, the update and the description
// (their JSON members coincide for what the emulation supports).
type extendedS3 struct {
	RoleARN                          *string                  `json:",omitempty"`
	BucketARN                        *string                  `json:",omitempty"`
	Prefix                           *string                  `json:",omitempty"`
	ErrorOutputPrefix                *string                  `json:",omitempty"`
	BufferingHints                   *bufferingHints          `json:",omitempty"`
	CompressionFormat                *string                  `json:",omitempty"`
	EncryptionConfiguration          *encryptionConfiguration `json:",omitempty"`
	CloudWatchLoggingOptions         *cloudWatchLogging       `json:",omitempty"`
	ProcessingConfiguration          *processingConfiguration `json:",omitempty"`
	S3BackupMode                     *string                  `json:",omitempty"`
	FileExtension                    *string                  `json:",omitempty"`
	CustomTimeZone                   *string                  `json:",omitempty"`
	DynamicPartitioningConfiguration *dynamicPartitioning     `json:",omitempty"`
}

type kinesisSource struct {
	KinesisStreamARN string
	RoleARN          string
}

type tag struct {
	Key   string
	Value *string `json:",omitempty"`
}

type deliveryStream struct {
	name, arn, typ string
	status         string
	version        int
	created        time.Time
	updated        time.Time
	activeAt       time.Time
	source         *kinesisSource
	dest           extendedS3
	tags           map[string]string

	rd       *reader // nil: no Kinesis source, or delivery not connected
	buffered int     // records read and not yet delivered (BufferedRecords)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) arn(name string) string {
	return fmt.Sprintf("arn:aws:firehose:%s:%s:deliverystream/%s", s.region, s.account, name)
}

func validName(name string) error {
	if !nameRe.MatchString(name) {
		return awsproto.Errf("ValidationException", "1 validation error detected: Value '%s' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 64", name)
	}
	return nil
}

var arnRe = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{0,12}:.+$`)

// validateDest checks an (effective, merged) destination the way Firehose
// does and fills defaults.
func validateDest(d *extendedS3) error {
	if str(d.RoleARN) == "" || !arnRe.MatchString(str(d.RoleARN)) {
		return awsproto.Errf("InvalidArgumentException", "RoleARN must be a valid IAM role ARN, got %q", str(d.RoleARN))
	}
	if !strings.HasPrefix(str(d.BucketARN), "arn:aws:s3:::") || len(str(d.BucketARN)) <= len("arn:aws:s3:::") {
		return awsproto.Errf("InvalidArgumentException", "BucketARN must be an S3 bucket ARN (arn:aws:s3:::bucket), got %q", str(d.BucketARN))
	}
	if d.BufferingHints == nil {
		d.BufferingHints = &bufferingHints{}
	}
	if d.BufferingHints.SizeInMBs == nil {
		v := int32(5)
		d.BufferingHints.SizeInMBs = &v
	}
	if d.BufferingHints.IntervalInSeconds == nil {
		v := int32(300)
		d.BufferingHints.IntervalInSeconds = &v
	}
	if v := *d.BufferingHints.SizeInMBs; v < 1 || v > 128 {
		return awsproto.Errf("InvalidArgumentException", "BufferingHints.SizeInMBs must be between 1 and 128, got %d", v)
	}
	if v := *d.BufferingHints.IntervalInSeconds; v < 0 || v > 900 {
		return awsproto.Errf("InvalidArgumentException", "BufferingHints.IntervalInSeconds must be between 0 and 900, got %d", v)
	}
	if d.CompressionFormat == nil {
		v := "UNCOMPRESSED"
		d.CompressionFormat = &v
	}
	switch *d.CompressionFormat {
	case "UNCOMPRESSED", "GZIP":
	case "ZIP", "Snappy", "HADOOP_SNAPPY":
		return awsproto.Errf("InvalidArgumentException", "CompressionFormat %s is not supported by this emulator (UNCOMPRESSED or GZIP)", *d.CompressionFormat)
	default:
		return awsproto.Errf("ValidationException", "1 validation error detected: Value '%s' at 'compressionFormat' failed to satisfy constraint: Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY]", *d.CompressionFormat)
	}
	if d.EncryptionConfiguration == nil {
		d.EncryptionConfiguration = &encryptionConfiguration{NoEncryptionConfig: "NoEncryption"}
	}
	if e := d.EncryptionConfiguration; e.KMSEncryptionConfig != nil && e.NoEncryptionConfig != "" {
		return awsproto.Errf("InvalidArgumentException", "EncryptionConfiguration: specify either NoEncryptionConfig or KMSEncryptionConfig, not both")
	}
	if d.S3BackupMode == nil {
		v := "Disabled"
		d.S3BackupMode = &v
	}
	if d.CloudWatchLoggingOptions == nil {
		f := false
		d.CloudWatchLoggingOptions = &cloudWatchLogging{Enabled: &f}
	}
	if c := d.CloudWatchLoggingOptions; c.Enabled != nil && *c.Enabled && (str(c.LogGroupName) == "" || str(c.LogStreamName) == "") {
		return awsproto.Errf("InvalidArgumentException", "CloudWatchLoggingOptions: LogGroupName and LogStreamName are required when logging is enabled")
	}
	if d.DynamicPartitioningConfiguration != nil && d.DynamicPartitioningConfiguration.Enabled != nil && *d.DynamicPartitioningConfiguration.Enabled {
		return awsproto.Errf("InvalidArgumentException", "dynamic partitioning is not supported by this emulator")
	}
	if p := d.ProcessingConfiguration; p != nil {
		for _, pr := range p.Processors {
			switch pr.Type {
			case "AppendDelimiterToRecord":
			case "RecordDeAggregation", "Decompression", "CloudWatchLogProcessing", "Lambda", "MetadataExtraction":
				return awsproto.Errf("InvalidArgumentException", "processor type %s is not supported by this emulator", pr.Type)
			default:
				return awsproto.Errf("ValidationException", "1 validation error detected: Value '%s' at 'processingConfiguration.processors.member.type' failed to satisfy constraint: Member must satisfy enum value set", pr.Type)
			}
		}
	}
	prefix, errPrefix := str(d.Prefix), str(d.ErrorOutputPrefix)
	if err := checkExpressions(prefix, false); err != nil {
		return err
	}
	if err := checkExpressions(errPrefix, true); err != nil {
		return err
	}
	if strings.Contains(prefix, "!{") && errPrefix == "" {
		return awsproto.Errf("InvalidArgumentException", "ErrorOutputPrefix cannot be null or empty when Prefix contains expressions")
	}
	if errPrefix != "" && strings.Contains(errPrefix, "!{") && !strings.Contains(errPrefix, "!{firehose:error-output-type}") {
		return awsproto.Errf("InvalidArgumentException", "ErrorOutputPrefix must contain !{firehose:error-output-type} when it contains expressions")
	}
	if len(prefix) > 1024 || len(errPrefix) > 1024 {
		return awsproto.Errf("ValidationException", "1 validation error detected: prefix length must be at most 1024")
	}
	return nil
}

var exprRe = regexp.MustCompile(`!\{([^}]*)\}`)

func checkExpressions(p string, isError bool) error {
	for _, m := range exprRe.FindAllStringSubmatch(p, -1) {
		e := m[1]
		switch {
		case strings.HasPrefix(e, "timestamp:"):
			if _, err := javaFormat(strings.TrimPrefix(e, "timestamp:"), time.Unix(0, 0)); err != nil {
				return awsproto.Errf("InvalidArgumentException", "invalid timestamp expression %q: %v", m[0], err)
			}
		case e == "firehose:random-string":
		case e == "firehose:error-output-type":
			if !isError {
				return awsproto.Errf("InvalidArgumentException", "The expression !{firehose:error-output-type} is only allowed in ErrorOutputPrefix")
			}
		case strings.HasPrefix(e, "partitionKeyFrom"):
			return awsproto.Errf("InvalidArgumentException", "%s requires dynamic partitioning to be enabled", m[0])
		default:
			return awsproto.Errf("InvalidArgumentException", "unsupported expression %s in prefix", m[0])
		}
	}
	if strings.Count(p, "!{") != len(exprRe.FindAllString(p, -1)) {
		return awsproto.Errf("InvalidArgumentException", "unterminated expression in prefix %q", p)
	}
	return nil
}

type createInput struct {
	DeliveryStreamName                 string
	DeliveryStreamType                 string
	KinesisStreamSourceConfiguration   *kinesisSource
	ExtendedS3DestinationConfiguration *extendedS3
	S3DestinationConfiguration         *extendedS3
	Tags                               []tag
}

func (s *Server) create(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in createInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validName(in.DeliveryStreamName); err != nil {
		return nil, err
	}
	typ := in.DeliveryStreamType
	if typ == "" {
		typ = "DirectPut"
	}
	switch typ {
	case "DirectPut":
		if in.KinesisStreamSourceConfiguration != nil {
			return nil, awsproto.Errf("InvalidArgumentException", "KinesisStreamSourceConfiguration is only allowed with DeliveryStreamType KinesisStreamAsSource")
		}
	case "KinesisStreamAsSource":
		ks := in.KinesisStreamSourceConfiguration
		if ks == nil {
			return nil, awsproto.Errf("InvalidArgumentException", "KinesisStreamSourceConfiguration is required for DeliveryStreamType KinesisStreamAsSource")
		}
		if !strings.HasPrefix(ks.KinesisStreamARN, "arn:aws:kinesis:") || !strings.Contains(ks.KinesisStreamARN, ":stream/") {
			return nil, awsproto.Errf("InvalidArgumentException", "KinesisStreamARN %q is not a Kinesis stream ARN", ks.KinesisStreamARN)
		}
		if !arnRe.MatchString(ks.RoleARN) {
			return nil, awsproto.Errf("InvalidArgumentException", "KinesisStreamSourceConfiguration.RoleARN must be a valid IAM role ARN")
		}
	default:
		return nil, awsproto.Errf("InvalidArgumentException", "DeliveryStreamType %q is not supported by this emulator", typ)
	}
	dest := in.ExtendedS3DestinationConfiguration
	if dest == nil {
		dest = in.S3DestinationConfiguration
	}
	if dest == nil {
		return nil, awsproto.Errf("InvalidArgumentException", "exactly one destination configuration is required (this emulator supports S3 destinations)")
	}
	if err := validateDest(dest); err != nil {
		return nil, err
	}
	if len(in.Tags) > 50 {
		return nil, awsproto.Errf("InvalidArgumentException", "a delivery stream can have at most 50 tags")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.streams[in.DeliveryStreamName]; ok {
		return nil, awsproto.Errf("ResourceInUseException", "Firehose %s under accountId %s already exists", in.DeliveryStreamName, s.account)
	}
	now := clock.Or(s.backend.Clock).Now().UTC()
	d := &deliveryStream{name: in.DeliveryStreamName, arn: s.arn(in.DeliveryStreamName), typ: typ, status: "CREATING",
		version: 1, created: now, updated: now, activeAt: now.Add(s.createDelay), source: in.KinesisStreamSourceConfiguration,
		dest: *dest, tags: map[string]string{}}
	for _, t := range in.Tags {
		d.tags[t.Key] = str(t.Value)
	}
	s.streams[d.name] = d
	if !s.closed {
		d.rd = newReader(s.backend, d)
	}
	return map[string]string{"DeliveryStreamARN": d.arn}, nil
}

// refresh moves a stream from CREATING to ACTIVE once its delay passed on
// the endpoint's clock (s.mu held).
func (s *Server) refresh(d *deliveryStream) {
	if d.status == "CREATING" && !clock.Or(s.backend.Clock).Now().Before(d.activeAt) {
		d.status = "ACTIVE"
	}
}

func (s *Server) get(name string) (*deliveryStream, error) {
	d, ok := s.streams[name]
	if !ok {
		return nil, awsproto.ResourceNotFound("Firehose %s under account %s not found.", name, s.account)
	}
	s.refresh(d)
	return d, nil
}

type describeOut struct {
	DeliveryStreamDescription map[string]any
}

func (s *Server) describe(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ DeliveryStreamName string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validName(in.DeliveryStreamName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.get(in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	desc := map[string]any{
		"DeliveryStreamName":                    d.name,
		"DeliveryStreamARN":                     d.arn,
		"DeliveryStreamStatus":                  d.status,
		"DeliveryStreamType":                    d.typ,
		"VersionId":                             fmt.Sprint(d.version),
		"CreateTimestamp":                       awsproto.EpochTime(d.created),
		"LastUpdateTimestamp":                   awsproto.EpochTime(d.updated),
		"HasMoreDestinations":                   false,
		"DeliveryStreamEncryptionConfiguration": map[string]string{"Status": "DISABLED"},
		"Destinations": []map[string]any{{
			"DestinationId":                    "destinationId-000000000001",
			"ExtendedS3DestinationDescription": d.dest,
			"S3DestinationDescription": map[string]any{
				"RoleARN": d.dest.RoleARN, "BucketARN": d.dest.BucketARN, "Prefix": d.dest.Prefix,
				"ErrorOutputPrefix": d.dest.ErrorOutputPrefix, "BufferingHints": d.dest.BufferingHints,
				"CompressionFormat": d.dest.CompressionFormat, "EncryptionConfiguration": d.dest.EncryptionConfiguration,
				"CloudWatchLoggingOptions": d.dest.CloudWatchLoggingOptions,
			},
		}},
	}
	if d.source != nil {
		desc["Source"] = map[string]any{"KinesisStreamSourceDescription": map[string]any{
			"KinesisStreamARN": d.source.KinesisStreamARN, "RoleARN": d.source.RoleARN,
			"DeliveryStartTimestamp": awsproto.EpochTime(d.created),
		}}
	}
	return describeOut{DeliveryStreamDescription: desc}, nil
}

func (s *Server) list(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Limit                            int
		DeliveryStreamType               string
		ExclusiveStartDeliveryStreamName string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Limit < 0 || in.Limit > 10000 {
		return nil, awsproto.Errf("ValidationException", "1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", in.Limit)
	}
	s.mu.Lock()
	var names []string
	for n, d := range s.streams {
		if in.DeliveryStreamType == "" || in.DeliveryStreamType == d.typ {
			names = append(names, n)
		}
	}
	s.mu.Unlock()
	sort.Strings(names)
	if in.ExclusiveStartDeliveryStreamName != "" {
		i := sort.SearchStrings(names, in.ExclusiveStartDeliveryStreamName)
		if i < len(names) && names[i] == in.ExclusiveStartDeliveryStreamName {
			i++
		}
		names = names[i:]
	}
	limit := in.Limit
	if limit == 0 || limit > 10 { // small pages so callers must paginate
		limit = 10
	}
	more := len(names) > limit
	if more {
		names = names[:limit]
	}
	if names == nil {
		names = []string{}
	}
	return map[string]any{"DeliveryStreamNames": names, "HasMoreDeliveryStreams": more}, nil
}

type updateInput struct {
	DeliveryStreamName             string
	CurrentDeliveryStreamVersionId string
	DestinationId                  string
	ExtendedS3DestinationUpdate    *extendedS3
	S3DestinationUpdate            *extendedS3
}

func merge(cur extendedS3, u *extendedS3) extendedS3 {
	out := cur
	if u.RoleARN != nil {
		out.RoleARN = u.RoleARN
	}
	if u.BucketARN != nil {
		out.BucketARN = u.BucketARN
	}
	if u.Prefix != nil {
		out.Prefix = u.Prefix
	}
	if u.ErrorOutputPrefix != nil {
		out.ErrorOutputPrefix = u.ErrorOutputPrefix
	}
	if u.BufferingHints != nil {
		bh := *cur.BufferingHints
		if u.BufferingHints.SizeInMBs != nil {
			bh.SizeInMBs = u.BufferingHints.SizeInMBs
		}
		if u.BufferingHints.IntervalInSeconds != nil {
			bh.IntervalInSeconds = u.BufferingHints.IntervalInSeconds
		}
		out.BufferingHints = &bh
	}
	if u.CompressionFormat != nil {
		out.CompressionFormat = u.CompressionFormat
	}
	if u.EncryptionConfiguration != nil {
		out.EncryptionConfiguration = u.EncryptionConfiguration
	}
	if u.CloudWatchLoggingOptions != nil {
		out.CloudWatchLoggingOptions = u.CloudWatchLoggingOptions
	}
	if u.ProcessingConfiguration != nil {
		out.ProcessingConfiguration = u.ProcessingConfiguration
	}
	if u.S3BackupMode != nil {
		out.S3BackupMode = u.S3BackupMode
	}
	if u.FileExtension != nil {
		out.FileExtension = u.FileExtension
	}
	if u.DynamicPartitioningConfiguration != nil {
		out.DynamicPartitioningConfiguration = u.DynamicPartitioningConfiguration
	}
	return out
}

func (s *Server) updateDestination(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in updateInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validName(in.DeliveryStreamName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.get(in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	if d.status != "ACTIVE" {
		return nil, awsproto.Errf("ResourceInUseException", "Firehose %s is not in the ACTIVE state (it is %s).", d.name, d.status)
	}
	if in.CurrentDeliveryStreamVersionId != fmt.Sprint(d.version) {
		return nil, awsproto.Errf("ConcurrentModificationException", "Firehose %s has been updated: the current version id is %d, not %s.", d.name, d.version, in.CurrentDeliveryStreamVersionId)
	}
	if in.DestinationId != "destinationId-000000000001" {
		return nil, awsproto.ResourceNotFound("Destination %s not found for Firehose %s.", in.DestinationId, d.name)
	}
	u := in.ExtendedS3DestinationUpdate
	if u == nil {
		u = in.S3DestinationUpdate
	}
	if u == nil {
		return nil, awsproto.Errf("InvalidArgumentException", "a destination update is required")
	}
	next := merge(d.dest, u)
	if err := validateDest(&next); err != nil {
		return nil, err
	}
	d.dest = next
	d.version++
	d.updated = clock.Or(s.backend.Clock).Now().UTC()
	return struct{}{}, nil
}

func (s *Server) delete(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		DeliveryStreamName string
		AllowForceDelete   bool
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validName(in.DeliveryStreamName); err != nil {
		return nil, err
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	d, err := s.get(in.DeliveryStreamName)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	delete(s.streams, d.name)
	s.mu.Unlock()
	// What the stream buffered is delivered before the call returns, so a
	// caller that deletes the data next does not race that last write.
	s.drain(r.Context(), d)
	return struct{}{}, nil
}

func (s *Server) tag(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		DeliveryStreamName string
		Tags               []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.get(in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	if len(in.Tags) == 0 {
		return nil, awsproto.Errf("ValidationException", "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	n := len(d.tags)
	for _, t := range in.Tags {
		if _, ok := d.tags[t.Key]; !ok {
			n++
		}
	}
	if n > 50 {
		return nil, awsproto.Errf("LimitExceededException", "a delivery stream can have at most 50 tags")
	}
	for _, t := range in.Tags {
		d.tags[t.Key] = str(t.Value)
	}
	return struct{}{}, nil
}

func (s *Server) untag(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		DeliveryStreamName string
		TagKeys            []string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.get(in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(d.tags, k)
	}
	return struct{}{}, nil
}

func (s *Server) listTags(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		DeliveryStreamName   string
		ExclusiveStartTagKey string
		Limit                int
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.get(in.DeliveryStreamName)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range d.tags {
		if k > in.ExclusiveStartTagKey {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	limit := in.Limit
	if limit <= 0 || limit > 50 {
		limit = 50
	}
	more := len(keys) > limit
	if more {
		keys = keys[:limit]
	}
	tags := []tag{}
	for _, k := range keys {
		v := d.tags[k]
		tags = append(tags, tag{Key: k, Value: &v})
	}
	return map[string]any{"Tags": tags, "HasMoreTags": more}, nil
}
