package main

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/opsctl/opsctl/internal/localaws"
	"github.com/opsctl/opsctl/internal/localaws/localawstest"
	"github.com/opsctl/opsctl/internal/opserr"
)

// Exit 2 means "found before any AWS call, nothing changed" (README, Exit
// codes). What is only known after a lookup — a resource that does not
// exist, a confirmation refused after reads — is exit 1; what needs no call
// is checked before any.
func TestExit2OnlyBeforeAnyAWSCall(t *testing.T) {
	srv := localawstest.Start(t, localaws.Options{Emulators: []string{localaws.EmulatorSQS, localaws.EmulatorSNS}, SQSBackend: "fauxqs"})
	env := localawstest.Env(t, srv)
	cfg := localawstest.Config(srv, 0)
	ctx := context.Background()
	logs := cloudwatchlogs.NewFromConfig(cfg)
	if _, err := logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("/aws/lambda/api")}); err != nil {
		t.Fatal(err)
	}
	sc := sqs.NewFromConfig(cfg)
	q, err := sc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("orders-dlq")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"n":1}`)}); err != nil {
		t.Fatal(err)
	}
	if r := localawstest.Run(t, env, "alarm", "add", "api-errors", "--log-group", "/aws/lambda/api", "--pattern", "ERROR", "--email", "ops@example.com"); r.Code != 0 {
		t.Fatalf("alarm add: exit %d: %s", r.Code, r.Stderr)
	}
	tests := []struct {
		name      string
		args      []string
		code      int
		wantCalls bool
	}{
		{"missing log group", []string{"alarm", "preview", "--log-group", "/aws/lambda/nope", "--pattern", "ERROR"}, opserr.ExitFailure, true},
		// Issue 19 item 7: rm of an alarm that is already gone is a
		// successful no-op (looked up, nothing written), so it can be re-run.
		{"missing alarm (rm) is a no-op", []string{"alarm", "rm", "nope", "--yes"}, opserr.ExitOK, true},
		{"missing alarm (test)", []string{"alarm", "test", "nope"}, opserr.ExitFailure, true},
		{"confirmation impossible: refused before any call", []string{"alarm", "rm", "api-errors"}, opserr.ExitUsage, false},
		{"missing queue", []string{"dlq", "peek", "nope"}, opserr.ExitFailure, true},
		{"--to is the DLQ, known after lookup", []string{"dlq", "redrive", "orders-dlq", "--to", *q.QueueUrl}, opserr.ExitFailure, true},
		{"--to is the DLQ by name", []string{"dlq", "redrive", "orders-dlq", "--to", "orders-dlq"}, opserr.ExitUsage, false},
		{"archive alarm with a bad email", []string{"etl", "archive", "alarm", "orders", "--email", "not-an-address"}, opserr.ExitUsage, false},
		{"archive alarm with a bad topic name", []string{"etl", "archive", "alarm", "orders", "--email", "ops@example.com", "--topic", "bad.topic"}, opserr.ExitUsage, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCalls()
			r := localawstest.Run(t, env, tc.args...)
			if r.Code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.Code, tc.code, r.Stderr)
			}
			if called := len(srv.Calls()) > 0; called != tc.wantCalls {
				t.Fatalf("AWS calls made: %v, want %v (%v)", called, tc.wantCalls, srv.Calls())
			}
		})
	}
}
