// Package logsemu is the local endpoint's CloudWatch Logs emulation
// (awsJson1.1, X-Amz-Target Logs_20140328.*, SigV4 name "logs"): log groups
// and streams, PutLogEvents with AWS's batch rules, GetLogEvents,
// FilterLogEvents and metric filters with the real filter-pattern semantics
// of internal/logpattern, TestMetricFilter, retention and tags, and Logs
// Insights queries (StartQuery, GetQueryResults, StopQuery) of the shapes in
// insightsql.go.
//
// It is stateful and in memory, answers with AWS's error codes and messages,
// and pages with small page sizes so callers must follow nextToken. When
// PutLogEvents ingests an event, every metric filter of the group is applied
// and the resulting value is handed to MetricSink (the CloudWatch emulation's
// RecordMetric, wired by the endpoint).
package logsemu

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
	"github.com/opsctl/opsctl/internal/logpattern"
)

// Page sizes: small on purpose, so callers must paginate.
const (
	groupPageSize  = 5
	streamPageSize = 5
	filterPageSize = 5
	eventPageSize  = 10
)

// AWS quotas the emulation enforces.
const (
	maxMetricFiltersPerGroup = 100
	maxRegexFiltersPerGroup  = 5
	maxBatchBytes            = 1048576
	eventOverheadBytes       = 26
	maxEventBytes            = 1048576 - eventOverheadBytes
	maxBatchEvents           = 10000
	maxTestMessages          = 50
	maxTags                  = 50
	maxDimensions            = 3
)

// MetricSink receives one metric value produced by a metric filter: the
// transformation's namespace and name, the dimensions resolved from the event,
// the value (metricValue, or defaultValue for a non-matching event when one is
// set) and the event's timestamp.
type MetricSink func(namespace, name string, dims map[string]string, value float64, ts time.Time)

// Server is the CloudWatch Logs emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC

	Region, Account string

	// MetricSink, when set, receives every metric value the group's metric
	// filters produce as PutLogEvents ingests events. It is called after the
	// request's state change, outside the emulation's lock. Set it before the
	// server handles requests. The CloudWatch emulation's RecordMetric has
	// this signature.
	MetricSink MetricSink

	// Now is the clock (default time.Now); tests move it to age events.
	Now func() time.Time
	// Clock times Logs Insights queries (Scheduled → Running → Complete);
	// the endpoint wires its own clock (default: the real one).
	Clock clock.Clock

	mu       sync.Mutex
	groups   map[string]*logGroup
	eventSeq int64
	queries  map[string]*query // StartQuery id → query
	querySeq int64
}

type logGroup struct {
	name      string
	created   int64
	retention int32
	kmsKeyID  string
	class     string
	tags      map[string]string
	streams   map[string]*logStream
	filters   map[string]*metricFilter
}

type logStream struct {
	name          string
	created       int64
	events        []event // sorted by timestamp, then arrival
	firstEvent    int64
	lastEvent     int64
	lastIngestion int64
	storedBytes   int64
	seq           int64
}

type event struct {
	ts, ingest int64
	msg, id    string
	stream     string
}

type metricFilter struct {
	name      string
	pattern   string
	parsed    *logpattern.Pattern
	transform metricTransformation
	created   int64
}

// New returns an empty emulation for region and account.
func New(region, account string) *Server {
	s := &Server{Region: region, Account: account, Now: time.Now, groups: map[string]*logGroup{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"CreateLogGroup":        s.createLogGroup,
		"DeleteLogGroup":        s.deleteLogGroup,
		"DescribeLogGroups":     s.describeLogGroups,
		"PutRetentionPolicy":    s.putRetentionPolicy,
		"DeleteRetentionPolicy": s.deleteRetentionPolicy,
		"CreateLogStream":       s.createLogStream,
		"DeleteLogStream":       s.deleteLogStream,
		"DescribeLogStreams":    s.describeLogStreams,
		"PutLogEvents":          s.putLogEvents,
		"GetLogEvents":          s.getLogEvents,
		"FilterLogEvents":       s.filterLogEvents,
		"PutMetricFilter":       s.putMetricFilter,
		"DescribeMetricFilters": s.describeMetricFilters,
		"DeleteMetricFilter":    s.deleteMetricFilter,
		"TestMetricFilter":      s.testMetricFilter,
		"StartQuery":            s.startQuery,
		"GetQueryResults":       s.getQueryResults,
		"StopQuery":             s.stopQuery,
		"TagResource":           s.tagResource,
		"UntagResource":         s.untagResource,
		"ListTagsForResource":   s.listTagsForResource,
		"TagLogGroup":           s.tagLogGroup,
		"UntagLogGroup":         s.untagLogGroup,
		"ListTagsLogGroup":      s.listTagsLogGroup,
	}
	return s
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) nowMillis() int64 { return s.now().UnixMilli() }

// ---- shared validation and errors ----

var (
	logGroupNameRe  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	logStreamNameRe = regexp.MustCompile(`^[^:*]*$`)
	filterNameRe    = regexp.MustCompile(`^[^:*]*$`)
	metricNameRe    = regexp.MustCompile(`^[^:*$]*$`)
)

func errGroupNotFound() error {
	return awsproto.ResourceNotFound("The specified log group does not exist.")
}

func errStreamNotFound() error {
	return awsproto.ResourceNotFound("The specified log stream does not exist.")
}

// model words violations of the API model's constraints: CloudWatch Logs
// answers every one with InvalidParameterException (botocore logs
// service-2.json lists no ValidationException).
var model = awsproto.Validator{Code: "InvalidParameterException"}

// tagRules: botocore logs TagKey 1-128 (pattern excludes "aws:"), TagValue
// 0-256, Tags max 50; TagResource past 50 is TooManyTagsException.
var tagRules = awsproto.TagRules{
	Validator: model,
	Member:    "tags",
	MaxTags:   maxTags,
	TooMany: func(max int) error {
		return awsproto.Errf("TooManyTagsException", "A resource can have no more than %d tags.", max)
	},
}

// checkName checks a name's length (1 to max characters) and pattern (re,
// anchored, may be nil).
func checkName(value, member string, max int, re *regexp.Regexp) error {
	if err := model.Length(member, value, 1, max); err != nil || re == nil {
		return err
	}
	return model.Pattern(member, value, re)
}

func checkGroupName(name, member string) error {
	return checkName(name, member, 512, logGroupNameRe)
}

func checkLimit(limit *int32, max int32) error {
	if limit == nil {
		return nil
	}
	return model.Range("limit", int64(*limit), 1, int64(max))
}

func limitOf(limit *int32) int {
	if limit == nil {
		return 0
	}
	return int(*limit)
}

// groupARN is the ARN DescribeLogGroups reports as "arn" (with ":*").
func (s *Server) groupARN(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s:*", s.Region, s.Account, name)
}

// groupBareARN is the ARN without ":*" (logGroupArn, tagging APIs).
func (s *Server) groupBareARN(name string) string {
	return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.Region, s.Account, name)
}

// groupNameFromIdentifier accepts a log group name or ARN.
func (s *Server) groupNameFromIdentifier(id string) string {
	if !strings.HasPrefix(id, "arn:") {
		return id
	}
	parts := strings.SplitN(id, ":", 7)
	if len(parts) < 7 || parts[2] != "logs" || !strings.HasPrefix(parts[5], "log-group") {
		return ""
	}
	return strings.TrimSuffix(parts[6], ":*")
}

// resolveGroup finds the group named by logGroupName or logGroupIdentifier
// (exactly one must be given). Caller holds s.mu.
func (s *Server) resolveGroup(name, identifier *string) (*logGroup, error) {
	switch {
	case name != nil && identifier != nil:
		return nil, awsproto.InvalidParameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case name != nil:
		if err := checkGroupName(*name, "logGroupName"); err != nil {
			return nil, err
		}
		g := s.groups[*name]
		if g == nil {
			return nil, errGroupNotFound()
		}
		return g, nil
	case identifier != nil:
		g := s.groups[s.groupNameFromIdentifier(*identifier)]
		if g == nil {
			return nil, errGroupNotFound()
		}
		return g, nil
	}
	return nil, awsproto.InvalidParameter("Either logGroupName or logGroupIdentifier must be specified.")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var _ http.Handler = (*Server)(nil)
