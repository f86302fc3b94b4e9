// Package elbv2emu is the local endpoint's Elastic Load Balancing v2
// emulation (awsQuery, API version 2015-12-01, SigV4 name
// "elasticloadbalancing"): Application Load Balancers and their attributes,
// target groups and their attributes, listeners (HTTP and HTTPS), listener
// rules with host-header and path-pattern conditions, target registration,
// target health, and tags.
//
// Validation, enums, error codes and messages follow botocore elbv2
// service-2.json and the Elastic Load Balancing API reference:
// ValidationError for the model's constraints and AWS's own input rules,
// DuplicateLoadBalancerName, DuplicateTargetGroupName, DuplicateListener,
// LoadBalancerNotFound, TargetGroupNotFound, ListenerNotFound, RuleNotFound,
// PriorityInUse, TooManyRules, ResourceInUse, OperationNotPermitted,
// InvalidConfigurationRequest, InvalidTarget, CertificateNotFound,
// TooManyTags and DuplicateTagKeys. Describe operations page with Marker and
// NextMarker, a few items per page.
//
// # Time
//
// Nothing runs in the background: state is computed from the endpoint's
// clock when it is read. A load balancer is "provisioning" for
// ProvisioningTime after it is created, then "active". A registered target
// in a target group that a load balancer uses (a listener's or a rule's
// forward action) is "initial" (Elb.RegistrationInProgress until the first
// health check, one interval after registration, then
// Elb.InitialHealthChecking) and becomes "healthy" after
// HealthyThresholdCount × HealthCheckIntervalSeconds, or "unhealthy" after
// UnhealthyThresholdCount × HealthCheckIntervalSeconds when it fails its
// checks. A deregistered target is "draining"
// (Target.DeregistrationInProgress) for the target group's
// deregistration_delay.timeout_seconds (default 300), then gone. In a target
// group no load balancer uses, targets are "unused" (Target.NotInUse); a
// target asked about but not registered is "unused" (Target.NotRegistered);
// with health checks disabled, "unavailable" (Target.HealthCheckDisabled).
//
// # Test control
//
// Tag a target group (AddTags or CreateTargetGroup) with key
// "localaws:unhealthy" to make its targets fail their health checks; the
// value picks the reason: "Target.Timeout" ("Request timed out"),
// "Target.FailedHealthChecks" ("Health checks failed"), anything else
// Target.ResponseCodeMismatch ("Health checks failed with these codes:
// [500]"). Removing the tag makes targets registered afterwards pass again.
//
// Targets registered by the ECS emulation (see ecs.go) fail when the image
// of the task's essential container contains "elb-timeout"
// (Target.Timeout), "elb-refused" (Target.FailedHealthChecks) or "fail-elb"
// (Target.ResponseCodeMismatch, codes [500]).
//
// In process, FailTargets does the same for one target.
package elbv2emu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// ProvisioningTime is how long a new load balancer is "provisioning".
const ProvisioningTime = 60 * time.Second

// pageSize is the emulation's page of Describe* results (AWS allows up to
// 400; a small page makes callers follow NextMarker).
const pageSize = 5

// Quotas (Elastic Load Balancing quotas for Application Load Balancers:
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html).
const (
	maxRulesPerLB       = 100 // rules per load balancer, not counting default rules
	maxConditionValues  = 5   // condition values per rule
	maxTargetsPerGroup  = 1000
	maxListenersPerLB   = 50
	maxLoadBalancers    = 50
	maxTargetGroups     = 3000
	maxTags             = 50
	defaultDeregDelay   = 300
	unhealthyTagKey     = "localaws:unhealthy"
	reasonRespMismatch  = "Target.ResponseCodeMismatch"
	reasonTimeout       = "Target.Timeout"
	reasonFailedChecks  = "Target.FailedHealthChecks"
	reasonNotRegistered = "Target.NotRegistered"
	reasonNotInUse      = "Target.NotInUse"
)

// EC2 is what the emulation needs from the EC2 emulation (nil: any subnet
// id is accepted and placed in the region's zones in turn).
type EC2 interface {
	SubnetAZ(id string) (az, vpcID string, ok bool)
}

// Server is the ELBv2 emulation. It is an http.Handler.
type Server struct {
	region, account string
	clock           clock.Clock
	ec2             EC2
	proto           *awsproto.QueryService

	// Sync, when set, is called before every request is handled, without
	// the emulation's lock: the endpoint sets it to bring the ECS emulation
	// up to now, so targets that ECS tasks register are there when a
	// caller reads target health.
	Sync func()

	mu        sync.Mutex
	certs     Certificates
	seq       int
	lbs       map[string]*loadBalancer // by ARN
	tgs       map[string]*targetGroup  // by ARN
	listeners map[string]*listener     // by ARN
	rules     map[string]*rule         // by ARN
}

// New returns an empty emulation on clk (nil: real time); ec2 may be nil.
func New(region, account string, clk clock.Clock, ec2 EC2) *Server {
	s := &Server{region: region, account: account, clock: clock.Or(clk), ec2: ec2,
		lbs: map[string]*loadBalancer{}, tgs: map[string]*targetGroup{}, listeners: map[string]*listener{}, rules: map[string]*rule{}}
	s.proto = &awsproto.QueryService{
		Version: "2015-12-01",
		XMLNS:   "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/",
		Ops: map[string]awsproto.Handler{
			"CreateLoadBalancer":             s.createLoadBalancer,
			"DescribeLoadBalancers":          s.describeLoadBalancers,
			"DeleteLoadBalancer":             s.deleteLoadBalancer,
			"ModifyLoadBalancerAttributes":   s.modifyLoadBalancerAttributes,
			"DescribeLoadBalancerAttributes": s.describeLoadBalancerAttributes,
			"SetSecurityGroups":              s.setSecurityGroups,
			"CreateTargetGroup":              s.createTargetGroup,
			"DescribeTargetGroups":           s.describeTargetGroups,
			"ModifyTargetGroup":              s.modifyTargetGroup,
			"DeleteTargetGroup":              s.deleteTargetGroup,
			"ModifyTargetGroupAttributes":    s.modifyTargetGroupAttributes,
			"DescribeTargetGroupAttributes":  s.describeTargetGroupAttributes,
			"CreateListener":                 s.createListener,
			"DescribeListeners":              s.describeListeners,
			"ModifyListener":                 s.modifyListener,
			"DeleteListener":                 s.deleteListener,
			"CreateRule":                     s.createRule,
			"DescribeRules":                  s.describeRules,
			"ModifyRule":                     s.modifyRule,
			"SetRulePriorities":              s.setRulePriorities,
			"DeleteRule":                     s.deleteRule,
			"RegisterTargets":                s.registerTargets,
			"DeregisterTargets":              s.deregisterTargets,
			"DescribeTargetHealth":           s.describeTargetHealth,
			"AddTags":                        s.addTags,
			"RemoveTags":                     s.removeTags,
			"DescribeTags":                   s.describeTags,
		},
	}
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Sync != nil {
		s.Sync()
	}
	s.proto.ServeHTTP(w, r)
}

// model words violations of the API model's constraints (awsQuery:
// ValidationError).
var model = awsproto.QueryValidation

func validation(format string, args ...any) error { return model.Invalid(format, args...) }

func errf(code, format string, args ...any) error { return awsproto.Errf(code, format, args...) }

// Not-found errors, as ELBv2 words them for Describe* and the mutations.
func lbNotFound() error       { return errf("LoadBalancerNotFound", "One or more load balancers not found") }
func tgNotFound() error       { return errf("TargetGroupNotFound", "One or more target groups not found") }
func listenerNotFound() error { return errf("ListenerNotFound", "One or more listeners not found") }
func ruleNotFound() error     { return errf("RuleNotFound", "One or more rules not found") }

// hexID returns n hex digits, unique per emulation.
func (s *Server) hexID(n int) string {
	s.seq++
	h := sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", s.account, s.region, s.seq)))
	return hex.EncodeToString(h[:])[:n]
}

func (s *Server) arn(resource string) string {
	return fmt.Sprintf("arn:aws:elasticloadbalancing:%s:%s:%s", s.region, s.account, resource)
}

// page is one Describe* page: Marker in, NextMarker out.
func page[T any](items []T, marker string, size *int32) ([]T, string, error) {
	limit := 0
	if size != nil {
		// botocore elbv2 PageSize: 1-400.
		if err := model.Range("pageSize", int64(*size), 1, 400); err != nil {
			return nil, "", err
		}
		limit = int(*size)
	}
	out, next, err := awsproto.Paginate(items, marker, limit, pageSize, "ValidationError")
	if err != nil {
		return nil, "", validation("Invalid value for parameter Marker: %s", marker)
	}
	return out, next, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Tag is the wire Tag shape.
type Tag = awsproto.Tag

// tagRules: botocore elbv2 Tag (Key 1-128, Value 0-256), TagList min 1;
// quota 50 tags per resource (TooManyTags).
var tagRules = awsproto.TagRules{Validator: model, Member: "tags", MaxTags: maxTags,
	TooMany: func(max int) error {
		return errf("TooManyTags", "You've reached the limit on the number of tags for this resource")
	}}

// checkTags validates a create call's tags: keys must be unique
// (DuplicateTagKeys) and within the model's limits.
func checkTags(list []Tag) (map[string]string, error) {
	m := map[string]string{}
	for _, t := range list {
		if _, dup := m[t.Key]; dup {
			return nil, errf("DuplicateTagKeys", "Tag key '%s' is duplicated", t.Key)
		}
		m[t.Key] = t.Value
	}
	if len(m) > maxTags {
		return nil, errf("TooManyTags", "You've reached the limit on the number of tags for this resource")
	}
	if err := tagRules.Check(m); err != nil {
		return nil, err
	}
	return m, nil
}

// nameOK is the rule for load balancer and target group names: at most 32
// characters, only alphanumerics and hyphens, not beginning or ending with a
// hyphen (botocore elbv2 CreateLoadBalancerInput.Name and
// CreateTargetGroupInput.Name documentation).
func nameOK(name string) bool {
	if name == "" || len(name) > 32 || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-") {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

func i32(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

func ptr[T any](v T) *T { return &v }

// empty is the output of operations whose output shape has no members: the
// SDK still reads an (empty) <OpResult> element.
type empty struct{}

// decodeBoth decodes the request into an operation's own members and into
// a group of members it shares with another operation (the Query decoder
// does not descend into embedded structs).
func decodeBoth(dec awsproto.Decoder, own, shared any) error {
	if err := dec(own); err != nil {
		return err
	}
	return dec(shared)
}

// find decodes a request into in, locks the emulation and resolves the
// resource *arn names in m (a map of the emulation's), or answers notFound.
// On success the caller holds the lock and must unlock it.
func find[T any](s *Server, dec awsproto.Decoder, in any, m map[string]*T, arn *string, notFound func() error) (*T, error) {
	if err := dec(in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	x := m[*arn]
	if x == nil {
		s.mu.Unlock()
		return nil, notFound()
	}
	return x, nil
}
