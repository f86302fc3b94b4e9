package alarms

import (
	"fmt"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Defaults of a log-pattern alarm.
const (
	DefaultThreshold         = 1
	DefaultPeriod            = 5 * time.Minute
	DefaultEvaluationPeriods = 1
	MaxLogLines              = 50
	MaxPatterns              = 5
)

// Spec is one desired alarm, from flags (add, add-dlq) or a file (apply).
type Spec struct {
	// Name is opsctl's name; the CloudWatch alarm is "opsctl-NAME". A DLQ
	// alarm's name is always DLQAlarmName(Queue) (set by Normalize).
	Name string `json:"name"`
	// Kind is KindLogPattern, KindLogAlarm or KindDLQ (derived by Normalize).
	Kind string `json:"kind"`

	LogGroup string   `json:"log_group,omitempty"`
	Patterns []string `json:"patterns,omitempty"`
	// LogLines > 0 makes a log alarm whose email includes that many lines.
	LogLines int `json:"log_lines,omitempty"`

	// Queue is the dead-letter queue (KindDLQ): a name, URL or ARN, which
	// Normalize reduces to the name.
	Queue string `json:"queue,omitempty"`

	Emails []string `json:"emails,omitempty"`
	// Topic is the SNS topic; "" (not set) means RecipientTopic(DefaultTopic,
	// Emails), one topic per set of recipients (set by Normalize).
	Topic             string        `json:"topic"`
	Threshold         float64       `json:"threshold"`
	Period            time.Duration `json:"-"`
	EvaluationPeriods int           `json:"evaluation_periods"`
}

// Normalize fills defaults and derives Kind.
func (s *Spec) Normalize() {
	s.Emails = splitEmails(s.Emails)
	if s.Topic == "" {
		s.Topic = RecipientTopic(DefaultTopic, s.Emails)
	}
	if s.Period == 0 {
		s.Period = DefaultPeriod
		if s.Queue != "" {
			s.Period = time.Minute
		}
	}
	if s.EvaluationPeriods == 0 {
		s.EvaluationPeriods = DefaultEvaluationPeriods
	}
	s.Emails = splitEmails(s.Emails)
	if s.Threshold == 0 && s.Queue == "" {
		s.Threshold = DefaultThreshold // 0 would fire on every period
	}
	switch {
	case s.Queue != "":
		s.Kind = KindDLQ
		// One naming rule for DLQ alarms, whether from add-dlq or a file:
		// the queue names the alarm ("opsctl-dlq-QUEUE"), so both ways of
		// declaring it converge on one alarm per queue.
		if ref, err := parseQueueRef(s.Queue); err == nil {
			s.Queue = ref.Name
			s.Name = DLQAlarmName(ref.Name)
		}
	case s.LogLines > 0:
		s.Kind = KindLogAlarm
	default:
		s.Kind = KindLogPattern
	}
}

// Validate checks a normalized spec without calling AWS; errors are usage
// errors.
func (s Spec) Validate() error {
	if err := validateName(s.Name); err != nil {
		return err
	}
	if err := validateTopicName(s.Topic); err != nil {
		return err
	}
	for _, e := range s.Emails {
		if err := validateEmail(e); err != nil {
			return err
		}
	}
	if err := validatePeriod(s.Period); err != nil {
		return err
	}
	if err := validateEvaluationPeriods(s.EvaluationPeriods, s.Period); err != nil {
		return err
	}
	if err := validateThreshold(s.Threshold); err != nil {
		return err
	}
	if s.Kind == KindDLQ {
		if s.LogGroup != "" || len(s.Patterns) > 0 || s.LogLines != 0 {
			return opserr.Usagef("alarm %q: a DLQ alarm takes a queue, not a log group or patterns", s.Name)
		}
		return validateQueueRef(s.Queue)
	}
	if err := validateLogGroup(s.LogGroup); err != nil {
		return err
	}
	if len(s.Patterns) == 0 {
		return opserr.Usagef("alarm %q: at least one --pattern is required", s.Name)
	}
	if len(s.Patterns) > MaxPatterns {
		return opserr.Usagef("alarm %q: at most %d patterns (one metric filter each)", s.Name, MaxPatterns)
	}
	regexes := 0
	for _, p := range s.Patterns {
		if err := validatePatternText(p); err != nil {
			return err
		}
		regexes += regexCount(p)
	}
	if regexes > 5 {
		return opserr.Usagef("alarm %q: the patterns contain %d regular expressions; CloudWatch Logs allows at most 5 regex filters per log group", s.Name, regexes)
	}
	if s.LogLines < 0 || s.LogLines > MaxLogLines {
		return opserr.Usagef("invalid --log-lines %d: 1-%d (0 means a metric filter alarm)", s.LogLines, MaxLogLines)
	}
	if s.Kind == KindLogAlarm {
		if _, err := insightsQuery(s.Patterns); err != nil {
			return opserr.Usagef("alarm %q: --log-lines: %v", s.Name, err)
		}
		if s.Period < time.Minute {
			return opserr.Usagef("alarm %q: --log-lines alarms run a scheduled query at most once a minute; --period must be at least 1m", s.Name)
		}
	}
	return nil
}

func (s Spec) String() string {
	switch s.Kind {
	case KindDLQ:
		return fmt.Sprintf("%s (dlq %s)", s.Name, s.Queue)
	default:
		return fmt.Sprintf("%s (%s %s)", s.Name, s.Kind, s.LogGroup)
	}
}
