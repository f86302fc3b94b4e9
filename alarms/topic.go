package alarms

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/opsctl/opsctl/internal/awsx"
	"github.com/opsctl/opsctl/internal/plan"
)

// Subscription states.
const (
	SubConfirmed = "confirmed"
	SubPending   = "pending confirmation"
	SubPlanned   = "to be requested" // dry run: Subscribe would be called
	SubFailed    = "failed"
	// SubUnlisted is a subscription of an address no longer listed that
	// opsctl does not remove (pending, or a topic opsctl did not create).
	SubUnlisted = "not listed, kept"
	// SubRemoved is an unlisted confirmed subscription that opsctl removes.
	SubRemoved = "not listed, removed"
)

// TopicSpec is the desired SNS topic.
type TopicSpec struct {
	// Name of the topic (default DefaultTopic).
	Name string
	// Emails to subscribe.
	Emails []string
	// Exclusive makes Emails the topic's whole list of email recipients: the
	// confirmed email subscriptions of other addresses are removed, on a
	// topic opsctl created (managed tag) only. A pending one cannot be removed
	// through the API (SNS lists it without an ARN) and is reported instead.
	// Without Exclusive, existing subscriptions are never removed.
	Exclusive bool
	// Component tags a topic opsctl creates (default "alarm").
	Component string
	// DryRun plans without writing.
	DryRun bool
}

// Subscription is one email subscription and what its owner must do.
type Subscription struct {
	Email string `json:"email"`
	State string `json:"state"`
	ARN   string `json:"arn,omitempty"`
	// Todo is what the person must do, when anything.
	Todo string `json:"todo,omitempty"`
}

// TopicResult is the topic's state after EnsureTopic.
type TopicResult struct {
	Name          string         `json:"name"`
	ARN           string         `json:"arn"`
	Changes       []plan.Change  `json:"changes"`
	Subscriptions []Subscription `json:"subscriptions"`
}

// ConfirmationWindow is how long SNS keeps an email subscription pending:
// botocore sns service-2.json, Subscribe: "Confirmation tokens are valid for
// two days"; AWS What's New, 10 May 2023: SNS deletes unconfirmed
// subscriptions "once they have been in a pending confirmation state for 48
// hours" (it was 72 hours before).
const ConfirmationWindow = 48 * time.Hour

// PendingTodo tells the person what to do about a pending subscription.
func PendingTodo(email string) string {
	return fmt.Sprintf("%s must click \"Confirm subscription\" in the \"AWS Notification - Subscription Confirmation\" email within 48 hours; until then no alarm email reaches them, and after that SNS deletes the request (re-run to send a new one)", email)
}

// tagRequested starts the topic tag that records when opsctl asked an
// address to confirm: "opsctl:requested:ADDR" = RFC 3339 time. SNS does not
// report when a subscription was requested, and deletes it unconfirmed after
// ConfirmationWindow, so this tag is how audit tells an expired request from
// one that was never made.
const tagRequested = "opsctl:requested:"

// tagKeyRe is what an SNS tag key may hold (letters, digits, spaces and
// _ . : / = + - @; at most 128 characters: botocore sns service-2.json TagKey
// max 128, and the SNS developer guide's tag restrictions).
var tagKeyRe = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)

// requestedTagKey is the tag key that records a request to email, or "" when
// the address cannot be a tag key (then expiry goes unreported).
func requestedTagKey(email string) string {
	k := tagRequested + strings.ToLower(email)
	if !tagKeyRe.MatchString(k) {
		return ""
	}
	return k
}

// identity is the caller's account and partition, looked up once per run
// (awsx.CallerIdentity).
type identity struct {
	once   sync.Once
	caller awsx.Caller
	err    error
}

func (id *identity) get(ctx context.Context, deps Deps) (account, partition string, err error) {
	id.once.Do(func() {
		id.caller, id.err = awsx.CallerIdentity(ctx, deps.STS, deps.Region)
		if id.err != nil {
			id.err = fmt.Errorf("find the AWS account: %w", id.err)
		}
	})
	return id.caller.Account, id.caller.Partition, id.err
}

// topicPlan is a planned topic: its steps and its ARN, which is predicted for
// a topic not yet created and filled in by the create step.
type topicPlan struct {
	name    string
	arn     string
	exists  bool
	managed bool
	steps   []plan.Step
	subs    []Subscription
}

// findTopic returns the ARN of the topic called name, or "".
func findTopic(ctx context.Context, c SNSAPI, name string) (string, error) {
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list SNS topics: %w", err)
		}
		for _, t := range page.Topics {
			if arn := aws.ToString(t.TopicArn); topicNameOf(arn) == name {
				return arn, nil
			}
		}
	}
	return "", nil
}

func topicNameOf(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// topicSubscriptions lists a topic's email subscriptions by lower-cased address.
func topicSubscriptions(ctx context.Context, c SNSAPI, arn string) (map[string]snstypes.Subscription, error) {
	subs := map[string]snstypes.Subscription{}
	p := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions of topic %s: %w", arn, err)
		}
		for _, s := range page.Subscriptions {
			proto := aws.ToString(s.Protocol)
			if proto != "email" && proto != "email-json" {
				continue
			}
			key := strings.ToLower(aws.ToString(s.Endpoint))
			// A confirmed subscription wins over a pending duplicate.
			if old, ok := subs[key]; ok && isConfirmed(aws.ToString(old.SubscriptionArn)) {
				continue
			}
			subs[key] = s
		}
	}
	return subs, nil
}

// allSubscriptions lists the subscription ARNs (or SNS's placeholders) of
// all of a topic's subscriptions.
func allSubscriptions(ctx context.Context, c SNSAPI, arn string) ([]string, error) {
	var out []string
	p := sns.NewListSubscriptionsByTopicPaginator(c, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list subscriptions of topic %s: %w", arn, err)
		}
		for _, s := range page.Subscriptions {
			out = append(out, aws.ToString(s.SubscriptionArn))
		}
	}
	return out, nil
}

// isConfirmed tells a confirmed subscription ARN from SNS's placeholders
// ("PendingConfirmation", "pending confirmation", "Deleted").
func isConfirmed(arn string) bool { return strings.HasPrefix(arn, "arn:") }

// TopicPolicy is the topic policy opsctl sets: the account can manage the
// topic, only this account's CloudWatch alarms (in this region) can publish
// to it, and nothing can publish over plain HTTP.
func TopicPolicy(topicARN, account, partition, region string) string {
	doc := policyDoc{
		Version: "2012-10-17",
		ID:      "opsctl-topic-policy",
		Statement: []policyStatement{
			{
				Sid: "AccountOwnerManage", Effect: "Allow",
				Principal: map[string]any{"AWS": fmt.Sprintf("arn:%s:iam::%s:root", partition, account)},
				Action: []string{"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
					"SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"},
				Resource: topicARN,
			},
			{
				Sid: "CloudWatchAlarmsOfThisAccountPublish", Effect: "Allow",
				Principal: map[string]any{"Service": "cloudwatch.amazonaws.com"},
				Action:    "SNS:Publish",
				Resource:  topicARN,
				Condition: map[string]any{
					"StringEquals": map[string]any{"aws:SourceAccount": account},
					"ArnLike":      map[string]any{"aws:SourceArn": fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:*", partition, region, account)},
				},
			},
			{
				// Every action, not only Publish: the SNS security best
				// practice "Enforce encryption of data in transit" denies
				// sns:Publish only, which leaves Subscribe, SetTopicAttributes
				// and the rest open over plain HTTP. "SNS:*" is the service
				// wildcard of IAM's policy grammar (action = service:pattern).
				Sid: "DenyInsecureTransport", Effect: "Deny",
				Principal: "*",
				Action:    "SNS:*",
				Resource:  topicARN,
				Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			},
		},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}

type policyDoc struct {
	Version   string            `json:"Version"`
	ID        string            `json:"Id,omitempty"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string `json:"Sid,omitempty"`
	Effect    string `json:"Effect"`
	Principal any    `json:"Principal,omitempty"`
	Action    any    `json:"Action"`
	Resource  any    `json:"Resource"`
	Condition any    `json:"Condition,omitempty"`
}

// canonicalJSON re-encodes a JSON document with sorted keys and no spaces, so
// two policies compare equal when they mean the same document.
func canonicalJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// planTopic reads the topic's state and plans what EnsureTopic writes.
func planTopic(ctx context.Context, deps Deps, id *identity, spec TopicSpec) (*topicPlan, error) {
	if deps.SNS == nil {
		return nil, fmt.Errorf("plan SNS topic: no SNS client")
	}
	name := spec.Name
	if name == "" {
		name = DefaultTopic
	}
	tp := &topicPlan{name: name}
	arn, err := findTopic(ctx, deps.SNS, name)
	if err != nil {
		return nil, err
	}
	account, partition, err := id.get(ctx, deps)
	if err != nil {
		return nil, err
	}
	if arn == "" {
		tp.arn = fmt.Sprintf("arn:%s:sns:%s:%s:%s", partition, deps.Region, account, name)
		tp.managed = true
		tags := managedTags(spec.Component, "topic")
		delete(tags, TagKind)
		tp.steps = append(tp.steps, plan.Create(ResTopic, name, func(ctx context.Context) error {
			out, err := deps.SNS.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name), Tags: snsTags(tags)})
			if err != nil {
				return fmt.Errorf("create SNS topic %q: %w", name, err)
			}
			tp.arn = aws.ToString(out.TopicArn)
			return nil
		}))
		tp.steps = append(tp.steps, plan.New(ResTopicPolicy, name, plan.ActionCreate,
			[]plan.FieldDiff{{Field: "policy", Old: "(default)", New: "only CloudWatch alarms of account " + account + " may publish"}},
			func(ctx context.Context) error {
				return setTopicPolicy(ctx, deps, tp.arn, TopicPolicy(tp.arn, account, partition, deps.Region))
			}))
		for _, e := range spec.Emails {
			tp.subs = append(tp.subs, Subscription{Email: e, State: SubPlanned})
			tp.steps = append(tp.steps, subscribeStep(deps, tp, len(tp.subs)-1))
		}
		return tp, nil
	}
	tp.arn, tp.exists = arn, true
	attrs, err := deps.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read attributes of SNS topic %q: %w", name, err)
	}
	cur := attrs.Attributes["Policy"]
	want := MergeTopicPolicy(cur, TopicPolicy(arn, account, partition, deps.Region))
	if canonicalJSON(cur) == canonicalJSON(want) {
		tp.steps = append(tp.steps, plan.Unchanged(ResTopicPolicy, name))
	} else {
		tp.steps = append(tp.steps, plan.Update(ResTopicPolicy, name,
			[]plan.FieldDiff{{Field: "policy", Old: describePolicy(cur, account), New: "only CloudWatch alarms of account " + account + " may publish"}},
			func(ctx context.Context) error { return setTopicPolicy(ctx, deps, tp.arn, want) }))
	}
	existing, err := topicSubscriptions(ctx, deps.SNS, arn)
	if err != nil {
		return nil, err
	}
	for _, e := range spec.Emails {
		s, ok := existing[strings.ToLower(e)]
		switch {
		case !ok:
			tp.subs = append(tp.subs, Subscription{Email: e, State: SubPlanned})
			tp.steps = append(tp.steps, subscribeStep(deps, tp, len(tp.subs)-1))
		case isConfirmed(aws.ToString(s.SubscriptionArn)):
			tp.subs = append(tp.subs, Subscription{Email: e, State: SubConfirmed, ARN: aws.ToString(s.SubscriptionArn)})
			tp.steps = append(tp.steps, plan.Unchanged(ResSubscription, e))
		default:
			tp.subs = append(tp.subs, Subscription{Email: e, State: SubPending, Todo: PendingTodo(e)})
			tp.steps = append(tp.steps, plan.Unchanged(ResSubscription, e))
		}
	}
	if tags, err := deps.SNS.ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); err == nil {
		for _, t := range tags.Tags {
			if aws.ToString(t.Key) == TagManaged && aws.ToString(t.Value) == "true" {
				tp.managed = true
			}
		}
	}
	if spec.Exclusive {
		planUnlisted(deps, tp, spec.Emails, existing)
	}
	return tp, nil
}

func describePolicy(cur, account string) string {
	if cur == "" {
		return "(none)"
	}
	if strings.Contains(cur, "cloudwatch.amazonaws.com") && strings.Contains(cur, account) {
		return "differs from opsctl's policy"
	}
	return "CloudWatch alarms may not publish"
}

// MergeTopicPolicy adds opsctl's statements (by Sid) to a topic's current
// policy, replacing older versions of them and keeping every other
// statement, so adopting a team's existing topic never removes its grants
// (SNS's own "__default_statement_ID" included). A current policy that is not
// valid JSON is replaced by opsctl's.
func MergeTopicPolicy(current, ours string) string {
	var cur, own map[string]any
	if json.Unmarshal([]byte(ours), &own) != nil {
		return ours
	}
	if current == "" || json.Unmarshal([]byte(current), &cur) != nil {
		return ours
	}
	ownStmts, _ := own["Statement"].([]any)
	mine := map[string]bool{}
	for _, st := range ownStmts {
		if m, ok := st.(map[string]any); ok {
			if sid, _ := m["Sid"].(string); sid != "" {
				mine[sid] = true
			}
		}
	}
	var merged []any
	switch cs := cur["Statement"].(type) {
	case []any:
		for _, st := range cs {
			if m, ok := st.(map[string]any); ok {
				if sid, _ := m["Sid"].(string); mine[sid] {
					continue
				}
			}
			merged = append(merged, st)
		}
	case map[string]any:
		if sid, _ := cs["Sid"].(string); !mine[sid] {
			merged = append(merged, cs)
		}
	}
	if len(merged) == 0 {
		return ours
	}
	cur["Statement"] = append(merged, ownStmts...)
	if _, ok := cur["Version"]; !ok {
		cur["Version"] = "2012-10-17"
	}
	b, err := json.MarshalIndent(cur, "", "  ")
	if err != nil {
		return ours
	}
	return string(b)
}

func setTopicPolicy(ctx context.Context, deps Deps, arn, policy string) error {
	_, err := deps.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{
		TopicArn:       aws.String(arn),
		AttributeName:  aws.String("Policy"),
		AttributeValue: aws.String(policy),
	})
	if err != nil {
		return fmt.Errorf("set policy of SNS topic %s: %w", arn, err)
	}
	return nil
}

func subscribeStep(deps Deps, tp *topicPlan, i int) plan.Step {
	email := tp.subs[i].Email
	return plan.Create(ResSubscription, email, func(ctx context.Context) error {
		out, err := deps.SNS.Subscribe(ctx, &sns.SubscribeInput{
			TopicArn: aws.String(tp.arn), Protocol: aws.String("email"), Endpoint: aws.String(email),
		})
		if err != nil {
			tp.subs[i].State = SubFailed
			return fmt.Errorf("subscribe %s to SNS topic %s: %w", email, tp.name, err)
		}
		if arn := aws.ToString(out.SubscriptionArn); isConfirmed(arn) {
			tp.subs[i].State, tp.subs[i].ARN = SubConfirmed, arn
			return nil
		}
		tp.subs[i].State, tp.subs[i].Todo = SubPending, PendingTodo(email)
		if key := requestedTagKey(email); key != "" {
			if _, err := deps.SNS.TagResource(ctx, &sns.TagResourceInput{ResourceArn: aws.String(tp.arn), Tags: []snstypes.Tag{
				{Key: aws.String(key), Value: aws.String(deps.clock().Now().UTC().Format(time.RFC3339))}}}); err != nil {
				return fmt.Errorf("record the confirmation request of %s on SNS topic %s: %w", email, tp.name, err)
			}
		}
		return nil
	})
}

func snsTags(m map[string]string) []snstypes.Tag {
	var out []snstypes.Tag
	for _, kv := range sortedCopy(plan.KV(m)) {
		k, v, _ := strings.Cut(kv, "=")
		out = append(out, snstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// EnsureTopic makes the SNS topic spec.Name exist with opsctl's policy (only
// this account's CloudWatch alarms may publish) and an email subscription for
// each of spec.Emails, and reports each subscription's state. A topic that
// already exists is adopted as it is (its policy is corrected; it is not
// tagged as opsctl's, so `alarm rm` never deletes it). Uses deps.SNS and
// deps.STS. Idempotent: nothing is written when the topic is as desired.
func EnsureTopic(ctx context.Context, deps Deps, spec TopicSpec) (TopicResult, error) {
	for _, e := range spec.Emails {
		if err := validateEmail(e); err != nil {
			return TopicResult{}, err
		}
	}
	if spec.Name != "" {
		if err := validateTopicName(spec.Name); err != nil {
			return TopicResult{}, err
		}
	}
	tp, err := planTopic(ctx, deps, &identity{}, spec)
	if err != nil {
		return TopicResult{}, err
	}
	changes, err := deps.execute(ctx, tp.steps, spec.DryRun, nil)
	return TopicResult{Name: tp.name, ARN: tp.arn, Changes: changes, Subscriptions: tp.subs}, err
}

// planUnlisted removes (or reports) the email subscriptions of addresses not
// in emails: only confirmed ones on a topic opsctl created can go.
func planUnlisted(deps Deps, tp *topicPlan, emails []string, existing map[string]snstypes.Subscription) {
	listed := map[string]bool{}
	for _, e := range emails {
		listed[strings.ToLower(e)] = true
	}
	keys := make([]string, 0, len(existing))
	for k := range existing {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if listed[k] {
			continue
		}
		sub := existing[k]
		email, subARN := aws.ToString(sub.Endpoint), aws.ToString(sub.SubscriptionArn)
		switch {
		case !isConfirmed(subARN):
			tp.subs = append(tp.subs, Subscription{Email: email, State: SubUnlisted,
				Todo: "still pending confirmation: SNS cannot remove a pending subscription through its API (it has no ARN); it lapses 48 hours after the request unless " + email + " confirms, so ask them not to click the link (or re-run after they did, to remove it)"})
		case !tp.managed:
			tp.subs = append(tp.subs, Subscription{Email: email, State: SubUnlisted, ARN: subARN,
				Todo: "topic " + tp.name + " was not created by opsctl: its other subscriptions are left alone"})
		default:
			tp.subs = append(tp.subs, Subscription{Email: email, State: SubRemoved, ARN: subARN})
			tp.steps = append(tp.steps, plan.New(ResSubscription, email, plan.ActionDelete,
				[]plan.FieldDiff{{Field: "reason", Old: "subscribed", New: "not listed in --email"}},
				func(ctx context.Context) error {
					if _, err := deps.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(subARN)}); err != nil {
						return fmt.Errorf("unsubscribe %s from SNS topic %s: %w", email, tp.name, err)
					}
					return nil
				}))
		}
	}
}
