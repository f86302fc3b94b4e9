package pipelines

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/opsctl/opsctl/alarms"
	"github.com/opsctl/opsctl/internal/plan"
)

// targetID is the rule's one target.
const targetID = "notify"

// FailurePattern is the event pattern of a pipeline's failed actions
// (CodePipeline user guide, "Monitoring CodePipeline events": source
// aws.codepipeline, detail-type "CodePipeline Action Execution State
// Change", detail.state FAILED), which name the stage and action.
func FailurePattern(pipeline string) string {
	b, _ := json.Marshal(map[string]any{
		"source":      []string{"aws.codepipeline"},
		"detail-type": []string{"CodePipeline Action Execution State Change"},
		"detail":      map[string]any{"state": []string{"FAILED"}, "pipeline": []string{pipeline}},
	})
	return string(b)
}

// FailureTransformer turns a failed-action event into the email's text:
// which pipeline, stage, action and execution failed, with a console link.
func FailureTransformer(region string) *ebtypes.InputTransformer {
	return &ebtypes.InputTransformer{
		InputPathsMap: map[string]string{
			"pipeline": "$.detail.pipeline", "stage": "$.detail.stage", "action": "$.detail.action",
			"execution": "$.detail.execution-id", "time": "$.time",
		},
		InputTemplate: aws.String("Pipeline <pipeline> failed at <time>.\n" +
			"Stage: <stage>\nAction: <action>\nExecution: <execution>\n" +
			"Console: https://" + region + ".console.aws.amazon.com/codesuite/codepipeline/pipelines/<pipeline>/executions/<execution>/timeline?region=" + region + "\n" +
			"Details and the build log tail: opsctl pipeline status <pipeline>"),
	}
}

func (p *planner) notifications(ctx context.Context) ([]plan.Change, error) {
	ad := p.deps.Alarms
	if ad.Region == "" {
		ad.Region = p.deps.Region
	}
	if ad.SNS == nil || p.deps.Events == nil {
		return nil, fmt.Errorf("plan failure notifications: no SNS or EventBridge client")
	}
	topic, err := alarms.EnsureTopic(ctx, ad, alarms.TopicSpec{Emails: []string{p.o.Notify}, Component: "pipeline", DryRun: p.o.DryRun})
	changes := topic.Changes
	if err != nil {
		return changes, err
	}
	p.res.TopicARN = topic.ARN
	for _, s := range topic.Subscriptions {
		if s.Todo != "" {
			p.res.Todo = append(p.res.Todo, s.Todo)
		}
	}
	var steps []plan.Step
	// The topic policy: add the statement that lets this pipeline's rule publish.
	stmt := p.a.TopicStatement(topic.ARN)
	p.doc("topic policy statement", stmt)
	cur := ""
	if !(p.o.DryRun && topicPlanned(topic)) {
		attrs, err := ad.SNS.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(topic.ARN)})
		if err != nil {
			return changes, fmt.Errorf("read the policy of SNS topic %s: %w", topic.Name, err)
		}
		cur = attrs.Attributes["Policy"]
	}
	want, has := withStatementFirst(cur, stmt)
	if has {
		steps = append(steps, plan.Unchanged(ResTopicPolicy, topic.Name))
	} else {
		steps = append(steps, plan.New(ResTopicPolicy, topic.Name, plan.ActionUpdate, change("publishers", "(as is)", "also EventBridge rule "+p.n.Rule),
			func(ctx context.Context) error {
				_, err := ad.SNS.SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(topic.ARN), AttributeName: aws.String("Policy"), AttributeValue: aws.String(want)})
				return wrap(err, "let rule %s publish to SNS topic %s", p.n.Rule, topic.Name)
			}).WithDocument(stmt))
	}
	// The rule.
	pattern := FailurePattern(p.n.Pipeline)
	p.doc("event pattern", pattern)
	description := "opsctl pipeline " + p.n.Pipeline + ": failed actions email " + p.o.Notify
	putRule := func(ctx context.Context) error {
		var tags []ebtypes.Tag
		for _, k := range sortedKeys(managedTags()) {
			tags = append(tags, ebtypes.Tag{Key: aws.String(k), Value: aws.String(managedTags()[k])})
		}
		_, err := p.deps.Events.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String(p.n.Rule), EventPattern: aws.String(pattern),
			State: ebtypes.RuleStateEnabled, Description: aws.String(description), Tags: tags})
		return wrap(err, "put EventBridge rule %s", p.n.Rule)
	}
	rule, err := p.deps.Events.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(p.n.Rule)})
	ruleExists := err == nil
	switch {
	case err != nil && !isNotFound(err):
		return changes, fmt.Errorf("read EventBridge rule %s: %w", p.n.Rule, err)
	case !ruleExists:
		steps = append(steps, plan.New(ResRule, p.n.Rule, plan.ActionCreate, set("pattern", "FAILED actions of pipeline "+p.n.Pipeline), putRule).WithDocument(pattern))
	default:
		var d plan.Differ
		d.JSON("pattern", aws.ToString(rule.EventPattern), pattern)
		d.Str("state", string(rule.State), string(ebtypes.RuleStateEnabled))
		d.Str("description", aws.ToString(rule.Description), description)
		if len(d) == 0 {
			steps = append(steps, plan.Unchanged(ResRule, p.n.Rule))
		} else {
			steps = append(steps, plan.Update(ResRule, p.n.Rule, d, putRule).WithDocument(pattern))
		}
	}
	// Its target.
	tr := FailureTransformer(p.deps.Region)
	trDoc, _ := json.MarshalIndent(tr, "", "  ")
	p.doc("event target input transformer", string(trDoc))
	putTarget := func(ctx context.Context) error {
		out, err := p.deps.Events.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(p.n.Rule), Targets: []ebtypes.Target{{
			Id: aws.String(targetID), Arn: aws.String(p.res.TopicARN), InputTransformer: tr}}})
		if err == nil && out.FailedEntryCount > 0 {
			err = fmt.Errorf("%s", aws.ToString(out.FailedEntries[0].ErrorMessage))
		}
		return wrap(err, "point rule %s at SNS topic %s", p.n.Rule, topic.Name)
	}
	var live *ebtypes.Target
	if ruleExists {
		out, err := p.deps.Events.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: aws.String(p.n.Rule)})
		if err != nil {
			return changes, fmt.Errorf("read the targets of EventBridge rule %s: %w", p.n.Rule, err)
		}
		for i, t := range out.Targets {
			if aws.ToString(t.Id) == targetID {
				live = &out.Targets[i]
			}
		}
	}
	if live == nil {
		steps = append(steps, plan.New(ResRuleTarget, p.n.Rule+"/"+targetID, plan.ActionCreate, set("target", "SNS topic "+topic.Name), putTarget).WithDocument(string(trDoc)))
	} else {
		var d plan.Differ
		d.Str("target", aws.ToString(live.Arn), topic.ARN)
		liveTr, _ := json.Marshal(live.InputTransformer)
		wantTr, _ := json.Marshal(tr)
		d.JSON("input transformer", string(liveTr), string(wantTr))
		if len(d) == 0 {
			steps = append(steps, plan.Unchanged(ResRuleTarget, p.n.Rule+"/"+targetID))
		} else {
			steps = append(steps, plan.Update(ResRuleTarget, p.n.Rule+"/"+targetID, d, putTarget).WithDocument(string(trDoc)))
		}
	}
	more, err := plan.Execute(ctx, steps, plan.Options{DryRun: p.o.DryRun, OnChange: p.deps.OnChange, Log: p.deps.Log})
	return append(changes, more...), err
}

// withStatementFirst puts the statement of stmtDoc first in the policy cur
// (replacing an older version with its Sid; every other statement kept in
// order, as alarms.MergeTopicPolicy keeps them, so the two never undo each
// other), and reports whether cur already holds it unchanged.
func withStatementFirst(cur, stmtDoc string) (string, bool) {
	var own struct {
		Statement []map[string]any `json:"Statement"`
	}
	_ = json.Unmarshal([]byte(stmtDoc), &own)
	mine := own.Statement[0]
	doc := map[string]any{}
	if json.Unmarshal([]byte(cur), &doc) != nil || doc == nil {
		doc = map[string]any{"Version": "2012-10-17"}
	}
	var rest []any
	has := false
	switch st := doc["Statement"].(type) {
	case []any:
		for _, x := range st {
			if m, ok := x.(map[string]any); ok && m["Sid"] == mine["Sid"] {
				a, _ := json.Marshal(m)
				b, _ := json.Marshal(mine)
				has = plan.SameJSON(string(a), string(b))
				continue
			}
			rest = append(rest, x)
		}
	case map[string]any:
		if st["Sid"] != mine["Sid"] {
			rest = append(rest, st)
		}
	}
	doc["Statement"] = append([]any{mine}, rest...)
	if _, ok := doc["Version"]; !ok {
		doc["Version"] = "2012-10-17"
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b), has
}

func topicPlanned(t alarms.TopicResult) bool {
	for _, c := range t.Changes {
		if c.Resource == alarms.ResTopic && c.Action == plan.ActionCreate {
			return true
		}
	}
	return false
}
