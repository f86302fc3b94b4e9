package alarms

import (
	"fmt"
	"math"
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

// Email address limits. SNS documents no limit of its own for an email
// endpoint (botocore sns service-2.json, Subscribe.Endpoint: "For the email
// protocol, the endpoint is an email address"), so opsctl holds addresses to
// what SMTP can deliver (RFC 5321 section 4.5.3.1): a local part of at most 64
// octets, a domain of at most 255 with labels of at most 63, and a whole
// address of at most 254 (the 256-octet path minus its angle brackets).
const (
	maxEmailLen       = 254
	maxEmailLocalLen  = 64
	maxEmailDomainLen = 255
	maxEmailLabelLen  = 63
)

func validateEmail(e string) error {
	at := strings.LastIndexByte(e, '@')
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || at < 0 || !strings.Contains(e[at+1:], ".") {
		return opserr.Usagef("invalid email address %q: want a plain address such as ops@example.com", e)
	}
	local, domain := e[:at], e[at+1:]
	switch {
	case len(e) > maxEmailLen:
		return opserr.Usagef("invalid email address %q: %d characters, at most %d can be delivered (RFC 5321)", e, len(e), maxEmailLen)
	case len(local) > maxEmailLocalLen:
		return opserr.Usagef("invalid email address %q: the part before '@' has %d characters, at most %d (RFC 5321)", e, len(local), maxEmailLocalLen)
	case len(domain) > maxEmailDomainLen:
		return opserr.Usagef("invalid email address %q: the domain has %d characters, at most %d (RFC 5321)", e, len(domain), maxEmailDomainLen)
	}
	for _, r := range e {
		if r > 0x7e || r < 0x21 {
			return opserr.Usagef("invalid email address %q: only printable ASCII characters can be delivered", e)
		}
	}
	for _, l := range strings.Split(domain, ".") {
		if l == "" || len(l) > maxEmailLabelLen || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
			return opserr.Usagef("invalid email address %q: domain label %q must be 1-%d characters, not starting or ending with '-'", e, l, maxEmailLabelLen)
		}
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

// Period limits of a CloudWatch alarm (botocore cloudwatch service-2.json,
// PutMetricAlarm.Period): "Valid values are 10, 20, 30, and any multiple of
// 60" and "An alarm's total current evaluation period can be no longer than
// seven days, so Period multiplied by EvaluationPeriods can't be more than
// 604,800 seconds. For alarms with a period of less than one hour (3,600
// seconds), the total evaluation period can't be longer than one day (86,400
// seconds)."
const (
	maxShortEvaluation = 86400 * time.Second  // periods under one hour
	maxLongEvaluation  = 604800 * time.Second // periods of one hour or more
)

// validatePeriod checks a CloudWatch alarm period: 10s, 20s, 30s or a
// multiple of one minute, at most seven days (one period alone must fit the
// total evaluation limit).
func validatePeriod(p time.Duration) error {
	s := p.Seconds()
	switch {
	case p <= 0:
		return opserr.Usagef("invalid --period %s: must be positive", p)
	case p%time.Second != 0:
		return opserr.Usagef("invalid --period %s: whole seconds only", p)
	case s != 10 && s != 20 && s != 30 && int64(s)%60 != 0:
		return opserr.Usagef("invalid --period %s: CloudWatch allows 10s, 20s, 30s or a multiple of 1m", p)
	case p > maxLongEvaluation:
		return opserr.Usagef("invalid --period %s: at most 168h (7 days)", p)
	}
	return nil
}

// validateEvaluationPeriods checks that period × n is within CloudWatch's
// total evaluation limit, without overflowing for any n.
func validateEvaluationPeriods(n int, period time.Duration) error {
	if n < 1 {
		return opserr.Usagef("invalid --evaluation-periods %d: at least 1", n)
	}
	limit, why := maxLongEvaluation, "7 days"
	if period < time.Hour {
		limit, why = maxShortEvaluation, "1 day for periods under 1h"
	}
	// n > limit/period is the overflow-free form of n*period > limit.
	if period > 0 && int64(n) > int64(limit/period) {
		return opserr.Usagef("invalid --evaluation-periods %d: --period %s × %d exceeds CloudWatch's limit of %s (at most %d periods of %s)",
			n, fmtDuration(period), n, why, int64(limit/period), fmtDuration(period))
	}
	return nil
}

// validateFinite rejects NaN and ±Inf, which the CLI's float parser and YAML
// (.nan, .inf) both accept but CloudWatch cannot compare against.
func validateFinite(flag string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return opserr.Usagef("invalid %s %g: must be a finite number", flag, v)
	}
	return nil
}

func validateThreshold(t float64) error {
	if err := validateFinite("--threshold", t); err != nil {
		return err
	}
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
