package deploy

// Input checks of `deploy service create|update` that need no AWS call:
// names, image references, Fargate cpu/memory combinations, environment and
// secrets, scaling bounds. Each failure is an opserr usage error (exit 2).

import (
	"fmt"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/opserr"
)

// Defaults of `deploy service create|update`.
const (
	DefaultCPU          = 256
	DefaultMemory       = 512
	DefaultDesired      = 2
	DefaultCPUTarget    = 60
	DefaultLogRetention = 30 // days; one of CloudWatch Logs' retention values

	// StopTimeout is the containers' stopTimeout in seconds: Fargate Spot and
	// EC2 Spot give two minutes' notice before reclaiming capacity, and the
	// container must have stopped by then (Amazon ECS Developer Guide,
	// "Fargate capacity providers": stopTimeout up to 120 s).
	StopTimeout = 110
)

// SecretRef is one --secret K=ssm:/path or K=arn:…secretsmanager….
type SecretRef struct {
	Name string `json:"name"`
	// Kind is "ssm" or "secretsmanager".
	Kind string `json:"kind"`
	// Ref is the parameter name (ssm) or the secret's ARN (secretsmanager).
	Ref string `json:"ref"`
}

// ServiceOptions are the inputs of CreateService and UpdateService.
type ServiceOptions struct {
	Cluster   string            `json:"cluster"`
	Name      string            `json:"service"`
	Image     string            `json:"image"`
	Container string            `json:"container"`
	CPU       int               `json:"cpu"`
	Memory    int               `json:"memory"`
	Port      int               `json:"port"`
	Env       map[string]string `json:"env,omitempty"`
	Secrets   []SecretRef       `json:"secrets,omitempty"`
	Desired   int               `json:"desired"`
	// Min and Max > 0 register the Application Auto Scaling target; the
	// target tracking policies track CPUTarget (and MemoryTarget when > 0).
	Min          int     `json:"min"`
	Max          int     `json:"max"`
	CPUTarget    float64 `json:"cpu_target"`
	MemoryTarget float64 `json:"memory_target,omitempty"`
	// FailureThreshold > 0 sets the circuit breaker's threshold to that
	// many failed tasks (type COUNT); 0 keeps AWS's default (50% of the
	// desired count, at least 3, at most 200).
	FailureThreshold int    `json:"failure_threshold,omitempty"`
	LogRetention     int    `json:"log_retention_days"`
	AlarmEmail       string `json:"alarm_email,omitempty"`
	DryRun           bool   `json:"dry_run"`
	// Update requires the service to exist (service update); create makes
	// it when missing and otherwise converges it the same way.
	Update bool `json:"update"`
	// LB puts the service behind the cluster's load balancer and picks its
	// deployment strategy (lb_input.go); LBSet says which flags were given.
	LB    LBOptions `json:"load_balancer"`
	LBSet LBSet     `json:"-"`
	// SpotAfter is how long spot may fail to place the service's tasks
	// before the update moves it to on-demand, as spot-check decides (0:
	// DefaultSpotAfter; negative: never).
	SpotAfter time.Duration `json:"-"`
}

var (
	serviceNameRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)
	containerNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$`)
	envKeyRe        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	ssmPathRe       = regexp.MustCompile(`^/?[A-Za-z0-9_.\-/]+$`)
	secretArnRe     = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+$`)
	ssmArnRe        = regexp.MustCompile(`^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9_.\-/]+$`)
	// Image reference grammar (distribution/reference): [registry/]repo[:tag][@digest].
	registryRe    = regexp.MustCompile(`^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:[0-9]{1,5})?$|^localhost(:[0-9]{1,5})?$`)
	repoRe        = regexp.MustCompile(`^[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*$`)
	tagRe         = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	digestRe      = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	ecrRegistryRe = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$`)
)

// ImageRef is a parsed image reference.
type ImageRef struct {
	Registry, Repository, Tag, Digest string
	// ECR is set for an Amazon ECR private registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com).
	ECRAccount, ECRRegion string
}

// ParseImage parses IMAGE as Docker does, and requires a tag or digest so a
// deployment is reproducible.
func ParseImage(s string) (ImageRef, error) {
	var r ImageRef
	if s == "" {
		return r, opserr.Usagef("--image is required")
	}
	if len(s) > 255 {
		return r, opserr.Usagef("--image %q: longer than 255 characters (ECS containerDefinitions.image limit)", s)
	}
	rest := s
	if i := strings.Index(rest, "@"); i >= 0 {
		r.Digest = rest[i+1:]
		rest = rest[:i]
		if !digestRe.MatchString(r.Digest) {
			return r, opserr.Usagef("--image %q: the digest must be sha256: and 64 lowercase hex digits", s)
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 && registryRe.MatchString(rest[:i]) {
		r.Registry = rest[:i]
		rest = rest[i+1:]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 {
		r.Tag = rest[i+1:]
		rest = rest[:i]
		if !tagRe.MatchString(r.Tag) {
			return r, opserr.Usagef("--image %q: bad tag %q (letters, digits, _ . -; at most 128; not starting with . or -)", s, r.Tag)
		}
	}
	r.Repository = rest
	if !repoRe.MatchString(rest) {
		return r, opserr.Usagef("--image %q: bad repository name %q (lowercase letters, digits and separators . _ __ - /)", s, rest)
	}
	if r.Tag == "" && r.Digest == "" {
		return r, opserr.Usagef("--image %q: give a tag or a digest (REPO:TAG or REPO@sha256:…), so the deployment is reproducible", s)
	}
	if m := ecrRegistryRe.FindStringSubmatch(r.Registry); m != nil {
		r.ECRAccount, r.ECRRegion = m[1], m[2]
	}
	return r, nil
}

// fargateMemory lists the memory values (MiB) Fargate accepts per task cpu
// (botocore ecs RegisterTaskDefinitionRequest.memory; Amazon ECS Developer
// Guide "Task size").
func fargateMemory(cpu int) []int {
	span := func(lo, hi, step int) []int {
		var out []int
		for m := lo; m <= hi; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096, 1024)
	case 1024:
		return span(2048, 8192, 1024)
	case 2048:
		return span(4096, 16384, 1024)
	case 4096:
		return span(8192, 30720, 1024)
	case 8192:
		return span(16384, 61440, 4096)
	case 16384:
		return span(32768, 122880, 8192)
	}
	return nil
}

// CheckTaskSize rejects cpu/memory pairs Fargate rejects
// ("ClientException: No Fargate configuration exists for given values").
// opsctl applies the Fargate table on EC2 clusters too, so a service's size
// is valid on every capacity it may be moved to.
func CheckTaskSize(cpu, memory int) error {
	ms := fargateMemory(cpu)
	if ms == nil {
		return opserr.Usagef("--cpu %d: task cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (Fargate task sizes)", cpu)
	}
	for _, m := range ms {
		if m == memory {
			return nil
		}
	}
	return opserr.Usagef("--cpu %d --memory %d: no Fargate configuration exists for these values; with --cpu %d, --memory must be one of %s", cpu, memory, cpu, intList(ms))
}

func intList(v []int) string {
	if len(v) > 6 {
		return fmt.Sprintf("%d to %d in steps of %d", v[0], v[len(v)-1], v[1]-v[0])
	}
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// ParseSecret parses one --secret K=ssm:/path | K=arn:…secretsmanager… | K=arn:…ssm…parameter/….
func ParseSecret(s string) (SecretRef, error) {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" || v == "" {
		return SecretRef{}, opserr.Usagef("--secret %q: expected NAME=ssm:/path or NAME=arn:aws:secretsmanager:…", s)
	}
	if !envKeyRe.MatchString(k) {
		return SecretRef{}, opserr.Usagef("--secret %q: %q is not an environment variable name", s, k)
	}
	switch {
	case strings.HasPrefix(v, "ssm:"):
		p := strings.TrimPrefix(v, "ssm:")
		if !ssmPathRe.MatchString(p) {
			return SecretRef{}, opserr.Usagef("--secret %q: %q is not an SSM parameter name", s, p)
		}
		return SecretRef{Name: k, Kind: "ssm", Ref: p}, nil
	case secretArnRe.MatchString(v):
		return SecretRef{Name: k, Kind: "secretsmanager", Ref: v}, nil
	case ssmArnRe.MatchString(v):
		return SecretRef{Name: k, Kind: "ssm", Ref: v}, nil
	}
	return SecretRef{}, opserr.Usagef("--secret %q: the value must be ssm:/parameter/name or a Secrets Manager or SSM parameter ARN", s)
}

// ParseEnv parses --env K=V values.
func ParseEnv(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range list {
		k, v, ok := strings.Cut(e, "=")
		if !ok || !envKeyRe.MatchString(k) {
			return nil, opserr.Usagef("--env %q: expected NAME=VALUE with NAME a valid environment variable name", e)
		}
		if _, dup := out[k]; dup {
			return nil, opserr.Usagef("--env %s given twice", k)
		}
		out[k] = v
	}
	return out, nil
}

// WithDefaults fills unset sizes and counts.
func (o ServiceOptions) WithDefaults() ServiceOptions {
	if o.Container == "" {
		o.Container = o.Name
	}
	if o.CPU == 0 {
		o.CPU = DefaultCPU
	}
	if o.Memory == 0 {
		o.Memory = DefaultMemory
	}
	if o.LogRetention == 0 {
		o.LogRetention = DefaultLogRetention
	}
	if o.Max > 0 && o.CPUTarget == 0 {
		o.CPUTarget = DefaultCPUTarget
	}
	o.LB = o.LB.WithDefaults()
	return o
}

// retentionDays are CloudWatch Logs' accepted retention values (botocore
// logs PutRetentionPolicyRequest.retentionInDays).
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Validate checks everything that needs no AWS call.
func (o ServiceOptions) Validate() error {
	if err := ValidateClusterName(o.Cluster); err != nil {
		return err
	}
	if !serviceNameRe.MatchString(o.Name) {
		return opserr.Usagef("service name %q: up to 255 letters, digits, hyphens and underscores, starting with a letter or digit", o.Name)
	}
	if len(familyName(o.Cluster, o.Name)) > 255 {
		return opserr.Usagef("service name %q: cluster and service names together must fit a 255-character task definition family", o.Name)
	}
	if len(executionRoleName(o.Cluster, o.Name)) > 64 {
		return opserr.Usagef("service name %q is too long: its execution role %s must fit IAM's 64 characters", o.Name, executionRoleName(o.Cluster, o.Name))
	}
	if _, err := ParseImage(o.Image); err != nil {
		return err
	}
	if !containerNameRe.MatchString(o.Container) {
		return opserr.Usagef("--container %q: up to 255 letters, digits, hyphens and underscores", o.Container)
	}
	if err := CheckTaskSize(o.CPU, o.Memory); err != nil {
		return err
	}
	if o.Port < 0 || o.Port > 65535 {
		return opserr.Usagef("--port %d: must be 1-65535 (0 for none)", o.Port)
	}
	seen := map[string]bool{}
	for k := range o.Env {
		if !envKeyRe.MatchString(k) {
			return opserr.Usagef("--env %q: not an environment variable name", k)
		}
		seen[k] = true
	}
	for _, s := range o.Secrets {
		if seen[s.Name] {
			return opserr.Usagef("%s is given twice (as --env or --secret): each variable has one source", s.Name)
		}
		seen[s.Name] = true
	}
	if o.Desired < 0 || o.Desired > 5000 {
		return opserr.Usagef("--desired %d: must be 0-5000", o.Desired)
	}
	if o.Min < 0 || o.Max < 0 {
		return opserr.Usagef("--min and --max must not be negative")
	}
	if o.Min > o.Max {
		return opserr.Usagef("--min %d is greater than --max %d", o.Min, o.Max)
	}
	if o.Max > 0 {
		if o.Desired < o.Min || o.Desired > o.Max {
			return opserr.Usagef("--desired %d is outside --min %d .. --max %d", o.Desired, o.Min, o.Max)
		}
		if o.CPUTarget <= 0 || o.CPUTarget > 100 {
			return opserr.Usagef("--cpu-target %g: a CPU utilization percentage in (0, 100]", o.CPUTarget)
		}
		if o.MemoryTarget < 0 || o.MemoryTarget > 100 {
			return opserr.Usagef("--memory-target %g: a memory utilization percentage in (0, 100]", o.MemoryTarget)
		}
	} else if o.Min > 0 || o.CPUTarget != 0 || o.MemoryTarget != 0 {
		return opserr.Usagef("--min, --cpu-target and --memory-target need --max (auto scaling bounds)")
	}
	if o.FailureThreshold < 0 || o.FailureThreshold > 200 {
		return opserr.Usagef("--failure-threshold %d: must be 1-200 failed tasks (0: AWS's default)", o.FailureThreshold)
	}
	okRet := false
	for _, d := range retentionDays {
		okRet = okRet || d == o.LogRetention
	}
	if !okRet {
		return opserr.Usagef("--log-retention %d: CloudWatch Logs accepts %s days", o.LogRetention, intsJoin(retentionDays))
	}
	if o.AlarmEmail != "" {
		if a, err := mail.ParseAddress(o.AlarmEmail); err != nil || a.Address != o.AlarmEmail {
			return opserr.Usagef("--alarm-email %q: not an email address", o.AlarmEmail)
		}
	}
	return o.LB.Validate(o.Port, o.LBSet)
}

func intsJoin(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// Names of what opsctl creates for a service.
func familyName(cluster, service string) string { return cluster + "-" + service }
func executionRoleName(cluster, service string) string {
	return "opsctl-" + cluster + "-" + service + "-exec"
}
func logGroupName(cluster, service string) string { return "/ecs/" + cluster + "/" + service }
func alarmName(cluster, service string) string    { return cluster + "-" + service + "-errors" }

const (
	policyCPU    = "opsctl-cpu"
	policyMemory = "opsctl-memory"
)

func sortedEnv(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
