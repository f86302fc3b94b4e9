package cwemu

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Wire shapes. Field names are CloudWatch's member names; the same structs
// decode inputs and encode outputs (CBOR and JSON).

type dimension struct {
	Name  *string `json:",omitempty"`
	Value *string `json:",omitempty"`
}

type metricID struct {
	Dimensions []dimension `json:",omitempty"`
	MetricName *string     `json:",omitempty"`
	Namespace  *string     `json:",omitempty"`
}

type metricStat struct {
	Metric *metricID `json:",omitempty"`
	Period *int32    `json:",omitempty"`
	Stat   *string   `json:",omitempty"`
	Unit   string    `json:",omitempty"`
}

type metricDataQuery struct {
	Id         *string     `json:",omitempty"`
	AccountId  *string     `json:",omitempty"`
	Expression *string     `json:",omitempty"`
	Label      *string     `json:",omitempty"`
	MetricStat *metricStat `json:",omitempty"`
	Period     *int32      `json:",omitempty"`
	ReturnData *bool       `json:",omitempty"`
}

type tag struct {
	Key   *string `json:",omitempty"`
	Value *string `json:",omitempty"`
}

type alarmTagsPropagation struct {
	Enabled         *bool    `json:",omitempty"`
	ExcludedTagKeys []string `json:",omitempty"`
	IncludedTagKeys []string `json:",omitempty"`
}

type actionConfiguration struct {
	AlarmTagsPropagation *alarmTagsPropagation `json:",omitempty"`
}

type warmUpConfiguration struct {
	WarmUpPeriodDurationInMinutes            *int32 `json:",omitempty"`
	OnlyStartEvaluatingAfterWarmUpPeriodEnds *bool  `json:",omitempty"`
}

type scheduleConfiguration struct {
	ScheduleExpression *string `json:",omitempty"`
	StartTimeOffset    *int64  `json:",omitempty"`
	EndTimeOffset      *int64  `json:",omitempty"`
}

type scheduledQueryConfiguration struct {
	AggregationExpression *string                `json:",omitempty"`
	QueryString           *string                `json:",omitempty"`
	ScheduleConfiguration *scheduleConfiguration `json:",omitempty"`
	ScheduledQueryRoleARN *string                `json:",omitempty"`
	LogGroupIdentifiers   []string               `json:",omitempty"`
	QueryARN              *string                `json:",omitempty"`
	Tags                  []tag                  `json:",omitempty"`
}

// alarmCommon holds the members MetricAlarm and LogAlarm share.
type alarmCommon struct {
	ActionConfiguration                *actionConfiguration `json:",omitempty"`
	ActionsEnabled                     *bool                `json:",omitempty"`
	AlarmActions                       []string
	AlarmArn                           *string             `json:",omitempty"`
	AlarmConfigurationUpdatedTimestamp *awsproto.EpochTime `json:",omitempty"`
	AlarmDescription                   *string             `json:",omitempty"`
	AlarmName                          *string             `json:",omitempty"`
	ComparisonOperator                 string              `json:",omitempty"`
	InsufficientDataActions            []string
	OKActions                          []string
	StateReason                        *string              `json:",omitempty"`
	StateReasonData                    *string              `json:",omitempty"`
	StateTransitionedTimestamp         *awsproto.EpochTime  `json:",omitempty"`
	StateUpdatedTimestamp              *awsproto.EpochTime  `json:",omitempty"`
	StateValue                         string               `json:",omitempty"`
	Threshold                          *float64             `json:",omitempty"`
	TreatMissingData                   *string              `json:",omitempty"`
	WarmUpConfiguration                *warmUpConfiguration `json:",omitempty"`
}

type metricAlarm struct {
	alarmCommon
	DatapointsToAlarm                *int32            `json:",omitempty"`
	Dimensions                       []dimension       `json:",omitempty"`
	EvaluateLowSampleCountPercentile *string           `json:",omitempty"`
	EvaluationPeriods                *int32            `json:",omitempty"`
	ExtendedStatistic                *string           `json:",omitempty"`
	MetricName                       *string           `json:",omitempty"`
	Metrics                          []metricDataQuery `json:",omitempty"`
	Namespace                        *string           `json:",omitempty"`
	Period                           *int32            `json:",omitempty"`
	Statistic                        string            `json:",omitempty"`
	ThresholdMetricId                *string           `json:",omitempty"`
	Unit                             string            `json:",omitempty"`
}

type logAlarm struct {
	alarmCommon
	ActionLogLineCount          *int32                       `json:",omitempty"`
	ActionLogLineRoleArn        *string                      `json:",omitempty"`
	QueryResultsToAlarm         *int32                       `json:",omitempty"`
	QueryResultsToEvaluate      *int32                       `json:",omitempty"`
	ScheduledQueryConfiguration *scheduledQueryConfiguration `json:",omitempty"`
}

const (
	typeMetric = "MetricAlarm"
	typeLog    = "LogAlarm"
)

// alarm is one stored alarm of either kind.
type alarm struct {
	typ    string
	metric *metricAlarm
	log    *logAlarm
	tags   []tag
	// results are a log alarm's scheduled-query results, oldest first
	// (RecordLogAlarmResult).
	results []float64
}

func (a *alarm) common() *alarmCommon {
	if a.metric != nil {
		return &a.metric.alarmCommon
	}
	return &a.log.alarmCommon
}

// snapshot returns a deep-enough copy for output (lists are never mutated in
// place, only replaced).
func (a *alarm) snapshot() any {
	if a.metric != nil {
		c := *a.metric
		return c
	}
	c := *a.log
	return c
}

func (s *Server) alarmARN(name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", s.region, s.account, name)
}

var (
	comparisonOps = []string{"GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold",
		"LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold"}
	logComparisonOps = []string{"GreaterThanThreshold", "GreaterThanOrEqualToThreshold", "LessThanThreshold", "LessThanOrEqualToThreshold"}
	statistics       = []string{"SampleCount", "Average", "Sum", "Minimum", "Maximum"}
	treatMissing     = []string{"breaching", "notBreaching", "ignore", "missing"}
	stateValues      = []string{"OK", "ALARM", "INSUFFICIENT_DATA"}
	standardUnits    = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
		"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
		"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
		"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}
	extendedStatRe = regexp.MustCompile(`^(p|tm|tc|ts|wm|pr)(\d{1,2}(\.\d{1,10})?|100)$`)
	metricIDRe     = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)
	rateRe         = regexp.MustCompile(`^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$`)
)

func enumRule(vals []string) string {
	return "Member must satisfy enum value set: [" + strings.Join(vals, ", ") + "]"
}

func in(v string, vals []string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func validateAlarmName(name *string) error {
	if name == nil {
		return errMissingParameter("The parameter AlarmName is required.")
	}
	if n := len(*name); n < 1 || n > 255 {
		return constraint(*name, "alarmName", "Member must have length less than or equal to 255")
	}
	return nil
}

func validateActions(member string, arns []string) error {
	if len(arns) > 5 {
		return constraint("["+strings.Join(arns, ", ")+"]", member, "Member must have length less than or equal to 5")
	}
	for _, a := range arns {
		if _, ok := splitARN(a); !ok || len(a) > 1024 {
			return errValidation("Invalid arn syntax: %s", a)
		}
	}
	return nil
}

// splitARN splits arn:partition:service:region:account:resource; partition,
// service and resource must be present (region and account may be empty,
// as in arn:aws:ssm-incidents::account-id:responseplan/name).
func splitARN(a string) ([]string, bool) {
	parts := strings.SplitN(a, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return nil, false
	}
	return parts, true
}

// partitionOf is the partition of the endpoint's region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// checkActionTargets rejects actions outside the alarm's partition or
// region, as PutMetricAlarm does: "ValidationError: Invalid region
// ca-central-1 specified. Only us-west-2 is supported." (reported in
// cds-snc/notification-terraform#128) and "Invalid partition aws
// specified. Only aws-us-gov is supported." (aws-samples/amazon-cloudwatch-
// auto-alarms#61). Another account is not rejected: CloudWatch accepts an
// SNS topic in another account and only warns that it cannot verify it
// (aws-samples/aws-secure-environment-accelerator#875); delivery then
// depends on the topic's policy.
func (s *Server) checkActionTargets(c *alarmCommon) error {
	for _, list := range [][]string{c.AlarmActions, c.OKActions, c.InsufficientDataActions} {
		for _, a := range list {
			parts, ok := splitARN(a)
			if !ok {
				return errValidation("Invalid arn syntax: %s", a)
			}
			if want := partitionOf(s.region); parts[1] != want {
				return errValidation("Invalid partition %s specified. Only %s is supported.", parts[1], want)
			}
			if parts[3] != "" && parts[3] != s.region {
				return errValidation("Invalid region %s specified. Only %s is supported.", parts[3], s.region)
			}
		}
	}
	return nil
}

func validateTags(tags []tag) error {
	if len(tags) > 50 {
		return constraint("[...]", "tags", "Member must have length less than or equal to 50")
	}
	for _, t := range tags {
		if t.Key == nil || len(*t.Key) < 1 || len(*t.Key) > 128 {
			return constraint(deref(t.Key), "tags.member.key", "Member must have length less than or equal to 128")
		}
		if t.Value == nil {
			return errMissingParameter("The parameter Tags.member.Value is required.")
		}
		if len(*t.Value) > 256 {
			return constraint(*t.Value, "tags.member.value", "Member must have length less than or equal to 256")
		}
		if strings.HasPrefix(strings.ToLower(*t.Key), "aws:") {
			return errInvalidParameterValue("Tag keys starting with 'aws:' are reserved for system use.")
		}
	}
	return nil
}

func validateCommon(c *alarmCommon, ops []string) error {
	if err := validateAlarmName(c.AlarmName); err != nil {
		return err
	}
	if c.AlarmDescription != nil && len(*c.AlarmDescription) > 1024 {
		return constraint(*c.AlarmDescription, "alarmDescription", "Member must have length less than or equal to 1024")
	}
	if c.ComparisonOperator == "" {
		return errMissingParameter("The parameter ComparisonOperator is required.")
	}
	if !in(c.ComparisonOperator, ops) {
		return constraint(c.ComparisonOperator, "comparisonOperator", enumRule(ops))
	}
	if c.TreatMissingData != nil && !in(*c.TreatMissingData, treatMissing) {
		return errValidation("Value '%s' at 'treatMissingData' failed to satisfy constraint: Member must be one of [breaching, notBreaching, ignore, missing]", *c.TreatMissingData)
	}
	if c.Threshold != nil && (math.IsNaN(*c.Threshold) || math.IsInf(*c.Threshold, 0)) {
		return errInvalidParameterValue("The value %v for parameter Threshold is invalid.", *c.Threshold)
	}
	for _, x := range []struct {
		m string
		v []string
	}{{"alarmActions", c.AlarmActions}, {"oKActions", c.OKActions}, {"insufficientDataActions", c.InsufficientDataActions}} {
		if err := validateActions(x.m, x.v); err != nil {
			return err
		}
	}
	return nil
}

func validatePeriod(member string, p int32) error {
	if p < 1 {
		return constraint(p, member, "Member must have value greater than or equal to 1")
	}
	if p != 10 && p != 20 && p != 30 && p%60 != 0 {
		return errInvalidParameterValue("The parameter %s must be 10, 20, 30, or a multiple of 60.", strings.ToUpper(member[:1])+member[1:])
	}
	return nil
}

func validateDimensions(member string, dims []dimension) error {
	if len(dims) > 30 {
		return constraint("[...]", member, "Member must have length less than or equal to 30")
	}
	seen := map[string]bool{}
	for _, d := range dims {
		if d.Name == nil || len(*d.Name) < 1 || len(*d.Name) > 255 {
			return constraint(deref(d.Name), member+".member.name", "Member must have length between 1 and 255")
		}
		if d.Value == nil || len(*d.Value) < 1 || len(*d.Value) > 1024 {
			return constraint(deref(d.Value), member+".member.value", "Member must have length between 1 and 1024")
		}
		if seen[*d.Name] {
			return errInvalidParameterValue("No metric may have more than one dimension with the same name: %s", *d.Name)
		}
		seen[*d.Name] = true
	}
	return nil
}

func validateMetricAlarm(a *metricAlarm) error {
	if err := validateCommon(&a.alarmCommon, comparisonOps); err != nil {
		return err
	}
	if a.EvaluationPeriods == nil {
		return errMissingParameter("The parameter EvaluationPeriods is required.")
	}
	if *a.EvaluationPeriods < 1 {
		return constraint(*a.EvaluationPeriods, "evaluationPeriods", "Member must have value greater than or equal to 1")
	}
	if a.DatapointsToAlarm != nil {
		if *a.DatapointsToAlarm < 1 {
			return constraint(*a.DatapointsToAlarm, "datapointsToAlarm", "Member must have value greater than or equal to 1")
		}
		if *a.DatapointsToAlarm > *a.EvaluationPeriods {
			return errValidation("DatapointsToAlarm must be less than or equal to EvaluationPeriods")
		}
	}
	if a.Unit != "" && !in(a.Unit, standardUnits) {
		return constraint(a.Unit, "unit", enumRule(standardUnits))
	}
	if a.EvaluateLowSampleCountPercentile != nil && *a.EvaluateLowSampleCountPercentile != "evaluate" && *a.EvaluateLowSampleCountPercentile != "ignore" {
		return errValidation("Option '%s' is not supported for EvaluateLowSampleCountPercentile. Supported options are 'evaluate' and 'ignore'.", *a.EvaluateLowSampleCountPercentile)
	}
	single := a.MetricName != nil || a.Namespace != nil || a.Statistic != "" || a.ExtendedStatistic != nil || len(a.Dimensions) > 0 || a.Period != nil
	if len(a.Metrics) > 0 {
		if single {
			return errInvalidParameterCombination("Metrics list cannot be combined with MetricName, Namespace, Dimensions, Period, Statistic or ExtendedStatistic.")
		}
		return validateAlarmMetrics(a)
	}
	if a.MetricName == nil && a.Namespace == nil && a.Statistic == "" && a.ExtendedStatistic == nil {
		return errValidation("One of MetricName or Metrics must be specified.")
	}
	if a.MetricName == nil || len(*a.MetricName) < 1 || len(*a.MetricName) > 255 {
		return errMissingParameter("The parameter MetricName is required.")
	}
	if a.Namespace == nil || len(*a.Namespace) < 1 || len(*a.Namespace) > 255 {
		return errMissingParameter("The parameter Namespace is required.")
	}
	if a.Period == nil {
		return errMissingParameter("The parameter Period is required.")
	}
	if err := validatePeriod("period", *a.Period); err != nil {
		return err
	}
	if (a.Statistic == "") == (a.ExtendedStatistic == nil) {
		return errInvalidParameterCombination("Exactly one of the parameters Statistic and ExtendedStatistic must be specified.")
	}
	if a.Statistic != "" && !in(a.Statistic, statistics) {
		return constraint(a.Statistic, "statistic", enumRule(statistics))
	}
	if a.ExtendedStatistic != nil && !extendedStatRe.MatchString(*a.ExtendedStatistic) {
		return errInvalidParameterValue("The value %s for parameter ExtendedStatistic is invalid.", *a.ExtendedStatistic)
	}
	if err := validateDimensions("dimensions", a.Dimensions); err != nil {
		return err
	}
	if a.ThresholdMetricId != nil {
		return errInvalidParameterCombination("ThresholdMetricId can only be used with the Metrics list.")
	}
	if a.Threshold == nil {
		return errMissingParameter("The parameter Threshold is required.")
	}
	return nil
}

func validateAlarmMetrics(a *metricAlarm) error {
	if len(a.Metrics) > 10 {
		return constraint("[...]", "metrics", "Member must have length less than or equal to 10")
	}
	ids := map[string]bool{}
	returning := 0
	for i, q := range a.Metrics {
		if err := validateQuery(i, q, ids); err != nil {
			return err
		}
		if q.ReturnData == nil || *q.ReturnData {
			returning++
		}
	}
	if returning != 1 {
		return errValidation("Metrics list must contain exactly one metric with ReturnData set to true.")
	}
	if a.ThresholdMetricId != nil && !ids[*a.ThresholdMetricId] {
		return errValidation("ThresholdMetricId %s does not reference a metric in the Metrics list.", *a.ThresholdMetricId)
	}
	if a.Threshold == nil && a.ThresholdMetricId == nil {
		return errMissingParameter("The parameter Threshold is required.")
	}
	return nil
}

// validateQuery checks one MetricDataQuery (alarms and GetMetricData).
func validateQuery(i int, q metricDataQuery, ids map[string]bool) error {
	member := fmt.Sprintf("MetricDataQueries.member.%d", i+1)
	if q.Id == nil || len(*q.Id) < 1 || len(*q.Id) > 255 || !metricIDRe.MatchString(*q.Id) {
		return errValidation("The value %s for parameter %s.Id is invalid.", deref(q.Id), member)
	}
	if ids[*q.Id] {
		return errValidation("The values for parameter id in MetricDataQueries are not unique.")
	}
	ids[*q.Id] = true
	if (q.MetricStat == nil) == (q.Expression == nil) {
		return errValidation("Exactly one of MetricStat and Expression must be specified in %s.", member)
	}
	if ms := q.MetricStat; ms != nil {
		if ms.Metric == nil || ms.Metric.MetricName == nil || ms.Metric.Namespace == nil {
			return errMissingParameter("The parameter %s.MetricStat.Metric is required.", member)
		}
		if ms.Period == nil {
			return errMissingParameter("The parameter %s.MetricStat.Period is required.", member)
		}
		if err := validatePeriod("period", *ms.Period); err != nil {
			return err
		}
		if ms.Stat == nil || !validStat(*ms.Stat) {
			return errInvalidParameterValue("The value %s for parameter %s.MetricStat.Stat is invalid.", deref(ms.Stat), member)
		}
		if err := validateDimensions(member+".metricStat.metric.dimensions", ms.Metric.Dimensions); err != nil {
			return err
		}
	}
	return nil
}

func validStat(s string) bool {
	return in(s, statistics) || percentileOf(s) >= 0
}

// PutMetricAlarm creates or replaces a metric alarm.
func (s *Server) putMetricAlarm(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in metricAlarm
	var extra struct{ Tags []tag }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := dec(&extra); err != nil {
		return nil, err
	}
	if err := validateMetricAlarm(&in); err != nil {
		return nil, err
	}
	if err := s.checkActionTargets(&in.alarmCommon); err != nil {
		return nil, err
	}
	if err := validateTags(extra.Tags); err != nil {
		return nil, err
	}
	return nil, s.upsert(&alarm{typ: typeMetric, metric: &in, tags: extra.Tags})
}

// PutLogAlarm creates or replaces a log alarm (a scheduled Logs Insights
// query evaluated M of N).
func (s *Server) putLogAlarm(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in logAlarm
	var extra struct{ Tags []tag }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := dec(&extra); err != nil {
		return nil, err
	}
	if err := validateLogAlarm(&in); err != nil {
		return nil, err
	}
	if err := s.checkActionTargets(&in.alarmCommon); err != nil {
		return nil, err
	}
	if err := validateTags(extra.Tags); err != nil {
		return nil, err
	}
	return nil, s.upsert(&alarm{typ: typeLog, log: &in, tags: extra.Tags})
}

func validateLogAlarm(a *logAlarm) error {
	if err := validateCommon(&a.alarmCommon, logComparisonOps); err != nil {
		return err
	}
	if a.Threshold == nil {
		return errMissingParameter("The parameter Threshold is required.")
	}
	if a.QueryResultsToEvaluate == nil {
		return errMissingParameter("The parameter QueryResultsToEvaluate is required.")
	}
	if n := *a.QueryResultsToEvaluate; n < 1 || n > 100 {
		return constraint(n, "queryResultsToEvaluate", "Member must have value between 1 and 100")
	}
	if a.QueryResultsToAlarm == nil {
		return errMissingParameter("The parameter QueryResultsToAlarm is required.")
	}
	if n := *a.QueryResultsToAlarm; n < 1 {
		return constraint(n, "queryResultsToAlarm", "Member must have value greater than or equal to 1")
	}
	if *a.QueryResultsToAlarm > *a.QueryResultsToEvaluate {
		return errValidation("QueryResultsToAlarm must be less than or equal to QueryResultsToEvaluate.")
	}
	if a.ActionLogLineCount != nil {
		if n := *a.ActionLogLineCount; n < 0 || n > 50 {
			return constraint(n, "actionLogLineCount", "Member must have value between 0 and 50")
		}
		if *a.ActionLogLineCount > 0 && (a.ActionLogLineRoleArn == nil || *a.ActionLogLineRoleArn == "") {
			return errMissingParameter("The parameter ActionLogLineRoleArn is required when ActionLogLineCount is greater than 0.")
		}
	}
	if a.ActionLogLineRoleArn != nil && !iamRoleARN(*a.ActionLogLineRoleArn) {
		return errInvalidParameterValue("The value %s for parameter ActionLogLineRoleArn is invalid.", *a.ActionLogLineRoleArn)
	}
	q := a.ScheduledQueryConfiguration
	if q == nil {
		return errMissingParameter("The parameter ScheduledQueryConfiguration is required.")
	}
	if q.QueryString == nil || *q.QueryString == "" {
		return errMissingParameter("The parameter ScheduledQueryConfiguration.QueryString is required.")
	}
	if len(*q.QueryString) > 10000 {
		return constraint("...", "scheduledQueryConfiguration.queryString", "Member must have length less than or equal to 10000")
	}
	if q.AggregationExpression == nil {
		return errMissingParameter("The parameter ScheduledQueryConfiguration.AggregationExpression is required.")
	}
	if n := len(*q.AggregationExpression); n < 1 || n > 2048 {
		return constraint(*q.AggregationExpression, "scheduledQueryConfiguration.aggregationExpression", "Member must have length between 1 and 2048")
	}
	if n := len(q.LogGroupIdentifiers); n < 1 || n > 50 {
		return constraint(n, "scheduledQueryConfiguration.logGroupIdentifiers", "Member must have length between 1 and 50")
	}
	if q.ScheduledQueryRoleARN == nil {
		return errMissingParameter("The parameter ScheduledQueryConfiguration.ScheduledQueryRoleARN is required.")
	}
	if !iamRoleARN(*q.ScheduledQueryRoleARN) {
		return errInvalidParameterValue("The value %s for parameter ScheduledQueryRoleARN is invalid.", *q.ScheduledQueryRoleARN)
	}
	sc := q.ScheduleConfiguration
	if sc == nil || sc.ScheduleExpression == nil {
		return errMissingParameter("The parameter ScheduledQueryConfiguration.ScheduleConfiguration.ScheduleExpression is required.")
	}
	if !rateRe.MatchString(*sc.ScheduleExpression) {
		return errInvalidParameterValue("The value %s for parameter ScheduleExpression is invalid. Use a rate() expression, for example rate(5 minutes).", *sc.ScheduleExpression)
	}
	if sc.StartTimeOffset == nil {
		return errMissingParameter("The parameter ScheduleConfiguration.StartTimeOffset is required.")
	}
	if *sc.StartTimeOffset < 0 || (sc.EndTimeOffset != nil && (*sc.EndTimeOffset < 0 || *sc.EndTimeOffset >= *sc.StartTimeOffset)) {
		return errInvalidParameterValue("StartTimeOffset must be greater than EndTimeOffset, and both must be non-negative.")
	}
	return nil
}

func iamRoleARN(s string) bool {
	return strings.HasPrefix(s, "arn:aws:iam::") && strings.Contains(s, ":role/")
}

// upsert stores a validated alarm. An update keeps the alarm's state and
// tags (AWS ignores Tags on update) and replaces its configuration.
func (s *Server) upsert(a *alarm) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	c := a.common()
	name := *c.AlarmName
	old := s.alarms[name]
	if old == nil && len(s.alarms) >= s.MaxAlarms {
		return errLimitExceeded("The maximum number of alarms (%d) for this account has been reached.", s.MaxAlarms)
	}
	if old != nil && old.typ != a.typ {
		return errInvalidParameterValue("An alarm named %s already exists and is a %s; its type cannot be changed.", name, old.typ)
	}
	c.AlarmArn = ptr(s.alarmARN(name))
	c.AlarmConfigurationUpdatedTimestamp = epoch(now)
	if c.ActionsEnabled == nil {
		c.ActionsEnabled = ptr(true)
	}
	for _, l := range []*[]string{&c.AlarmActions, &c.OKActions, &c.InsufficientDataActions} {
		if *l == nil {
			*l = []string{}
		}
	}
	if a.log != nil {
		if a.log.ActionLogLineCount == nil {
			a.log.ActionLogLineCount = ptr(int32(0))
		}
		q := a.log.ScheduledQueryConfiguration
		if old != nil {
			q.QueryARN = old.log.ScheduledQueryConfiguration.QueryARN
		} else {
			s.seq++
			q.QueryARN = ptr(fmt.Sprintf("arn:aws:logs:%s:%s:scheduled-query:%08x-cw-alarm-%s", s.region, s.account, s.seq, name))
		}
	}
	kind := "Create"
	if old != nil {
		kind = "Update"
		oc := old.common()
		c.StateValue, c.StateReason, c.StateReasonData = oc.StateValue, oc.StateReason, oc.StateReasonData
		c.StateUpdatedTimestamp, c.StateTransitionedTimestamp = oc.StateUpdatedTimestamp, oc.StateTransitionedTimestamp
		a.tags = old.tags
		a.results = old.results
	} else {
		c.StateValue = "INSUFFICIENT_DATA"
		c.StateReason = ptr("Unchecked: Initial alarm creation")
		c.StateReasonData = nil
		c.StateUpdatedTimestamp, c.StateTransitionedTimestamp = epoch(now), epoch(now)
	}
	s.alarms[name] = a
	verb, key := "created", "createdAlarm"
	if kind == "Update" {
		verb, key = "updated", "updatedAlarm"
	}
	data, _ := json.Marshal(map[string]any{"version": "1.0", "type": kind, key: a.snapshot()})
	s.addHistory(historyItem{AlarmName: name, AlarmType: a.typ, HistoryItemType: "ConfigurationUpdate",
		HistorySummary: fmt.Sprintf("Alarm %q %s", name, verb), HistoryData: string(data), Timestamp: now})
	return nil
}

type describeAlarmsIn struct {
	ActionPrefix        *string
	AlarmNamePrefix     *string
	AlarmNames          []string
	AlarmTypes          []string
	ChildrenOfAlarmName *string
	MaxRecords          *int32
	NextToken           *string
	ParentsOfAlarmName  *string
	StateValue          string
}

type describeAlarmsOut struct {
	CompositeAlarms []any         `json:",omitempty"`
	LogAlarms       []logAlarm    `json:",omitempty"`
	MetricAlarms    []metricAlarm `json:",omitempty"`
	NextToken       *string       `json:",omitempty"`
}

func (s *Server) describeAlarms(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeAlarmsIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.AlarmNamePrefix != nil && len(in.AlarmNames) > 0 {
		return nil, errInvalidParameterCombination("AlarmNamePrefix and AlarmNames cannot be specified together.")
	}
	if len(in.AlarmNames) > 100 {
		return nil, constraint("[...]", "alarmNames", "Member must have length less than or equal to 100")
	}
	if in.MaxRecords != nil && (*in.MaxRecords < 1 || *in.MaxRecords > 100) {
		return nil, constraint(*in.MaxRecords, "maxRecords", "Member must have value between 1 and 100")
	}
	if in.StateValue != "" && !in2(in.StateValue, stateValues) {
		return nil, constraint(in.StateValue, "stateValue", enumRule(stateValues))
	}
	types := map[string]bool{}
	for _, t := range in.AlarmTypes {
		if !in2(t, []string{"CompositeAlarm", typeMetric, typeLog}) {
			return nil, constraint(t, "alarmTypes.member", enumRule([]string{"CompositeAlarm", typeMetric, typeLog}))
		}
		types[t] = true
	}
	if len(types) == 0 {
		types[typeMetric] = true // AWS: omitted AlarmTypes means metric alarms only
	}
	if in.ChildrenOfAlarmName != nil || in.ParentsOfAlarmName != nil {
		// No composite alarms exist here, so a metric or log alarm has no
		// parents, and an unknown composite has no children.
		return describeAlarmsOut{}, nil
	}
	names := map[string]bool{}
	for _, n := range in.AlarmNames {
		names[n] = true
	}
	s.mu.Lock()
	var matched []*alarm
	for _, a := range s.alarms {
		c := a.common()
		switch {
		case !types[a.typ],
			len(names) > 0 && !names[*c.AlarmName],
			in.AlarmNamePrefix != nil && !strings.HasPrefix(*c.AlarmName, *in.AlarmNamePrefix),
			in.StateValue != "" && c.StateValue != in.StateValue,
			in.ActionPrefix != nil && !hasActionPrefix(c, *in.ActionPrefix):
			continue
		}
		matched = append(matched, a)
	}
	sort.Slice(matched, func(i, j int) bool { return *matched[i].common().AlarmName < *matched[j].common().AlarmName })
	page, next, err := paginate(matched, in.NextToken, int(deref(in.MaxRecords)), alarmPageSize)
	var out describeAlarmsOut
	if err == nil {
		for _, a := range page {
			if a.metric != nil {
				out.MetricAlarms = append(out.MetricAlarms, *a.metric)
			} else {
				out.LogAlarms = append(out.LogAlarms, *a.log)
			}
		}
		out.NextToken = next
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return out, nil
}

func in2(v string, vals []string) bool { return in(v, vals) }

func hasActionPrefix(c *alarmCommon, prefix string) bool {
	for _, l := range [][]string{c.AlarmActions, c.OKActions, c.InsufficientDataActions} {
		for _, a := range l {
			if strings.HasPrefix(a, prefix) {
				return true
			}
		}
	}
	return false
}

type describeAlarmsForMetricIn struct {
	MetricName        *string
	Namespace         *string
	Dimensions        []dimension
	ExtendedStatistic *string
	Period            *int32
	Statistic         string
	Unit              string
}

func (s *Server) describeAlarmsForMetric(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeAlarmsForMetricIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.MetricName == nil {
		return nil, errMissingParameter("The parameter MetricName is required.")
	}
	if in.Namespace == nil {
		return nil, errMissingParameter("The parameter Namespace is required.")
	}
	if in.Statistic != "" && in.ExtendedStatistic != nil {
		return nil, errInvalidParameterCombination("Statistic and ExtendedStatistic cannot both be specified.")
	}
	want := dimsKey(in.Dimensions)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := struct{ MetricAlarms []metricAlarm }{MetricAlarms: []metricAlarm{}}
	for _, a := range s.alarms {
		m := a.metric
		switch {
		case m == nil, deref(m.MetricName) != *in.MetricName, deref(m.Namespace) != *in.Namespace,
			len(in.Dimensions) > 0 && dimsKey(m.Dimensions) != want,
			in.Period != nil && deref(m.Period) != *in.Period,
			in.Statistic != "" && m.Statistic != in.Statistic,
			in.ExtendedStatistic != nil && deref(m.ExtendedStatistic) != *in.ExtendedStatistic,
			in.Unit != "" && m.Unit != in.Unit:
			continue
		}
		out.MetricAlarms = append(out.MetricAlarms, *m)
	}
	sort.Slice(out.MetricAlarms, func(i, j int) bool { return *out.MetricAlarms[i].AlarmName < *out.MetricAlarms[j].AlarmName })
	return out, nil
}

func (s *Server) deleteAlarms(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ AlarmNames []string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.AlarmNames) == 0 {
		return nil, errMissingParameter("The parameter AlarmNames is required.")
	}
	if len(in.AlarmNames) > 100 {
		return nil, constraint("[...]", "alarmNames", "Member must have length less than or equal to 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Log alarms cannot be batch deleted.
	logs := 0
	for _, n := range in.AlarmNames {
		if a := s.alarms[n]; a != nil && a.typ == typeLog {
			logs++
		}
	}
	if logs > 0 && len(in.AlarmNames) > 1 {
		return nil, errValidation("Log alarms cannot be batch deleted; delete one log alarm per request.")
	}
	// AWS deletes the alarms that exist and reports the names that do not.
	var missing []string
	now := s.now()
	for _, n := range in.AlarmNames {
		a := s.alarms[n]
		if a == nil {
			missing = append(missing, n)
			continue
		}
		delete(s.alarms, n)
		data, _ := json.Marshal(map[string]any{"version": "1.0", "type": "Delete", "deletedAlarm": a.snapshot()})
		s.addHistory(historyItem{AlarmName: n, AlarmType: a.typ, HistoryItemType: "ConfigurationUpdate",
			HistorySummary: fmt.Sprintf("Alarm %q deleted", n), HistoryData: string(data), Timestamp: now})
	}
	if len(missing) > 0 {
		return nil, errResourceNotFound("%d of the alarms specified in the request could not be found: %s", len(missing), strings.Join(missing, ", "))
	}
	return nil, nil
}

type setAlarmStateIn struct {
	AlarmName       *string
	StateReason     *string
	StateValue      string
	StateReasonData *string
}

func (s *Server) setAlarmState(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in setAlarmStateIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateAlarmName(in.AlarmName); err != nil {
		return nil, err
	}
	if in.StateValue == "" {
		return nil, errMissingParameter("The parameter StateValue is required.")
	}
	if !in2(in.StateValue, stateValues) {
		return nil, constraint(in.StateValue, "stateValue", enumRule(stateValues))
	}
	if in.StateReason == nil {
		return nil, errMissingParameter("The parameter StateReason is required.")
	}
	if len(*in.StateReason) > 1023 {
		return nil, constraint(*in.StateReason, "stateReason", "Member must have length less than or equal to 1023")
	}
	if in.StateReasonData != nil {
		if len(*in.StateReasonData) > 4000 {
			return nil, constraint("...", "stateReasonData", "Member must have length less than or equal to 4000")
		}
		if !json.Valid([]byte(*in.StateReasonData)) {
			return nil, errInvalidFormat("The StateReasonData is not valid JSON.")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[*in.AlarmName]
	if a == nil {
		return nil, errResourceNotFound("Alarm %s not found", *in.AlarmName)
	}
	s.transition(a, in.StateValue, *in.StateReason, in.StateReasonData)
	return nil, nil
}

// Action is one alarm action the emulation would have executed (for example
// publishing to an SNS topic), in order.
type Action struct {
	AlarmName string
	State     string
	ARN       string
	Time      time.Time
}

// Actions returns the actions executed so far: tests use it to prove that an
// alarm's notification path would fire.
func (s *Server) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Action(nil), s.actions...)
}

// transition moves an alarm to state, writing history and executing the
// new state's actions when the state changed. s.mu is held.
func (s *Server) transition(a *alarm, state, reason string, reasonData *string) {
	c := a.common()
	now := s.now()
	oldState, oldReason := c.StateValue, deref(c.StateReason)
	c.StateReason, c.StateReasonData = ptr(reason), reasonData
	c.StateUpdatedTimestamp = epoch(now)
	if oldState == state {
		return
	}
	c.StateValue = state
	c.StateTransitionedTimestamp = epoch(now)
	newState := map[string]any{"stateValue": state, "stateReason": reason}
	if reasonData != nil {
		var v any
		if json.Unmarshal([]byte(*reasonData), &v) == nil {
			newState["stateReasonData"] = v
		}
	}
	data, _ := json.Marshal(map[string]any{"version": "1.0",
		"oldState": map[string]any{"stateValue": oldState, "stateReason": oldReason}, "newState": newState})
	name := *c.AlarmName
	s.addHistory(historyItem{AlarmName: name, AlarmType: a.typ, HistoryItemType: "StateUpdate",
		HistorySummary: fmt.Sprintf("Alarm updated from %s to %s", oldState, state), HistoryData: string(data), Timestamp: now})
	if c.ActionsEnabled != nil && !*c.ActionsEnabled {
		return
	}
	var arns []string
	switch state {
	case "ALARM":
		arns = c.AlarmActions
	case "OK":
		arns = c.OKActions
	default:
		arns = c.InsufficientDataActions
	}
	for _, arn := range arns {
		s.actions = append(s.actions, Action{AlarmName: name, State: state, ARN: arn, Time: now})
		data, _ := json.Marshal(map[string]any{"actionState": "Succeeded", "stateUpdateTimestamp": now.UnixMilli(),
			"notificationResource": arn, "publishedMessage": map[string]any{"AlarmName": name, "NewStateValue": state, "NewStateReason": reason, "OldStateValue": oldState}})
		s.addHistory(historyItem{AlarmName: name, AlarmType: a.typ, HistoryItemType: "Action",
			HistorySummary: "Successfully executed action " + arn, HistoryData: string(data), Timestamp: now})
	}
}

func (s *Server) setActionsEnabled(dec awsproto.Decoder, on bool) error {
	var in struct{ AlarmNames []string }
	if err := dec(&in); err != nil {
		return err
	}
	if len(in.AlarmNames) == 0 {
		return errMissingParameter("The parameter AlarmNames is required.")
	}
	if len(in.AlarmNames) > 100 {
		return constraint("[...]", "alarmNames", "Member must have length less than or equal to 100")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range in.AlarmNames {
		if a := s.alarms[n]; a != nil {
			a.common().ActionsEnabled = ptr(on)
		}
	}
	return nil
}

func (s *Server) enableAlarmActions(_ *http.Request, dec awsproto.Decoder) (any, error) {
	return nil, s.setActionsEnabled(dec, true)
}

func (s *Server) disableAlarmActions(_ *http.Request, dec awsproto.Decoder) (any, error) {
	return nil, s.setActionsEnabled(dec, false)
}

// History.

type historyItem struct {
	AlarmName       string
	AlarmType       string
	HistoryData     string
	HistoryItemType string
	HistorySummary  string
	Timestamp       time.Time
}

type historyOut struct {
	AlarmName       *string
	AlarmType       string
	HistoryData     *string
	HistoryItemType string
	HistorySummary  *string
	Timestamp       *awsproto.EpochTime
}

func (s *Server) addHistory(h historyItem) { s.history = append(s.history, h) }

type describeAlarmHistoryIn struct {
	AlarmName       *string
	AlarmTypes      []string
	EndDate         *awsproto.EpochTime
	HistoryItemType string
	MaxRecords      *int32
	NextToken       *string
	ScanBy          string
	StartDate       *awsproto.EpochTime
}

func (s *Server) describeAlarmHistory(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeAlarmHistoryIn
	if err := dec(&in); err != nil {
		return nil, err
	}
	itemTypes := []string{"ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"}
	if in.HistoryItemType != "" && !in2(in.HistoryItemType, itemTypes) {
		return nil, constraint(in.HistoryItemType, "historyItemType", enumRule(itemTypes))
	}
	if in.ScanBy != "" && in.ScanBy != "TimestampDescending" && in.ScanBy != "TimestampAscending" {
		return nil, constraint(in.ScanBy, "scanBy", enumRule([]string{"TimestampDescending", "TimestampAscending"}))
	}
	if in.MaxRecords != nil && (*in.MaxRecords < 1 || *in.MaxRecords > 100) {
		return nil, constraint(*in.MaxRecords, "maxRecords", "Member must have value between 1 and 100")
	}
	types := map[string]bool{}
	for _, t := range in.AlarmTypes {
		types[t] = true
	}
	if len(types) == 0 {
		types[typeMetric] = true
	}
	s.mu.Lock()
	var items []historyItem
	for _, h := range s.history {
		switch {
		case !types[h.AlarmType],
			in.AlarmName != nil && h.AlarmName != *in.AlarmName,
			in.HistoryItemType != "" && h.HistoryItemType != in.HistoryItemType,
			in.StartDate != nil && h.Timestamp.Before(time.Time(*in.StartDate)),
			in.EndDate != nil && h.Timestamp.After(time.Time(*in.EndDate)):
			continue
		}
		items = append(items, h)
	}
	s.mu.Unlock()
	if in.ScanBy != "TimestampAscending" {
		for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
			items[i], items[j] = items[j], items[i]
		}
	}
	page, next, err := paginate(items, in.NextToken, int(deref(in.MaxRecords)), historyPageSize)
	if err != nil {
		return nil, err
	}
	out := struct {
		AlarmHistoryItems []historyOut
		NextToken         *string `json:",omitempty"`
	}{AlarmHistoryItems: []historyOut{}, NextToken: next}
	for _, h := range page {
		out.AlarmHistoryItems = append(out.AlarmHistoryItems, historyOut{AlarmName: ptr(h.AlarmName), AlarmType: h.AlarmType,
			HistoryData: ptr(h.HistoryData), HistoryItemType: h.HistoryItemType, HistorySummary: ptr(h.HistorySummary), Timestamp: epoch(h.Timestamp)})
	}
	return out, nil
}

// Tags.

func (s *Server) alarmByARN(arn *string) (*alarm, error) {
	if arn == nil {
		return nil, errMissingParameter("The parameter ResourceARN is required.")
	}
	prefix := fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:", s.region, s.account)
	if !strings.HasPrefix(*arn, prefix) {
		if strings.HasPrefix(*arn, "arn:aws:cloudwatch:") {
			return nil, errResourceNotFoundException("Resource %s not found", *arn)
		}
		return nil, errInvalidParameterValue("The value %s for parameter ResourceARN is invalid.", *arn)
	}
	a := s.alarms[strings.TrimPrefix(*arn, prefix)]
	if a == nil {
		return nil, errResourceNotFoundException("Resource %s not found", *arn)
	}
	return a, nil
}

func (s *Server) tagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceARN *string
		Tags        []tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.alarmByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	tags := append([]tag(nil), a.tags...)
	for _, t := range in.Tags {
		replaced := false
		for i := range tags {
			if *tags[i].Key == *t.Key {
				tags[i] = t
				replaced = true
			}
		}
		if !replaced {
			tags = append(tags, t)
		}
	}
	if len(tags) > 50 {
		return nil, errLimitExceededTags()
	}
	a.tags = tags
	return nil, nil
}

func errLimitExceededTags() error {
	return cwErr(400, "LimitExceededException", "LimitExceededException", "A resource can have at most 50 tags.")
}

func (s *Server) untagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceARN *string
		TagKeys     []string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.alarmByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	drop := map[string]bool{}
	for _, k := range in.TagKeys {
		drop[k] = true
	}
	var tags []tag
	for _, t := range a.tags {
		if !drop[*t.Key] {
			tags = append(tags, t)
		}
	}
	a.tags = tags
	return nil, nil
}

func (s *Server) listTagsForResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct{ ResourceARN *string }
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.alarmByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	out := struct{ Tags []tag }{Tags: append([]tag{}, a.tags...)}
	return out, nil
}

// AlarmStateValue returns the state value of the named alarm ("OK",
// "ALARM" or "INSUFFICIENT_DATA"), or "" when there is no such alarm. It is
// the in-process getter other emulations read CloudWatch alarm state
// through: the endpoint wires it into the ECS emulation (ecsemu.Server's
// AlarmState), so a service's deploymentConfiguration.alarms see the state
// that PutMetricAlarm, evaluation and SetAlarmState gave the alarm. Safe for
// concurrent use; it takes no other emulation's lock.
func (s *Server) AlarmStateValue(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.alarms[name]
	if a == nil {
		return ""
	}
	return a.common().StateValue
}
