package localaws_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
)

// A person using the standalone endpoint confirms an email subscription over
// the control API (README "Seeding the local endpoint"). On AWS a new email
// subscription lists as "PendingConfirmation" until the link is clicked
// (SNS API reference, ListSubscriptionsByTopic: SubscriptionArn).
func TestControlAPIConfirmsEmailSubscriptions(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSNS}})
	c := sns.NewFromConfig(localawstest.Config(srv, 0))
	ctx := context.Background()
	topic, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("ops")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("email"), Endpoint: aws.String("ops@example.com")}); err != nil {
		t.Fatal(err)
	}
	state := func() string {
		out, err := c.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: topic.TopicArn})
		if err != nil || len(out.Subscriptions) != 1 {
			t.Fatalf("subscriptions: %v %+v", err, out)
		}
		return aws.ToString(out.Subscriptions[0].SubscriptionArn)
	}
	if s := state(); s != "PendingConfirmation" {
		t.Fatalf("before: %q", s)
	}
	resp, err := http.Post(srv.URL+"/_localaws/sns/confirm", "application/json", strings.NewReader(`{"email":"ops@example.com"}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("confirm: %v %v", err, resp)
	}
	var got struct{ Confirmed int }
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if got.Confirmed != 1 || !strings.HasPrefix(state(), "arn:aws:sns:") {
		t.Fatalf("after: confirmed %d, state %q", got.Confirmed, state())
	}
	resp, _ = http.Post(srv.URL+"/_localaws/sns/confirm", "application/json", strings.NewReader(`{}`))
	if resp.StatusCode != 400 {
		t.Fatalf("empty body: %d", resp.StatusCode)
	}
}
