package deploy

// Input checks of the load-balancer and deployment-strategy options of
// `deploy service create|update` (--port P --public, --host, --path,
// --certificate, --health-path, --priority, --access-logs, --strategy and
// its bake times and percentages). Each failure is an opserr usage error
// (exit 2) raised before any AWS call.
//
// Sources of the rules:
//   - botocore elbv2 service-2.json HostHeaderConditionConfig.Values: at most
//     128 characters, case-insensitive, wildcards * and ?, at least one ".",
//     only alphabetical characters after the final "."; the characters are
//     those the ALB user guide lists for host conditions (A–Z, a–z, 0–9, - .).
//   - botocore elbv2 PathPatternConditionConfig.Values: at most 128
//     characters, case-sensitive, wildcards * and ?; the characters are those
//     the ALB user guide lists for path conditions (A–Z, a–z, 0–9, _ - . $ / ~
//     " ' @ : + & * ?).
//   - botocore elbv2 RulePriority: 1–50000. ALB quotas: 5 condition values
//     per rule.
//   - botocore elbv2 HealthCheckPath (Path): 1–1024 characters.
//   - botocore ecs DeploymentStrategy ROLLING | BLUE_GREEN | LINEAR | CANARY;
//     CanaryConfiguration.canaryPercent multiples of 0.1 from 0.1 to 100.0
//     (default 5.0), canaryBakeTimeInMinutes 0–1440 (default 10);
//     LinearConfiguration.stepPercent multiples of 0.1 from 3.0 to 100.0
//     (default 10.0), stepBakeTimeInMinutes 0–1440 (default 6);
//     DeploymentConfiguration.bakeTimeInMinutes, required for BLUE_GREEN
//     (0–1440, ECS developer guide "Amazon ECS blue/green deployments").
//   - ACM certificate ARNs: arn:PARTITION:acm:REGION:ACCOUNT:certificate/ID
//     (botocore acm Arn pattern; the ID is a UUID); an ALB listener takes a
//     certificate only from its own region.

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Deployment strategies (the --strategy values) and ECS's names for them.
const (
	StrategyRolling   = "rolling"
	StrategyCanary    = "canary"
	StrategyLinear    = "linear"
	StrategyBlueGreen = "blue-green"
)

// Defaults of the strategies (ECS's defaults where ECS has one).
const (
	DefaultCanaryPercent     = 5.0  // ecs CanaryConfiguration.canaryPercent default
	DefaultCanaryBakeMinutes = 10   // ecs CanaryConfiguration.canaryBakeTimeInMinutes default
	DefaultLinearPercent     = 10.0 // ecs LinearConfiguration.stepPercent default
	DefaultLinearBakeMinutes = 6    // ecs LinearConfiguration.stepBakeTimeInMinutes default
	// DefaultBakeMinutes is how long both revisions run after production
	// traffic moved (bakeTimeInMinutes; ECS has no default and requires it
	// for BLUE_GREEN): opsctl's choice, long enough for a rollback decision.
	DefaultBakeMinutes = 5
	DefaultHealthPath  = "/"
	maxBakeMinutes     = 1440
	maxRuleValues      = 5 // ALB quota: condition values per rule
	maxPriority        = 50000
)

// LBOptions put a service behind the cluster's shared Application Load
// Balancer (--public) and choose its deployment strategy.
type LBOptions struct {
	Public      bool     `json:"public"`
	Hosts       []string `json:"hosts,omitempty"`
	Paths       []string `json:"paths,omitempty"`
	Certificate string   `json:"certificate,omitempty"`
	HealthPath  string   `json:"health_path"`
	// Priority pins the listener rule's priority; 0 lets opsctl manage it
	// (the lowest free one, kept on re-runs).
	Priority   int  `json:"priority,omitempty"`
	AccessLogs bool `json:"access_logs,omitempty"`

	Strategy string `json:"strategy"`
	// BakeMinutes: both revisions run this long after production traffic
	// moved (blue-green, canary, linear).
	BakeMinutes int `json:"bake_minutes"`
	// CanaryPercent/CanaryBakeMinutes and LinearPercent/LinearBakeMinutes
	// are the canary and linear shifts.
	CanaryPercent     float64 `json:"canary_percent,omitempty"`
	CanaryBakeMinutes int     `json:"canary_bake_minutes,omitempty"`
	LinearPercent     float64 `json:"linear_percent,omitempty"`
	LinearBakeMinutes int     `json:"linear_bake_minutes,omitempty"`
}

// LBSet is what was given on the command line, so the checks can say which
// flag does not fit (a flag at its default is not "given").
type LBSet struct {
	Bake, CanaryPercent, CanaryBake, LinearPercent, LinearBake bool
}

var (
	hostRe   = regexp.MustCompile(`^[A-Za-z0-9.*?-]+$`)
	hostTLD  = regexp.MustCompile(`\.[A-Za-z]+$`)
	pathRe   = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+&*?]+$`)
	healthRe = regexp.MustCompile(`^/[\x21-\x7e]*$`)
	acmArnRe = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):acm:([a-z]{2}(-[a-z]+)+-[0-9]):([0-9]{12}):certificate/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
)

// ValidateHost checks one --host value as ALB's host-header condition takes it.
func ValidateHost(h string) error {
	switch {
	case h == "":
		return opserr.Usagef("--host: empty host name")
	case len(h) > 128:
		return opserr.Usagef("--host %q: longer than 128 characters (ALB host-header condition limit)", h)
	case !hostRe.MatchString(h):
		return opserr.Usagef("--host %q: a host condition may hold only letters, digits, - and ., and the wildcards * and ?", h)
	case !strings.Contains(h, "."):
		return opserr.Usagef("--host %q: must include at least one \".\" (ALB host-header condition)", h)
	case !hostTLD.MatchString(h):
		return opserr.Usagef("--host %q: only letters may follow the final \".\" (ALB host-header condition)", h)
	case strings.Contains(h, ".."):
		return opserr.Usagef("--host %q: empty label between dots", h)
	}
	return nil
}

// ValidatePath checks one --path value as ALB's path-pattern condition takes it.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return opserr.Usagef("--path: empty path pattern")
	case len(p) > 128:
		return opserr.Usagef("--path %q: longer than 128 characters (ALB path-pattern condition limit)", p)
	case !pathRe.MatchString(p):
		return opserr.Usagef("--path %q: a path pattern may hold only letters, digits, _ - . $ / ~ \" ' @ : + &, and the wildcards * and ?", p)
	case p[0] != '/' && p[0] != '*':
		return opserr.Usagef("--path %q: must start with / (the pattern is compared to the URL path, which starts with /)", p)
	}
	return nil
}

// CertificateARN is a parsed ACM certificate ARN.
type CertificateARN struct{ Partition, Region, Account, ID string }

// ParseCertificateARN checks an ACM certificate ARN's form.
func ParseCertificateARN(s string) (CertificateARN, error) {
	m := acmArnRe.FindStringSubmatch(s)
	if m == nil {
		return CertificateARN{}, opserr.Usagef("--certificate %q: not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/UUID)", s)
	}
	return CertificateARN{Partition: m[1], Region: m[2], Account: m[4], ID: m[5]}, nil
}

// multipleOfTenth: ECS takes percentages in steps of 0.1.
func multipleOfTenth(v float64) bool {
	return math.Abs(v*10-math.Round(v*10)) < 1e-6
}

// WithDefaults fills the strategy's unset values.
func (l LBOptions) WithDefaults() LBOptions {
	if l.Strategy == "" {
		l.Strategy = StrategyRolling
	}
	if l.HealthPath == "" {
		l.HealthPath = DefaultHealthPath
	}
	// Bake times keep what was given: 0 minutes is a valid bake time (the
	// command line's flags carry ECS's defaults).
	switch {
	case l.Strategy == StrategyCanary && l.CanaryPercent == 0:
		l.CanaryPercent = DefaultCanaryPercent
	case l.Strategy == StrategyLinear && l.LinearPercent == 0:
		l.LinearPercent = DefaultLinearPercent
	}
	return l
}

// Validate checks the options (port is the service's --port).
func (l LBOptions) Validate(port int, set LBSet) error {
	given := func(name string, on bool) error {
		if on && !l.Public {
			return opserr.Usagef("%s needs --public (the service behind the cluster's load balancer)", name)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		on   bool
	}{{"--host", len(l.Hosts) > 0}, {"--path", len(l.Paths) > 0}, {"--certificate", l.Certificate != ""},
		{"--health-path", l.HealthPath != "" && l.HealthPath != DefaultHealthPath}, {"--priority", l.Priority != 0}, {"--access-logs", l.AccessLogs},
		{"--strategy " + l.Strategy, l.Strategy != "" && l.Strategy != StrategyRolling}} {
		if err := given(c.name, c.on); err != nil {
			return err
		}
	}
	if l.Public && port <= 0 {
		return opserr.Usagef("--public needs --port: the container port the load balancer sends traffic to")
	}
	for _, h := range l.Hosts {
		if err := ValidateHost(h); err != nil {
			return err
		}
	}
	for _, p := range l.Paths {
		if err := ValidatePath(p); err != nil {
			return err
		}
	}
	if n := len(l.Hosts) + len(l.Paths); n > maxRuleValues {
		return opserr.Usagef("--host and --path: %d values; a listener rule takes at most %d condition values", n, maxRuleValues)
	}
	if err := dupes("--host", l.Hosts, strings.ToLower); err != nil {
		return err
	}
	if err := dupes("--path", l.Paths, func(s string) string { return s }); err != nil {
		return err
	}
	if l.Certificate != "" {
		if _, err := ParseCertificateARN(l.Certificate); err != nil {
			return err
		}
	}
	if l.HealthPath != "" && (len(l.HealthPath) > 1024 || !healthRe.MatchString(l.HealthPath)) {
		return opserr.Usagef("--health-path %q: a URL path starting with /, at most 1024 printable characters without spaces", l.HealthPath)
	}
	if l.Priority < 0 || l.Priority > maxPriority {
		return opserr.Usagef("--priority %d: a listener rule priority is 1-%d (0: opsctl picks the lowest free one)", l.Priority, maxPriority)
	}
	return l.validateStrategy(set)
}

func dupes(flag string, vs []string, norm func(string) string) error {
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[norm(v)] {
			return opserr.Usagef("%s %s given twice", flag, v)
		}
		seen[norm(v)] = true
	}
	return nil
}

func (l LBOptions) validateStrategy(set LBSet) error {
	switch l.Strategy {
	case "", StrategyRolling, StrategyBlueGreen, StrategyCanary, StrategyLinear:
	default:
		return opserr.Usagef("--strategy %q: one of rolling, canary, linear, blue-green", l.Strategy)
	}
	s := l.Strategy
	only := func(flag string, on bool, want string) error {
		if on && s != want {
			return opserr.Usagef("%s applies only to --strategy %s", flag, want)
		}
		return nil
	}
	if set.Bake && (s == "" || s == StrategyRolling) {
		return opserr.Usagef("--bake-time applies to --strategy blue-green, canary or linear (a rolling update has no bake time)")
	}
	for _, c := range []struct {
		flag, strategy string
		on             bool
	}{{"--canary-percent", StrategyCanary, set.CanaryPercent}, {"--canary-bake-time", StrategyCanary, set.CanaryBake},
		{"--linear-percent", StrategyLinear, set.LinearPercent}, {"--linear-bake-time", StrategyLinear, set.LinearBake}} {
		if err := only(c.flag, c.on, c.strategy); err != nil {
			return err
		}
	}
	bake := func(flag string, v int) error {
		if v < 0 || v > maxBakeMinutes {
			return opserr.Usagef("%s %d: ECS takes 0-%d minutes", flag, v, maxBakeMinutes)
		}
		return nil
	}
	if err := bake("--bake-time", l.BakeMinutes); err != nil {
		return err
	}
	switch s {
	case StrategyCanary:
		if l.CanaryPercent < 0.1 || l.CanaryPercent > 100 || !multipleOfTenth(l.CanaryPercent) {
			return opserr.Usagef("--canary-percent %g: ECS takes multiples of 0.1 from 0.1 to 100", l.CanaryPercent)
		}
		return bake("--canary-bake-time", l.CanaryBakeMinutes)
	case StrategyLinear:
		if l.LinearPercent < 3 || l.LinearPercent > 100 || !multipleOfTenth(l.LinearPercent) {
			return opserr.Usagef("--linear-percent %g: ECS takes multiples of 0.1 from 3 to 100", l.LinearPercent)
		}
		return bake("--linear-bake-time", l.LinearBakeMinutes)
	}
	return nil
}

// ValidateFor checks what depends on the caller's region and partition
// (known from the configuration, without a call): an ALB listener uses a
// certificate from its own region.
func (l LBOptions) ValidateFor(partition, region string) error {
	if l.Certificate == "" {
		return nil
	}
	c, err := ParseCertificateARN(l.Certificate)
	if err != nil {
		return err
	}
	if partition != "" && c.Partition != partition {
		return opserr.Usagef("--certificate %s: partition %s, but the load balancer is in partition %s", l.Certificate, c.Partition, partition)
	}
	if region != "" && c.Region != region {
		return opserr.Usagef("--certificate %s is in %s: the load balancer in %s needs a certificate from its own region (request or import one there)", l.Certificate, c.Region, region)
	}
	return nil
}

// ecsStrategy is ECS's DeploymentStrategy name.
func ecsStrategy(s string) string {
	switch s {
	case StrategyBlueGreen:
		return "BLUE_GREEN"
	case StrategyCanary:
		return "CANARY"
	case StrategyLinear:
		return "LINEAR"
	}
	return "ROLLING"
}

// shiftsTraffic: the strategy moves traffic between two target groups.
func (l LBOptions) shiftsTraffic() bool {
	return l.Strategy == StrategyBlueGreen || l.Strategy == StrategyCanary || l.Strategy == StrategyLinear
}

func (l LBOptions) describe() string {
	switch l.Strategy {
	case StrategyCanary:
		return fmt.Sprintf("canary %g%% for %d min, then all; bake %d min", l.CanaryPercent, l.CanaryBakeMinutes, l.BakeMinutes)
	case StrategyLinear:
		return fmt.Sprintf("linear %g%% steps every %d min; bake %d min", l.LinearPercent, l.LinearBakeMinutes, l.BakeMinutes)
	case StrategyBlueGreen:
		return fmt.Sprintf("blue/green; bake %d min", l.BakeMinutes)
	}
	return "rolling"
}
