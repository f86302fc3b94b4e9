// Package cwemu is opsctl's stateful in-process emulation of Amazon CloudWatch
// (SigV4 name "monitoring") for the local test endpoint.
//
// The current SDK talks Smithy RPC v2 CBOR to CloudWatch; the handlers are
// awsproto.RPC operations, so the same code also answers awsJson clients.
// CloudWatch is awsQuery-compatible: errors carry the modeled shape in
// __type and the query code in X-Amzn-Query-Error, so the SDK returns typed
// errors (*types.ResourceNotFound, ...) whose ErrorCode() is the classic code
// ("ResourceNotFound", "InvalidParameterValue", "LimitExceeded", ...).
//
// Emulated: metric alarms and log alarms (PutMetricAlarm, PutLogAlarm,
// DescribeAlarms, DescribeAlarmsForMetric, DeleteAlarms, SetAlarmState,
// DescribeAlarmHistory, Enable/DisableAlarmActions), metrics (PutMetricData,
// GetMetricData, GetMetricStatistics, ListMetrics) and alarm tags. Backdoors
// for tests: RecordMetric (the Logs emulation feeds metric-filter values
// through it), Evaluate (runs metric alarms over recorded data) and Actions
// (the alarm actions that would have fired).
package cwemu

import (
	"net/http"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Page sizes are small on purpose so callers must paginate.
const (
	alarmPageSize   = 5
	historyPageSize = 5
	metricsPageSize = 5
	// datapointsPerPage caps the timestamps one GetMetricData page returns
	// per query.
	datapointsPerPage = 20
)

// Server is the CloudWatch emulation. It is an http.Handler.
type Server struct {
	rpc     awsproto.RPC
	region  string
	account string

	// MaxAlarms is the per-account alarm quota PutMetricAlarm and
	// PutLogAlarm enforce with LimitExceeded (default 5000; tests lower it).
	MaxAlarms int
	// Now is the emulation's clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	alarms  map[string]*alarm
	history []historyItem
	series  map[string]*series
	actions []Action
	seq     int
}

// New returns an empty CloudWatch for region and account.
func New(region, account string) *Server {
	s := &Server{
		region:    region,
		account:   account,
		MaxAlarms: 5000,
		Now:       time.Now,
		alarms:    map[string]*alarm{},
		series:    map[string]*series{},
	}
	s.rpc.Ops = map[string]awsproto.Handler{
		"PutMetricAlarm":          s.putMetricAlarm,
		"PutLogAlarm":             s.putLogAlarm,
		"DescribeAlarms":          s.describeAlarms,
		"DescribeAlarmsForMetric": s.describeAlarmsForMetric,
		"DeleteAlarms":            s.deleteAlarms,
		"SetAlarmState":           s.setAlarmState,
		"DescribeAlarmHistory":    s.describeAlarmHistory,
		"EnableAlarmActions":      s.enableAlarmActions,
		"DisableAlarmActions":     s.disableAlarmActions,
		"PutMetricData":           s.putMetricData,
		"GetMetricData":           s.getMetricData,
		"GetMetricStatistics":     s.getMetricStatistics,
		"ListMetrics":             s.listMetrics,
		"TagResource":             s.tagResource,
		"UntagResource":           s.untagResource,
		"ListTagsForResource":     s.listTagsForResource,
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.rpc.ServeHTTP(w, r) }

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Errors, with CloudWatch's modeled shapes and query codes.

func cwErr(status int, shape, code, format string, args ...any) *awsproto.Error {
	e := awsproto.Errf(code, format, args...)
	e.Status = status
	e.Type = "com.amazonaws.cloudwatch#" + shape
	return e
}

func errInvalidParameterValue(format string, args ...any) *awsproto.Error {
	return cwErr(400, "InvalidParameterValueException", "InvalidParameterValue", format, args...)
}

func errInvalidParameterCombination(format string, args ...any) *awsproto.Error {
	return cwErr(400, "InvalidParameterCombinationException", "InvalidParameterCombination", format, args...)
}

func errMissingParameter(format string, args ...any) *awsproto.Error {
	return cwErr(400, "MissingRequiredParameterException", "MissingParameter", format, args...)
}

func errValidation(format string, args ...any) *awsproto.Error {
	return cwErr(400, "ValidationException", "ValidationError", format, args...)
}

func errResourceNotFound(format string, args ...any) *awsproto.Error {
	return cwErr(404, "ResourceNotFound", "ResourceNotFound", format, args...)
}

func errResourceNotFoundException(format string, args ...any) *awsproto.Error {
	return cwErr(404, "ResourceNotFoundException", "ResourceNotFoundException", format, args...)
}

func errLimitExceeded(format string, args ...any) *awsproto.Error {
	return cwErr(400, "LimitExceededFault", "LimitExceeded", format, args...)
}

func errInvalidFormat(format string, args ...any) *awsproto.Error {
	return cwErr(400, "InvalidFormatFault", "InvalidFormat", format, args...)
}

// paginate wraps awsproto.Paginate with CloudWatch's InvalidNextToken shape.
func paginate[T any](items []T, token *string, limit, pageSize int) ([]T, *string, error) {
	page, next, err := awsproto.Paginate(items, deref(token), limit, pageSize, "InvalidNextToken")
	if err != nil {
		return nil, nil, cwErr(400, "InvalidNextToken", "InvalidNextToken", "The service returned an error with Error Code InvalidNextToken: the NextToken is invalid or has expired.")
	}
	if next == "" {
		return page, nil, nil
	}
	return page, &next, nil
}

// constraint is the message of a Smithy constraint violation, as AWS words it.
func constraint(value any, member, rule string) *awsproto.Error {
	return errValidation("1 validation error detected: Value '%v' at '%s' failed to satisfy constraint: %s", value, member, rule)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

func epoch(t time.Time) *awsproto.EpochTime {
	e := awsproto.EpochTime(t)
	return &e
}
