package eventsemu_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/emutest"
	"github.com/opsctl/opsctl/internal/localaws/eventsemu"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

const failedPattern = `{"source":["aws.codepipeline"],"detail-type":["CodePipeline Pipeline Execution State Change"],"detail":{"state":["FAILED"],"pipeline":["shop"]}}`

func TestRulesAndTargetsValidateAsTheModelSays(t *testing.T) {
	ctx := context.Background()
	srv := localawstest.Start(t, localaws.Options{})
	c := eventbridge.NewFromConfig(localawstest.Config(srv, 1))
	put := func(in eventbridge.PutRuleInput) error { _, err := c.PutRule(ctx, &in); return err }
	// botocore events RuleName: 1-64, [\.\-_A-Za-z0-9]+.
	emutest.WantCode(t, put(eventbridge.PutRuleInput{Name: aws.String("bad name"), EventPattern: aws.String(failedPattern)}), "ValidationException", "")
	emutest.WantCode(t, put(eventbridge.PutRuleInput{Name: aws.String(strings.Repeat("r", 65)), EventPattern: aws.String(failedPattern)}), "ValidationException", "")
	// botocore events RuleState enum.
	emutest.WantCode(t, put(eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(failedPattern), State: "ON"}), "ValidationException", "")
	// PutRule errors: InvalidEventPatternException.
	emutest.WantCode(t, put(eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(`{"source":"aws.codepipeline"}`)}), "InvalidEventPatternException", "Event pattern is not valid")
	emutest.WantCode(t, put(eventbridge.PutRuleInput{Name: aws.String("r")}), "ValidationException", "EventPattern or ScheduleExpression")
	emutest.WantCode(t, put(eventbridge.PutRuleInput{Name: aws.String("r"), EventPattern: aws.String(failedPattern), EventBusName: aws.String("other")}), "ResourceNotFoundException", "")

	out := emutest.Must(c.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("shop-failed"), EventPattern: aws.String(failedPattern), Description: aws.String("d")}))
	if aws.ToString(out.RuleArn) != "arn:aws:events:us-east-1:"+srv.Account+":rule/shop-failed" {
		t.Fatalf("arn %s", aws.ToString(out.RuleArn))
	}
	d := emutest.Must(c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("shop-failed")}))
	if d.State != types.RuleStateEnabled || aws.ToString(d.EventPattern) != failedPattern || aws.ToString(d.EventBusName) != "default" {
		t.Fatalf("describe %+v", d)
	}
	_, err := c.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String("nope")})
	emutest.WantCode(t, err, "ResourceNotFoundException", "Rule nope does not exist")

	target := func(id string) types.Target {
		return types.Target{Id: aws.String(id), Arn: aws.String("arn:aws:sns:us-east-1:" + srv.Account + ":t")}
	}
	tgt := target("sns")
	tgt.Input, tgt.InputPath = aws.String(`{}`), aws.String("$.detail")
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("shop-failed"), Targets: []types.Target{tgt}})
	emutest.WantCode(t, err, "ValidationException", "Only one of Input")
	tgt = target("sns")
	tgt.InputTransformer = &types.InputTransformer{InputTemplate: aws.String("x"), InputPathsMap: map[string]string{"p": "detail.pipeline"}}
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("shop-failed"), Targets: []types.Target{tgt}})
	emutest.WantCode(t, err, "ValidationException", "")
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("nope"), Targets: []types.Target{target("a")}})
	emutest.WantCode(t, err, "ResourceNotFoundException", "")
	// Quota: 5 targets per rule.
	var six []types.Target
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		six = append(six, target(id))
	}
	_, err = c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("shop-failed"), Targets: six})
	emutest.WantCode(t, err, "LimitExceededException", "")
	emutest.Must(c.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("shop-failed"), Targets: six[:4]}))
	var listed []types.Target
	for in := (&eventbridge.ListTargetsByRuleInput{Rule: aws.String("shop-failed")}); ; {
		page := emutest.Must(c.ListTargetsByRule(ctx, in))
		listed = append(listed, page.Targets...)
		if page.NextToken == nil {
			break
		}
		in.NextToken = page.NextToken
	}
	if len(listed) != 4 {
		t.Fatalf("%d targets listed", len(listed))
	}
	// A rule with targets cannot be deleted.
	_, err = c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("shop-failed")})
	emutest.WantCode(t, err, "ValidationException", "has targets")
	emutest.Must(c.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String("shop-failed"), Ids: []string{"a", "b", "c", "d"}}))
	emutest.Must(c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("shop-failed")}))
	emutest.Must(c.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String("shop-failed")}))
}

func TestMatchingEventsReachAnSNSTopicTransformed(t *testing.T) {
	ctx := context.Background()
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS, localaws.EmulatorSQS}, SQSBackend: "fauxqs"})
	cfg := localawstest.Config(srv, 1)
	eb, snsc, sqsc := eventbridge.NewFromConfig(cfg), sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	topic := aws.ToString(emutest.Must(snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ops")})).TopicArn)
	q := emutest.Must(sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("inbox")}))
	qa := emutest.Must(sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}}))
	emutest.Must(snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: &topic, Protocol: aws.String("sqs"), Endpoint: aws.String(qa.Attributes["QueueArn"]),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}))
	emutest.Must(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("shop-failed"), EventPattern: aws.String(failedPattern)}))
	emutest.Must(eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("shop-failed"), Targets: []types.Target{{
		Id: aws.String("notify"), Arn: &topic,
		InputTransformer: &types.InputTransformer{
			InputPathsMap: map[string]string{"pipeline": "$.detail.pipeline", "execution": "$.detail.execution-id"},
			InputTemplate: aws.String("Pipeline <pipeline> failed in execution <execution> (rule <aws.events.rule-name>)"),
		},
	}}}))
	e := srv.Service("events").(*eventsemu.Server)
	at := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	detail := func(state string) []byte {
		b, _ := json.Marshal(map[string]any{"pipeline": "shop", "execution-id": "e-1", "state": state, "version": 1})
		return b
	}
	e.Deliver("aws.codepipeline", "CodePipeline Pipeline Execution State Change", []string{"arn:aws:codepipeline:us-east-1:1:shop"}, detail("SUCCEEDED"), at)
	e.Deliver("aws.codepipeline", "CodePipeline Pipeline Execution State Change", []string{"arn:aws:codepipeline:us-east-1:1:shop"}, detail("FAILED"), at)
	ds := e.Delivered()
	if len(ds) != 1 || ds[0].Error != "" {
		t.Fatalf("deliveries: %+v", ds)
	}
	const want = "Pipeline shop failed in execution e-1 (rule shop-failed)"
	msgs := emutest.Must(sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1}))
	if len(msgs.Messages) != 1 || aws.ToString(msgs.Messages[0].Body) != want {
		t.Fatalf("SNS delivered %+v, want one message %q", msgs.Messages, want)
	}
}
