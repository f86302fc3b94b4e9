package alarms

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Names, tags and defaults opsctl uses for what it manages.
const (
	// DefaultTopic is the SNS topic alarms notify unless told otherwise.
	DefaultTopic = "opsctl-alarms"
	// AlarmPrefix starts the CloudWatch name of every alarm the alarm command
	// manages: NAME becomes "opsctl-NAME".
	AlarmPrefix = "opsctl-"
	// MetricNamespace holds the metrics of opsctl's metric filters.
	MetricNamespace = "opsctl/LogPatterns"

	TagManaged   = "opsctl:managed"   // "true" on everything opsctl creates
	TagComponent = "opsctl:component" // who manages it: "alarm", "etl-archive", ...
	TagKind      = "opsctl:kind"      // KindLogPattern, KindLogAlarm, KindDLQ, KindMetric

	// ComponentAlarm owns what `opsctl alarm` creates; only those are pruned.
	ComponentAlarm = "alarm"
)

// Alarm kinds.
const (
	KindLogPattern = "log-pattern" // metric filter + metric alarm
	KindLogAlarm   = "log-alarm"   // PutLogAlarm over a scheduled Logs query
	KindDLQ        = "dlq"         // SQS ApproximateNumberOfMessagesVisible > 0
	KindMetric     = "metric"      // any metric, via EnsureMetricAlarm
)

// Change actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
	ActionNone   = "none"
)

// Change statuses.
const (
	StatusPlanned   = "planned"   // dry run: would be applied
	StatusApplied   = "applied"   // written
	StatusUnchanged = "unchanged" // already as desired: no call made
	StatusFailed    = "failed"    // the write failed (Error says why)
	StatusSkipped   = "skipped"   // not attempted because an earlier step failed
)

// Resource kinds in a plan.
const (
	ResTopic        = "sns-topic"
	ResTopicPolicy  = "sns-topic-policy"
	ResSubscription = "email-subscription"
	ResMetricFilter = "metric-filter"
	ResMetricAlarm  = "metric-alarm"
	ResLogAlarm     = "log-alarm"
	ResRole         = "iam-role"
	ResRolePolicy   = "iam-role-policy"
	ResTags         = "tags"
)

// FieldDiff is one field that differs between the live and desired state.
type FieldDiff struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

func (d FieldDiff) String() string { return fmt.Sprintf("%s: %s → %s", d.Field, d.Old, d.New) }

// Change is one resource in a plan and what happened to it.
type Change struct {
	Resource string      `json:"resource"`
	Name     string      `json:"name"`
	Action   string      `json:"action"`
	Diff     []FieldDiff `json:"diff,omitempty"`
	Status   string      `json:"status"`
	Error    string      `json:"error,omitempty"`
}

// Changed reports whether the change writes anything.
func (c Change) Changed() bool { return c.Action != ActionNone }

// Summary renders the diff as "field: old → new; ...".
func (c Change) Summary() string {
	parts := make([]string, len(c.Diff))
	for i, d := range c.Diff {
		parts[i] = d.String()
	}
	return strings.Join(parts, "; ")
}

// differ accumulates field differences.
type differ []FieldDiff

func (d *differ) str(field, old, new string) {
	if old != new {
		*d = append(*d, FieldDiff{Field: field, Old: show(old), New: show(new)})
	}
}

func (d *differ) num(field string, old, new float64) {
	if old != new {
		*d = append(*d, FieldDiff{Field: field, Old: fmtNum(old), New: fmtNum(new)})
	}
}

func (d *differ) list(field string, old, new []string) {
	o, n := sortedCopy(old), sortedCopy(new)
	if strings.Join(o, "\x00") != strings.Join(n, "\x00") {
		*d = append(*d, FieldDiff{Field: field, Old: show(strings.Join(o, ",")), New: show(strings.Join(n, ","))})
	}
}

func (d *differ) kv(field string, old, new map[string]string) {
	d.list(field, kvList(old), kvList(new))
}

func kvList(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

func show(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func fmtNum(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.6f", f), "0"), ".")
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// AlarmName is the CloudWatch name of the alarm opsctl calls name.
func AlarmName(name string) string { return AlarmPrefix + name }

// ShortName strips AlarmPrefix from a CloudWatch alarm name.
func ShortName(alarmName string) string { return strings.TrimPrefix(alarmName, AlarmPrefix) }

// filterPrefix starts the names of an alarm's metric filters: "opsctl/NAME/".
// Names cannot contain '/', so one alarm's prefix never matches another's.
func filterPrefix(name string) string { return "opsctl/" + name + "/" }

// filterName names the i-th (1-based) pattern's metric filter.
func filterName(name string, i int) string { return fmt.Sprintf("%s%d", filterPrefix(name), i) }

func managedTags(component, kind string) map[string]string {
	if component == "" {
		component = ComponentAlarm
	}
	return map[string]string{TagManaged: "true", TagComponent: component, TagKind: kind}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
