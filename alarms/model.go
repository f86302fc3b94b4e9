package alarms

import (
	"crypto/sha256"
	"encoding/hex"
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

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// RecipientTopic names the topic of one set of recipients: "BASE-" and 8 hex
// digits of a SHA-256 of the sorted, lower-cased addresses. Each distinct set
// of people gets its own topic, so nobody gets the email of an alarm that does
// not name them; the same set always maps to the same topic. No addresses:
// BASE itself.
func RecipientTopic(base string, emails []string) string {
	if base == "" {
		base = DefaultTopic
	}
	set := splitEmails(emails)
	if len(set) == 0 {
		return base
	}
	for i := range set {
		set[i] = strings.ToLower(set[i])
	}
	sort.Strings(set)
	h := sha256.Sum256([]byte(strings.Join(set, "\n")))
	return base + "-" + hex.EncodeToString(h[:4])
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
