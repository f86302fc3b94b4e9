package elbv2emu

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

type loadBalancer struct {
	arn, name, id, scheme, typ, ipType, vpc string
	created                                 time.Time
	zones                                   []AvailabilityZone
	subnets                                 []string // as given, for idempotent re-creates
	sgs                                     []string
	attrs                                   map[string]string
	tags                                    map[string]string
}

// AvailabilityZone is the wire AvailabilityZone shape.
type AvailabilityZone struct {
	ZoneName string
	SubnetId string
}

// LBState is the wire LoadBalancerState.
type LBState struct {
	Code   string
	Reason string `xml:",omitempty"`
}

// LoadBalancer is the wire LoadBalancer shape.
type LoadBalancer struct {
	LoadBalancerArn       string
	DNSName               string
	CanonicalHostedZoneId string
	CreatedTime           awsproto.XMLTime
	LoadBalancerName      string
	Scheme                string
	VpcId                 string
	State                 LBState
	Type                  string
	AvailabilityZones     []AvailabilityZone `xml:"AvailabilityZones>member"`
	SecurityGroups        []string           `xml:"SecurityGroups>member"`
	IpAddressType         string
}

// hostedZones are the ALB canonical hosted zone ids of some regions (Elastic
// Load Balancing endpoints and quotas, AWS General Reference).
var hostedZones = map[string]string{
	"us-east-1": "Z35SXDOTRQ7X7K", "us-east-2": "Z3AADJGX6KTTL2", "us-west-1": "Z368ELLRRE2KJ0",
	"us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2", "eu-central-1": "Z215JYRZR1TBD5",
	"eu-west-2": "ZHURV8PSTC4K8", "ap-southeast-1": "Z1LMS91P8CMLE5", "ap-northeast-1": "Z14GRHDCWA56QT",
}

func (s *Server) lbOut(lb *loadBalancer, now time.Time) LoadBalancer {
	state := "active"
	if now.Sub(lb.created) < ProvisioningTime {
		state = "provisioning"
	}
	dns := fmt.Sprintf("%s-%d.%s.elb.amazonaws.com", lb.name, 1000000000+int(lb.id[0])*7919%900000000, s.region)
	if lb.scheme == "internal" {
		dns = "internal-" + dns
	}
	return LoadBalancer{
		LoadBalancerArn: lb.arn, DNSName: dns, CanonicalHostedZoneId: hostedZones[s.region],
		CreatedTime: awsproto.XMLTime(lb.created), LoadBalancerName: lb.name, Scheme: lb.scheme, VpcId: lb.vpc,
		State: LBState{Code: state}, Type: lb.typ, AvailabilityZones: lb.zones, SecurityGroups: lb.sgs,
		IpAddressType: lb.ipType,
	}
}

type createLBInput struct {
	Name           string `query:",required"`
	Subnets        []string
	SubnetMappings []struct{ SubnetId string }
	SecurityGroups []string
	Scheme         string
	Type           string
	IpAddressType  string
	Tags           []Tag
}

func (s *Server) createLoadBalancer(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in createLBInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = "application"
	}
	if in.Scheme == "" {
		in.Scheme = "internet-facing"
	}
	if in.IpAddressType == "" {
		in.IpAddressType = "ipv4"
	}
	// botocore elbv2 LoadBalancerTypeEnum, LoadBalancerSchemeEnum, IpAddressType.
	if err := awsproto.Check(
		model.Enum("type", in.Type, "application", "network", "gateway"),
		model.Enum("scheme", in.Scheme, "internet-facing", "internal"),
		model.Enum("ipAddressType", in.IpAddressType, "ipv4", "dualstack", "dualstack-without-public-ipv4"),
	); err != nil {
		return nil, err
	}
	if in.Tags != nil {
		// botocore elbv2 TagList: min 1.
		if err := model.Size("tags", "[]", len(in.Tags), 1, -1); err != nil {
			return nil, err
		}
	}
	if in.Type != "application" {
		return nil, validation("Load balancer type '%s' is not supported by this endpoint", in.Type)
	}
	if !nameOK(in.Name) || strings.HasPrefix(in.Name, "internal-") {
		return nil, validation("Load balancer name '%s' cannot be longer than '32' characters, must contain only alphanumeric characters or hyphens, must not begin or end with a hyphen, and must not begin with 'internal-'", in.Name)
	}
	subnets := in.Subnets
	for _, m := range in.SubnetMappings {
		subnets = append(subnets, m.SubnetId)
	}
	if len(in.Subnets) > 0 && len(in.SubnetMappings) > 0 {
		return nil, validation("You can specify subnets or subnet mappings, not both")
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	zones, vpc, err := s.zonesOf(subnets)
	if err != nil {
		return nil, err
	}
	sgs, err := s.securityGroups(in.SecurityGroups, vpc)
	if err != nil {
		return nil, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for _, lb := range s.lbs {
		if lb.name != in.Name {
			continue
		}
		// CreateLoadBalancer is idempotent: the same settings return the
		// existing load balancer (botocore elbv2 CreateLoadBalancer doc).
		if lb.scheme == in.Scheme && slices.Equal(sortedCopy(lb.subnets), sortedCopy(subnets)) && slices.Equal(sortedCopy(lb.sgs), sortedCopy(sgs)) {
			return &struct {
				LoadBalancers []LoadBalancer `xml:"LoadBalancers>member"`
			}{[]LoadBalancer{s.lbOut(lb, now)}}, nil
		}
		return nil, errf("DuplicateLoadBalancerName", "A load balancer with the same name '%s' exists, but with different settings", in.Name)
	}
	if len(s.lbs) >= maxLoadBalancers {
		return nil, errf("TooManyLoadBalancers", "The maximum number of load balancers has been reached")
	}
	id := s.hexID(16)
	lb := &loadBalancer{
		arn: s.arn("loadbalancer/app/" + in.Name + "/" + id), name: in.Name, id: id, scheme: in.Scheme, typ: in.Type,
		ipType: in.IpAddressType, vpc: vpc, created: now, zones: zones, subnets: subnets, sgs: sgs,
		attrs: defaultLBAttrs(), tags: tags,
	}
	s.lbs[lb.arn] = lb
	return &struct {
		LoadBalancers []LoadBalancer `xml:"LoadBalancers>member"`
	}{[]LoadBalancer{s.lbOut(lb, now)}}, nil
}

func sortedCopy(v []string) []string {
	c := append([]string(nil), v...)
	slices.Sort(c)
	return c
}

// zonesOf resolves subnets to zones: an Application Load Balancer needs
// subnets in at least two Availability Zones, one subnet per zone, all in one
// VPC (botocore elbv2 CreateLoadBalancerInput.Subnets).
func (s *Server) zonesOf(subnets []string) ([]AvailabilityZone, string, error) {
	if len(subnets) == 0 {
		return nil, "", validation("At least two subnets in two different Availability Zones must be specified")
	}
	var zones []AvailabilityZone
	vpc := ""
	seen := map[string]bool{}
	for i, id := range subnets {
		az, v := s.region+string(rune('a'+i%3)), "vpc-"+fmt.Sprintf("%017x", len(s.account))
		if s.ec2 != nil {
			var ok bool
			az, v, ok = s.ec2.SubnetAZ(id)
			if !ok {
				return nil, "", errf("SubnetNotFound", "The subnet ID '%s' is not valid", id)
			}
		}
		if seen[az] {
			return nil, "", errf("InvalidConfigurationRequest", "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
		}
		if vpc != "" && v != vpc {
			return nil, "", errf("InvalidSubnet", "Subnets '%s' and '%s' are not in the same VPC", subnets[0], id)
		}
		seen[az], vpc = true, v
		zones = append(zones, AvailabilityZone{ZoneName: az, SubnetId: id})
	}
	if len(zones) < 2 {
		return nil, "", validation("At least two subnets in two different Availability Zones must be specified")
	}
	return zones, vpc, nil
}

type describeLBsInput struct {
	LoadBalancerArns []string
	Names            []string
	Marker           string
	PageSize         *int32
}

func (s *Server) describeLoadBalancers(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in describeLBsInput
	if err := dec(&in); err != nil {
		return nil, err
	}
	if len(in.LoadBalancerArns) > 0 && len(in.Names) > 0 {
		return nil, validation("Load balancer names and load balancer ARNs cannot be specified at the same time")
	}
	// botocore elbv2 LoadBalancerArns/LoadBalancerNames: the API reference
	// allows up to 20 of each.
	if err := awsproto.Check(model.Size("loadBalancerArns", in.LoadBalancerArns, len(in.LoadBalancerArns), 0, 20),
		model.Size("names", in.Names, len(in.Names), 0, 20)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var list []*loadBalancer
	switch {
	case len(in.LoadBalancerArns) > 0:
		for _, a := range in.LoadBalancerArns {
			lb := s.lbs[a]
			if lb == nil {
				return nil, lbNotFound()
			}
			list = append(list, lb)
		}
	case len(in.Names) > 0:
		for _, n := range in.Names {
			lb := s.lbByName(n)
			if lb == nil {
				return nil, lbNotFound()
			}
			list = append(list, lb)
		}
	default:
		for _, a := range sortedKeys(s.lbs) {
			list = append(list, s.lbs[a])
		}
	}
	pg, next, err := page(list, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &struct {
		LoadBalancers []LoadBalancer `xml:"LoadBalancers>member"`
		NextMarker    string         `xml:",omitempty"`
	}{LoadBalancers: []LoadBalancer{}, NextMarker: next}
	for _, lb := range pg {
		out.LoadBalancers = append(out.LoadBalancers, s.lbOut(lb, now))
	}
	return out, nil
}

func (s *Server) lbByName(name string) *loadBalancer {
	for _, lb := range s.lbs {
		if lb.name == name {
			return lb
		}
	}
	return nil
}

func (s *Server) deleteLoadBalancer(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lb := s.lbs[in.LoadBalancerArn]
	if lb == nil {
		// DeleteLoadBalancer of a load balancer that is already gone
		// succeeds (API reference: "If the load balancer does not exist or
		// has already been deleted, the call succeeds.").
		if strings.Contains(in.LoadBalancerArn, ":loadbalancer/") {
			return &empty{}, nil
		}
		return nil, validation("'%s' is not a valid load balancer ARN", in.LoadBalancerArn)
	}
	if lb.attrs["deletion_protection.enabled"] == "true" {
		return nil, errf("OperationNotPermitted", "Load balancer '%s' cannot be deleted because deletion protection is enabled", lb.arn)
	}
	// Deleting a load balancer deletes its listeners and their rules.
	for _, la := range sortedKeys(s.listeners) {
		if l := s.listeners[la]; l.lb == lb {
			s.dropListener(l)
		}
	}
	delete(s.lbs, lb.arn)
	return &empty{}, nil
}

func (s *Server) setSecurityGroups(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string   `query:",required"`
		SecurityGroups  []string `query:",required"`
	}
	lb, err := find(s, dec, &in, s.lbs, &in.LoadBalancerArn, lbNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if len(in.SecurityGroups) == 0 {
		return nil, validation("An Application Load Balancer must have at least one security group")
	}
	sgs, err := s.securityGroups(in.SecurityGroups, lb.vpc)
	if err != nil {
		return nil, err
	}
	lb.sgs = sgs
	return &struct {
		SecurityGroupIds []string `xml:"SecurityGroupIds>member"`
	}{lb.sgs}, nil
}

// ---- load balancer attributes ----

// Attribute is the wire LoadBalancerAttribute / TargetGroupAttribute.
type Attribute struct {
	Key   string
	Value string
}

// defaultLBAttrs are an Application Load Balancer's attributes and defaults
// (API reference: LoadBalancerAttribute).
func defaultLBAttrs() map[string]string {
	return map[string]string{
		"access_logs.s3.enabled": "false", "access_logs.s3.bucket": "", "access_logs.s3.prefix": "",
		"connection_logs.s3.enabled": "false", "connection_logs.s3.bucket": "", "connection_logs.s3.prefix": "",
		"deletion_protection.enabled":                                  "false",
		"idle_timeout.timeout_seconds":                                 "60",
		"client_keep_alive.seconds":                                    "3600",
		"routing.http.desync_mitigation_mode":                          "defensive",
		"routing.http.drop_invalid_header_fields.enabled":              "false",
		"routing.http.preserve_host_header.enabled":                    "false",
		"routing.http.x_amzn_tls_version_and_cipher_suite.enabled":     "false",
		"routing.http.xff_client_port.enabled":                         "false",
		"routing.http.xff_header_processing.mode":                      "append",
		"routing.http2.enabled":                                        "true",
		"waf.fail_open.enabled":                                        "false",
		"zonal_shift.config.enabled":                                   "false",
		"load_balancing.cross_zone.enabled":                            "true",
		"health_check_logs.s3.enabled":                                 "false",
		"routing.http.x_amzn_mtls_clientcert.header_name":              "",
		"routing.http.x_amzn_tls_version_and_cipher_suite.header_name": "",
	}
}

// checkAttr validates one attribute value against the API reference's
// LoadBalancerAttribute / TargetGroupAttribute rules.
func checkAttr(kind, key, val string, known map[string]string) error {
	if _, ok := known[key]; !ok {
		return validation("%s attribute key '%s' is not recognized", kind, key)
	}
	switch {
	case key == "load_balancing.cross_zone.enabled" && kind == "Target group":
		if !slices.Contains([]string{"true", "false", "use_load_balancer_configuration"}, val) {
			return validation("%s attribute '%s' value '%s' is not valid; valid values are 'true', 'false' and 'use_load_balancer_configuration'", kind, key, val)
		}
	case strings.HasSuffix(key, ".enabled"):
		if val != "true" && val != "false" {
			return validation("%s attribute '%s' value '%s' is not valid; valid values are 'true' and 'false'", kind, key, val)
		}
	case key == "idle_timeout.timeout_seconds":
		return attrRange(kind, key, val, 1, 4000)
	case key == "client_keep_alive.seconds":
		return attrRange(kind, key, val, 60, 604800)
	case key == "deregistration_delay.timeout_seconds":
		return attrRange(kind, key, val, 0, 3600)
	case key == "stickiness.lb_cookie.duration_seconds":
		return attrRange(kind, key, val, 1, 604800)
	case key == "slow_start.duration_seconds":
		n, err := strconv.Atoi(val)
		if err != nil || n != 0 && (n < 30 || n > 900) {
			return validation("%s attribute '%s' value '%s' must be 0 or between 30 and 900", kind, key, val)
		}
	case key == "routing.http.desync_mitigation_mode":
		if !slices.Contains([]string{"monitor", "defensive", "strictest"}, val) {
			return validation("%s attribute '%s' value '%s' is not valid; valid values are 'monitor', 'defensive' and 'strictest'", kind, key, val)
		}
	case key == "routing.http.xff_header_processing.mode":
		if !slices.Contains([]string{"append", "preserve", "remove"}, val) {
			return validation("%s attribute '%s' value '%s' is not valid; valid values are 'append', 'preserve' and 'remove'", kind, key, val)
		}
	case key == "load_balancing.algorithm.type":
		if !slices.Contains([]string{"round_robin", "least_outstanding_requests", "weighted_random"}, val) {
			return validation("%s attribute '%s' value '%s' is not valid", kind, key, val)
		}
	case key == "stickiness.type":
		if !slices.Contains([]string{"lb_cookie", "app_cookie"}, val) {
			return validation("%s attribute '%s' value '%s' is not valid; valid values are 'lb_cookie' and 'app_cookie'", kind, key, val)
		}
	}
	return nil
}

func attrRange(kind, key, val string, min, max int) error {
	n, err := strconv.Atoi(val)
	if err != nil || n < min || n > max {
		return validation("%s attribute '%s' value '%s' must be between %d and %d", kind, key, val, min, max)
	}
	return nil
}

// applyAttrs checks every attribute, then applies them all (nothing on error).
func applyAttrs(kind string, cur map[string]string, in []Attribute) error {
	// botocore elbv2 LoadBalancerAttributes / TargetGroupAttributes: max 20.
	if err := model.Size("attributes", in, len(in), 1, 20); err != nil {
		return err
	}
	for _, a := range in {
		if err := checkAttr(kind, a.Key, a.Value, cur); err != nil {
			return err
		}
	}
	next := map[string]string{}
	for k, v := range cur {
		next[k] = v
	}
	for _, a := range in {
		next[a.Key] = a.Value
	}
	if kind == "Load balancer" {
		for _, p := range []string{"access_logs.s3", "connection_logs.s3", "health_check_logs.s3"} {
			if next[p+".enabled"] == "true" && next[p+".bucket"] == "" {
				return errf("InvalidConfigurationRequest", "The value of '%s.bucket' cannot be empty when '%s.enabled' is 'true'", p, p)
			}
		}
	}
	for k, v := range next {
		cur[k] = v
	}
	return nil
}

func attrList(m map[string]string) []Attribute {
	out := []Attribute{}
	for _, k := range sortedKeys(m) {
		out = append(out, Attribute{Key: k, Value: m[k]})
	}
	return out
}

type attrsOut struct {
	Attributes []Attribute `xml:"Attributes>member"`
}

func (s *Server) modifyLoadBalancerAttributes(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string      `query:",required"`
		Attributes      []Attribute `query:",required"`
	}
	lb, err := find(s, dec, &in, s.lbs, &in.LoadBalancerArn, lbNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if err := applyAttrs("Load balancer", lb.attrs, in.Attributes); err != nil {
		return nil, err
	}
	return &attrsOut{attrList(lb.attrs)}, nil
}

func (s *Server) describeLoadBalancerAttributes(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string `query:",required"`
	}
	lb, err := find(s, dec, &in, s.lbs, &in.LoadBalancerArn, lbNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return &attrsOut{attrList(lb.attrs)}, nil
}
