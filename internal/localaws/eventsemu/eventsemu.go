// Package eventsemu is the local endpoint's Amazon EventBridge emulation
// (awsJson1.1, X-Amz-Target AWSEvents.*, SigV4 name "events"): rules on the
// default event bus (PutRule, DescribeRule, DeleteRule, TagResource,
// ListTagsForResource) with event patterns validated and matched as AWS's
// pattern grammar says (exact values, prefix, suffix, anything-but, exists,
// numeric, equals-ignore-case, wildcard), and their targets (PutTargets,
// ListTargetsByRule, RemoveTargets) with Input, InputPath and
// InputTransformer, with the constraints and error codes of botocore's events
// service-2.json.
//
// Deliver is how other emulations emit events (CodePipeline's execution
// state changes): every ENABLED rule whose pattern matches sends the event,
// transformed as the target says, to its targets. SNS topic targets are
// published to through the endpoint with the SDK (Connect gives its URL), so
// an email subscription or an SQS queue subscribed to the topic receives
// them. Deliveries are recorded (Delivered) for tests.
package eventsemu

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws/awsproto"
)

// MaxTargetsPerRule is EventBridge's quota (user guide, "EventBridge quotas":
// 5 targets per rule).
const MaxTargetsPerRule = 5

const pageSize = 3

// Server is the EventBridge emulation. It is an http.Handler.
type Server struct {
	awsproto.RPC
	Region, Account string

	clk       clock.Clock
	url       string
	mu        sync.Mutex
	rules     map[string]*rule // by name, default bus
	delivered []Delivery
}

type rule struct {
	name, arn, patternText, schedule, state, description, roleArn string
	pattern                                                       pattern
	targets                                                       []target
	tags                                                          map[string]string
	created                                                       time.Time
}

type target struct {
	Id               string            `json:"Id"`
	Arn              string            `json:"Arn"`
	RoleArn          *string           `json:"RoleArn,omitempty"`
	Input            *string           `json:"Input,omitempty"`
	InputPath        *string           `json:"InputPath,omitempty"`
	InputTransformer *inputTransformer `json:"InputTransformer,omitempty"`
}

type inputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate *string           `json:"InputTemplate"`
}

// Delivery is one event sent to one target.
type Delivery struct {
	Rule, TargetID, TargetArn string
	// Input is what the target received (the event, or its transformation).
	Input string
	// Error says why the delivery failed ("" when it succeeded).
	Error string
	At    time.Time
}

// New returns an emulation with no rules.
func New(region, account string, clk clock.Clock) *Server {
	s := &Server{Region: region, Account: account, clk: clock.Or(clk), rules: map[string]*rule{}}
	s.RPC.Ops = map[string]awsproto.Handler{
		"PutRule":             s.putRule,
		"DescribeRule":        s.describeRule,
		"DeleteRule":          s.deleteRule,
		"PutTargets":          s.putTargets,
		"ListTargetsByRule":   s.listTargetsByRule,
		"RemoveTargets":       s.removeTargets,
		"TagResource":         s.tagResource,
		"ListTagsForResource": s.listTagsForResource,
	}
	return s
}

// Connect gives the endpoint's URL, through which SNS targets are published to.
func (s *Server) Connect(url string) { s.url = url }

// model words violations of the model's constraints (EventBridge answers
// ValidationException).
var model = awsproto.ValidationException

var (
	// botocore events RuleName and TargetId: [\.\-_A-Za-z0-9]+.
	nameRe = regexp.MustCompile(`^[\.\-_A-Za-z0-9]+$`)
	// botocore events EventBusNameOrArn.
	busRe = regexp.MustCompile(`^(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?[/\.\-_A-Za-z0-9]+$`)
	// botocore events InputTransformerPathKey.
	pathKeyRe = regexp.MustCompile(`^[A-Za-z0-9\_\-]+$`)
	// The JSON paths EventBridge evaluates (user guide, "input
	// transformation": dot notation, dashes, underscores, alphanumerics,
	// array indices, wildcards).
	jsonPathRe = regexp.MustCompile(`^\$(\.[A-Za-z0-9_\-/*]+|\[[0-9*]+\])*$`)
	// Schedule expressions: rate(N unit) or cron(6 fields).
	scheduleRe = regexp.MustCompile(`^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\((\S+ ){5}\S+\))$`)
)

// checkBus accepts only the default bus (the one opsctl uses).
func (s *Server) checkBus(bus *string) error {
	if bus == nil {
		return nil
	}
	if err := model.Length("eventBusName", *bus, 1, 1600); err != nil {
		return err
	}
	if err := model.Pattern("eventBusName", *bus, busRe); err != nil {
		return err
	}
	name := (*bus)[strings.LastIndex(*bus, "/")+1:]
	if name != "default" {
		return awsproto.Errf("ResourceNotFoundException", "Event bus %s does not exist.", name)
	}
	return nil
}

func checkRuleName(member string, name *string) error {
	if name == nil {
		return model.Required(member, false)
	}
	if err := model.Length(member, *name, 1, 64); err != nil {
		return err
	}
	return model.Pattern(member, *name, nameRe)
}

func (s *Server) ruleARN(name string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:rule/%s", partition(s.Region), s.Region, s.Account, name)
}

func partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

func (s *Server) notFound(name string) error {
	return awsproto.Errf("ResourceNotFoundException", "Rule %s does not exist on EventBus default.", name)
}

type wireTag struct {
	Key   *string `json:"Key"`
	Value *string `json:"Value"`
}

var tagRules = awsproto.TagRules{Validator: model, Member: "tags"}

func tagsOf(list []wireTag) (map[string]string, error) {
	m := map[string]string{}
	for i, t := range list {
		if t.Key == nil {
			return nil, model.Required(fmt.Sprintf("tags.%d.member.key", i+1), false)
		}
		if t.Value == nil {
			return nil, model.Required(fmt.Sprintf("tags.%d.member.value", i+1), false)
		}
		m[*t.Key] = *t.Value
	}
	return m, tagRules.Check(m)
}

func (s *Server) putRule(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name               *string   `json:"Name"`
		ScheduleExpression *string   `json:"ScheduleExpression"`
		EventPattern       *string   `json:"EventPattern"`
		State              *string   `json:"State"`
		Description        *string   `json:"Description"`
		RoleArn            *string   `json:"RoleArn"`
		Tags               []wireTag `json:"Tags"`
		EventBusName       *string   `json:"EventBusName"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRuleName("name", in.Name); err != nil {
		return nil, err
	}
	var errs []error
	if in.EventPattern != nil {
		errs = append(errs, model.Length("eventPattern", *in.EventPattern, 0, 4096))
	}
	if in.ScheduleExpression != nil {
		errs = append(errs, model.Length("scheduleExpression", *in.ScheduleExpression, 0, 256))
	}
	if in.Description != nil {
		errs = append(errs, model.Length("description", *in.Description, 0, 512))
	}
	if in.RoleArn != nil {
		errs = append(errs, model.Length("roleArn", *in.RoleArn, 1, 1600))
	}
	if in.State != nil {
		errs = append(errs, model.Enum("state", *in.State, "ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"))
	}
	if err := awsproto.Check(errs...); err != nil {
		return nil, err
	}
	if err := s.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	if in.EventPattern == nil && in.ScheduleExpression == nil {
		return nil, model.Invalid("Parameter(s) EventPattern or ScheduleExpression must be specified.")
	}
	var pat pattern
	if in.EventPattern != nil {
		p, err := parsePattern(*in.EventPattern)
		if err != nil {
			return nil, awsproto.Errf("InvalidEventPatternException", "Event pattern is not valid. Reason: %s", err.Error())
		}
		pat = p
	}
	if in.ScheduleExpression != nil && !scheduleRe.MatchString(*in.ScheduleExpression) {
		return nil, model.Invalid("Parameter ScheduleExpression is not valid.")
	}
	tags, err := tagsOf(in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rules[*in.Name]
	if r == nil {
		r = &rule{name: *in.Name, arn: s.ruleARN(*in.Name), tags: map[string]string{}, created: s.clk.Now()}
		s.rules[r.name] = r
	}
	// PutRule replaces the rule's settings: omitted ones are cleared, and the
	// state defaults to ENABLED (PutRule documentation).
	r.patternText, r.pattern, r.schedule, r.description, r.roleArn = deref(in.EventPattern), pat, deref(in.ScheduleExpression), deref(in.Description), deref(in.RoleArn)
	r.state = "ENABLED"
	if in.State != nil {
		r.state = *in.State
	}
	for k, v := range tags {
		r.tags[k] = v
	}
	return map[string]any{"RuleArn": r.arn}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (s *Server) describeRule(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name         *string `json:"Name"`
		EventBusName *string `json:"EventBusName"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRuleName("name", in.Name); err != nil {
		return nil, err
	}
	if err := s.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rules[*in.Name]
	if r == nil {
		return nil, s.notFound(*in.Name)
	}
	out := map[string]any{"Name": r.name, "Arn": r.arn, "State": r.state, "EventBusName": "default", "CreatedBy": s.Account}
	for k, v := range map[string]string{"EventPattern": r.patternText, "ScheduleExpression": r.schedule, "Description": r.description, "RoleArn": r.roleArn} {
		if v != "" {
			out[k] = v
		}
	}
	return out, nil
}

func (s *Server) deleteRule(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Name         *string `json:"Name"`
		EventBusName *string `json:"EventBusName"`
		Force        bool    `json:"Force"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRuleName("name", in.Name); err != nil {
		return nil, err
	}
	if err := s.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rules[*in.Name]
	if r == nil {
		// DeleteRule of a rule that does not exist succeeds (DeleteRule
		// documentation: "If you call delete rule multiple times for the same
		// rule, all calls will succeed").
		return map[string]any{}, nil
	}
	if len(r.targets) > 0 {
		return nil, model.Invalid("Rule can't be deleted since it has targets.")
	}
	delete(s.rules, r.name)
	return map[string]any{}, nil
}

type failedEntry struct {
	TargetId     string `json:"TargetId"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
}

func (s *Server) putTargets(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Rule         *string  `json:"Rule"`
		EventBusName *string  `json:"EventBusName"`
		Targets      []target `json:"Targets"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRuleName("rule", in.Rule); err != nil {
		return nil, err
	}
	if in.Targets == nil {
		return nil, model.Required("targets", false)
	}
	// botocore events TargetList: 1-100.
	if err := model.Size("targets", len(in.Targets), len(in.Targets), 1, 100); err != nil {
		return nil, err
	}
	for i, t := range in.Targets {
		if err := checkTarget(fmt.Sprintf("targets.%d.member", i+1), t); err != nil {
			return nil, err
		}
	}
	if err := s.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rules[*in.Rule]
	if r == nil {
		return nil, s.notFound(*in.Rule)
	}
	merged := append([]target(nil), r.targets...)
	for _, t := range in.Targets {
		replaced := false
		for i := range merged {
			if merged[i].Id == t.Id {
				merged[i], replaced = t, true
			}
		}
		if !replaced {
			merged = append(merged, t)
		}
	}
	if len(merged) > MaxTargetsPerRule {
		return nil, awsproto.Errf("LimitExceededException", "The requested resource exceeds the maximum number allowed.")
	}
	r.targets = merged
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []failedEntry{}}, nil
}

// checkTarget validates one target (botocore events Target, TargetId,
// TargetArn, TargetInput, TargetInputPath, InputTransformer).
func checkTarget(at string, t target) error {
	if t.Id == "" {
		return model.Required(at+".id", false)
	}
	if err := model.Length(at+".id", t.Id, 1, 64); err != nil {
		return err
	}
	if err := model.Pattern(at+".id", t.Id, nameRe); err != nil {
		return err
	}
	if err := model.Length(at+".arn", t.Arn, 1, 1600); err != nil {
		return err
	}
	n := 0
	if t.Input != nil {
		n++
		if err := model.Length(at+".input", *t.Input, 0, 8192); err != nil {
			return err
		}
		if !json.Valid([]byte(*t.Input)) {
			return model.Invalid("Target %s: Input is not valid JSON text.", t.Id)
		}
	}
	if t.InputPath != nil {
		n++
		if err := model.Length(at+".inputPath", *t.InputPath, 0, 256); err != nil {
			return err
		}
		if !jsonPathRe.MatchString(*t.InputPath) {
			return model.Invalid("Target %s: InputPath is not a valid JSON path.", t.Id)
		}
	}
	if it := t.InputTransformer; it != nil {
		n++
		if it.InputTemplate == nil {
			return model.Required(at+".inputTransformer.inputTemplate", false)
		}
		if err := model.Length(at+".inputTransformer.inputTemplate", *it.InputTemplate, 1, 8192); err != nil {
			return err
		}
		if err := model.Size(at+".inputTransformer.inputPathsMap", len(it.InputPathsMap), len(it.InputPathsMap), 0, 100); err != nil {
			return err
		}
		for k, v := range it.InputPathsMap {
			if err := model.Length(at+".inputTransformer.inputPathsMap.key", k, 1, 256); err != nil {
				return err
			}
			if err := model.Pattern(at+".inputTransformer.inputPathsMap.key", k, pathKeyRe); err != nil {
				return err
			}
			if strings.HasPrefix(k, "aws.") {
				return model.Invalid("Target %s: InputPathsMap key %s is reserved.", t.Id, k)
			}
			if !jsonPathRe.MatchString(v) {
				return model.Invalid("Target %s: InputPath for key %s is an invalid JSON path.", t.Id, k)
			}
		}
		// A JSON-object template may not use a placeholder as a key
		// (InputTransformer documentation).
		if tpl := strings.TrimSpace(*it.InputTemplate); strings.HasPrefix(tpl, "{") && regexp.MustCompile(`[{,]\s*<[^>]+>\s*:`).MatchString(tpl) {
			return model.Invalid("Target %s: InputTemplate placeholders cannot be used as object keys.", t.Id)
		}
	}
	if n > 1 {
		return model.Invalid("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", t.Id)
	}
	return nil
}

func (s *Server) listTargetsByRule(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Rule         *string `json:"Rule"`
		EventBusName *string `json:"EventBusName"`
		NextToken    *string `json:"NextToken"`
		Limit        *int64  `json:"Limit"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRuleName("rule", in.Rule); err != nil {
		return nil, err
	}
	limit := 0
	if in.Limit != nil {
		// botocore events LimitMax100: 1-100.
		if err := model.Range("limit", *in.Limit, 1, 100); err != nil {
			return nil, err
		}
		limit = int(*in.Limit)
	}
	if err := s.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r := s.rules[*in.Rule]
	var ts []target
	if r != nil {
		ts = append(ts, r.targets...)
	}
	s.mu.Unlock()
	if r == nil {
		return nil, s.notFound(*in.Rule)
	}
	page, next, err := awsproto.Paginate(ts, deref(in.NextToken), limit, pageSize, "ValidationException")
	if err != nil {
		return nil, err
	}
	out := map[string]any{"Targets": append([]target{}, page...)}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Server) removeTargets(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		Rule         *string  `json:"Rule"`
		EventBusName *string  `json:"EventBusName"`
		Ids          []string `json:"Ids"`
		Force        bool     `json:"Force"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if err := checkRuleName("rule", in.Rule); err != nil {
		return nil, err
	}
	if in.Ids == nil {
		return nil, model.Required("ids", false)
	}
	// botocore events TargetIdList: 1-100.
	if err := model.Size("ids", len(in.Ids), len(in.Ids), 1, 100); err != nil {
		return nil, err
	}
	if err := s.checkBus(in.EventBusName); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rules[*in.Rule]
	if r == nil {
		return nil, s.notFound(*in.Rule)
	}
	drop := map[string]bool{}
	for _, id := range in.Ids {
		drop[id] = true
	}
	var keep []target
	for _, t := range r.targets {
		if !drop[t.Id] {
			keep = append(keep, t)
		}
	}
	r.targets = keep
	return map[string]any{"FailedEntryCount": 0, "FailedEntries": []failedEntry{}}, nil
}

func (s *Server) ruleByARN(arn *string) (*rule, error) {
	if arn == nil {
		return nil, model.Required("resourceARN", false)
	}
	if err := model.Length("resourceARN", *arn, 1, 1600); err != nil {
		return nil, err
	}
	for _, r := range s.rules {
		if r.arn == *arn {
			return r, nil
		}
	}
	return nil, awsproto.Errf("ResourceNotFoundException", "Rule %s does not exist on EventBus default.", (*arn)[strings.LastIndex(*arn, "/")+1:])
}

func (s *Server) tagResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceARN *string   `json:"ResourceARN"`
		Tags        []wireTag `json:"Tags"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, model.Required("tags", false)
	}
	tags, err := tagsOf(in.Tags)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, tagRules.Apply(r.tags, tags)
}

func (s *Server) listTagsForResource(_ *http.Request, dec awsproto.Decoder) (any, error) {
	var in struct {
		ResourceARN *string `json:"ResourceARN"`
	}
	if err := dec(&in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.ruleByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(r.tags))
	for k := range r.tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []map[string]string{}
	for _, k := range keys {
		out = append(out, map[string]string{"Key": k, "Value": r.tags[k]})
	}
	return map[string]any{"Tags": out}, nil
}

// Deliver is an event put on the default bus by an AWS service (source
// "aws.codepipeline", a detail-type such as "CodePipeline Pipeline Execution
// State Change", the resources it concerns and its detail document). Every
// ENABLED rule whose pattern matches sends it to its targets.
func (s *Server) Deliver(source, detailType string, resources []string, detail []byte, at time.Time) {
	if resources == nil {
		resources = []string{}
	}
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	event := map[string]any{
		"version": "0", "id": newUUID(), "detail-type": detailType, "source": source, "account": s.Account,
		"time": at.UTC().Format("2006-01-02T15:04:05Z"), "region": s.Region, "resources": resources,
		"detail": json.RawMessage(detail),
	}
	raw, _ := json.Marshal(event)
	var decoded map[string]any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if d.Decode(&decoded) != nil {
		return
	}
	type send struct {
		rule *rule
		t    target
	}
	var sends []send
	s.mu.Lock()
	names := make([]string, 0, len(s.rules))
	for n := range s.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := s.rules[n]
		if r.state == "DISABLED" || r.pattern == nil || !r.pattern.match(decoded) {
			continue
		}
		for _, t := range r.targets {
			sends = append(sends, send{rule: r, t: t})
		}
	}
	s.mu.Unlock()
	for _, sd := range sends {
		input, err := transform(sd.t, raw, decoded, sd.rule, at)
		dl := Delivery{Rule: sd.rule.name, TargetID: sd.t.Id, TargetArn: sd.t.Arn, Input: input, At: at}
		if err == nil {
			err = s.sendTo(sd.t.Arn, input)
		}
		if err != nil {
			dl.Error = err.Error()
		}
		s.mu.Lock()
		s.delivered = append(s.delivered, dl)
		s.mu.Unlock()
	}
}

// Delivered returns every delivery so far, in order.
func (s *Server) Delivered() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.delivered...)
}

// sendTo delivers input to a target. SNS topics are published to through the
// endpoint; other target types are recorded only.
func (s *Server) sendTo(arn, input string) error {
	if !strings.HasPrefix(arn, "arn:") || strings.Split(arn, ":")[2] != "sns" {
		return nil
	}
	if s.url == "" {
		return fmt.Errorf("not connected to the endpoint: cannot publish to %s", arn)
	}
	client := sns.New(sns.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.url),
		Credentials:  credentials.NewStaticCredentialsProvider("events-emulator", "events-emulator", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   &http.Client{Transport: internalTransport{base: http.DefaultTransport}, Timeout: 10 * time.Second},
	})
	_, err := client.Publish(context.Background(), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(input)})
	return err
}

// internalTransport marks the emulation's own requests (no Sync re-entry).
type internalTransport struct{ base http.RoundTripper }

func (t internalTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(awsproto.InternalHeader, "events")
	return t.base.RoundTrip(r)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
