package elbv2emu

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// Certificates is what the emulation needs from ACM: a certificate's status
// by ARN ("ISSUED", "PENDING_VALIDATION", ...; ok false when there is none).
type Certificates interface {
	CertificateStatus(arn string) (status string, ok bool)
}

// SetCertificates connects the ACM emulation: HTTPS listeners then accept
// only its ISSUED certificates (and IAM server certificates). Without it any
// certificate ARN is accepted.
func (s *Server) SetCertificates(c Certificates) {
	s.mu.Lock()
	s.certs = c
	s.mu.Unlock()
}

type listener struct {
	arn, id, protocol, sslPolicy string
	port                         int32
	lb                           *loadBalancer
	certs                        []string
	alpn                         []string
	tags                         map[string]string
	def                          *rule
}

type rule struct {
	arn        string
	l          *listener
	priority   int // 0: the default rule
	conditions []Condition
	actions    []Action
	tags       map[string]string
}

// Action is the wire Action shape.
type Action struct {
	Type                string `query:",required"`
	TargetGroupArn      string `xml:",omitempty"`
	Order               *int32 `xml:",omitempty"`
	RedirectConfig      *RedirectConfig
	FixedResponseConfig *FixedResponseConfig
	ForwardConfig       *ForwardConfig
}

// RedirectConfig is the wire RedirectActionConfig.
type RedirectConfig struct {
	Protocol   string `xml:",omitempty"`
	Port       string `xml:",omitempty"`
	Host       string `xml:",omitempty"`
	Path       string `xml:",omitempty"`
	Query      *string
	StatusCode string `query:",required"`
}

// FixedResponseConfig is the wire FixedResponseActionConfig.
type FixedResponseConfig struct {
	MessageBody *string
	StatusCode  string `query:",required"`
	ContentType string `xml:",omitempty"`
}

// ForwardConfig is the wire ForwardActionConfig.
type ForwardConfig struct {
	TargetGroups                []TargetGroupTuple `xml:"TargetGroups>member"`
	TargetGroupStickinessConfig *struct {
		Enabled         *bool
		DurationSeconds *int32
	}
}

// TargetGroupTuple is the wire TargetGroupTuple.
type TargetGroupTuple struct {
	TargetGroupArn string
	Weight         *int32
}

// Condition is the wire RuleCondition shape (the host-header and
// path-pattern configs; other fields keep their legacy Values).
type Condition struct {
	Field                   string
	Values                  []string    `xml:"Values>member"`
	HostHeaderConfig        *ValuesList `xml:",omitempty"`
	PathPatternConfig       *ValuesList `xml:",omitempty"`
	HttpRequestMethodConfig *ValuesList `xml:",omitempty"`
	SourceIpConfig          *ValuesList `xml:",omitempty"`
}

// ValuesList is a condition config with Values.
type ValuesList struct {
	Values []string `xml:"Values>member"`
}

// Certificate is the wire Certificate shape.
type Certificate struct {
	CertificateArn string
	IsDefault      *bool `xml:",omitempty"`
}

// Listener is the wire Listener shape.
type Listener struct {
	ListenerArn     string
	LoadBalancerArn string
	Port            int32
	Protocol        string
	Certificates    []Certificate `xml:"Certificates>member,omitempty"`
	SslPolicy       string        `xml:",omitempty"`
	DefaultActions  []Action      `xml:"DefaultActions>member"`
	AlpnPolicy      []string      `xml:"AlpnPolicy>member,omitempty"`
}

// Rule is the wire Rule shape.
type Rule struct {
	RuleArn    string
	Priority   string
	Conditions []Condition `xml:"Conditions>member"`
	Actions    []Action    `xml:"Actions>member"`
	IsDefault  bool
}

func (s *Server) listenerOut(l *listener) Listener {
	out := Listener{ListenerArn: l.arn, LoadBalancerArn: l.lb.arn, Port: l.port, Protocol: l.protocol,
		SslPolicy: l.sslPolicy, DefaultActions: l.def.actions, AlpnPolicy: l.alpn}
	for _, c := range l.certs {
		out.Certificates = append(out.Certificates, Certificate{CertificateArn: c})
	}
	return out
}

func ruleOut(r *rule) Rule {
	out := Rule{RuleArn: r.arn, Priority: "default", Conditions: r.conditions, Actions: r.actions, IsDefault: r.priority == 0}
	if r.priority > 0 {
		out.Priority = strconv.Itoa(r.priority)
	}
	if out.Conditions == nil {
		out.Conditions = []Condition{}
	}
	return out
}

// lbsUsing returns the ARNs of the load balancers whose listeners or rules
// forward to tg.
func (s *Server) lbsUsing(tg *targetGroup) []string {
	seen := map[string]bool{}
	for _, r := range s.rules {
		for _, a := range r.actions {
			if slices.Contains(forwardTargets(a), tg.arn) {
				seen[r.l.lb.arn] = true
			}
		}
	}
	return sortedKeys(seen)
}

func (s *Server) tgUsed(tg *targetGroup) bool { return len(s.lbsUsing(tg)) > 0 }

// forwardTargets lists the target groups an action forwards to.
func forwardTargets(a Action) []string {
	var out []string
	if a.TargetGroupArn != "" {
		out = append(out, a.TargetGroupArn)
	}
	if a.ForwardConfig != nil {
		for _, t := range a.ForwardConfig.TargetGroups {
			if !slices.Contains(out, t.TargetGroupArn) {
				out = append(out, t.TargetGroupArn)
			}
		}
	}
	return out
}

// refreshUse records when each target group started (or stopped) being used
// by a load balancer: its targets' health checks start then.
func (s *Server) refreshUse(now time.Time) {
	for _, tg := range s.tgs {
		used := s.tgUsed(tg)
		switch {
		case used && tg.usedSince == nil:
			tg.usedSince = ptr(now)
		case !used:
			tg.usedSince = nil
		}
	}
}

// fixed-response content types (API reference: FixedResponseActionConfig).
var contentTypes = []string{"text/plain", "text/css", "text/html", "application/javascript", "application/json"}

var (
	redirectProtoRe = regexp.MustCompile(`^(HTTPS?|#\{protocol\})$`)
	fixedStatusRe   = regexp.MustCompile(`^(2|4|5)\d\d$`)
)

// checkActions validates a listener's default actions or a rule's actions
// for load balancer lb (botocore elbv2 Action and its configs).
func (s *Server) checkActions(member string, actions []Action, lb *loadBalancer) error {
	if len(actions) == 0 {
		return validation("At least one action must be specified")
	}
	terminal := 0
	for i, a := range actions {
		m := member + "." + strconv.Itoa(i+1) + ".member"
		errs := []error{model.Enum(m+".type", a.Type, "forward", "authenticate-oidc", "authenticate-cognito", "redirect", "fixed-response", "jwt-validation")}
		if a.Order != nil {
			errs = append(errs, model.Range(m+".order", int64(*a.Order), 1, 50000))
		}
		if err := awsproto.Check(errs...); err != nil {
			return err
		}
		switch a.Type {
		case "forward":
			terminal++
			if err := s.checkForward(a, lb); err != nil {
				return err
			}
		case "redirect":
			terminal++
			c := a.RedirectConfig
			if c == nil {
				return validation("A redirect configuration must be specified for a redirect action")
			}
			errs := []error{model.Enum(m+".redirectConfig.statusCode", c.StatusCode, "HTTP_301", "HTTP_302")}
			if c.Protocol != "" {
				errs = append(errs, model.Pattern(m+".redirectConfig.protocol", c.Protocol, redirectProtoRe))
			}
			if c.Host != "" {
				errs = append(errs, model.Length(m+".redirectConfig.host", c.Host, 1, 128))
			}
			if c.Path != "" {
				errs = append(errs, model.Length(m+".redirectConfig.path", c.Path, 1, 128))
				if !strings.HasPrefix(c.Path, "/") {
					errs = append(errs, validation("The redirect path must start with a '/' character"))
				}
			}
			if c.Query != nil {
				errs = append(errs, model.Length(m+".redirectConfig.query", *c.Query, 0, 128))
			}
			if err := awsproto.Check(errs...); err != nil {
				return err
			}
			if c.Port != "" && c.Port != "#{port}" {
				if n, err := strconv.Atoi(c.Port); err != nil || n < 1 || n > 65535 {
					return validation("The redirect port '%s' must be '#{port}' or a port number from 1 to 65535", c.Port)
				}
			}
		case "fixed-response":
			terminal++
			c := a.FixedResponseConfig
			if c == nil {
				return validation("A fixed-response configuration must be specified for a fixed-response action")
			}
			errs := []error{model.Pattern(m+".fixedResponseConfig.statusCode", c.StatusCode, fixedStatusRe)}
			if c.MessageBody != nil {
				errs = append(errs, model.Length(m+".fixedResponseConfig.messageBody", *c.MessageBody, 0, 1024))
			}
			if c.ContentType != "" {
				errs = append(errs, model.Length(m+".fixedResponseConfig.contentType", c.ContentType, 0, 32))
			}
			if err := awsproto.Check(errs...); err != nil {
				return err
			}
			if c.ContentType != "" && !slices.Contains(contentTypes, c.ContentType) {
				return validation("Content type '%s' is not valid; valid content types are %s", c.ContentType, strings.Join(contentTypes, ", "))
			}
		default:
			return errf("InvalidLoadBalancerAction", "Action type '%s' is not supported by this endpoint", a.Type)
		}
	}
	if terminal != 1 {
		return errf("InvalidLoadBalancerAction", "You must specify exactly one forward, redirect or fixed-response action")
	}
	return nil
}

// checkForward resolves a forward action's target groups: each must exist,
// speak HTTP or HTTPS, and not be used by another load balancer.
func (s *Server) checkForward(a Action, lb *loadBalancer) error {
	tgs := forwardTargets(a)
	if len(tgs) == 0 {
		return validation("A target group ARN must be specified for a forward action")
	}
	if a.TargetGroupArn != "" && a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
		if len(a.ForwardConfig.TargetGroups) != 1 || a.ForwardConfig.TargetGroups[0].TargetGroupArn != a.TargetGroupArn {
			return validation("You cannot specify a target group ARN and a forward configuration with different target groups")
		}
	}
	if a.ForwardConfig != nil {
		// ForwardActionConfig: up to 5 target groups, weights 0-999.
		if n := len(a.ForwardConfig.TargetGroups); n > 5 {
			return errf("TooManyTargetGroups", "A forward action can have at most 5 target groups")
		}
		for _, t := range a.ForwardConfig.TargetGroups {
			if t.Weight != nil && (*t.Weight < 0 || *t.Weight > 999) {
				return validation("Target group weight '%d' must be between 0 and 999", *t.Weight)
			}
		}
	}
	for _, arn := range tgs {
		tg := s.tgs[arn]
		if tg == nil {
			return errf("TargetGroupNotFound", "Target group '%s' not found", arn)
		}
		if tg.protocol != "HTTP" && tg.protocol != "HTTPS" {
			return errf("IncompatibleProtocols", "The protocol of target group '%s' is not compatible with an Application Load Balancer", arn)
		}
		for _, other := range s.lbsUsing(tg) {
			if other != lb.arn {
				return errf("TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: %s", arn)
			}
		}
	}
	return nil
}

// SSL policies for HTTPS listeners (Application Load Balancer guide,
// "Security policies"); the default is ELBSecurityPolicy-2016-08.
var sslPolicies = []string{
	"ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
	"ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01", "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
	"ELBSecurityPolicy-FS-1-2-Res-2020-10", "ELBSecurityPolicy-FS-1-2-2019-08", "ELBSecurityPolicy-TLS13-1-2-2021-06-PQ",
	"ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
}

type listenerInput struct {
	Protocol       string
	Port           *int32
	SslPolicy      string
	Certificates   []Certificate
	DefaultActions []Action
	AlpnPolicy     []string
}

// checkListener validates a listener's protocol, port, certificates and
// policy for lb; l is the listener being modified (nil on create).
func (s *Server) checkListener(in *listenerInput, lb *loadBalancer, l *listener) error {
	var errs []error
	if in.Protocol != "" {
		errs = append(errs, model.Enum("protocol", in.Protocol, protocols...))
	}
	if in.Port != nil {
		errs = append(errs, model.Range("port", int64(*in.Port), 1, 65535))
	}
	if err := awsproto.Check(errs...); err != nil {
		return err
	}
	if in.Protocol != "" && in.Protocol != "HTTP" && in.Protocol != "HTTPS" {
		return errf("UnsupportedProtocol", "Protocol '%s' is not supported for Application Load Balancers", in.Protocol)
	}
	proto := in.Protocol
	if proto == "" && l != nil {
		proto = l.protocol
	}
	if proto == "HTTPS" {
		if len(in.Certificates) == 0 && (l == nil || len(l.certs) == 0) {
			return validation("A certificate must be specified for HTTPS listeners")
		}
		if len(in.Certificates) > 1 {
			return errf("TooManyCertificates", "A listener can have only one default certificate")
		}
		for _, c := range in.Certificates {
			if err := s.checkCertificate(c.CertificateArn); err != nil {
				return err
			}
		}
		if in.SslPolicy != "" && !slices.Contains(sslPolicies, in.SslPolicy) {
			return errf("SSLPolicyNotFound", "SSL policy '%s' not found", in.SslPolicy)
		}
	} else if len(in.Certificates) > 0 || in.SslPolicy != "" {
		return validation("Certificates and SSL policies can only be specified for HTTPS listeners")
	}
	port := in.Port
	if port == nil && l != nil {
		port = &l.port
	}
	for _, other := range s.listeners {
		if other.lb == lb && other != l && port != nil && other.port == *port {
			return errf("DuplicateListener", "A listener already exists on this port for this load balancer '%s'", lb.arn)
		}
	}
	if in.DefaultActions != nil {
		return s.checkActions("defaultActions", in.DefaultActions, lb)
	}
	return nil
}

// checkCertificate accepts an ISSUED ACM certificate or an IAM server
// certificate.
func (s *Server) checkCertificate(arn string) error {
	if strings.HasPrefix(arn, "arn:aws:iam::") && strings.Contains(arn, ":server-certificate/") {
		return nil
	}
	if !strings.HasPrefix(arn, "arn:aws:acm:") {
		return validation("Certificate ARN '%s' is not valid", arn)
	}
	if s.certs == nil {
		return nil
	}
	if st, ok := s.certs.CertificateStatus(arn); !ok || st != "ISSUED" {
		return errf("CertificateNotFound", "Certificate '%s' not found", arn)
	}
	return nil
}

func (s *Server) createListener(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string   `query:",required"`
		DefaultActions  []Action `query:",required"`
		Tags            []Tag
		li              listenerInput
	}
	if err := decodeBoth(dec, &in, &in.li); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lb := s.lbs[in.LoadBalancerArn]
	if lb == nil {
		return nil, lbNotFound()
	}
	switch {
	case in.li.Protocol == "":
		return nil, validation("A listener protocol must be specified for Application Load Balancers")
	case in.li.Port == nil:
		return nil, validation("A listener port must be specified for Application Load Balancers")
	}
	// CreateListener is idempotent: the same settings return the listener.
	for _, l := range s.listeners {
		if l.lb == lb && l.port == *in.li.Port && l.protocol == in.li.Protocol && slices.Equal(certArns(in.li.Certificates), l.certs) &&
			actionsEqual(in.DefaultActions, l.def.actions) {
			return &listenersOut{Listeners: []Listener{s.listenerOut(l)}}, nil
		}
	}
	if err := s.checkListener(&in.li, lb, nil); err != nil {
		return nil, err
	}
	n := 0
	for _, l := range s.listeners {
		if l.lb == lb {
			n++
		}
	}
	if n >= maxListenersPerLB {
		return nil, errf("TooManyListeners", "You've reached the limit on the number of listeners per load balancer")
	}
	id := s.hexID(16)
	l := &listener{arn: s.arn("listener/app/" + lb.name + "/" + lb.id + "/" + id), id: id, protocol: in.li.Protocol,
		port: *in.li.Port, lb: lb, certs: certArns(in.li.Certificates), alpn: in.li.AlpnPolicy, tags: tags}
	if l.protocol == "HTTPS" {
		l.sslPolicy = in.li.SslPolicy
		if l.sslPolicy == "" {
			l.sslPolicy = "ELBSecurityPolicy-2016-08"
		}
	}
	l.def = &rule{arn: s.ruleArn(l), l: l, actions: in.DefaultActions, tags: map[string]string{}}
	s.listeners[l.arn] = l
	s.rules[l.def.arn] = l.def
	s.refreshUse(s.clock.Now())
	return &listenersOut{Listeners: []Listener{s.listenerOut(l)}}, nil
}

func (s *Server) ruleArn(l *listener) string {
	return s.arn("listener-rule/app/" + l.lb.name + "/" + l.lb.id + "/" + l.id + "/" + s.hexID(16))
}

func certArns(cs []Certificate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.CertificateArn)
	}
	return out
}

func actionsEqual(a, b []Action) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || !slices.Equal(forwardTargets(a[i]), forwardTargets(b[i])) {
			return false
		}
	}
	return true
}

type listenersOut struct {
	Listeners  []Listener `xml:"Listeners>member"`
	NextMarker string     `xml:",omitempty"`
}

func (s *Server) describeListeners(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		LoadBalancerArn string
		ListenerArns    []string
		Marker          string
		PageSize        *int32
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if (in.LoadBalancerArn == "") == (len(in.ListenerArns) == 0) {
		return nil, validation("You must specify either listener ARNs or a load balancer ARN")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := children(s.lbs, in.LoadBalancerArn, lbNotFound, s.listeners, in.ListenerArns, listenerNotFound,
		func(l *listener) *loadBalancer { return l.lb },
		func(a, b *listener) bool { return a.port < b.port })
	if err != nil {
		return nil, err
	}
	pg, next, err := page(list, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &listenersOut{Listeners: []Listener{}, NextMarker: next}
	for _, l := range pg {
		out.Listeners = append(out.Listeners, s.listenerOut(l))
	}
	return out, nil
}

// children lists the children of the parent named parentArn (in the order
// less gives), or else the children named in arns; an unknown parent or
// child is its resource type's not-found error.
func children[P, C any](parents map[string]*P, parentArn string, parentNF func() error, all map[string]*C, arns []string,
	childNF func() error, of func(*C) *P, less func(a, b *C) bool) ([]*C, error) {
	var list []*C
	if parentArn != "" {
		p := parents[parentArn]
		if p == nil {
			return nil, parentNF()
		}
		for _, a := range sortedKeys(all) {
			if c := all[a]; of(c) == p {
				list = append(list, c)
			}
		}
		sort.SliceStable(list, func(i, j int) bool { return less(list[i], list[j]) })
	}
	for _, a := range arns {
		c := all[a]
		if c == nil {
			return nil, childNF()
		}
		list = append(list, c)
	}
	return list, nil
}
func (s *Server) modifyListener(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ListenerArn string `query:",required"`
		li          listenerInput
	}
	if err := decodeBoth(dec, &in, &in.li); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.listeners[in.ListenerArn]
	if l == nil {
		return nil, listenerNotFound()
	}
	if err := s.checkListener(&in.li, l.lb, l); err != nil {
		return nil, err
	}
	if in.li.Protocol != "" {
		l.protocol = in.li.Protocol
	}
	if in.li.Port != nil {
		l.port = *in.li.Port
	}
	if len(in.li.Certificates) > 0 {
		l.certs = certArns(in.li.Certificates)
	}
	if l.protocol == "HTTPS" {
		if in.li.SslPolicy != "" {
			l.sslPolicy = in.li.SslPolicy
		} else if l.sslPolicy == "" {
			l.sslPolicy = "ELBSecurityPolicy-2016-08"
		}
	} else {
		l.certs, l.sslPolicy = nil, ""
	}
	if in.li.DefaultActions != nil {
		l.def.actions = in.li.DefaultActions
	}
	if in.li.AlpnPolicy != nil {
		l.alpn = in.li.AlpnPolicy
	}
	s.refreshUse(s.clock.Now())
	return &listenersOut{Listeners: []Listener{s.listenerOut(l)}}, nil
}

func (s *Server) deleteListener(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ListenerArn string `query:",required"`
	}
	l, err := find(s, dec, &in, s.listeners, &in.ListenerArn, listenerNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	s.dropListener(l)
	return &empty{}, nil
}

// dropListener deletes a listener and its rules.
func (s *Server) dropListener(l *listener) {
	for a, r := range s.rules {
		if r.l == l {
			delete(s.rules, a)
		}
	}
	delete(s.listeners, l.arn)
	s.refreshUse(s.clock.Now())
}

// ---- rules ----

var (
	// hostRe: a host-header value is up to 128 characters of A-Z, a-z,
	// 0-9, "-", ".", "*" and "?", with at least one "." and only letters
	// (or wildcards) after the last "." (Application Load Balancer guide,
	// "Host conditions").
	hostRe = regexp.MustCompile(`^[A-Za-z0-9\-.*?]+\.[A-Za-z*?]+$`)
	// pathRe: a path-pattern value is up to 128 characters of A-Z, a-z,
	// 0-9, _ - . $ / ~ " ' @ : + & * and ? ("Path conditions").
	pathRe  = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+&*?]+$`)
	methods = regexp.MustCompile(`^[A-Z_\-]+$`)
)

// checkConditions validates a rule's conditions (RuleCondition, and the
// Application Load Balancer guide's condition rules).
func checkConditions(conds []Condition) error {
	if len(conds) == 0 {
		return validation("A rule must have at least one condition")
	}
	total := 0
	seen := map[string]bool{}
	for i := range conds {
		c := &conds[i]
		m := "conditions." + strconv.Itoa(i+1) + ".member.field"
		if err := model.Length(m, c.Field, 0, 64); err != nil {
			return err
		}
		var cfg **ValuesList
		switch c.Field {
		case "host-header":
			cfg = &c.HostHeaderConfig
		case "path-pattern":
			cfg = &c.PathPatternConfig
		case "http-request-method":
			cfg = &c.HttpRequestMethodConfig
		case "source-ip":
			cfg = &c.SourceIpConfig
		case "http-header", "query-string":
			return validation("Condition field '%s' is not supported by this endpoint", c.Field)
		default:
			return validation("Condition field '%s' must be one of '[http-header, http-request-method, host-header, path-pattern, query-string, source-ip]'", c.Field)
		}
		if seen[c.Field] {
			return validation("A rule can only have one '%s' condition", c.Field)
		}
		seen[c.Field] = true
		values := c.Values
		if *cfg != nil {
			if len(c.Values) > 0 {
				return validation("You cannot specify both 'Values' and a condition configuration for field '%s'", c.Field)
			}
			values = (*cfg).Values
		}
		if len(values) == 0 {
			return validation("A condition value must be specified for field '%s'", c.Field)
		}
		for _, v := range values {
			if err := checkConditionValue(c.Field, v); err != nil {
				return err
			}
		}
		total += len(values)
		// Store both forms, as Describe returns them.
		c.Values = values
		*cfg = &ValuesList{Values: values}
	}
	if total > maxConditionValues {
		return validation("A rule can only have '%d' condition values", maxConditionValues)
	}
	return nil
}

func checkConditionValue(field, v string) error {
	switch field {
	case "host-header":
		if len(v) > 128 || !hostRe.MatchString(v) {
			return validation("The host-header value '%s' is not valid: it can be up to 128 characters of A-Z, a-z, 0-9, '-', '.', '*' and '?', must contain at least one '.', and only alphabetical characters can follow the final '.'", v)
		}
	case "path-pattern":
		if len(v) > 128 || !pathRe.MatchString(v) {
			return validation("The path-pattern value '%s' is not valid: it can be up to 128 characters of A-Z, a-z, 0-9, _ - . $ / ~ \" ' @ : + &, '*' and '?'", v)
		}
	case "http-request-method":
		if len(v) > 40 || !methods.MatchString(v) {
			return validation("The http-request-method value '%s' is not valid", v)
		}
	}
	return nil
}

// rulesOn counts the non-default rules on a load balancer's listeners.
func (s *Server) rulesOn(lb *loadBalancer) int {
	n := 0
	for _, r := range s.rules {
		if r.l.lb == lb && r.priority > 0 {
			n++
		}
	}
	return n
}

func (s *Server) createRule(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ListenerArn string      `query:",required"`
		Conditions  []Condition `query:",required"`
		Priority    int32       `query:",required"`
		Actions     []Action    `query:",required"`
		Tags        []Tag
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	// botocore elbv2 RulePriority: 1-50000.
	if err := model.Range("priority", int64(in.Priority), 1, 50000); err != nil {
		return nil, err
	}
	if err := checkConditions(in.Conditions); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.listeners[in.ListenerArn]
	if l == nil {
		return nil, listenerNotFound()
	}
	if err := s.checkActions("actions", in.Actions, l.lb); err != nil {
		return nil, err
	}
	for _, other := range s.rules {
		if other.l == l && other.priority == int(in.Priority) {
			return nil, errf("PriorityInUse", "Priority '%d' is currently in use", in.Priority)
		}
	}
	if s.rulesOn(l.lb) >= maxRulesPerLB {
		return nil, errf("TooManyRules", "You've reached the limit on the number of rules per load balancer")
	}
	ru := &rule{arn: s.ruleArn(l), l: l, priority: int(in.Priority), conditions: in.Conditions, actions: in.Actions, tags: tags}
	s.rules[ru.arn] = ru
	s.refreshUse(s.clock.Now())
	return &rulesOut{Rules: []Rule{ruleOut(ru)}}, nil
}

type rulesOut struct {
	Rules      []Rule `xml:"Rules>member"`
	NextMarker string `xml:",omitempty"`
}

func (s *Server) describeRules(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ListenerArn string
		RuleArns    []string
		Marker      string
		PageSize    *int32
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if (in.ListenerArn == "") == (len(in.RuleArns) == 0) {
		return nil, validation("You must specify either listener ARN or rule ARNs")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// By priority, the default rule last.
	list, err := children(s.listeners, in.ListenerArn, listenerNotFound, s.rules, in.RuleArns, ruleNotFound,
		func(r *rule) *listener { return r.l },
		func(a, b *rule) bool { return a.priority != 0 && (b.priority == 0 || a.priority < b.priority) })
	if err != nil {
		return nil, err
	}
	pg, next, err := page(list, in.Marker, in.PageSize)
	if err != nil {
		return nil, err
	}
	out := &rulesOut{Rules: []Rule{}, NextMarker: next}
	for _, ru := range pg {
		out.Rules = append(out.Rules, ruleOut(ru))
	}
	return out, nil
}
func (s *Server) modifyRule(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RuleArn    string `query:",required"`
		Conditions []Condition
		Actions    []Action
	}
	ru, err := find(s, dec, &in, s.rules, &in.RuleArn, ruleNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if in.Conditions != nil {
		if ru.priority == 0 {
			return nil, errf("OperationNotPermitted", "The conditions of the default rule '%s' cannot be modified", ru.arn)
		}
		if err := checkConditions(in.Conditions); err != nil {
			return nil, err
		}
	}
	if in.Actions != nil {
		if err := s.checkActions("actions", in.Actions, ru.l.lb); err != nil {
			return nil, err
		}
		ru.actions = in.Actions
	}
	if in.Conditions != nil {
		ru.conditions = in.Conditions
	}
	s.refreshUse(s.clock.Now())
	return &rulesOut{Rules: []Rule{ruleOut(ru)}}, nil
}

func (s *Server) setRulePriorities(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RulePriorities []struct {
			RuleArn  string
			Priority *int32
		} `query:",required"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	for i, p := range in.RulePriorities {
		if p.Priority != nil {
			if err := model.Range("rulePriorities."+strconv.Itoa(i+1)+".member.priority", int64(*p.Priority), 1, 50000); err != nil {
				return nil, err
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[*rule]int{}
	for _, p := range in.RulePriorities {
		ru := s.rules[p.RuleArn]
		if ru == nil {
			return nil, ruleNotFound()
		}
		if ru.priority == 0 {
			return nil, errf("OperationNotPermitted", "The priority of the default rule '%s' cannot be modified", ru.arn)
		}
		if p.Priority == nil {
			return nil, validation("A priority must be specified for rule '%s'", ru.arn)
		}
		next[ru] = int(*p.Priority)
	}
	// The new order must have no conflicts on any listener; rules not named
	// keep their priority.
	for ru := range next {
		for _, other := range s.rules {
			if other.l != ru.l || other == ru || other.priority == 0 {
				continue
			}
			op := other.priority
			if np, ok := next[other]; ok {
				op = np
			}
			if op == next[ru] {
				return nil, errf("PriorityInUse", "Priority '%d' is currently in use", next[ru])
			}
		}
	}
	out := &rulesOut{Rules: []Rule{}}
	for _, p := range in.RulePriorities {
		ru := s.rules[p.RuleArn]
		ru.priority = next[ru]
		out.Rules = append(out.Rules, ruleOut(ru))
	}
	return out, nil
}

func (s *Server) deleteRule(r *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		RuleArn string `query:",required"`
	}
	ru, err := find(s, dec, &in, s.rules, &in.RuleArn, ruleNotFound)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if ru.priority == 0 {
		return nil, errf("OperationNotPermitted", "Default rule '%s' cannot be deleted", ru.arn)
	}
	delete(s.rules, ru.arn)
	s.refreshUse(s.clock.Now())
	return &empty{}, nil
}

// CertificateUsers returns the ARNs of the load balancers whose listeners
// use the certificate arn (ACM's DescribeCertificate InUseBy).
func (s *Server) CertificateUsers(arn string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, l := range s.listeners {
		if slices.Contains(l.certs, arn) {
			seen[l.lb.arn] = true
		}
	}
	return sortedKeys(seen)
}
