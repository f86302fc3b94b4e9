package elbv2emu

import (
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type healthCheck struct {
	enabled                    bool
	protocol, port, path       string
	interval, timeout          int32
	healthyCount, unhealthyCnt int32
	matcher                    string
}

type targetGroup struct {
	arn, name, id, protocol, protocolVersion, vpc, targetType, ipType string
	port                                                              int32
	hc                                                                healthCheck
	attrs, tags                                                       map[string]string
	targets                                                           []*target // registration order
	usedSince                                                         *time.Time
}

type target struct {
	id           string
	port         int32
	az           string
	registeredAt time.Time
	deregAt      *time.Time
	fail         string // the TargetHealthReasonEnum it fails with; "" passes
}

// Matcher is the wire Matcher shape.
type Matcher struct {
	HttpCode string `xml:",omitempty"`
	GrpcCode string `xml:",omitempty"`
}

// TargetGroup is the wire TargetGroup shape.
type TargetGroup struct {
	TargetGroupArn             string
	TargetGroupName            string
	Protocol                   string `xml:",omitempty"`
	Port                       int32  `xml:",omitempty"`
	VpcId                      string `xml:",omitempty"`
	HealthCheckProtocol        string `xml:",omitempty"`
	HealthCheckPort            string `xml:",omitempty"`
	HealthCheckEnabled         bool
	HealthCheckIntervalSeconds int32
	HealthCheckTimeoutSeconds  int32
	HealthyThresholdCount      int32
	UnhealthyThresholdCount    int32
	HealthCheckPath            string   `xml:",omitempty"`
	Matcher                    *Matcher `xml:",omitempty"`
	LoadBalancerArns           []string `xml:"LoadBalancerArns>member"`
	TargetType                 string
	ProtocolVersion            string `xml:",omitempty"`
	IpAddressType              string `xml:",omitempty"`
}

func (s *Server) tgOut(tg *targetGroup) TargetGroup {
	return TargetGroup{
		TargetGroupArn: tg.arn, TargetGroupName: tg.name, Protocol: tg.protocol, Port: tg.port, VpcId: tg.vpc,
		HealthCheckProtocol: tg.hc.protocol, HealthCheckPort: tg.hc.port, HealthCheckEnabled: tg.hc.enabled,
		HealthCheckIntervalSeconds: tg.hc.interval, HealthCheckTimeoutSeconds: tg.hc.timeout,
		HealthyThresholdCount: tg.hc.healthyCount, UnhealthyThresholdCount: tg.hc.unhealthyCnt,
		HealthCheckPath: tg.hc.path, Matcher: &Matcher{HttpCode: tg.hc.matcher},
		LoadBalancerArns: s.lbsUsing(tg), TargetType: tg.targetType, ProtocolVersion: tg.protocolVersion,
		IpAddressType: tg.ipType,
	}
}

// hcInput is what CreateTargetGroup and ModifyTargetGroup share.
type hcInput struct {
	HealthCheckProtocol        string
	HealthCheckPort            string
	HealthCheckEnabled         *bool
	HealthCheckPath            *string
	HealthCheckIntervalSeconds *int32
	HealthCheckTimeoutSeconds  *int32
	HealthyThresholdCount      *int32
	UnhealthyThresholdCount    *int32
	Matcher                    *Matcher
}

var protocols = []string{"HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC"}

// httpCodeRe: a Matcher.HttpCode is codes and ranges separated by commas
// ("200", "200,202", "200-299"), each 200-499 for an Application Load
// Balancer (API reference: Matcher).
var httpCodeRe = regexp.MustCompile(`^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$`)

// apply checks in against the model and AWS's rules, then applies it to hc.
func (in hcInput) apply(hc *healthCheck) error {
	// botocore elbv2 HealthCheckIntervalSeconds 5-300, HealthCheckTimeoutSeconds
	// 2-120, HealthCheckThresholdCount 2-10, Path 1-1024, ProtocolEnum.
	var errs []error
	if in.HealthCheckProtocol != "" {
		errs = append(errs, model.Enum("healthCheckProtocol", in.HealthCheckProtocol, protocols...))
	}
	if in.HealthCheckPath != nil {
		errs = append(errs, model.Length("healthCheckPath", *in.HealthCheckPath, 1, 1024))
	}
	if v := in.HealthCheckIntervalSeconds; v != nil {
		errs = append(errs, model.Range("healthCheckIntervalSeconds", int64(*v), 5, 300))
	}
	if v := in.HealthCheckTimeoutSeconds; v != nil {
		errs = append(errs, model.Range("healthCheckTimeoutSeconds", int64(*v), 2, 120))
	}
	if v := in.HealthyThresholdCount; v != nil {
		errs = append(errs, model.Range("healthyThresholdCount", int64(*v), 2, 10))
	}
	if v := in.UnhealthyThresholdCount; v != nil {
		errs = append(errs, model.Range("unhealthyThresholdCount", int64(*v), 2, 10))
	}
	if err := awsproto.Check(errs...); err != nil {
		return err
	}
	next := *hc
	if in.HealthCheckProtocol != "" {
		if in.HealthCheckProtocol != "HTTP" && in.HealthCheckProtocol != "HTTPS" {
			return validation("Health check protocol '%s' is not supported for target groups with the '%s' protocol", in.HealthCheckProtocol, "HTTP")
		}
		next.protocol = in.HealthCheckProtocol
	}
	if in.HealthCheckPort != "" {
		if in.HealthCheckPort != "traffic-port" {
			n, err := strconv.Atoi(in.HealthCheckPort)
			if err != nil || n < 1 || n > 65535 {
				return validation("Health check port '%s' must be 'traffic-port' or a port number from 1 to 65535", in.HealthCheckPort)
			}
		}
		next.port = in.HealthCheckPort
	}
	if in.HealthCheckEnabled != nil {
		next.enabled = *in.HealthCheckEnabled
	}
	if in.HealthCheckPath != nil {
		if !strings.HasPrefix(*in.HealthCheckPath, "/") {
			return validation("Health check path must begin with a '/' character")
		}
		next.path = *in.HealthCheckPath
	}
	if v := in.HealthCheckIntervalSeconds; v != nil {
		next.interval = *v
	}
	if v := in.HealthCheckTimeoutSeconds; v != nil {
		next.timeout = *v
	}
	if v := in.HealthyThresholdCount; v != nil {
		next.healthyCount = *v
	}
	if v := in.UnhealthyThresholdCount; v != nil {
		next.unhealthyCnt = *v
	}
	if in.Matcher != nil {
		if in.Matcher.GrpcCode != "" {
			return validation("A gRPC matcher can only be used with the 'GRPC' protocol version")
		}
		if err := checkHTTPCode(in.Matcher.HttpCode); err != nil {
			return err
		}
		next.matcher = in.Matcher.HttpCode
	}
	// The timeout must be smaller than the interval (Application Load
	// Balancer health check settings).
	if next.timeout >= next.interval {
		return validation("Health check timeout '%d' must be smaller than the interval '%d'", next.timeout, next.interval)
	}
	*hc = next
	return nil
}

func checkHTTPCode(code string) error {
	if !httpCodeRe.MatchString(code) {
		return validation("Health check matcher HTTP code '%s' must be a value, a comma-separated list of values or a range of values between 200 and 499", code)
	}
	for _, part := range strings.FieldsFunc(code, func(r rune) bool { return r == ',' || r == '-' }) {
		if n, _ := strconv.Atoi(part); n < 200 || n > 499 {
			return validation("Health check matcher HTTP code '%s' must be a value, a comma-separated list of values or a range of values between 200 and 499", code)
		}
	}
	return nil
}

type createTGInput struct {
	Name            string `query:",required"`
	Protocol        string
	ProtocolVersion string
	Port            *int32
	VpcId           string
	TargetType      string
	IpAddressType   string
	Tags            []Tag
	hc              hcInput
}

func (s *Server) createTargetGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in createTGInput
	if err := decodeBoth(dec, &in, &in.hc); err != nil {
		return nil, err
	}
	if in.TargetType == "" {
		in.TargetType = "instance"
	}
	var errs []error
	if in.Protocol != "" {
		errs = append(errs, model.Enum("protocol", in.Protocol, protocols...))
	}
	if in.Port != nil {
		// botocore elbv2 Port: 1-65535.
		errs = append(errs, model.Range("port", int64(*in.Port), 1, 65535))
	}
	errs = append(errs, model.Enum("targetType", in.TargetType, "instance", "ip", "lambda", "alb"))
	if in.IpAddressType != "" {
		errs = append(errs, model.Enum("ipAddressType", in.IpAddressType, "ipv4", "ipv6"))
	}
	if in.Tags != nil {
		errs = append(errs, model.Size("tags", "[]", len(in.Tags), 1, -1))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	if !nameOK(in.Name) {
		return nil, validation("Target group name '%s' cannot be longer than '32' characters, must contain only alphanumeric characters or hyphens, and must not begin or end with a hyphen", in.Name)
	}
	if in.TargetType == "instance" || in.TargetType == "ip" {
		switch {
		case in.Protocol == "":
			return nil, validation("A protocol must be specified")
		case in.Port == nil:
			return nil, validation("A port must be specified")
		case in.VpcId == "":
			return nil, validation("A VPC ID must be specified")
		case !s.vpcExists(in.VpcId):
			return nil, validation("The VPC ID '%s' is not found", in.VpcId)
		}
	} else {
		return nil, validation("Target type '%s' is not supported by this endpoint", in.TargetType)
	}
	if in.ProtocolVersion != "" && in.ProtocolVersion != "HTTP1" && in.ProtocolVersion != "HTTP2" && in.ProtocolVersion != "GRPC" {
		return nil, validation("Protocol version '%s' is not valid", in.ProtocolVersion)
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	hc := healthCheck{enabled: true, protocol: in.Protocol, port: "traffic-port", path: "/", interval: 30, timeout: 5,
		healthyCount: 5, unhealthyCnt: 2, matcher: "200"}
	if in.Protocol != "HTTP" && in.Protocol != "HTTPS" {
		hc.protocol, hc.path, hc.timeout, hc.healthyCount, hc.unhealthyCnt, hc.matcher = "TCP", "", 10, 5, 2, ""
	}
	if err := in.hc.apply(&hc); err != nil {
		return nil, err
	}
	pv := in.ProtocolVersion
	if pv == "" && (in.Protocol == "HTTP" || in.Protocol == "HTTPS") {
		pv = "HTTP1"
	}
	ipType := in.IpAddressType
	if ipType == "" {
		ipType = "ipv4"
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for _, tg := range s.tgs {
		if tg.name != in.Name {
			continue
		}
		if tg.protocol == in.Protocol && tg.port == *in.Port && tg.vpc == in.VpcId && tg.targetType == in.TargetType && tg.hc == hc {
			return &tgsOut{TargetGroups: []TargetGroup{s.tgOut(tg)}}, nil
		}
		return nil, errf("DuplicateTargetGroupName", "A target group with the same name '%s' exists, but with different settings", in.Name)
	}
	if len(s.tgs) >= maxTargetGroups {
		return nil, errf("TooManyTargetGroups", "You've reached the limit on the number of target groups for your AWS account")
	}
	id := s.hexID(16)
	tg := &targetGroup{arn: s.arn("targetgroup/" + in.Name + "/" + id), name: in.Name, id: id, protocol: in.Protocol,
		protocolVersion: pv, vpc: in.VpcId, targetType: in.TargetType, ipType: ipType, port: *in.Port, hc: hc,
		attrs: defaultTGAttrs(), tags: tags}
	s.tgs[tg.arn] = tg
	return &tgsOut{TargetGroups: []TargetGroup{s.tgOut(tg)}}, nil
}

type tgsOut struct {
	TargetGroups []TargetGroup `xml:"TargetGroups>member"`
	NextMarker   string        `xml:",omitempty"`
}

// defaultTGAttrs are an instance or IP target group's attributes behind an
// Application Load Balancer (API reference: TargetGroupAttribute).
func defaultTGAttrs() map[string]string {
	return map[string]string{
		"deregistration_delay.timeout_seconds":                                           strconv.Itoa(defaultDeregDelay),
		"stickiness.enabled":                                                             "false",
		"stickiness.type":                                                                "lb_cookie",
		"stickiness.lb_cookie.duration_seconds":                                          "86400",
		"stickiness.app_cookie.cookie_name":                                              "",
		"stickiness.app_cookie.duration_seconds":                                         "86400",
		"load_balancing.algorithm.type":                                                  "round_robin",
		"load_balancing.algorithm.anomaly_mitigation":                                    "off",
		"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
		"slow_start.duration_seconds":                                                    "0",
		"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
		"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
		"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
	}
}

func (s *Server) describeTargetGroups(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string
		TargetGroupArns []string
		Names           []string
		Marker          string
		PageSize        *int32
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	n := 0
	for _, set := range []bool{in.LoadBalancerArn != "", len(in.TargetGroupArns) > 0, len(in.Names) > 0} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, validation("Target group names, target group ARNs, and a load balancer ARN cannot be specified at the same time")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*targetGroup
	switch {
	case len(in.TargetGroupArns) > 0:
		for _, a := range in.TargetGroupArns {
			tg := s.tgs[a]
			if tg == nil {
				return nil, tgNotFound()
			}
			list = append(list, tg)
		}
	case len(in.Names) > 0:
		for _, name := range in.Names {
			tg := s.tgByName(name)
			if tg == nil {
				return nil, tgNotFound()
			}
			list = append(list, tg)
		}
	case in.LoadBalancerArn != "":
		if s.lbs[in.LoadBalancerArn] == nil {
			return nil, lbNotFound()
		}
		for _, a := range sortedKeys(s.tgs) {
			for _, l := range s.lbsUsing(s.tgs[a]) {
				if l == in.LoadBalancerArn {
					list = append(list, s.tgs[a])
				}
			}
		}
	default:
		for _, a := range sortedKeys(s.tgs) {
			list = append(list, s.tgs[a])
		}
	}
	pg, next, err := page(list, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &tgsOut{TargetGroups: []TargetGroup{}, NextMarker: next}
	for _, tg := range pg {
		out.TargetGroups = append(out.TargetGroups, s.tgOut(tg))
	}
	return out, nil
}

func (s *Server) tgByName(name string) *targetGroup {
	for _, tg := range s.tgs {
		if tg.name == name {
			return tg
		}
	}
	return nil
}

func (s *Server) modifyTargetGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TargetGroupArn string `query:",required"`
		hc             hcInput
	}
	if err := decodeBoth(dec, &in, &in.hc); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[in.TargetGroupArn]
	if tg == nil {
		return nil, tgNotFound()
	}
	if err := in.hc.apply(&tg.hc); err != nil {
		return nil, err
	}
	return &tgsOut{TargetGroups: []TargetGroup{s.tgOut(tg)}}, nil
}

func (s *Server) deleteTargetGroup(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TargetGroupArn string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[in.TargetGroupArn]
	if tg == nil {
		return &empty{}, nil
	}
	if s.tgUsed(tg) {
		return nil, errf("ResourceInUse", "Target group '%s' is currently in use by a listener or a rule", tg.arn)
	}
	delete(s.tgs, tg.arn)
	return &empty{}, nil
}

func (s *Server) modifyTargetGroupAttributes(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TargetGroupArn string      `query:",required"`
		Attributes     []Attribute `query:",required"`
	}
	tg, err := find(s, dec, &in, s.tgs, &in.TargetGroupArn, tgNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := applyAttrs("Target group", tg.attrs, in.Attributes); err != nil {
		return nil, err
	}
	return &attrsOut{attrList(tg.attrs)}, nil
}

func (s *Server) describeTargetGroupAttributes(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TargetGroupArn string `query:",required"`
	}
	tg, err := find(s, dec, &in, s.tgs, &in.TargetGroupArn, tgNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return &attrsOut{attrList(tg.attrs)}, nil
}

// ---- targets ----

// TargetDescription is the wire TargetDescription shape.
type TargetDescription struct {
	Id               string `query:",required"`
	Port             *int32 `xml:",omitempty"`
	AvailabilityZone string `xml:",omitempty"`
}

// checkTargets validates targets for tg: the model's Port range, and the
// target type's id form (an instance id, or an IPv4 address).
func checkTargets(tg *targetGroup, list []TargetDescription) error {
	for _, t := range list {
		if t.Port != nil {
			if err := model.Range("targets.member.port", int64(*t.Port), 1, 65535); err != nil {
				return err
			}
		}
		switch tg.targetType {
		case "ip":
			if a, err := netip.ParseAddr(t.Id); err != nil || !a.Is4() {
				return errf("InvalidTarget", "The IP address '%s' is not a valid IPv4 address", t.Id)
			}
		case "instance":
			if !strings.HasPrefix(t.Id, "i-") {
				return errf("InvalidTarget", "The following targets are not valid instances: '%s'", t.Id)
			}
		}
	}
	return nil
}

func (s *Server) registerTargets(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.onTargets(dec, func(tg *targetGroup, t TargetDescription, now time.Time) error {
		return s.register(tg, t.Id, i32(t.Port, tg.port), t.AvailabilityZone, "", now)
	})
}

// onTargets decodes a RegisterTargets or DeregisterTargets request, checks
// its targets and applies f to each, at the clock's now.
func (s *Server) onTargets(dec awsproto.Decoder, f func(*targetGroup, TargetDescription, time.Time) error) (any, error) {
	var in struct {
		TargetGroupArn string              `query:",required"`
		Targets        []TargetDescription `query:",required"`
	}
	tg, err := find(s, dec, &in, s.tgs, &in.TargetGroupArn, tgNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := checkTargets(tg, in.Targets); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	for _, t := range in.Targets {
		if err := f(tg, t, now); err != nil {
			return nil, err
		}
	}
	return &empty{}, nil
}

// register adds a target registered at "at" (idempotent for a target that
// is registered and not draining).
func (s *Server) register(tg *targetGroup, id string, port int32, az, fail string, at time.Time) error {
	s.prune(tg, at)
	for _, t := range tg.targets {
		if t.id == id && t.port == port && t.deregAt == nil {
			return nil
		}
	}
	if len(tg.targets) >= maxTargetsPerGroup {
		return errf("TooManyTargets", "You've reached the limit on the number of targets per target group")
	}
	if fail == "" {
		if v, ok := tg.tags[unhealthyTagKey]; ok {
			fail = failReason(v)
		}
	}
	if az == "" {
		az = s.region + "a"
	}
	tg.targets = append(tg.targets, &target{id: id, port: port, az: az, registeredAt: at, fail: fail})
	return nil
}

// failReason maps a test-control value to the reason a target fails with.
func failReason(v string) string {
	switch v {
	case reasonTimeout, reasonFailedChecks:
		return v
	}
	return reasonRespMismatch
}

// prune drops targets whose deregistration delay is over by at.
func (s *Server) prune(tg *targetGroup, at time.Time) {
	kept := tg.targets[:0]
	for _, t := range tg.targets {
		if t.deregAt != nil && !at.Before(t.deregAt.Add(s.deregDelay(tg))) {
			continue
		}
		kept = append(kept, t)
	}
	tg.targets = kept
}

func (s *Server) deregDelay(tg *targetGroup) time.Duration {
	n, _ := strconv.Atoi(tg.attrs["deregistration_delay.timeout_seconds"])
	return time.Duration(n) * time.Second
}

func (s *Server) deregisterTargets(r *http.Request, dec awsproto.Decoder) (any, error) {
	return s.onTargets(dec, func(tg *targetGroup, t TargetDescription, now time.Time) error {
		s.deregister(tg, t.Id, i32(t.Port, tg.port), now)
		return nil
	})
}

// deregister starts draining a target at "at"; an unknown target is not an
// error (DeregisterTargets: "If the specified target does not exist, the
// action returns successfully.").
func (s *Server) deregister(tg *targetGroup, id string, port int32, at time.Time) {
	for _, t := range tg.targets {
		if t.id == id && t.port == port && t.deregAt == nil {
			t.deregAt = ptr(at)
		}
	}
	s.prune(tg, at)
}

// TargetHealth is the wire TargetHealth shape.
type TargetHealth struct {
	State       string
	Reason      string `xml:",omitempty"`
	Description string `xml:",omitempty"`
}

// TargetHealthDescription is the wire TargetHealthDescription shape.
type TargetHealthDescription struct {
	Target          TargetDescription
	HealthCheckPort string `xml:",omitempty"`
	TargetHealth    TargetHealth
}

// Descriptions of the reason codes (Application Load Balancer guide, "Health
// check reason codes").
var reasonText = map[string]string{
	"Elb.RegistrationInProgress":      "Target registration is in progress",
	"Elb.InitialHealthChecking":       "Initial health checks in progress",
	reasonRespMismatch:                "Health checks failed with these codes: [500]",
	reasonTimeout:                     "Request timed out",
	reasonFailedChecks:                "Health checks failed",
	reasonNotRegistered:               "Target is not registered to the target group",
	reasonNotInUse:                    "Target group is not configured to receive traffic from the load balancer",
	"Target.DeregistrationInProgress": "Target deregistration is in progress",
	"Target.HealthCheckDisabled":      "Health checks are disabled",
}

func th(state, reason string) TargetHealth {
	return TargetHealth{State: state, Reason: reason, Description: reasonText[reason]}
}

// checksStart is when health checks of t began: its registration, or when a
// load balancer started using the group; false when none uses it.
func (s *Server) checksStart(tg *targetGroup, registered time.Time) (time.Time, bool) {
	if tg.usedSince == nil {
		return time.Time{}, false
	}
	if tg.usedSince.After(registered) {
		return *tg.usedSince, true
	}
	return registered, true
}

// healthAt is a target's health at time now, from the group's health check
// settings (package doc).
func (s *Server) healthAt(tg *targetGroup, t *target, now time.Time) TargetHealth {
	if t.deregAt != nil && !now.Before(*t.deregAt) {
		return th("draining", "Target.DeregistrationInProgress")
	}
	start, used := s.checksStart(tg, t.registeredAt)
	if !used {
		return th("unused", reasonNotInUse)
	}
	if !tg.hc.enabled {
		return th("unavailable", "Target.HealthCheckDisabled")
	}
	interval := time.Duration(tg.hc.interval) * time.Second
	elapsed := now.Sub(start)
	switch {
	case elapsed < interval:
		return th("initial", "Elb.RegistrationInProgress")
	case t.fail != "" && elapsed >= interval*time.Duration(tg.hc.unhealthyCnt):
		return th("unhealthy", t.fail)
	case t.fail == "" && elapsed >= interval*time.Duration(tg.hc.healthyCount):
		return TargetHealth{State: "healthy"}
	}
	return th("initial", "Elb.InitialHealthChecking")
}

func (s *Server) describeTargetHealth(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		TargetGroupArn string `query:",required"`
		Targets        []TargetDescription
		Include        []string
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	for _, inc := range in.Include {
		// botocore elbv2 DescribeTargetHealthInputIncludeEnum.
		if err := model.Enum("include.member", inc, "AnomalyDetection", "All"); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[in.TargetGroupArn]
	if tg == nil {
		return nil, tgNotFound()
	}
	if err := checkTargets(tg, in.Targets); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	s.prune(tg, now)
	out := &struct {
		TargetHealthDescriptions []TargetHealthDescription `xml:"TargetHealthDescriptions>member"`
	}{TargetHealthDescriptions: []TargetHealthDescription{}}
	hcPort := func(port int32) string {
		if tg.hc.port == "traffic-port" {
			return strconv.Itoa(int(port))
		}
		return tg.hc.port
	}
	if len(in.Targets) == 0 {
		for _, t := range tg.targets {
			out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, TargetHealthDescription{
				Target: TargetDescription{Id: t.id, Port: ptr(t.port), AvailabilityZone: t.az}, HealthCheckPort: hcPort(t.port),
				TargetHealth: s.healthAt(tg, t, now)})
		}
		return out, nil
	}
	for _, want := range in.Targets {
		port := i32(want.Port, tg.port)
		d := TargetHealthDescription{Target: TargetDescription{Id: want.Id, Port: ptr(port)}, HealthCheckPort: hcPort(port),
			TargetHealth: th("unused", reasonNotRegistered)}
		for _, t := range tg.targets {
			if t.id == want.Id && t.port == port {
				d.Target.AvailabilityZone = t.az
				d.TargetHealth = s.healthAt(tg, t, now)
			}
		}
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, d)
	}
	return out, nil
}

// FailTargets makes the target id (every port) of the target group arn fail
// its health checks from now on with reason (a TargetHealthReasonEnum value:
// Target.ResponseCodeMismatch, Target.Timeout or Target.FailedHealthChecks);
// "" makes it pass. A test control, for tests in process.
func (s *Server) FailTargets(arn, id, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tg := s.tgs[arn]
	if tg == nil {
		return
	}
	if reason != "" {
		reason = failReason(reason)
	}
	for _, t := range tg.targets {
		if t.id == id {
			t.fail = reason
		}
	}
}
