package alarms

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
)

var (
	nameRe      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	topicNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	logGroupRe  = regexp.MustCompile(`^[\.\-_/#A-Za-z0-9]+$`)
	queueNameRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,80}(\.fifo)?$`)
)

// MaxNameLen keeps "opsctl-NAME" and the derived filter, role and metric names
// within AWS limits (IAM role names are the tightest at 64).
const MaxNameLen = 48

func validateName(name string) error {
	switch {
	case name == "":
		return opserr.Usagef("alarm name is required")
	case len(name) > MaxNameLen:
		return opserr.Usagef("invalid alarm name %q: at most %d characters", name, MaxNameLen)
	case !nameRe.MatchString(name):
		return opserr.Usagef("invalid alarm name %q: use letters, digits, '.', '_' and '-', starting with a letter or digit", name)
	}
	return nil
}

func validateEmail(e string) error {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return opserr.Usagef("invalid email address %q: want a plain address such as ops@example.com", e)
	}
	return nil
}

func validateTopicName(n string) error {
	if !topicNameRe.MatchString(n) {
		return opserr.Usagef("invalid topic name %q: 1-256 letters, digits, '-' or '_'", n)
	}
	return nil
}

func validateLogGroup(g string) error {
	if g == "" {
		return opserr.Usagef("--log-group is required")
	}
	if len(g) > 512 || !logGroupRe.MatchString(g) {
		return opserr.Usagef("invalid log group name %q: 1-512 of letters, digits, '_', '-', '/', '.', '#'", g)
	}
	return nil
}

func validateQueueRef(q string) error {
	if strings.HasPrefix(q, "https://") || strings.HasPrefix(q, "http://") || strings.HasPrefix(q, "arn:") {
		return nil
	}
	if !queueNameRe.MatchString(q) {
		return opserr.Usagef("invalid queue %q: want a queue name, URL or ARN", q)
	}
	return nil
}

// validatePeriod checks a CloudWatch alarm period: 10s, 30s or a multiple of
// one minute, at most one day.
func validatePeriod(p time.Duration) error {
	s := p.Seconds()
	switch {
	case p <= 0:
		return opserr.Usagef("invalid --period %s: must be positive", p)
	case p%time.Second != 0:
		return opserr.Usagef("invalid --period %s: whole seconds only", p)
	case s != 10 && s != 30 && int64(s)%60 != 0:
		return opserr.Usagef("invalid --period %s: CloudWatch allows 10s, 30s or a multiple of 1m", p)
	case p > 24*time.Hour:
		return opserr.Usagef("invalid --period %s: at most 24h", p)
	}
	return nil
}

func validateEvaluationPeriods(n int, period time.Duration) error {
	if n < 1 {
		return opserr.Usagef("invalid --evaluation-periods %d: at least 1", n)
	}
	if time.Duration(n)*period > 7*24*time.Hour {
		return opserr.Usagef("invalid --evaluation-periods %d: periods × evaluation periods must be at most 7 days", n)
	}
	return nil
}

func validateThreshold(t float64) error {
	if t < 0 {
		return opserr.Usagef("invalid --threshold %g: a count of matching lines cannot be negative", t)
	}
	return nil
}

// validatePatternText checks a filter pattern with the shared parser and
// wraps its error as a usage error that names the pattern.
func validatePatternText(p string) error {
	if strings.TrimSpace(p) == "" {
		return opserr.Usagef("empty --pattern: an empty pattern matches every line; use '%s' if that is really what you want", `" "`)
	}
	if len(p) > 1024 {
		return opserr.Usagef("invalid --pattern: at most 1024 characters (got %d)", len(p))
	}
	if err := patternChecker(p); err != nil {
		return opserr.Usagef("invalid --pattern %q: %v", p, err)
	}
	return nil
}

// splitEmails splits comma-separated addresses and drops duplicates.
func splitEmails(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		for _, e := range strings.Split(s, ",") {
			e = strings.TrimSpace(e)
			if e == "" || seen[strings.ToLower(e)] {
				continue
			}
			seen[strings.ToLower(e)] = true
			out = append(out, e)
		}
	}
	return out
}

func errf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// ValidateEmails checks email addresses as alarm add does, for other
// commands that subscribe them (etl archive alarm), before any AWS call.
func ValidateEmails(emails []string) error {
	for _, e := range splitEmails(emails) {
		if err := validateEmail(e); err != nil {
			return err
		}
	}
	return nil
}

// ValidateTopicName checks an SNS topic name (botocore sns service-2.json,
// CreateTopic Name: 1-256 alphanumerics, hyphens, underscores).
func ValidateTopicName(name string) error { return validateTopicName(name) }
