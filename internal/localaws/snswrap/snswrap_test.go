package snswrap_test

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/opsctl/opsctl/internal/clock"
	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/localaws/snswrap"
)

// Email subscriptions are pending until confirmed, as on AWS; SQS ones are not.
func TestEmailSubscriptionsStayPendingUntilConfirmed(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	ctx := context.Background()
	c := sns.NewFromConfig(localawstest.Config(srv, 0))
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t1")})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(sub.SubscriptionArn); got != "pending confirmation" {
		t.Fatalf("Subscribe(email) = %q, want \"pending confirmation\"", got)
	}
	withArn, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("b@example.com"), ReturnSubscriptionArn: true})
	if err != nil || len(aws.ToString(withArn.SubscriptionArn)) < 10 || aws.ToString(withArn.SubscriptionArn)[:4] != "arn:" {
		t.Fatalf("ReturnSubscriptionArn: %v %v", withArn, err)
	}
	attrs, err := c.GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: withArn.SubscriptionArn})
	if err != nil || attrs.Attributes["PendingConfirmation"] != "true" {
		t.Fatalf("GetSubscriptionAttributes: %v %v", attrs, err)
	}
	states := func() map[string]string {
		out, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, s := range out.Subscriptions {
			m[aws.ToString(s.Endpoint)] = aws.ToString(s.SubscriptionArn)
		}
		return m
	}
	if m := states(); m["a@example.com"] != "PendingConfirmation" || m["b@example.com"] != "PendingConfirmation" {
		t.Fatalf("pending list = %v", m)
	}
	h, ok := srv.Service("sns").(*snswrap.Handler)
	if !ok {
		t.Fatalf("sns handler is %T, want *snswrap.Handler", srv.Service("sns"))
	}
	if n := h.Confirm("a@example.com"); n != 1 {
		t.Fatalf("Confirm = %d", n)
	}
	if m := states(); m["a@example.com"][:4] != "arn:" || m["b@example.com"] != "PendingConfirmation" {
		t.Fatalf("after confirm = %v", m)
	}
	// Subscribing a confirmed address again returns its ARN, still confirmed.
	again, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("a@example.com")})
	if err != nil || aws.ToString(again.SubscriptionArn)[:4] != "arn:" {
		t.Fatalf("re-subscribe confirmed: %v %v", again, err)
	}
	if !h.ConfirmARN(aws.ToString(withArn.SubscriptionArn)) || len(h.Pending()) != 0 {
		t.Fatalf("ConfirmARN/Pending: %v", h.Pending())
	}
}

// A subscription nobody confirms is deleted 48 hours after Subscribe, on the
// endpoint's clock (snswrap.ExpireAfter cites AWS); a confirmed one stays, and
// subscribing again starts a new 48 hours.
func TestPendingEmailSubscriptionExpiresAfter48Hours(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}, Clock: clk})
	ctx := context.Background()
	c := sns.NewFromConfig(localawstest.Config(srv, 0))
	h := srv.Service("sns").(*snswrap.Handler)
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	subscribe := func(email string) {
		if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String(email)}); err != nil {
			t.Fatal(err)
		}
	}
	endpoints := func() []string {
		out, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range out.Subscriptions {
			st := "pending"
			if strings.HasPrefix(aws.ToString(s.SubscriptionArn), "arn:") {
				st = "confirmed"
			}
			got = append(got, aws.ToString(s.Endpoint)+"="+st)
		}
		sort.Strings(got)
		return got
	}
	subscribe("late@example.com")
	subscribe("quick@example.com")
	h.Confirm("quick@example.com")
	clk.Advance(snswrap.ExpireAfter - time.Second)
	if got := strings.Join(endpoints(), ","); got != "late@example.com=pending,quick@example.com=confirmed" {
		t.Fatalf("just before 48h: %s", got)
	}
	clk.Advance(time.Second)
	if got := strings.Join(endpoints(), ","); got != "quick@example.com=confirmed" {
		t.Fatalf("at 48h: %s", got)
	}
	if h.Confirm("late@example.com") != 0 {
		t.Fatal("an expired link confirmed the subscription")
	}
	subscribe("late@example.com") // a new request: pending again, for another 48 hours
	clk.Advance(time.Hour)
	if got := strings.Join(endpoints(), ","); got != "late@example.com=pending,quick@example.com=confirmed" {
		t.Fatalf("re-subscribed: %s", got)
	}
}
