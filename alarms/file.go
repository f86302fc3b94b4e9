package alarms

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/opsctl/opsctl/internal/opserr"
)

// File is a parsed, fully validated alarms.yaml.
//
//	topic: opsctl-alarms           # default topic of the alarms below
//	emails: [ops@example.com]      # default emails of the alarms below
//	alarms:
//	  - name: api-errors
//	    log_group: /aws/lambda/api
//	    patterns: ['ERROR', '"Task timed out"']
//	    threshold: 1               # default 1
//	    period: 5m                 # default 5m (1m for dlq)
//	    evaluation_periods: 1      # default 1
//	    log_lines: 10              # >0: a log alarm whose email has the lines
//	    emails: [oncall@example.com]
//	    topic: other-topic
//	  - dlq: orders-dlq            # a DLQ alarm (no log_group/patterns), always
//	                               # named opsctl-dlq-QUEUE; name: is optional
type File struct {
	Path  string
	Specs []Spec
}

type fileDoc struct {
	Topic  string      `yaml:"topic"`
	Emails []string    `yaml:"emails"`
	Alarms []fileAlarm `yaml:"alarms"`
}

type fileAlarm struct {
	Name              string   `yaml:"name"`
	LogGroup          string   `yaml:"log_group"`
	Patterns          []string `yaml:"patterns"`
	LogLines          int      `yaml:"log_lines"`
	DLQ               string   `yaml:"dlq"`
	Emails            []string `yaml:"emails"`
	Topic             string   `yaml:"topic"`
	Threshold         *float64 `yaml:"threshold"`
	Period            *string  `yaml:"period"`
	EvaluationPeriods *int     `yaml:"evaluation_periods"`
}

// ParseFile reads and validates an alarms file. Every error is a usage error
// that names the file and line; nothing here calls AWS.
func ParseFile(path string, r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	bad := func(line int, format string, args ...any) error {
		return opserr.Usagef("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, opserr.Usagef("%s: the file is empty: want `alarms:` with at least one alarm", path)
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, opserr.Usagef("%s: %s", path, strings.Join(te.Errors, "; "))
		}
		return nil, opserr.Usagef("%s: %v", path, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, opserr.Usagef("%s: %v", path, err)
	}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	alarmsNode := mapValue(top, "alarms")
	if len(doc.Alarms) == 0 || alarmsNode == nil {
		return nil, bad(top.Line, "no alarms: want `alarms:` with at least one alarm")
	}
	f := &File{Path: path}
	seen := map[string]int{}
	seenAlarm := map[string]int{} // DLQ alarm names, derived from the queue
	topicEmails := map[string]struct {
		emails []string
		line   int
	}{}
	for i, a := range doc.Alarms {
		node := alarmsNode.Content[i]
		line := func(field string) int {
			if v := mapValue(node, field); v != nil {
				return v.Line
			}
			return node.Line
		}
		s := Spec{
			Name: a.Name, LogGroup: a.LogGroup, Patterns: a.Patterns, LogLines: a.LogLines, Queue: a.DLQ,
			Emails: a.Emails, Topic: a.Topic,
		}
		// A field that is set is taken as written: 0 is an error, not the
		// default that an absent field gets.
		if a.Threshold != nil {
			if err := validateThreshold(*a.Threshold); err != nil {
				return nil, bad(line("threshold"), "alarm %q: %v", a.Name, err)
			}
			if *a.Threshold == 0 && a.DLQ == "" {
				return nil, bad(line("threshold"), "alarm %q: threshold 0 would alarm on every period: at least one line must match (omit it for the default %d)", a.Name, DefaultThreshold)
			}
			s.Threshold = *a.Threshold
		}
		if a.EvaluationPeriods != nil {
			if *a.EvaluationPeriods < 1 {
				return nil, bad(line("evaluation_periods"), "alarm %q: evaluation_periods %d: at least 1 (omit it for the default %d)", a.Name, *a.EvaluationPeriods, DefaultEvaluationPeriods)
			}
			s.EvaluationPeriods = *a.EvaluationPeriods
		}
		// One topic per set of recipients: an alarm with its own emails gets
		// its own topic unless it names one; alarms on the file's defaults
		// share the file's topic (or the one of the default emails).
		ownEmails := len(s.Emails) > 0 && !sameEmails(s.Emails, doc.Emails)
		if len(s.Emails) == 0 {
			s.Emails = doc.Emails
		}
		switch {
		case s.Topic != "":
		case doc.Topic != "" && !ownEmails:
			s.Topic = doc.Topic
		default:
			s.Topic = RecipientTopic(doc.Topic, s.Emails)
		}
		if a.Period != nil {
			d, err := time.ParseDuration(*a.Period)
			if err != nil {
				return nil, bad(line("period"), "alarm %q: invalid period %q: want a duration such as 5m", a.Name, *a.Period)
			}
			if err := validatePeriod(d); err != nil {
				return nil, bad(line("period"), "alarm %q: %v", a.Name, err)
			}
			s.Period = d
		}
		if prev, dup := seen[a.Name]; dup && a.Name != "" {
			return nil, bad(node.Line, "alarm %q is declared twice (first on line %d)", a.Name, prev)
		}
		seen[a.Name] = node.Line
		if a.DLQ != "" && (a.LogGroup != "" || len(a.Patterns) > 0) {
			return nil, bad(line("dlq"), "alarm %q: dlq cannot be combined with log_group/patterns", a.Name)
		}
		s.Normalize()
		if err := s.Validate(); err != nil {
			return nil, bad(line(fieldOf(err)), "%v", err)
		}
		if len(s.Emails) == 0 {
			return nil, bad(node.Line, "alarm %q: no emails (set emails: on the alarm or at the top of the file)", a.Name)
		}
		if prev, dup := seenAlarm[s.Name]; dup && s.Kind == KindDLQ {
			return nil, bad(line("dlq"), "alarm %q: the alarm of line %d is also named %s: a queue gets one alarm, named after it", a.Name, prev, AlarmName(s.Name))
		} else if dup {
			return nil, bad(line("name"), "alarm %q: the DLQ alarm of line %d is named %s already", a.Name, prev, AlarmName(s.Name))
		}
		seenAlarm[s.Name] = node.Line
		if prev, ok := topicEmails[s.Topic]; ok && !sameEmails(prev.emails, s.Emails) {
			return nil, bad(node.Line, "alarm %q: topic %s also emails the alarm of line %d, with other addresses: a topic emails one set of people (drop topic: to get one per set)", a.Name, s.Topic, prev.line)
		}
		topicEmails[s.Topic] = struct {
			emails []string
			line   int
		}{s.Emails, node.Line}
		f.Specs = append(f.Specs, s)
	}
	return f, nil
}

// sameEmails reports whether two address lists name the same people.
func sameEmails(a, b []string) bool {
	a, b = splitEmails(a), splitEmails(b)
	if len(a) != len(b) {
		return false
	}
	in := map[string]bool{}
	for _, e := range a {
		in[strings.ToLower(e)] = true
	}
	for _, e := range b {
		if !in[strings.ToLower(e)] {
			return false
		}
	}
	return true
}

// fieldOf guesses which field a validation error is about, for its line.
func fieldOf(err error) string {
	msg := err.Error()
	for _, m := range []struct{ word, field string }{
		{"pattern", "patterns"}, {"log group", "log_group"}, {"--log-group", "log_group"}, {"email", "emails"},
		{"--evaluation-periods", "evaluation_periods"}, {"--period", "period"}, {"--threshold", "threshold"},
		{"--log-lines", "log_lines"}, {"queue", "dlq"}, {"topic", "topic"}, {"alarm name", "name"},
	} {
		if strings.Contains(msg, m.word) {
			return m.field
		}
	}
	return ""
}

// mapValue returns the value node of key in a mapping node.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
